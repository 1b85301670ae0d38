//! The framework's prod environment and organization, ported to kmsctl from the READMEs alone
//! (`tests/fixtures/migration/`, with `PORTING.md` saying where each setting went), applied to the
//! emulator end to end: validate, apply, a clean plan right after, no drift, and the ported facts
//! as AWS shows them.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_organizations::types::PolicyType;
use kmsctl_tests::{TestProject, account_config, key_of_alias, tags_of};
use serde_json::Value;
use xtask::emulator::organizations::{Organization, SHIPPED_OUS, create};

/// The fixture's stand-ins, replaced by the test's own accounts and the emulator's ids.
const MANAGEMENT: &str = "123456789012";
const PROD: &str = "222222222222";
const TREE: [&str; 4] = [
    "ou-ab12-11111111",
    "ou-ab12-22222222",
    "r-ab12",
    "o-a1b2c3d4e5",
];

const ALIAS: &str = "alias/prod-db-payments-encryption";
const ALERT_RULE: &str = "kms-key-deletion-alert";
const TOPIC: &str = "prod-kms-security-alerts";

/// The fixture copied into `project`, every file with `replacements` made.
fn copy_fixture(project: &TestProject, from: &Path, relative: &str, replacements: &[(&str, &str)]) {
    for entry in std::fs::read_dir(from.join(relative)).expect("read fixture dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        if entry.path().is_dir() {
            copy_fixture(project, from, &child, replacements);
        } else if child != "PORTING.md" {
            let mut text = std::fs::read_to_string(entry.path()).expect("read fixture file");
            for (stand_in, real) in replacements {
                text = text.replace(stand_in, real);
            }
            project.write(&child, &text);
        }
    }
}

struct Ported {
    project: TestProject,
    prod: String,
    org: Organization,
}

/// The ported project in an organization of the emulator's (management account: the project's),
/// env/prod in an account of its own with the central Config recorder and the trail a real
/// account has.
fn ported() -> Ported {
    let project = TestProject::empty();
    let prod = kmsctl_tests::fresh_account();
    let emulator = kmsctl_tests::endpoint();
    let org = create(&emulator, &project.account, &SHIPPED_OUS).expect("organization");
    let fixture = kmsctl_tests::repo_root().join("tests/fixtures/migration");
    let replacements = [
        (PROD, prod.as_str()),
        (MANAGEMENT, project.account.as_str()),
        (TREE[0], org.ous["dev"].as_str()),
        (TREE[1], org.ous["prod"].as_str()),
        (TREE[2], org.root_id.as_str()),
        (TREE[3], org.org_id.as_str()),
    ];
    copy_fixture(&project, &fixture, "", &replacements);
    // The management account is reached through its deployer role, as every test account is.
    project.edit(
        "organization/organization.toml",
        &format!("account_id = \"{}\"", project.account),
        &format!(
            "account_id = \"{0}\"\nassume_role_arn = \"arn:aws:iam::{0}:role/kmsctl-deployer\"",
            project.account
        ),
    );
    xtask::emulator::cloudtrail::provision_trail(&emulator, &prod, "us-east-1")
        .expect("a trail for the prod account");
    Ported { project, prod, org }
}

/// The SCPs attached to `target`, by name, AWS's `FullAWSAccess` left out.
async fn scps_on(client: &aws_sdk_organizations::Client, target: &str) -> Vec<String> {
    let listed = client
        .list_policies_for_target()
        .target_id(target)
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("policies for target");
    let mut names: Vec<String> = listed
        .policies()
        .iter()
        .filter_map(|p| p.name().map(str::to_owned))
        .filter(|n| n != "FullAWSAccess")
        .collect();
    names.sort();
    names
}

