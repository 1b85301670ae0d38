//! Guards and bad input: a clear error naming the file, line and rule, and nothing changed.

use kmsctl_tests::{TestProject, customer_keys};

/// Nothing listens here: a command that tried to reach AWS would fail with exit 1.
const NO_AWS: &str = "http://127.0.0.1:9";
const KEYS: &str = "environments/dev/keys.toml";
const POLICY: &str = "policies/kms/dev-payment-policy.json";

fn offline_project() -> TestProject {
    TestProject::dev()
}

fn assert_refused(project: &TestProject, rule: &str, file: &str) {
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(3);
    assert!(
        run.stderr.contains(&format!("error[{rule}]")),
        "rule {rule}: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("--> {file}")),
        "file {file}: {}",
        run.stderr
    );
    assert!(run.stderr.contains("= fix:"), "{}", run.stderr);
}

#[test]
fn shipped_environments_validate() {
    let project = offline_project();
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(0);
    assert!(
        run.stdout.contains("Valid. env/dev: 2 key(s)"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_seven_day_deletion_window_is_refused_with_its_line() {
    let project = offline_project();
    project.add_to_db_key("deletion_window_in_days = 7");
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[deletion-window]"),
        "{}",
        run.stderr
    );
    let line = project
        .read(KEYS)
        .lines()
        .position(|l| l.starts_with("deletion_window_in_days"))
        .expect("line")
        + 1;
    assert!(
        run.stderr.contains(&format!("--> {KEYS}:{line}")),
        "line {line}: {}",
        run.stderr
    );
}

#[test]
fn a_missing_required_tag_is_refused() {
    let project = offline_project();
    project.edit(KEYS, "Project = \"Payment System\"\n", "");
    assert_refused(&project, "required-tags", KEYS);
}

#[test]
fn a_policy_without_a_put_key_policy_grant_is_refused() {
    let project = offline_project();
    project.edit(
        POLICY,
        "\"Action\": \"kms:*\"",
        "\"Action\": \"kms:Describe*\"",
    );
    project.edit(POLICY, "\"kms:Put*\",", "");
    assert_refused(&project, "policy-lockout", POLICY);
}

#[test]
fn a_reserved_alias_is_refused() {
    let project = offline_project();
    project.edit(
        KEYS,
        "aliases = [\"alias/dev-platform-logs\"]",
        "aliases = [\"alias/aws/x\"]",
    );
    assert_refused(&project, "alias-name", KEYS);
}

#[test]
fn the_environment_tag_must_equal_the_environment_name() {
    let project = offline_project();
    project.edit(
        KEYS,
        "Project = \"Observability\"",
        "Project = \"Observability\"\nEnvironment = \"prod\"",
    );
    assert_refused(&project, "environment-tag", KEYS);
}

#[test]
fn malformed_toml_names_file_and_line() {
    let project = offline_project();
    project.edit(KEYS, "team = \"payments\"", "team = \"payments");
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    let line = project
        .read(KEYS)
        .lines()
        .position(|l| l.starts_with("team = \"payments"))
        .expect("line")
        + 1;
    assert!(
        run.stderr.contains(&format!("{KEYS}:{line}:")),
        "line {line}: {}",
        run.stderr
    );
}

#[test]
fn an_unknown_field_names_file_line_and_field() {
    let project = offline_project();
    project.edit(
        KEYS,
        "team = \"payments\"",
        "team = \"payments\"\nrotate = true",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    assert!(
        run.stderr.contains("unknown field `rotate`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!("{KEYS}:")), "{}", run.stderr);
}

#[test]
fn malformed_policy_json_names_file_and_line() {
    let project = offline_project();
    project.edit(POLICY, "\"Effect\": \"Allow\",", "\"Effect\": \"Allow\"");
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    assert!(run.stderr.contains(&format!("{POLICY}:")), "{}", run.stderr);
    assert!(run.stderr.contains("invalid policy JSON"), "{}", run.stderr);
}

#[test]
fn a_missing_policy_file_is_named() {
    let project = offline_project();
    project.edit(KEYS, "dev-payment-policy.json", "no-such-policy.json");
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("policies/kms/no-such-policy.json does not exist"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!("{KEYS}:")), "{}", run.stderr);
}

#[test]
fn a_policy_path_leaving_the_project_is_refused() {
    let project = offline_project();
    project.edit(
        KEYS,
        "dev-payment-policy.json",
        "../../environments/dev/environment.toml",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    assert!(
        run.stderr.contains("leaves the project root"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unknown_template_variable_is_named_with_a_suggestion() {
    let project = offline_project();
    project.edit(POLICY, "{{ app_role }}", "{{ app_rol }}");
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    assert!(run.stderr.contains("app_rol"), "{}", run.stderr);
    assert!(
        run.stderr.contains("app_role"),
        "suggests the near name: {}",
        run.stderr
    );
}

#[test]
fn a_table_declared_in_two_files_names_both() {
    let project = offline_project();
    project.write(
        "environments/dev/extra.toml",
        "[tags]\nCostCenter = \"42\"\n",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    assert!(
        run.stderr.contains("environments/dev/extra.toml"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("environments/dev/environment.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn keys_concatenate_across_files() {
    let project = offline_project();
    let extra = "[[key]]\nfunction = \"app\"\nteam = \"orders\"\npurpose = \"signing\"\nspec = \"ECC_NIST_P256\"\n\
                 [key.tags]\nTechnicalOwner = \"Orders\"\nProject = \"Orders\"\n";
    project.write("environments/dev/more-keys.toml", extra);
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(0);
    assert!(
        run.stdout.contains(
            "3 key(s), 2 config rule(s), 1 alert rule(s) to dev-kms-security-alerts, 4 file(s)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn usage_errors_exit_1_never_2() {
    let project = offline_project();
    project.kmsctl_at(NO_AWS, &["plan"]).expect_code(1);
    project.kmsctl_at(NO_AWS, &["frobnicate"]).expect_code(1);
    project.kmsctl_at(NO_AWS, &["--help"]).expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_changes_nothing_in_aws() {
    let project = TestProject::dev();
    project.edit(POLICY, "\"Effect\": \"Allow\",", "\"Effect\": \"Allow\"");
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(1);
    project.edit(
        POLICY,
        "\"Effect\": \"Allow\"\n",
        "\"Effect\": \"Allow\",\n",
    );
    project.edit(
        KEYS,
        "team = \"payments\"",
        "team = \"payments\"\ndeletion_window_in_days = 7",
    );
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(3);
    let kms = project.kms().await;
    assert!(customer_keys(&kms).await.is_empty(), "nothing was created");
}

#[test]
fn the_project_root_is_found_from_a_subfolder() {
    let project = offline_project();
    let mut command = std::process::Command::new(kmsctl_tests::kmsctl_bin());
    command
        .args(["validate", "env/dev"])
        .current_dir(project.file("environments/dev"));
    xtask::emulator::configure_command(&mut command, NO_AWS);
    let output = command.output().expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
