//! `kmsctl plan/apply organization` against an organization in the emulator.

use aws_sdk_organizations::Client;
use kmsctl_tests::TestProject;

const ORG: &str = "organization/organization.toml";

/// The shipped organization, in the project's own account, with OUs dev and prod.
async fn organization() -> (TestProject, Client) {
    kmsctl_tests::organization_with_ous().await
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_attaches_and_tags_every_policy_and_the_next_plan_is_clean() {
    let (project, client) = organization().await;
    let applied = project
        .kmsctl(&["apply", "organization", "--auto-approve"])
        .expect_code(0);
    assert!(
        applied.stdout.contains("Apply complete!"),
        "{}",
        applied.stdout
    );
    let policies = kmsctl_tests::managed_org_policies(&client).await;
    let expected: Vec<(String, usize)> = [
        ("automatic_key_rotation", 1),
        ("environment_boundaries", 1),
        ("kms_org_boundary", 1),
        ("kms_spec_admin", 1),
        ("mfa_critical_api", 1),
        ("tag_enforcement", 2),
        ("waiting_period", 1),
    ]
    .iter()
    .map(|(n, t)| ((*n).to_owned(), *t))
    .collect();
    assert_eq!(policies, expected);
    project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(0);

    // The boundary resolved its OU paths to ids.
    let listed = client
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("policies");
    let boundary = listed
        .policies()
        .iter()
        .find(|p| p.name() == Some("environment_boundaries"))
        .and_then(|p| p.id())
        .expect("boundary");
    let content = client
        .describe_policy()
        .policy_id(boundary)
        .send()
        .await
        .expect("describe");
    let content = content.policy().and_then(|p| p.content()).expect("content");
    assert!(content.contains("/ou-"), "{content}");
    assert!(!content.contains("ou_path"), "{content}");
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_policy_detaches_then_deletes_it_and_leaves_unmanaged_ones() {
    let (project, client) = organization().await;
    project
        .kmsctl(&["apply", "organization", "--auto-approve"])
        .expect_code(0);
    project.edit(
        ORG,
        "\"root/prod\" = [\"tag_enforcement\", \"kms_spec_admin\"]",
        "\"root/prod\" = [\"tag_enforcement\"]",
    );
    let plan = project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(2);
    let detach = plan
        .stdout
        .find("org_attachment.scp/kms_spec_admin")
        .expect("a detach");
    let delete = plan
        .stdout
        .find("# org_policy.scp/kms_spec_admin will be deleted")
        .expect("a delete");
    assert!(detach < delete, "{}", plan.stdout);
    project.kmsctl(&["apply"]).expect_code(0);
    let names: Vec<String> = kmsctl_tests::managed_org_policies(&client)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!names.contains(&"kms_spec_admin".to_owned()), "{names:?}");
    let full = client
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("policies");
    assert!(
        full.policies()
            .iter()
            .any(|p| p.name() == Some("FullAWSAccess")),
        "AWS's own policy stays"
    );
    project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_shown_and_restored_and_unmanaged_policies_stay() {
    use aws_sdk_organizations::types::PolicyType;
    let (project, client) = organization().await;
    project
        .kmsctl(&["apply", "organization", "--auto-approve"])
        .expect_code(0);
    let org = kmsctl_org::observe::observe(&client, 4)
        .await
        .expect("observed");
    let id = |name: &str| {
        org.policies
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id.clone())
            .expect("policy")
    };
    let dev = org.tree.id_of(&["dev".to_owned()]).expect("dev");
    let prod = org.tree.id_of(&["prod".to_owned()]).expect("prod");

    // By hand: a managed SCP attached to dev, a managed SCP edited, one detached, and an
    // unmanaged SCP attached to dev.
    client
        .attach_policy()
        .policy_id(id("kms_spec_admin"))
        .target_id(&dev)
        .send()
        .await
        .expect("attach");
    let edited = r#"{"Version":"2012-10-17","Statement":[{"Sid":"EnforceKMSKeyWaitingPeriod","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*","Condition":{"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":"7"}}}]}"#;
    client
        .update_policy()
        .policy_id(id("waiting_period"))
        .content(edited)
        .send()
        .await
        .expect("edit");
    client
        .detach_policy()
        .policy_id(id("tag_enforcement"))
        .target_id(&prod)
        .send()
        .await
        .expect("detach");
    let theirs = client
        .create_policy()
        .name("theirs")
        .description("made by hand")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#)
        .send()
        .await
        .expect("unmanaged");
    let theirs = theirs
        .policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .expect("id")
        .to_owned();
    client
        .attach_policy()
        .policy_id(&theirs)
        .target_id(&dev)
        .send()
        .await
        .expect("attach theirs");

    let plan = project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(2);
    for expected in [
        "# org_attachment.scp/kms_spec_admin@",
        "# org_policy.scp/waiting_period will be updated in-place",
        "# org_attachment.scp/tag_enforcement@root/prod will be created",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "{expected}: {}",
            plan.stdout
        );
    }
    assert!(
        !plan.stdout.contains("org_policy.scp/theirs")
            && !plan.stdout.contains("org_attachment.scp/theirs"),
        "unmanaged policies are not touched: {}",
        plan.stdout
    );
    let said = format!("{}{}", plan.stdout, plan.stderr);
    assert!(
        said.contains("theirs") && said.contains("kmsctl leaves it alone"),
        "the plan says the unmanaged policy is there: {said}"
    );
    // Drift: the detached and the loosened guardrail are violations under their own controls;
    // the hand-made SCP is unmanaged and fails no control.
    let drift = project
        .kmsctl(&["drift", "organization", "--format", "json"])
        .expect_code(3);
    let report: serde_json::Value = serde_json::from_str(&drift.stdout).expect("json");
    let findings: Vec<&serde_json::Value> = report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .flat_map(|t| t["findings"].as_array().cloned().unwrap_or_default())
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .collect();
    let weakened = |resource: &str| {
        findings
            .iter()
            .find(|f| f["rule"] == "guardrail-weakened" && f["resource"].as_str() == Some(resource))
    };
    let detached = weakened("org_attachment.scp/tag_enforcement@root/prod")
        .unwrap_or_else(|| panic!("detach is a violation: {}", drift.stdout));
    assert_eq!(detached["kind"], "violation");
    assert_eq!(detached["control"]["id"], "3.1.1");
    let loosened = weakened("org_policy.scp/waiting_period")
        .unwrap_or_else(|| panic!("a loosened Deny is a violation: {}", drift.stdout));
    assert_eq!(loosened["control"]["id"], "3.4.1");
    let theirs_finding = findings
        .iter()
        .find(|f| f["rule"] == "unmanaged-org-policy")
        .unwrap_or_else(|| panic!("unmanaged: {}", drift.stdout));
    assert!(theirs_finding["control"].is_null(), "{theirs_finding}");
    project.kmsctl(&["apply"]).expect_code(0);
    project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(0);
    let targets = client
        .list_targets_for_policy()
        .policy_id(&theirs)
        .send()
        .await
        .expect("targets");
    assert_eq!(
        targets.targets().len(),
        1,
        "the unmanaged policy is still attached"
    );
}

