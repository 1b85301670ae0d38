//! Boundary tests (`[[expect]]`) and `kmsctl simulate`, offline: answers from the files only.

use kmsctl_tests::{Run, TestProject};

const NO_AWS: &str = "http://127.0.0.1:9";

fn kmsctl(project: &TestProject, args: &[&str]) -> Run {
    project.kmsctl_at(NO_AWS, args)
}

/// A dev key whose policy also lets the prod account decrypt, without the key policy's own
/// OU boundary: only the organization's SCPs can then keep prod roles out.
fn grant_prod_on_dev_key(project: &TestProject) {
    let path = "policies/kms/dev-payment-policy.json";
    let mut policy: serde_json::Value =
        serde_json::from_str(&project.read(path)).expect("the shipped policy is JSON");
    let statements = policy["Statement"].as_array_mut().expect("statements");
    let before = statements.len();
    statements.retain(|s| s["Sid"] != "DenyKeyUsageFromNonDevOUs");
    assert_eq!(
        statements.len(),
        before - 1,
        "the shipped dev policy has its OU boundary"
    );
    statements.push(serde_json::json!({
        "Sid": "AllowProdAccountToDecrypt",
        "Effect": "Allow",
        "Principal": { "AWS": "arn:aws:iam::222222222222:root" },
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*"
    }));
    project.write(path, &serde_json::to_string_pretty(&policy).expect("json"));
}

/// The seed's `ou_map`: each boundary SCP attached to its own OU.
fn seed_ou_map(project: &TestProject) {
    let boundaries: serde_json::Value = serde_json::from_str(
        &project.read("policies/org/service_control_policy/environment_boundaries.json"),
    )
    .expect("json");
    for (index, env) in ["dev", "prod"].into_iter().enumerate() {
        let one = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [boundaries["Statement"][index].clone()],
        });
        project.write(
            &format!(
                "policies/org/service_control_policy/deny_{env}_key_access_except_{env}_ou.json"
            ),
            &serde_json::to_string_pretty(&one).expect("json"),
        );
    }
    project.edit(
        "organization/organization.toml",
        r#"root = ["mfa_critical_api", "waiting_period", "automatic_key_rotation", "environment_boundaries"]
"root/dev" = ["tag_enforcement"]
"root/prod" = ["tag_enforcement", "kms_spec_admin"]"#,
        r#"root = ["mfa_critical_api", "waiting_period", "automatic_key_rotation"]
"root/dev" = ["deny_dev_key_access_except_dev_ou", "tag_enforcement"]
"root/prod" = ["deny_prod_key_access_except_prod_ou", "tag_enforcement", "kms_spec_admin"]"#,
    );
    // The boundary's settings go to one of the policies that replace it (a table for a policy
    // attached nowhere is warned about).
    project.edit(
        "organization/organization.toml",
        "[policy.environment_boundaries]",
        "[policy.deny_dev_key_access_except_dev_ou]",
    );
}

#[test]
fn the_shipped_boundary_tests_hold() {
    let project = TestProject::shipped();
    let run = kmsctl(&project, &["validate", "organization"]).expect_code(0);
    let count = project
        .read("organization/expect.toml")
        .matches("[[expect]]")
        .count();
    assert!(count >= 15, "{count}");
    assert!(
        run.stdout.contains(&format!("{count} expectation(s) hold")),
        "{}",
        run.stdout
    );
}

