//! The trust boundary, tried as an attacker would: a saved plan is a commitment (forged,
//! retargeted or outdated plans change nothing), a target is never a file, every file read stays
//! inside the project, `.kmsctl/` is never written through a symlink, and an environment cannot
//! lower the guards.

use std::path::Path;

use kmsctl_tests::{TestProject, customer_keys, key_of_alias};

const DB_ALIAS: &str = "alias/dev-db-payments-encryption";
const PLAN: &str = ".kmsctl/env-dev.plan.json";
/// Nothing listens here: a command that reaches AWS fails, so an offline refusal proves itself.
const NO_AWS: &str = "http://127.0.0.1:9";

/// The dev environment applied, then a change planned and saved (the db key disabled).
fn applied_with_saved_plan() -> TestProject {
    let project = TestProject::dev();
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.add_to_db_key("state = \"disabled\"");
    project.plan_dev(2);
    project
}

fn saved_plan(project: &TestProject) -> serde_json::Value {
    serde_json::from_str(&project.read(PLAN)).expect("plan JSON")
}

fn save_plan(project: &TestProject, plan: &serde_json::Value) {
    project.write(
        PLAN,
        &serde_json::to_string_pretty(plan).expect("serialise"),
    );
}

async fn db_key_state(project: &TestProject) -> (String, Option<i32>) {
    let kms = project.kms().await;
    let key = key_of_alias(&kms, DB_ALIAS).await.expect("db key");
    let described = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .expect("describe");
    let metadata = described.key_metadata().expect("metadata");
    (
        metadata
            .key_state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        metadata.pending_deletion_window_in_days(),
    )
}

/// Applies the tampered plan and checks it is refused with `message`, and that the key is as
/// before: enabled, nothing scheduled.
async fn refused(project: &TestProject, message: &str) {
    let run = project.kmsctl(&["apply", PLAN]).expect_code(1);
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(db_key_state(project).await, ("Enabled".into(), None));
}

