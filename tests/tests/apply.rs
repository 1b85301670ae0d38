//! Plan and apply of the shipped dev environment against the emulator, end to end.

use kmsctl_tests::{TestProject, customer_keys, key_of_alias, tags_of};

const DB_ALIAS: &str = "alias/dev-db-payments-encryption";

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_keys_with_policy_tags_rotation_aliases_and_the_next_plan_is_clean() {
    let project = TestProject::dev();
    let applied = project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 15 added, 0 changed, 0 destroyed."),
        "{}",
        applied.stdout
    );

    let kms = project.kms().await;
    assert_eq!(
        customer_keys(&kms).await.len(),
        2,
        "exactly the two declared keys"
    );
    let key_id = key_of_alias(&kms, DB_ALIAS).await.expect("alias created");
    assert_eq!(
        key_of_alias(&kms, "alias/dev-s3-platform-logs").await,
        key_of_alias(&kms, "alias/dev-platform-logs").await
    );

    let tags = tags_of(&kms, &key_id).await;
    let tag = |name: &str| tags.get(name).cloned();
    assert_eq!(tag("Environment").as_deref(), Some("dev"));
    assert_eq!(tag("Project").as_deref(), Some("Payment System"));
    assert_eq!(tag("kmsctl:managed").as_deref(), Some("true"));
    assert_eq!(
        tag("kmsctl:id").as_deref(),
        Some("dev/db/payments/encryption")
    );

    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .expect("rotation");
    assert!(rotation.key_rotation_enabled());

    let policy = kms
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .expect("policy");
    let policy = policy.policy().expect("a policy");
    assert!(
        policy.contains(&format!(
            "arn:aws:iam::{}:role/dev-app-role",
            project.account
        )),
        "templated: {policy}"
    );

    let described = kms
        .describe_key()
        .key_id(&key_id)
        .send()
        .await
        .expect("describe");
    let metadata = described.key_metadata().expect("metadata");
    assert_eq!(
        metadata.description(),
        Some("KMS key for payment database encryption (dev)")
    );

    let second = project.plan_dev(0);
    assert!(second.stdout.contains("No changes."), "{}", second.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_formatting_is_no_change_but_a_removed_action_is_shown_by_statement() {
    let project = TestProject::dev();
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);

    // Same meaning: statements reversed, keys reordered, whitespace gone, one-element arrays.
    let file = "policies/kms/dev-payment-policy.json";
    let original = project.read(file);
    let mut policy: serde_json::Value = serde_json::from_str(&project.read(file)).expect("json");
    let statements = policy["Statement"].as_array_mut().expect("statements");
    statements.reverse();
    for statement in statements.iter_mut() {
        if let Some(resource) = statement.get_mut("Resource") {
            *resource = serde_json::json!([resource.clone()]);
        }
    }
    let mut reordered = serde_json::Map::new();
    for key in ["Statement", "Id", "Version"] {
        reordered.insert(key.to_owned(), policy[key].clone());
    }
    project.write(file, &serde_json::to_string(&reordered).expect("json"));
    project.plan_dev(0);

    // Remove Decrypt from the app role's statement (its third statement) only.
    let app_statement = original
        .find("Allow App Role to Use the Key")
        .expect("statement");
    let at = app_statement
        + original[app_statement..]
            .find("\"kms:Decrypt\",")
            .expect("action");
    project.write(
        file,
        &format!(
            "{}{}",
            &original[..at],
            &original[at + "\"kms:Decrypt\",".len()..]
        ),
    );
    let plan = project.plan_dev(2);
    assert!(
        plan.stdout
            .contains("kms_key_policy.db-payments-encryption"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("statement \"Allow App Role to Use the Key\": Action"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("- \"kms:Decrypt\""), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_band_rotation_and_tag_changes_are_shown_and_restored() {
    let project = TestProject::dev();
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let kms = project.kms().await;
    let key_id = key_of_alias(&kms, DB_ALIAS).await.expect("alias");
    kms.disable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .expect("disable rotation");
    kms.untag_resource()
        .key_id(&key_id)
        .tag_keys("Project")
        .send()
        .await
        .expect("untag");

    let plan = project.plan_dev(2);
    assert!(
        plan.stdout
            .contains("~ enabled                 = false -> true"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("+ tags.Project = \"Payment System\""),
        "{}",
        plan.stdout
    );

    project.kmsctl(&["apply", "--auto-approve"]).expect_code(0);
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .expect("rotation");
    assert!(rotation.key_rotation_enabled(), "rotation restored");
    project.plan_dev(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_as_stale_after_an_out_of_band_change() {
    let project = TestProject::dev();
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.edit(
        "environments/dev/keys.toml",
        "Project = \"Payment System\"",
        "Project = \"Payments\"",
    );
    project.plan_dev(2);

    let kms = project.kms().await;
    let key_id = key_of_alias(&kms, DB_ALIAS).await.expect("alias");
    kms.update_key_description()
        .key_id(&key_id)
        .description("edited by hand")
        .send()
        .await
        .expect("describe");

    let apply = project.kmsctl(&["apply"]).expect_code(1);
    assert!(
        apply.stderr.contains("the plan is stale"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("kms_key.db-payments-encryption"),
        "{}",
        apply.stderr
    );
    let tags = tags_of(&kms, &key_id).await;
    assert_eq!(tags["Project"], "Payment System", "nothing was changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_whose_alias_was_never_created_is_found_by_its_id_tag_and_finished() {
    let project = TestProject::dev();
    let kms = project.kms().await;
    // A crash between CreateKey and CreateAlias leaves a tagged key without alias.
    let tag = |k: &str, v: &str| {
        aws_sdk_kms::types::Tag::builder()
            .tag_key(k)
            .tag_value(v)
            .build()
            .expect("tag")
    };
    let created = kms
        .create_key()
        .description("KMS key for payment database encryption (dev)")
        .tags(tag("kmsctl:managed", "true"))
        .tags(tag("kmsctl:environment", "dev"))
        .tags(tag("kmsctl:id", "dev/db/payments/encryption"))
        .send()
        .await
        .expect("create");
    let orphan_id = created
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_owned();

    let plan = project.kmsctl(&["plan", "env/dev"]).expect_code(0);
    assert!(
        !plan
            .stdout
            .contains("# kms_key.db-payments-encryption will be created"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("# kms_alias.alias/dev-db-payments-encryption will be created"),
        "{}",
        plan.stdout
    );
    project.kmsctl(&["apply"]).expect_code(0);
    assert_eq!(key_of_alias(&kms, DB_ALIAS).await, Some(orphan_id));
    assert_eq!(customer_keys(&kms).await.len(), 2, "no duplicate");
    project.plan_dev(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alias_on_an_unmanaged_key_is_refused_unless_adopted() {
    let project = TestProject::dev();
    let kms = project.kms().await;
    let created = kms
        .create_key()
        .description("made by hand")
        .send()
        .await
        .expect("create");
    let key_id = created
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_owned();
    kms.create_alias()
        .alias_name(DB_ALIAS)
        .target_key_id(&key_id)
        .send()
        .await
        .expect("alias");

    let refused = project.plan_dev(3);
    assert!(
        refused.stderr.contains("error[alias-unmanaged-key]"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(&key_id),
        "names the key: {}",
        refused.stderr
    );
    assert!(
        !project.file(".kmsctl/env-dev.plan.json").exists(),
        "a refused plan is not saved"
    );

    project.add_to_db_key("adopt = true");
    let plan = project.plan_dev(2);
    assert!(
        plan.stdout
            .contains("# kms_key.db-payments-encryption will be adopted"),
        "{}",
        plan.stdout
    );
    project.kmsctl(&["apply"]).expect_code(0);
    let tags = tags_of(&kms, &key_id).await;
    assert_eq!(tags["kmsctl:id"], "dev/db/payments/encryption");
    project.plan_dev(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_deletion_is_scheduled_and_setting_the_state_back_cancels_it() {
    let project = TestProject::dev();
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let kms = project.kms().await;
    let key_id = key_of_alias(&kms, DB_ALIAS).await.expect("alias");
    let state = |kms: aws_sdk_kms::Client, key_id: String| async move {
        let described = kms
            .describe_key()
            .key_id(key_id)
            .send()
            .await
            .expect("describe");
        described
            .key_metadata()
            .and_then(|m| m.key_state().map(|s| s.as_str().to_owned()))
            .unwrap_or_default()
    };

    project.add_to_db_key("state = \"pending_deletion\"");
    let plan = project.plan_dev(2);
    assert!(
        plan.stdout.contains("- kms_key.db-payments-encryption"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("0 to add, 0 to change, 1 to destroy"),
        "{}",
        plan.stdout
    );
    project.kmsctl(&["apply"]).expect_code(0);
    assert_eq!(state(kms.clone(), key_id.clone()).await, "PendingDeletion");
    project.plan_dev(0);

    project.edit(
        "environments/dev/keys.toml",
        "state = \"pending_deletion\"",
        "state = \"enabled\"",
    );
    let plan = project.plan_dev(2);
    assert!(
        plan.stdout
            .contains("will have its scheduled deletion cancelled"),
        "{}",
        plan.stdout
    );
    project.kmsctl(&["apply"]).expect_code(0);
    assert_eq!(state(kms, key_id).await, "Enabled");
    project.plan_dev(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_key_spec_is_refused_and_keys_left_out_of_the_files_are_orphans() {
    let project = TestProject::dev();
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.edit(
        "environments/dev/keys.toml",
        "rotation_period_in_days = 180",
        "spec = \"HMAC_256\"\nenable_key_rotation = false",
    );
    let refused = project.kmsctl(&["plan", "env/dev"]).expect_code(3);
    assert!(
        refused.stderr.contains("error[immutable-attribute]"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("kmsctl never replaces")
            || refused.stderr.contains("cannot change to HMAC_256"),
        "{}",
        refused.stderr
    );

    // Drop the second key from the files: it is reported, never deleted.
    let text = project.read("environments/dev/keys.toml");
    let first = text
        .split("\n[[key]]")
        .next()
        .expect("first key")
        .to_owned();
    project.write("environments/dev/keys.toml", &first);
    let plan = project.plan_dev(0);
    assert!(plan.stdout.contains("orphaned key"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("dev/s3/platform/logs"),
        "{}",
        plan.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_caller_must_be_in_the_declared_account() {
    let project = TestProject::dev();
    // Without the role, the caller is the emulator's default account, not the environment's.
    let text = project.read("environments/dev/environment.toml");
    let without_role: String = text
        .lines()
        .filter(|l| !l.starts_with("assume_role_arn"))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write("environments/dev/environment.toml", &without_role);
    let run = project.kmsctl(&["plan", "env/dev"]).expect_code(1);
    assert!(
        run.stderr.contains("the caller is in account 123456789012"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&project.account), "{}", run.stderr);
}

#[test]
fn a_second_apply_of_the_same_environment_is_refused_while_one_runs() {
    use std::io::Write;
    let project = TestProject::dev();
    std::fs::create_dir_all(project.file(".kmsctl")).expect("mkdir");
    let mut held = std::fs::File::create(project.file(".kmsctl/env-dev.lock")).expect("lock file");
    held.lock().expect("hold the lock as a running apply would");
    write!(held, "pid 4242 on ci-runner-7 since 2026-11-28T20:00:00Z").expect("holder");
    let run = project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(1);
    assert!(
        run.stderr.contains("another kmsctl is applying env/dev (pid 4242 on ci-runner-7 since 2026-11-28T20:00:00Z)"),
        "{}",
        run.stderr
    );
    // The holder dies without cleaning up: the kernel frees the lock, the next run says so.
    drop(held);
    let run = project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    assert!(
        run.stderr.contains("ended without releasing its lock"),
        "stderr: {}\nstdout: {}",
        run.stderr,
        run.stdout
    );
    assert_eq!(
        project.read(".kmsctl/env-dev.lock"),
        "",
        "a clean release empties the lock file"
    );
}

#[test]
fn plan_json_is_versioned_and_matches_the_saved_plan() {
    let project = TestProject::dev();
    let run = project
        .kmsctl(&[
            "plan",
            "env/dev",
            "--format",
            "json",
            "--out",
            "dev.plan.json",
        ])
        .expect_code(0);
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(printed["format_version"], 2);
    assert_eq!(
        printed["target"]["account_id"],
        serde_json::json!(project.account)
    );
    // 7 KMS resources and 8 of monitoring (recorder, 2 Config rules, topic, its policy, a
    // subscription, the critical alert rule and its target).
    assert_eq!(printed["summary"]["add"], 15);
    let saved: serde_json::Value =
        serde_json::from_str(&project.read("dev.plan.json")).expect("saved plan");
    assert_eq!(saved["changes"], printed["changes"]);
    // A path to a .json file is a plan.
    let applied = project.kmsctl(&["apply", "dev.plan.json"]).expect_code(0);
    assert!(applied.stdout.contains("15 added"), "{}", applied.stdout);
    assert!(
        !project.file("dev.plan.json").exists(),
        "an applied plan is consumed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_apply_reports_what_was_applied_and_a_rerun_converges() {
    let proxy = fault_proxy::Proxy::start(&kmsctl_tests::endpoint(), vec![], 11)
        .expect("the fault proxy starts");
    let project = TestProject::dev();
    project.use_endpoint(&proxy.endpoint());
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.edit(
        "environments/dev/keys.toml",
        "Project = \"Payment System\"",
        "Project = \"Payments\"",
    );
    project.edit(
        "environments/dev/keys.toml",
        "Project = \"Observability\"",
        "Project = \"Logs\"",
    );
    project.kmsctl(&["plan", "env/dev"]).expect_code(0);

    // Make the second change fail in AWS: one TagResource goes through, the next is throttled
    // (and, with one attempt, not retried). A saved plan cannot be edited to fail: apply would
    // refuse it.
    proxy.set_rules(vec![fault_proxy::Rule::always(
        "kms:TagResource",
        fault_proxy::Fault::Quota {
            per_second: 0.001,
            burst: 1,
        },
    )]);
    let failed = project
        .kmsctl(&["--max-attempts", "1", "apply"])
        .expect_code(1);
    proxy.set_rules(vec![]);
    // The two keys' changes run side by side: whichever got the token was applied.
    let keys = ["kms_key.db-payments-encryption", "kms_key.s3-platform-logs"];
    let applied = keys
        .into_iter()
        .position(|key| failed.stderr.contains(&format!("Applied (1): {key}")))
        .unwrap_or_else(|| panic!("one key applied: {}", failed.stderr));
    let (done, left) = (keys[applied], keys[1 - applied]);
    assert!(
        failed.stderr.contains(&format!("Not applied (1): {left}")),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("kms:TagResource failed"),
        "{}",
        failed.stderr
    );

    let rerun = project.plan_dev(2);
    assert!(rerun.stdout.contains(left), "{}", rerun.stdout);
    assert!(
        !rerun.stdout.contains(done),
        "already applied: {}",
        rerun.stdout
    );
    project.kmsctl(&["apply"]).expect_code(0);
    project.plan_dev(0);
}