/// `[tree]` stands for AWS's ids offline; plan refuses when it says otherwise, naming the id.
#[tokio::test(flavor = "multi_thread")]
async fn plan_refuses_a_declared_tree_that_differs_from_aws() {
    let (project, client) = organization().await;
    let kmsctl_tests::OrgIds { org_id, root, ous } = kmsctl_tests::org_ids(&client).await;
    let dev = &ous["dev"];
    let text = project.read("organization/organization.toml");
    project.write(
        "organization/organization.toml",
        &format!(
            "{text}\n[tree]\norg_id = \"{org_id}\"\nroot_id = \"{root}\"\n[tree.ous]\n\"root/dev\" = \"{dev}\"\n\"root/prod\" = \"ou-zzzz-99999999\"\n"
        ),
    );
    let run = project.kmsctl(&["plan", "organization"]).expect_code(3);
    assert!(
        run.stderr.contains("error[org-tree-mismatch]: [tree.ous] \"root/prod\" is \"ou-zzzz-99999999\", AWS says \"ou-"),
        "{}",
        run.stderr
    );
}

/// The line of organization.toml that starts with `start`.
fn line_of(project: &TestProject, start: &str) -> usize {
    project
        .read(ORG)
        .lines()
        .position(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starts with {start}"))
        + 1
}

/// An attachment that changes out of band is reported at its own entry, in human and SARIF
/// output alike: `"root/prod" = ["tag_enforcement", ...]`, not the line of `"root/dev"`, which
/// attaches the same policy first.
#[tokio::test(flavor = "multi_thread")]
async fn drift_reports_an_attachment_at_its_own_line() {
    let (project, client) = organization().await;
    project
        .kmsctl(&["apply", "organization", "--auto-approve"])
        .expect_code(0);
    let org = kmsctl_org::observe::observe(&client, 4)
        .await
        .expect("observed");
    let policy = org
        .policies
        .iter()
        .find(|p| p.name == "tag_enforcement")
        .map(|p| p.id.clone())
        .expect("tag_enforcement");
    let prod = org.tree.id_of(&["prod".to_owned()]).expect("prod");
    client
        .detach_policy()
        .policy_id(&policy)
        .target_id(&prod)
        .send()
        .await
        .expect("detach");

    let run = project.kmsctl(&[
        "drift",
        "organization",
        "--format",
        "human",
        "--format",
        "sarif",
        "--output",
        "drift.sarif",
    ]);
    assert!(matches!(run.code, 2 | 3), "{}\n{}", run.stdout, run.stderr);
    let prod_line = line_of(&project, "\"root/prod\" = [\"tag_enforcement\"");
    let dev_line = line_of(&project, "\"root/dev\" = [\"tag_enforcement\"");
    assert_ne!(prod_line, dev_line);
    let resource = "org_attachment.scp/tag_enforcement@root/prod";
    let finding: Vec<&str> = run
        .stdout
        .split("\n\n")
        // A detached guardrail is a violation, said in words.
        .filter(|block| {
            block.contains(resource)
                || block.contains("tag_enforcement is not attached to root/prod")
        })
        .collect();
    assert_eq!(finding.len(), 1, "{}", run.stdout);
    assert!(
        finding[0].contains(&format!("{ORG}:{prod_line}")),
        "expected {ORG}:{prod_line}: {}",
        run.stdout
    );
    assert!(
        !finding[0].contains(&format!("{ORG}:{dev_line}")),
        "{}",
        run.stdout
    );

    let sarif: serde_json::Value =
        serde_json::from_str(&project.read("drift.sarif")).expect("sarif");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let located: Vec<(String, Option<u64>)> = results
        .iter()
        .filter(|r| r.to_string().contains(resource))
        .map(|r| {
            let at = &r["locations"][0]["physicalLocation"];
            (
                at["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                at["region"]["startLine"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        located,
        vec![(ORG.to_owned(), Some(prod_line as u64))],
        "{}",
        serde_json::to_string_pretty(&sarif).unwrap_or_default()
    );

    // `report` files the same attachment at the same line.
    let report = project.kmsctl(&[
        "report",
        "organization",
        "--format",
        "markdown",
        "--output",
        "report.md",
    ]);
    assert!(matches!(report.code, 0 | 2 | 3), "{}", report.stderr);
    let markdown = project.read("report.md");
    // (Markdown escapes the underscores.)
    let row = markdown
        .lines()
        .find(|l| l.contains("<code>org\\_attachment.scp/tag\\_enforcement@root/prod</code>"))
        .unwrap_or_else(|| panic!("{markdown}"));
    assert!(
        row.ends_with(&format!("<code>{ORG}:{prod_line}</code> |")),
        "{row}"
    );
}

/// The organization `cargo xtask emulator organization` makes, with the `[tree]` it prints,
/// plans without `org-tree-mismatch`; making it again finds the same one.
#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_organization_helper_prints_the_tree_plan_agrees_with() {
    use xtask::emulator::organizations::{SHIPPED_OUS, create};
    let project = TestProject::organization();
    project.edit(
        ORG,
        "account_id = \"123456789012\"",
        &format!(
            "account_id = \"{}\"\nassume_role_arn = \"arn:aws:iam::{}:role/kmsctl-deployer\"",
            project.account, project.account
        ),
    );
    let emulator = kmsctl_tests::endpoint();
    let made = create(&emulator, &project.account, &SHIPPED_OUS).expect("organization");
    assert_eq!(
        create(&emulator, &project.account, &SHIPPED_OUS).expect("again"),
        made,
        "a second run finds the same organization"
    );
    let tree = made.tree_toml();
    assert!(tree.contains("\"root/prod\" = \"ou-"), "{tree}");
    let text = project.read(ORG);
    project.write(ORG, &format!("{text}\n{tree}"));
    project.kmsctl(&["validate", "organization"]).expect_code(0);
    let plan = project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(2);
    assert!(
        !plan.stderr.contains("org-tree-mismatch"),
        "{}",
        plan.stderr
    );
    assert_eq!(
        made.org_path("prod"),
        Some(format!(
            "{}/{}/{}/",
            made.org_id, made.root_id, made.ous["prod"]
        ))
    );
}