fn db_change(plan: &mut serde_json::Value) -> &mut serde_json::Value {
    plan["changes"]
        .as_array_mut()
        .expect("changes")
        .iter_mut()
        .find(|c| {
            c["address"]
                .as_str()
                .is_some_and(|a| a.contains("db-payments"))
        })
        .expect("the db key's change")
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_added_to_a_saved_plan_are_refused() {
    let project = applied_with_saved_plan();
    let mut plan = saved_plan(&project);
    let change = db_change(&mut plan);
    let key_id = change["operations"][0]["key_id"].clone();
    let operations = change["operations"].as_array_mut().expect("operations");
    operations.push(serde_json::json!({
        "op": "ScheduleKeyDeletion", "key_id": key_id, "pending_window_in_days": 7
    }));
    save_plan(&project, &plan);
    refused(
        &project,
        "the saved plan is not what the files and AWS give now",
    )
    .await;
    refused(&project, "its API calls differ").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_policy_slipped_into_a_plan_is_refused() {
    let project = applied_with_saved_plan();
    let mut plan = saved_plan(&project);
    let change = db_change(&mut plan);
    let key_id = change["operations"][0]["key_id"].clone();
    change["operations"] = serde_json::json!([{
        "op": "PutKeyPolicy", "key_id": key_id,
        "policy": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"kms:*","Resource":"*"}]}"#
    }]);
    save_plan(&project, &plan);
    refused(&project, "its API calls differ").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relabelled_or_unobserved_plan_is_refused() {
    let project = applied_with_saved_plan();
    let original = saved_plan(&project);

    let mut relabelled = original.clone();
    db_change(&mut relabelled)["action"] = "create".into();
    save_plan(&project, &relabelled);
    refused(&project, "(create) in the saved plan, kms_key.").await;

    let mut unobserved = original.clone();
    unobserved["observed"] = serde_json::json!([]);
    save_plan(&project, &unobserved);
    refused(
        &project,
        "the saved plan is not what the files and AWS give now",
    )
    .await;

    let mut from_scratch = original;
    from_scratch["changes"] = serde_json::json!([]);
    from_scratch["observed"] = serde_json::json!([]);
    save_plan(&project, &from_scratch);
    refused(&project, "the saved plan lacks kms_key.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_cannot_choose_its_account_region_role_or_folder() {
    let project = applied_with_saved_plan();
    let original = saved_plan(&project);
    for (field, value, message) in [
        (
            "account_id",
            "999999999999",
            "the plan says account_id = \"999999999999\"",
        ),
        (
            "region",
            "eu-west-1",
            "the plan says region = \"eu-west-1\"",
        ),
        (
            "assume_role_arn",
            "arn:aws:iam::999999999999:role/attacker",
            "the plan says assume_role_arn",
        ),
        ("path", "environments/prod", "the plan says path"),
    ] {
        let mut plan = original.clone();
        plan["target"][field] = value.into();
        save_plan(&project, &plan);
        refused(&project, message).await;
    }
    for name in ["../dev", "dev/../../x", ""] {
        let mut plan = original.clone();
        plan["target"]["name"] = name.into();
        save_plan(&project, &plan);
        refused(
            &project,
            "the plan names a target kmsctl does not make plans for",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_whose_files_were_reverted_changes_nothing() {
    let project = applied_with_saved_plan();
    project.edit("environments/dev/keys.toml", "state = \"disabled\"\n", "");
    let run = project.kmsctl(&["apply", PLAN]).expect_code(1);
    assert!(
        run.stderr
            .contains("the files changed since this plan was made (environments/dev/keys.toml)"),
        "{}",
        run.stderr
    );
    assert_eq!(db_key_state(&project).await, ("Enabled".into(), None));
    // The untouched plan applies.
    project.add_to_db_key("state = \"disabled\"");
    let run = project.kmsctl(&["apply", PLAN]).expect_code(0);
    assert!(run.stdout.contains("Apply complete!"), "{}", run.stdout);
    assert_eq!(db_key_state(&project).await.0, "Disabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_file_edited_after_the_plan_is_named() {
    // Even an edit that changes no meaning: the plan was reviewed against these bytes.
    let project = applied_with_saved_plan();
    project.edit(
        "policies/kms/dev-payment-policy.json",
        "\"Version\"",
        "\"Version\" ",
    );
    let run = project.kmsctl(&["apply", PLAN]).expect_code(1);
    assert!(
        run.stderr.contains(
            "the files changed since this plan was made (policies/kms/dev-payment-policy.json)"
        ),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_organization_plan_reaches_nothing() {
    // A plan written from scratch: attach a Deny-everything SCP to the root. The project has no
    // organization.toml, so there is nothing it could be the plan of.
    let project = TestProject::dev();
    let forged = serde_json::json!({
        "format_version": 2, "kmsctl_version": env!("CARGO_PKG_VERSION"),
        "created_at": "2026-12-01T00:00:00Z",
        "target": {"kind": "organization", "name": "organization", "path": "organization",
                   "account_id": project.account, "region": "us-east-1"},
        "changes": [{"address": "aws_organizations_policy_attachment.deny-all",
                     "action": "create",
                     "operations": [{"op": "AttachPolicy", "policy_id": "p-deny", "target_id": "r-root"}]}],
        "observed": [], "inputs": {}
    });
    project.write("forged.json", &forged.to_string());
    let run = project
        .kmsctl_at(NO_AWS, &["apply", "forged.json"])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("organization/organization.toml does not exist"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_named_like_a_target_is_not_a_plan() {
    let project = applied_with_saved_plan();
    // Someone commits a plan file at env/dev: `apply env/dev` still means the environment.
    let mut plan = saved_plan(&project);
    let change = db_change(&mut plan);
    let key_id = change["operations"][0]["key_id"].clone();
    change["operations"] = serde_json::json!([{
        "op": "ScheduleKeyDeletion", "key_id": key_id, "pending_window_in_days": 7
    }]);
    project.write("env/dev", &plan.to_string());
    let run = project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    assert!(run.stdout.contains("Apply complete!"), "{}", run.stdout);
    assert_eq!(db_key_state(&project).await, ("Disabled".into(), None));
    // A plan is named as one: --plan FILE, or a path to a .json file; it still must be what the
    // files and AWS give (here: nothing is left to do).
    let run = project
        .kmsctl(&["apply", "--plan", "env/dev"])
        .expect_code(1);
    assert!(
        run.stderr.contains("the saved plan has kms_key."),
        "{}",
        run.stderr
    );
    assert_eq!(db_key_state(&project).await, ("Disabled".into(), None));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_once_and_only_as_made() {
    let project = applied_with_saved_plan();
    let run = project.kmsctl(&["apply", "--plan", PLAN]).expect_code(0);
    assert!(
        run.stdout
            .contains("Checking the saved plan .kmsctl/env-dev.plan.json for env/dev"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Destructive: disable kms_key."),
        "{}",
        run.stdout
    );
    assert_eq!(db_key_state(&project).await.0, "Disabled");
    assert_eq!(customer_keys(&project.kms().await).await.len(), 2);
}

// --- Files stay inside the project -------------------------------------------------------------

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// A file outside the project holding something a runner must never print.
fn outside_secret() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("credentials");
    std::fs::write(&path, "[default]\naws_secret_access_key = TOPSECRETVALUE\n").expect("write");
    (dir, path)
}

fn refused_offline(project: &TestProject, args: &[&str], path: &str) {
    let run = project.kmsctl_at(NO_AWS, args);
    assert_eq!(run.code, 1, "{args:?}\n{}\n{}", run.stdout, run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("TOPSECRETVALUE"), "{all}");
    assert!(
        all.contains(&format!("{path} leaves the project root")),
        "{args:?}: {all}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_project_are_refused_for_every_file_kind() {
    let (_keep, secret) = outside_secret();

    let project = TestProject::dev();
    symlink(&secret, &project.file("environments/dev/zz-extra.toml"));
    refused_offline(
        &project,
        &["validate", "env/dev"],
        "environments/dev/zz-extra.toml",
    );

    let project = TestProject::dev();
    let policy = project.file("policies/kms/dev-payment-policy.json");
    std::fs::remove_file(&policy).expect("rm");
    symlink(&secret, &policy);
    let run = project.kmsctl_at(NO_AWS, &["validate", "env/dev"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("TOPSECRETVALUE"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("policies/kms/dev-payment-policy.json leaves the project root"),
        "{}",
        run.stderr
    );

    let project = TestProject::shipped();
    let scp = project.file("policies/org/service_control_policy/waiting_period.json");
    std::fs::remove_file(&scp).expect("rm");
    symlink(&secret, &scp);
    let run = project.kmsctl_at(NO_AWS, &["validate", "organization"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("TOPSECRETVALUE"), "{all}");
    assert!(
        all.contains("waiting_period.json leaves the project root"),
        "{all}"
    );

    let project = TestProject::shipped();
    let expect = project.file("organization/expect.toml");
    std::fs::remove_file(&expect).expect("rm");
    symlink(&secret, &expect);
    refused_offline(
        &project,
        &["validate", "organization"],
        "organization/expect.toml",
    );

    let project = TestProject::shipped();
    let org = project.file("organization/organization.toml");
    std::fs::remove_file(&org).expect("rm");
    symlink(&secret, &org);
    refused_offline(
        &project,
        &["validate", "organization"],
        "organization/organization.toml",
    );

    // The environment folder itself.
    let project = TestProject::dev();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    symlink(elsewhere.path(), &project.file("environments/evil"));
    let run = project.kmsctl_at(NO_AWS, &["validate", "env/evil"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("environments/evil leaves the project root"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn identity_policies_and_trust_anchors_stay_inside_too() {
    let (_keep, secret) = outside_secret();
    let project = TestProject::shipped();
    symlink(&secret, &project.file("policies/identity.json"));
    let run = project.kmsctl_at(
        NO_AWS,
        &[
            "simulate",
            "--principal",
            "arn:aws:iam::111111111111:role/dev-app-role",
            "--action",
            "kms:Decrypt",
            "--key",
            DB_ALIAS,
            "--identity-policy",
            "policies/identity.json",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("TOPSECRETVALUE"), "{all}");
    assert!(
        all.contains("policies/identity.json leaves the project root"),
        "{all}"
    );

    // /dev/zero as the trust anchor: refused at once, never read.
    let project = TestProject::example("prod-hsm", "222222222222");
    project.edit(
        "environments/prod-hsm/hsm.toml",
        "trust_anchor_certificate = \"certs/customerCA.crt\"",
        "trust_anchor_certificate = \"/dev/zero\"",
    );
    let started = std::time::Instant::now();
    let run = project.kmsctl_at(NO_AWS, &["validate", "env/prod-hsm"]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("hsm-trust-anchor"), "{}", run.stderr);
    assert!(
        run.stderr.contains("leaves the project root"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed().as_secs() < 30, "read /dev/zero?");
}

#[cfg(unix)]
#[test]
fn devices_fifos_and_huge_files_are_not_read() {
    let project = TestProject::dev();
    symlink(
        Path::new("/dev/zero"),
        &project.file("environments/dev/zero.toml"),
    );
    refused_offline(
        &project,
        &["validate", "env/dev"],
        "environments/dev/zero.toml",
    );

    // organization.toml is read for the environment's floors and its deployer: never endlessly.
    let project = TestProject::shipped();
    let org = project.file("organization/organization.toml");
    std::fs::remove_file(&org).expect("rm");
    symlink(Path::new("/dev/zero"), &org);
    refused_offline(
        &project,
        &["validate", "env/dev"],
        "organization/organization.toml",
    );

    let project = TestProject::dev();
    let fifo = project.file("environments/dev/pipe.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let run = project.kmsctl_at(NO_AWS, &["validate", "env/dev"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a regular file"),
        "{}",
        run.stderr
    );

    let project = TestProject::dev();
    let big = std::fs::File::create(project.file("policies/kms/dev-payment-policy.json"))
        .expect("create");
    big.set_len(18 << 20).expect("18 MiB");
    let run = project.kmsctl_at(NO_AWS, &["validate", "env/dev"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("is 18874368 bytes, more than the 262144 bytes allowed for a policy file"),
        "{}",
        run.stderr
    );
}

// --- .kmsctl/ is written safely ----------------------------------------------------------------

#[cfg(unix)]
#[test]
fn a_symlinked_state_folder_is_refused() {
    let project = TestProject::dev();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    symlink(elsewhere.path(), &project.file(".kmsctl"));
    let run = project.kmsctl_at(NO_AWS, &["apply", "env/dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(".kmsctl is a symlink"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).expect("read").count(),
        0,
        "nothing written where the link points"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn plans_and_locks_are_never_written_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let project = TestProject::dev();
    let victim_dir = tempfile::tempdir().expect("tempdir");
    let victim = victim_dir.path().join("victim");
    std::fs::write(&victim, "precious").expect("write");
    std::fs::create_dir_all(project.file(".kmsctl")).expect("mkdir");
    symlink(&victim, &project.file(PLAN));
    symlink(&victim, &project.file(".kmsctl/env-dev.plan.json.tmp"));
    project.plan_dev(2);
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
    let plan = project.file(PLAN);
    let meta = std::fs::symlink_metadata(&plan).expect("plan");
    assert!(meta.is_file(), "the link was replaced by the plan");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    symlink(&victim, &project.file(".kmsctl/env-dev.lock"));
    let run = project.kmsctl(&["apply", PLAN]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot open the lock"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
    assert!(customer_keys(&project.kms().await).await.is_empty());
}

// --- Guards have floors ------------------------------------------------------------------------

/// Replaces the environment's `[rules]` table (the last table of the shipped files) with `rules`.
fn set_rules(project: &TestProject, environment: &str, rules: &str) {
    let file = format!("environments/{environment}/environment.toml");
    let text = project.read(&file);
    let start = text.find("[rules]").expect("the shipped file has [rules]");
    project.write(&file, &format!("{}[rules]\n{rules}\n", &text[..start]));
}

#[test]
fn an_environment_cannot_loosen_the_rules() {
    for (rules, message) in [
        (
            "required_tags = []",
            "required_tags leaves out BU, BusinessOwner",
        ),
        ("environment_tag = \"Env\"", "environment_tag = \"Env\""),
        (
            "max_rotation_period_days = 2560",
            "max_rotation_period_days = 2560 is above the floor of 365",
        ),
        (
            "min_deletion_window_days = 7",
            "min_deletion_window_days = 7 is below the floor of 30",
        ),
        ("require_rotation = false", "require_rotation = false"),
    ] {
        let project = TestProject::dev();
        set_rules(&project, "dev", rules);
        let run = project.kmsctl_at(NO_AWS, &["validate", "env/dev"]);
        assert_eq!(run.code, 3, "{rules}\n{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("rules-floor"),
            "{rules}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(message), "{rules}: {}", run.stderr);
        assert!(
            run.stderr.contains("the framework's defaults"),
            "{rules}: {}",
            run.stderr
        );
    }
}

#[test]
fn only_the_organization_can_loosen_a_rule_and_its_floor_binds() {
    let project = TestProject::shipped();
    // The organization lowers the rotation ceiling's floor to 730 days: prod may use it...
    project.edit(
        "organization/organization.toml",
        "require_rotation = true",
        "require_rotation = true\nmax_rotation_period_days = 730\nrequired_tags = [\"BU\", \"Environment\"]",
    );
    set_rules(&project, "prod", "max_rotation_period_days = 730");
    let run = project.kmsctl_at(NO_AWS, &["validate", "env/prod"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // ...but not beyond it, and not with fewer tags than it requires.
    set_rules(
        &project,
        "prod",
        "max_rotation_period_days = 900\nrequired_tags = [\"BU\"]",
    );
    let run = project.kmsctl_at(NO_AWS, &["validate", "env/prod"]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("above the floor of 730"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("leaves out Environment"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the organization's [rules]"),
        "{}",
        run.stderr
    );
}