async fn scp_content(client: &aws_sdk_organizations::Client, name: &str) -> String {
    let listed = client
        .list_policies()
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("policies");
    let id = listed
        .policies()
        .iter()
        .find(|p| p.name() == Some(name))
        .and_then(|p| p.id())
        .unwrap_or_else(|| panic!("no SCP {name}"))
        .to_owned();
    let described = client
        .describe_policy()
        .policy_id(id)
        .send()
        .await
        .expect("describe policy");
    described
        .policy()
        .and_then(|p| p.content())
        .expect("content")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ported_prod_environment_and_organization_apply_cleanly_and_hold_the_framework_settings()
 {
    let Ported { project, prod, org } = ported();

    // Offline first, as a user would.
    project.kmsctl(&["validate", "organization"]).expect_code(0);
    project.kmsctl(&["validate", "env/prod"]).expect_code(0);

    kmsctl_tests::central_recorder(&prod, "central-config").await;
    for target in ["organization", "env/prod"] {
        let run = project
            .kmsctl(&["apply", target, "--auto-approve"])
            .expect_code(0);
        assert!(run.stdout.contains("Apply complete!"), "{}", run.stdout);
    }
    for target in ["organization", "env/prod"] {
        project
            .kmsctl(&["plan", target, "--detailed-exitcode"])
            .expect_code(0);
    }
    let drift = project.kmsctl(&["drift"]).expect_code(0);
    assert!(drift.stdout.contains("No drift."), "{}", drift.stdout);

    // The organization: the framework's ou_map, each SCP on its OU.
    let organizations = aws_sdk_organizations::Client::new(&account_config(&project.account).await);
    let attached: BTreeMap<&str, Vec<String>> = BTreeMap::from([
        ("root", scps_on(&organizations, &org.root_id).await),
        ("root/dev", scps_on(&organizations, &org.ous["dev"]).await),
        ("root/prod", scps_on(&organizations, &org.ous["prod"]).await),
    ]);
    let expected: BTreeMap<&str, Vec<String>> = BTreeMap::from(
        [
            (
                "root",
                &[
                    "automatic_key_rotation",
                    "mfa_critical_api",
                    "waiting_period",
                ][..],
            ),
            (
                "root/dev",
                &["deny_dev_key_access_except_dev_ou", "tag_enforcement"][..],
            ),
            (
                "root/prod",
                &[
                    "deny_prod_key_access_except_prod_ou",
                    "kms_spec_admin",
                    "tag_enforcement",
                ][..],
            ),
        ]
        .map(|(target, names)| (target, names.iter().map(|n| (*n).to_owned()).collect())),
    );
    assert_eq!(attached, expected);
    // The boundary's "/root/dev/*" became the OU's org path by ids.
    let boundary = scp_content(&organizations, "deny_dev_key_access_except_dev_ou").await;
    let dev_path = org.org_path("dev").expect("dev path");
    assert!(boundary.contains(&format!("{dev_path}*")), "{boundary}");
    assert!(!boundary.contains("/root/dev"), "{boundary}");

    // The prod key: alias, rotation, deletion window, description, tags, policy.
    let kms = aws_sdk_kms::Client::new(&account_config(&prod).await);
    let key = key_of_alias(&kms, ALIAS).await.expect("the key's alias");
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .expect("rotation status");
    assert!(rotation.key_rotation_enabled(), "rotation is on");
    let described = kms.describe_key().key_id(&key).send().await.expect("key");
    let metadata = described.key_metadata().expect("metadata");
    assert!(metadata.enabled());
    assert_eq!(
        metadata.description(),
        Some("KMS key for payment database encryption")
    );
    let tags = tags_of(&kms, &key).await;
    for (tag, value) in [
        ("BU", "Finance"),
        ("BusinessOwner", "Finance Team"),
        ("TechnicalOwner", "Database Team"),
        ("ProjectManager", "Jane Smith"),
        ("Project", "Payment System"),
        ("Owner", "Payments Team"),
        ("Environment", "prod"),
        ("kmsctl:managed", "true"),
    ] {
        assert_eq!(tags.get(tag).map(String::as_str), Some(value), "{tags:?}");
    }
    let policy = kms
        .get_key_policy()
        .key_id(&key)
        .policy_name("default")
        .send()
        .await
        .expect("key policy");
    let policy: Value = serde_json::from_str(policy.policy().expect("policy")).expect("json");
    let boundary = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| s["Sid"] == "DenyKeyUsageFromNonProdOUs")
        .expect("the prod boundary statement");
    assert_eq!(
        boundary["Condition"]["ForAllValues:StringNotLike"]["aws:PrincipalOrgPaths"],
        format!("{}*", org.org_path("prod").expect("prod path"))
    );

    // Monitoring: the rotation Config rule, and the deletion alert to the topic as SendToSNS.
    let config = account_config(&prod).await;
    let rules = aws_sdk_config::Client::new(&config)
        .describe_config_rules()
        .config_rule_names("kms-key-rotation-enabled")
        .send()
        .await
        .expect("config rule");
    let rule = &rules.config_rules()[0];
    assert_eq!(
        rule.source().and_then(|s| s.source_identifier()),
        Some("CMK_BACKING_KEY_ROTATION_ENABLED")
    );
    assert_eq!(
        rule.description(),
        Some("Checks whether automatic key rotation is enabled for each KMS key")
    );
    let events = aws_sdk_eventbridge::Client::new(&config);
    let alert = events
        .describe_rule()
        .name(ALERT_RULE)
        .send()
        .await
        .expect("the alert rule");
    assert_eq!(
        alert.description(),
        Some("Alert on KMS key deletion scheduling")
    );
    let pattern: Value =
        serde_json::from_str(alert.event_pattern().expect("pattern")).expect("json");
    assert_eq!(pattern["source"], serde_json::json!(["aws.kms"]));
    assert_eq!(
        pattern["detail"]["eventName"],
        serde_json::json!(["ScheduleKeyDeletion"])
    );
    let targets = events
        .list_targets_by_rule()
        .rule(ALERT_RULE)
        .send()
        .await
        .expect("targets");
    let targets: Vec<(String, String)> = targets
        .targets()
        .iter()
        .map(|t| (t.id().to_owned(), t.arn().to_owned()))
        .collect();
    assert_eq!(
        targets,
        [(
            "SendToSNS".to_owned(),
            format!("arn:aws:sns:us-east-1:{prod}:{TOPIC}")
        )]
    );
    // The framework has one alert rule: no other level gets one.
    let listed = events.list_rules().send().await.expect("rules");
    let names: Vec<&str> = listed.rules().iter().filter_map(|r| r.name()).collect();
    assert_eq!(names, [ALERT_RULE]);
}
