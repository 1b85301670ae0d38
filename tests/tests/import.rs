//! `kmsctl import env/NAME`: hand-made keys become reviewed files, and the plan after them only
//! adopts (against the emulator).

use kmsctl_tests::{TestProject, key_of_alias, tags_of};

fn tag(key: &str, value: &str) -> aws_sdk_kms::types::Tag {
    aws_sdk_kms::types::Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .expect("tag")
}

/// A key made by hand, as a team's console or Terraform made it: the environment's tags,
/// rotation on, and optionally an alias and a policy of its own.
async fn hand_made(
    kms: &aws_sdk_kms::Client,
    alias: Option<&str>,
    policy: Option<String>,
) -> String {
    let mut create = kms.create_key().description("made by hand");
    for (k, v) in [
        ("Environment", "dev"),
        ("BU", "Engineering"),
        ("BusinessOwner", "Platform Team"),
        ("Owner", "Platform Team"),
        ("CostCenter", "cc-42"),
        ("TechnicalOwner", "Database Team"),
        ("Project", "Payment System"),
    ] {
        create = create.tags(tag(k, v));
    }
    if let Some(policy) = policy {
        create = create.policy(policy);
    }
    let key_id = create
        .send()
        .await
        .expect("create")
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_owned();
    kms.enable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .expect("rotation");
    if let Some(alias) = alias {
        kms.create_alias()
            .alias_name(alias)
            .target_key_id(&key_id)
            .send()
            .await
            .expect("alias");
    }
    key_id
}

async fn key_count(kms: &aws_sdk_kms::Client) -> usize {
    kms.list_keys().send().await.expect("list").keys().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn hand_made_keys_are_imported_then_adopted_without_a_new_key() {
    let project = TestProject::dev();
    // An environment with no key declared yet and no monitoring: only what import writes.
    std::fs::remove_file(project.file("environments/dev/keys.toml")).expect("keys.toml");
    std::fs::remove_file(project.file("environments/dev/monitor.toml")).expect("monitor.toml");
    let kms = project.kms().await;
    let account = &project.account;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
          {{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}},
          {{"Sid":"Logs","Effect":"Allow","Principal":{{"Service":"logs.us-east-1.amazonaws.com"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
            "Condition":{{"ArnLike":{{"kms:EncryptionContext:aws:logs:arn":"arn:aws:logs:us-east-1:{account}:*"}}}}}}]}}"#
    );
    let named = hand_made(&kms, Some("alias/dev-db-payments-encryption"), Some(policy)).await;
    let legacy = hand_made(&kms, Some("alias/legacy-app"), None).await;
    let bare = hand_made(&kms, None, None).await;
    let before = key_count(&kms).await;

    let imported = project.kmsctl(&["import", "env/dev"]).expect_code(0);
    assert!(
        imported.stdout.contains("Imported 3 key(s)"),
        "{}{}",
        imported.stdout,
        imported.stderr
    );
    let written = project.read("environments/dev/imported.toml");
    assert!(
        written.contains("function = \"db\"") && written.contains("team = \"payments\""),
        "{written}"
    );
    assert!(
        written.contains("alias = \"alias/legacy-app\""),
        "{written}"
    );
    assert!(
        written.contains(&format!("key_id = \"{bare}\"")),
        "{written}"
    );
    assert!(written.contains("TODO(import)"), "{written}");
    assert!(written.contains("CostCenter"), "{written}");
    let policy_file = project.read("policies/kms/dev-db-payments-encryption-policy.json");
    assert!(
        policy_file.contains("{{ account_id }}") && !policy_file.contains(account.as_str()),
        "{policy_file}"
    );

    project.kmsctl(&["validate", "env/dev"]).expect_code(0);
    let plan = project.plan_dev(2);
    assert_eq!(
        plan.stdout.matches("will be adopted").count(),
        3,
        "{}",
        plan.stdout
    );
    assert!(
        !plan
            .stdout
            .lines()
            .any(|l| l.contains("# kms_key.") && l.contains("will be created")),
        "{}",
        plan.stdout
    );
    // The one addition: the default alias of the key that had none.
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy, 3 to adopt."),
        "{}",
        plan.stdout
    );
    project.kmsctl(&["apply"]).expect_code(0);
    assert_eq!(key_count(&kms).await, before, "no key was created");
    project.plan_dev(0);
    for key_id in [&named, &legacy, &bare] {
        assert_eq!(tags_of(&kms, key_id).await["kmsctl:managed"], "true");
    }
    // The key without an alias got the default one of its declaration.
    assert!(
        key_of_alias(
            &kms,
            &format!("alias/dev-fill-in-fill-in-key-{}", &bare[..8])
        )
        .await
        .is_some()
    );

    // Nothing left to import; existing files are never overwritten.
    let again = project.kmsctl(&["import", "env/dev"]).expect_code(0);
    assert!(
        again.stdout.contains("No key to import"),
        "{}",
        again.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_adopted_by_an_id_that_does_not_exist_is_refused_not_created() {
    let project = TestProject::dev();
    project.add_to_db_key("adopt = true\nkey_id = \"00000000-0000-0000-0000-000000000000\"");
    let refused = project.plan_dev(3);
    assert!(
        refused.stderr.contains("error[adopt-key-id]"),
        "{}",
        refused.stderr
    );
    // key_id without adopt is refused offline.
    let project = TestProject::dev();
    project.add_to_db_key("key_id = \"00000000-0000-0000-0000-000000000000\"");
    let offline = project.kmsctl(&["validate", "env/dev"]);
    assert_ne!(offline.code, 0, "{}", offline.stderr);
    assert!(offline.stderr.contains("adopt"), "{}", offline.stderr);
}