#[test]
fn prod_roles_reach_a_dev_key_that_grants_prod_under_the_seeds_ou_map_and_the_answer_says_why() {
    let project = TestProject::shipped();
    grant_prod_on_dev_key(&project);
    seed_ou_map(&project);
    let run = kmsctl(&project, &["validate", "organization"]).expect_code(3);
    let failures: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error[expect-failed]"))
        .collect();
    assert_eq!(failures.len(), 1, "{}", run.stderr);
    let failure = failures[0];
    for part in [
        "\"prod roles cannot decrypt dev keys\"",
        "expected explicit-deny",
        "is allowed",
        "policies/kms/dev-payment-policy.json \"AllowProdAccountToDecrypt\"",
        "deny_dev_key_access_except_dev_ou.json \"DenyDevKeyUsageOutsideDevOU\" would deny this, but it is attached to root/dev",
        "root → root/prod → account 222222222222",
        "an SCP restricts only what is below its target",
    ] {
        assert!(failure.contains(part), "{part:?} missing from {failure}");
    }
    insta::assert_snapshot!("seed_ou_map_boundary_failure", run.stderr.clone());
    assert!(
        run.stderr.contains("--> organization/expect.toml:18"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_shipped_organization_keeps_prod_roles_off_a_dev_key_that_grants_prod() {
    let project = TestProject::shipped();
    grant_prod_on_dev_key(&project);
    kmsctl(&project, &["validate", "organization"]).expect_code(0);
    let run = kmsctl(
        &project,
        &[
            "simulate",
            "--principal",
            "arn:aws:iam::222222222222:role/prod-db-admin-role",
            "--action",
            "kms:Decrypt",
            "--key",
            "alias/dev-db-payments-encryption",
            "--expect",
            "explicit-deny",
            "--format",
            "json",
        ],
    )
    .expect_code(0);
    let answer: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(answer["decision"], "explicitly denied");
    assert_eq!(answer["principal_ou"], "root/prod");
    assert_eq!(answer["met"], true);
    assert_eq!(
        answer["deciding"][0]["policy"],
        "policies/org/service_control_policy/environment_boundaries.json"
    );
    assert_eq!(
        answer["deciding"][0]["statement"],
        "DenyDevKeyUsageOutsideDevOU"
    );
    assert_eq!(answer["deciding"].as_array().map(Vec::len), Some(1));
}

#[test]
fn simulate_exits_3_when_the_expected_answer_is_not_met_and_1_when_it_cannot_answer() {
    let project = TestProject::shipped();
    let decrypt_prod = |principal: &str, expect: &str| {
        kmsctl(
            &project,
            &[
                "simulate",
                "--principal",
                principal,
                "--action",
                "kms:Decrypt",
                "--key",
                "alias/prod-db-payments-encryption",
                "--expect",
                expect,
            ],
        )
    };
    let run =
        decrypt_prod("arn:aws:iam::222222222222:role/prod-db-admin-role", "deny").expect_code(3);
    insta::assert_snapshot!("simulate_answer_allowed", run.stdout.clone());
    assert!(run.stdout.starts_with("kms:Decrypt by arn:aws:iam::222222222222:role/prod-db-admin-role (root/prod) on env/prod alias/prod-db-payments-encryption\nallowed: "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("\"Allow DB Admin Role to Use the Key\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("expected deny, got allowed"),
        "{}",
        run.stderr
    );
    decrypt_prod("arn:aws:iam::222222222222:role/prod-db-admin-role", "allow").expect_code(0);

    // An account the tree does not place, an alias no environment has: exit 1 with the fix.
    let run = decrypt_prod("arn:aws:iam::333333333333:role/app", "deny").expect_code(1);
    assert!(
        run.stderr
            .contains("account 333333333333 is not placed in organization.toml's [tree]"),
        "{}",
        run.stderr
    );
    let refused = |action: &str, extra: &[&str], says: &str| {
        let mut args = vec![
            "simulate",
            "--principal",
            "arn:aws:iam::222222222222:role/app",
            "--action",
            action,
        ];
        args.extend_from_slice(extra);
        let run = kmsctl(&project, &args).expect_code(1);
        assert!(
            run.stderr.contains(says),
            "{says:?} missing from {}",
            run.stderr
        );
    };
    refused(
        "kms:Decrypt",
        &["--key", "alias/nope"],
        "no key has alias/nope in env/dev, env/prod",
    );
    // A misspelt action or context key would match nothing and answer wrongly: refused.
    let prod_key = ["--key", "alias/prod-db-payments-encryption"];
    refused("kms:Decypt", &prod_key, "did you mean kms:Decrypt?");
    refused(
        "kms:Decrypt",
        &[
            &prod_key[..],
            &["--context", "kms:ViaServic=rds.us-east-1.amazonaws.com"],
        ]
        .concat(),
        "did you mean kms:ViaService?",
    );
}

#[test]
fn identity_policies_decide_where_the_key_policy_delegates_to_the_account() {
    let project = TestProject::shipped();
    project.write(
        "policies/iam/prod-reader.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadProdKeys","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:222222222222:key/*"}]}"#,
    );
    let ask = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--principal",
            "arn:aws:iam::222222222222:role/reporting",
            "--action",
            "kms:Decrypt",
            "--key",
            "alias/prod-db-payments-encryption",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let run = kmsctl(&project, &args).expect_code(0);
        serde_json::from_str::<serde_json::Value>(&run.stdout).expect("json")
    };
    let with = ask(&["--identity-policy", "policies/iam/prod-reader.json"]);
    assert_eq!(with["decision"], "allowed", "{with}");
    assert_eq!(
        with["deciding"][1]["policy"],
        "policies/iam/prod-reader.json"
    );
    let without = ask(&["--no-identity-policy"]);
    assert_eq!(without["decision"], "implicitly denied", "{without}");
    assert_eq!(
        without["deciding"][0]["statement"],
        "Enable IAM User Permissions"
    );
}

#[test]
fn an_environments_expectations_are_checked_by_validate() {
    let project = TestProject::shipped();
    project.write(
        "environments/dev/expect.toml",
        r#"
[[expect]]
name = "the dev app role can decrypt with the dev payments key"
principal = { arn = "arn:aws:iam::111111111111:role/dev-app-role" }
action = "kms:Decrypt"
key = "alias/dev-db-payments-encryption"
decision = "allow"

[[expect]]
name = "the dev app role, with no IAM policy, can delete the dev payments key"
principal = { arn = "arn:aws:iam::111111111111:role/dev-app-role", mfa = true }
action = "kms:ScheduleKeyDeletion"
key = "alias/dev-db-payments-encryption"
identity_policies = []
context = { "kms:ScheduleKeyDeletionPendingWindowInDays" = 30 }
decision = "allow"
"#,
    );
    let run = kmsctl(&project, &["validate", "env/dev"]).expect_code(3);
    assert!(run.stderr.contains("error[expect-failed]: expectation \"the dev app role, with no IAM policy, can delete the dev payments key\" does not hold: expected allow, but kms:ScheduleKeyDeletion"), "{}", run.stderr);
    assert!(run.stderr.contains("is implicitly denied: the key policy delegates to the principal's account, and no identity policy given allows it"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--> environments/dev/expect.toml:10"),
        "{}",
        run.stderr
    );
    // plan refuses the same way, before any AWS call (nothing answers at NO_AWS).
    let run = kmsctl(&project, &["plan", "env/dev"]).expect_code(3);
    assert!(
        run.stderr.contains("error[expect-failed]"),
        "{}",
        run.stderr
    );
    project.edit(
        "environments/dev/expect.toml",
        "context = { \"kms:ScheduleKeyDeletionPendingWindowInDays\" = 30 }\ndecision = \"allow\"",
        "context = { \"kms:ScheduleKeyDeletionPendingWindowInDays\" = 30 }\ndecision = \"implicit-deny\"",
    );
    let run = kmsctl(&project, &["validate", "env/dev"]).expect_code(0);
    assert!(
        run.stdout.contains("2 expectation(s) hold"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_wrong_tree_is_refused_where_it_is_written() {
    let project = TestProject::shipped();
    project.edit(
        "organization/organization.toml",
        "\"root/dev\" = \"ou-ab12-11111111\"\n",
        "\"root/dev/payments\" = \"ou-ab12-11111111\"\n",
    );
    let run = kmsctl(&project, &["validate", "organization"]).expect_code(3);
    assert!(
        run.stderr.contains(
            "error[org-tree]: \"root/dev/payments\" is declared, but its parent \"root/dev\" is not"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn an_org_path_variable_outside_the_tree_is_refused_at_its_line() {
    let project = TestProject::shipped();
    kmsctl(&project, &["validate", "env/prod"]).expect_code(0);
    project.edit(
        "environments/prod/environment.toml",
        "prod_org_path = \"o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/\"",
        "prod_org_path = \"o-a1b2c3d4e5/r-ab12/ou-ab12-33333333/\"",
    );
    let run = kmsctl(&project, &["validate", "env/prod"]).expect_code(3);
    assert!(run.stderr.contains("error[org-path-unknown]: variable prod_org_path = \"o-a1b2c3d4e5/r-ab12/ou-ab12-33333333/\" is not an OU path of the organization"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--> environments/prod/environment.toml:12"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\"o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/\" (root/prod)"),
        "{}",
        run.stderr
    );
}

/// `--live`: the OU ids and the account's place come from AWS Organizations (the emulator's
/// organization, whose ids no file knows), the policies from the files.
#[tokio::test(flavor = "multi_thread")]
async fn simulate_live_places_the_account_and_resolves_ou_paths_from_aws() {
    let (project, client) = kmsctl_tests::organization_with_ous().await;
    let ids = kmsctl_tests::org_ids(&client).await;
    let (root, prod) = (ids.root.clone(), ids.ous["prod"].clone());
    let created = client
        .create_account()
        .account_name("payments-prod")
        .email("payments-prod@example.com")
        .send()
        .await
        .expect("account");
    let account = created
        .create_account_status()
        .and_then(|s| s.account_id())
        .expect("account id")
        .to_owned();
    client
        .move_account()
        .account_id(&account)
        .source_parent_id(&root)
        .destination_parent_id(&prod)
        .send()
        .await
        .expect("move to prod");
    let org_id = ids.org_id;

    let principal = format!("arn:aws:iam::{account}:role/app");
    let ask = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--live",
            "--format",
            "json",
            "--show-inputs",
            "--principal",
            principal.as_str(),
            "--action",
            "kms:CreateKey",
            "--mfa",
            "--context",
            "aws:RequestTag/BU=Finance",
        ];
        args.extend_from_slice(extra);
        project.kmsctl(&args)
    };
    let run = ask(&["--expect", "explicit-deny"]).expect_code(0);
    let answer: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(answer["principal_ou"], "root/prod", "{answer}");
    assert_eq!(
        answer["inputs"]["context"]["aws:principalorgpaths"][0],
        format!("{org_id}/{root}/{prod}/").as_str()
    );
    assert_eq!(
        answer["deciding"][0]["policy"],
        "policies/org/service_control_policy/tag_enforcement.json"
    );
    assert_eq!(
        answer["deciding"][0]["statement"],
        "DenyCreateKeyWithoutTagBusinessOwner"
    );
    // Offline, the same account is unknown: the shipped test project has no [tree].
    let run = project
        .kmsctl(&[
            "simulate",
            "--principal",
            principal.as_str(),
            "--action",
            "kms:CreateKey",
        ])
        .expect_code(1);
    assert!(run.stderr.contains("declares no [tree]"), "{}", run.stderr);
}

#[test]
fn an_organization_that_does_not_validate_fails_every_expectation_of_an_environment() {
    let project = TestProject::shipped();
    let one = |name: &str| {
        format!(
            "[[expect]]\nname = \"{name}\"\nprincipal = {{ arn = \"arn:aws:iam::111111111111:role/dev-app-role\" }}\naction = \"kms:Decrypt\"\nkey = \"alias/dev-db-payments-encryption\"\ndecision = \"allow\"\n\n"
        )
    };
    project.write(
        "environments/dev/expect.toml",
        &format!("{}{}", one("first"), one("second")),
    );
    kmsctl(&project, &["validate", "env/dev"]).expect_code(0);
    project.edit(
        "organization/organization.toml",
        "\"root/dev\" = [\"tag_enforcement\"]",
        "\"root/dev\" = [\"tag_enforcement\", \"no_such_policy\"]",
    );
    let run = kmsctl(&project, &["validate", "env/dev"]).expect_code(3);
    let invalid = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error[expect-invalid]") && l.contains("does not validate"))
        .count();
    assert_eq!(invalid, 2, "{}", run.stderr);
}
