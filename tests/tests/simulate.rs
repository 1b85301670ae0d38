//! `kmsctl simulate` answering as AWS does and saying why: the statement and condition that
//! failed, `--context` one key per flag, role sessions as their role, and files with lint
//! errors answered as written. Offline: answers from the files only.

use kmsctl_tests::{Run, TestProject};

const NO_AWS: &str = "http://127.0.0.1:9";
const PROD_KEY: &str = "alias/prod-db-payments-encryption";
const PROD_DB: &str = "arn:aws:iam::222222222222:role/prod-db-admin-role";

fn simulate(project: &TestProject, args: &[&str]) -> Run {
    let mut all = vec![
        "simulate",
        "--no-color",
        "--key",
        PROD_KEY,
        "--action",
        "kms:Decrypt",
    ];
    all.extend_from_slice(args);
    project.kmsctl_at(NO_AWS, &all)
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).expect("json")
}

#[test]
fn each_context_key_has_its_own_flag_and_a_second_key_after_a_comma_is_refused() {
    let project = TestProject::shipped();
    let run = simulate(
        &project,
        &[
            "--principal",
            PROD_DB,
            "--context",
            "aws:RequestTag/BU=Finance,aws:RequestTag/Project=Ledger",
        ],
    )
    .expect_code(1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    for part in [
        "\"aws:RequestTag/Project=Ledger\" is another context key, not a value of aws:RequestTag/BU",
        "repeat --context for each key: --context aws:RequestTag/BU=Finance --context aws:RequestTag/Project=Ledger",
    ] {
        assert!(
            run.stderr.contains(part),
            "{part:?} missing from {}",
            run.stderr
        );
    }
    let run = simulate(
        &project,
        &[
            "--principal",
            PROD_DB,
            "--context",
            "aws:RequestTag/BU=Finance",
            "--context",
            "aws:requesttag/bu=Payments",
        ],
    )
    .expect_code(1);
    assert!(
        run.stderr
            .contains("--context aws:requesttag/bu is given twice"),
        "{}",
        run.stderr
    );

    // One flag per key; several values of one key separated by commas.
    let run = simulate(
        &project,
        &[
            "--principal",
            PROD_DB,
            "--format",
            "json",
            "--show-inputs",
            "--context",
            "aws:RequestTag/BU=Finance,Payments",
            "--context",
            "aws:RequestTag/Project=Ledger",
        ],
    )
    .expect_code(0);
    let context = &json(&run)["inputs"]["context"];
    assert_eq!(
        context["aws:requesttag/bu"],
        serde_json::json!(["Finance", "Payments"])
    );
    assert_eq!(
        context["aws:requesttag/project"],
        serde_json::json!(["Ledger"])
    );
    let help = project
        .kmsctl_at(NO_AWS, &["simulate", "--help"])
        .expect_code(0);
    assert!(
        help.stdout.contains("repeat it for each key"),
        "{}",
        help.stdout
    );
}

#[test]
fn a_role_session_is_allowed_where_the_key_policy_names_its_role_even_with_a_path() {
    let project = TestProject::shipped();
    // The key policy names the role with a path; a session's ARN never carries one.
    project.edit(
        "environments/prod/environment.toml",
        "db_admin_role = \"prod-db-admin-role\"",
        "db_admin_role = \"teams/prod-db-admin-role\"",
    );
    let session = "arn:aws:sts::222222222222:assumed-role/prod-db-admin-role/alice";
    let run = simulate(
        &project,
        &[
            "--principal",
            session,
            "--no-identity-policy",
            "--format",
            "json",
            "--show-inputs",
        ],
    )
    .expect_code(0);
    let answer = json(&run);
    assert_eq!(answer["decision"], "allowed", "{answer}");
    assert_eq!(
        answer["deciding"][0]["statement"],
        "Allow DB Admin Role to Use the Key"
    );
    assert_eq!(answer["principal_ou"], "root/prod");
    assert_eq!(
        answer["inputs"]["context"]["aws:principalarn"][0],
        "arn:aws:iam::222222222222:role/prod-db-admin-role"
    );
    assert!(
        answer["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("is a session of the role")),
        "{answer}"
    );
    // Another role's session: only the account (root) names it, and IAM must then allow.
    let other = "arn:aws:sts::222222222222:assumed-role/reporting/bob";
    let run = simulate(&project, &["--principal", other, "--no-identity-policy"]).expect_code(0);
    assert!(
        run.stdout
            .contains("implicitly denied: the key policy delegates to the principal's account"),
        "{}",
        run.stdout
    );
    let run = simulate(&project, &["--principal", other]).expect_code(0);
    assert!(
        run.stdout
            .contains("allowed: the key policy delegates to the principal's account and an identity policy allows it"),
        "{}",
        run.stdout
    );
    // An assumed-role ARN without its session name is refused, not matched to nothing.
    let run = simulate(
        &project,
        &[
            "--principal",
            "arn:aws:sts::222222222222:assumed-role/reporting",
        ],
    )
    .expect_code(1);
    assert!(
        run.stderr.contains("is not a role session's ARN"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_implicit_deny_names_the_statement_and_the_false_condition_with_the_requests_value() {
    let project = TestProject::shipped();
    let path = "policies/kms/prod-payment-policy.json";
    let mut policy: serde_json::Value = serde_json::from_str(&project.read(path)).expect("json");
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(serde_json::json!({
            "Sid": "AllowUseInProd",
            "Effect": "Allow",
            "Principal": { "AWS": "arn:aws:iam::222222222222:role/app" },
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": { "StringEquals": { "kms:ViaService": "s3.us-east-1.amazonaws.com" } }
        }));
    project.write(path, &serde_json::to_string_pretty(&policy).expect("json"));
    let app = "arn:aws:iam::222222222222:role/app";
    let run = simulate(
        &project,
        &[
            "--principal",
            app,
            "--no-identity-policy",
            "--context",
            "kms:ViaService=ec2.us-east-1.amazonaws.com",
        ],
    )
    .expect_code(0);
    assert!(
        run.stdout.contains("statement \"AllowUseInProd\" of the key policy matches the action and principal, but its condition StringEquals kms:ViaService = [\"s3.us-east-1.amazonaws.com\"] is false: the request's kms:ViaService is \"ec2.us-east-1.amazonaws.com\""),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!("simulate_false_condition", run.stdout.clone());

    let run = simulate(
        &project,
        &[
            "--principal",
            app,
            "--no-identity-policy",
            "--format",
            "json",
        ],
    )
    .expect_code(0);
    let answer = json(&run);
    assert_eq!(answer["unmet"][0]["statement"], "AllowUseInProd");
    assert_eq!(answer["unmet"][0]["source"], "the key policy");
    assert_eq!(answer["unmet"][0]["conditions"][0]["key"], "kms:ViaService");
    assert_eq!(
        answer["unmet"][0]["conditions"][0]["request"],
        serde_json::Value::Null
    );
    assert!(
        answer["why"]
            .as_str()
            .is_some_and(|w| w.ends_with("is false: the request has no kms:ViaService")),
        "{answer}"
    );
}

#[test]
fn simulate_answers_files_with_lint_errors_as_written_and_validate_still_refuses_them() {
    let project = TestProject::shipped();
    // The seed's mistake: OU names where aws:PrincipalOrgPaths holds ids. The negated
    // condition then holds for every principal, so AWS denies prod roles their own keys.
    project.edit(
        "policies/org/service_control_policy/environment_boundaries.json",
        "[\"{{ ou_path 'root/prod' }}*\"]",
        "[\"/root/prod/*\"]",
    );
    let run = simulate(
        &project,
        &["--principal", PROD_DB, "--expect", "explicit-deny"],
    )
    .expect_code(3);
    assert!(
        run.stdout.starts_with(&format!(
            "kms:Decrypt by {PROD_DB} (root/prod) on env/prod {PROD_KEY}\nexplicitly denied: statement \"DenyProdKeyUsageOutsideProdOU\" of SCP environment_boundaries on root denies it"
        )),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!("simulate_lint_errors_as_written", run.stdout.clone());
    assert!(
        run.stderr.contains("Lint errors: the answer is for the files as written, and they have 1 lint error(s), which `kmsctl validate` refuses."),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Not met"), "{}", run.stderr);

    let run = simulate(&project, &["--principal", PROD_DB, "--format", "json"]).expect_code(3);
    let answer = json(&run);
    assert_eq!(answer["decision"], "explicitly denied");
    assert_eq!(answer["lint_errors"][0]["rule"], "orgpaths-value");
    assert_eq!(
        answer["lint_errors"][0]["location"]["file"],
        "policies/org/service_control_policy/environment_boundaries.json"
    );

    // validate refuses the same files, its fix built from the project's own [tree].
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization", "--no-color"])
        .expect_code(3);
    assert!(
        run.stderr.contains("= fix: org paths are ids, not OU names: write {{ ou_path 'root/prod' }}* (organization.toml's [tree] renders it o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/*)"),
        "{}",
        run.stderr
    );
    // Boundary tests still answer nothing for an organization that does not validate.
    project.write(
        "environments/prod/expect.toml",
        &format!("[[expect]]\nname = \"prod db\"\nprincipal = {{ arn = \"{PROD_DB}\" }}\naction = \"kms:Decrypt\"\nkey = \"{PROD_KEY}\"\ndecision = \"allow\"\n"),
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/prod", "--no-color"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[expect-invalid]") && run.stderr.contains("does not validate"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_key_policys_orgpaths_fix_names_the_projects_ou() {
    let project = TestProject::shipped();
    project.edit(
        "policies/kms/dev-payment-policy.json",
        "\"{{ dev_org_path }}*\"",
        "\"/root/dev/*\"",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev", "--no-color"])
        .expect_code(3);
    assert!(
        run.stderr.contains("= fix: org paths are ids, not OU names: write {{ ou_path 'root/dev' }}* (organization.toml's [tree] renders it o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*)"),
        "{}",
        run.stderr
    );
    // simulate answers (the dev app role is kept out of its own key: the Deny's negated
    // condition holds for every org path) and shows the same finding.
    let run = project
        .kmsctl_at(
            NO_AWS,
            &[
                "simulate",
                "--no-color",
                "--principal",
                "arn:aws:iam::111111111111:role/dev-app-role",
                "--action",
                "kms:Decrypt",
                "--key",
                "alias/dev-db-payments-encryption",
            ],
        )
        .expect_code(3);
    assert!(
        run.stdout.contains(
            "explicitly denied: statement \"DenyKeyUsageFromNonDevOUs\" of the key policy denies it"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("error[orgpaths-value]")
            && run
                .stdout
                .contains("write {{ ou_path 'root/dev' }}* (organization.toml's [tree] renders it o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*)"),
        "{}",
        run.stdout
    );
}

/// An environment whose files do not load (an empty folder) is that environment's error: a
/// question about another environment's key is still answered (saying what was not searched),
/// one about its keys names it, and the organization's boundary tests about the other
/// environments' keys still hold.
#[test]
fn a_broken_environment_is_its_own_error_and_the_others_still_answer() {
    let project = TestProject::shipped();
    std::fs::remove_dir_all(project.file("environments/dev")).expect("remove dev");
    std::fs::create_dir_all(project.file("environments/dev")).expect("empty dev");

    let run = simulate(&project, &["--principal", PROD_DB, "--format", "json"]).expect_code(0);
    let answer = json(&run);
    assert_eq!(answer["decision"], "allowed", "{}", run.stdout);
    assert_eq!(answer["key"], format!("env/prod {PROD_KEY}"));
    let notes = answer["notes"].to_string();
    assert!(
        notes
            .contains("env/dev could not be searched for it: environments/dev holds no .toml file"),
        "{notes}"
    );

    let run = project
        .kmsctl_at(
            NO_AWS,
            &[
                "simulate",
                "--no-color",
                "--key",
                "alias/dev-db-payments-encryption",
                "--action",
                "kms:Decrypt",
                "--principal",
                PROD_DB,
            ],
        )
        .expect_code(1);
    assert!(
        run.stderr.contains("no key has alias/dev-db-payments-encryption in env/prod, and env/dev: environments/dev holds no .toml file")
            && run.stderr.contains("kmsctl validate env/dev"),
        "{}",
        run.stderr
    );

    project
        .kmsctl_at(NO_AWS, &["validate", "env/prod"])
        .expect_code(0);
    project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    // Only the boundary tests about dev's keys cannot be answered, and they say why.
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization", "--no-color"])
        .expect_code(3);
    let invalid: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error["))
        .collect();
    assert!(!invalid.is_empty(), "{}", run.stderr);
    for line in &invalid {
        assert!(
            line.starts_with("error[expect-invalid]")
                && line.contains("alias/dev-")
                && line.contains("env/dev: environments/dev holds no .toml file"),
            "{line}\n{}",
            run.stderr
        );
    }
    let expectations = project.read("organization/expect.toml");
    let about_dev = expectations.matches("key = \"alias/dev-").count();
    assert_eq!(invalid.len(), about_dev, "{}", run.stderr);
}
