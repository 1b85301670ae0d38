//! `kmsctl lint` on policy files, offline, and the same rules inside `validate`.

use std::process::Command;

use kmsctl_tests::{TestProject, repo_root, validators};

const NO_AWS: &str = "http://127.0.0.1:9";

fn lint(project: &TestProject, args: &[&str]) -> kmsctl_tests::Run {
    let mut all = vec!["lint"];
    all.extend_from_slice(args);
    project.kmsctl_at(NO_AWS, &all)
}

#[test]
fn the_shipped_policies_and_awss_default_key_policy_lint_clean() {
    let project = TestProject::organization();
    let mut files: Vec<String> = Vec::new();
    for dir in [
        "policies/kms",
        "policies/org/service_control_policy",
        "policies/org/resource_control_policy",
    ] {
        for entry in std::fs::read_dir(project.file(dir)).expect("dir").flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                files.push(format!("{dir}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    project.write(
        "default-key-policy.json",
        r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    files.push("default-key-policy.json".into());
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let run = lint(&project, &args).expect_code(0);
    assert!(
        run.stdout.contains(&format!(
            "{} file(s): 0 error(s), 0 warning(s).",
            files.len()
        )),
        "{}{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn the_seeds_policies_as_written_show_the_org_path_misspelt_key_and_lockout_problems() {
    let project = TestProject::empty();
    let seed = repo_root().join("tests/fixtures/seed");
    std::fs::copy(
        seed.join("prod-rds-key-policy.json"),
        project.file("key.json"),
    )
    .expect("copy");
    std::fs::copy(
        seed.join("environment-boundary-scp.json"),
        project.file("scp.json"),
    )
    .expect("copy");
    let run = lint(&project, &["key.json"]).expect_code(3);
    for shown in [
        "error[unknown-condition-key]",
        "aws:PrincipalOrgPath is not a condition key",
        "fix: did you mean aws:PrincipalOrgPaths?",
        "error[policy-lockout]",
        "error[orgpaths-value]",
        "\"/root/prod/*\" is not an organization path",
        "--> key.json:",
    ] {
        assert!(run.stderr.contains(shown), "{shown}\n{}", run.stderr);
    }
    let run = lint(&project, &["--type", "scp", "scp.json"]).expect_code(3);
    assert!(
        run.stderr.contains("error[orgpaths-value]"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\"/root/dev/*\""), "{}", run.stderr);

    // SARIF, validated by the SARIF multitool.
    let run = lint(&project, &["--format", "sarif", "key.json"]).expect_code(3);
    project.write("lint.sarif", &run.stdout);
    let tools = validators();
    let checked = Command::new(&tools.sarif_multitool)
        .args(["validate", "--output"])
        .arg(project.file("lint-validation.sarif"))
        .arg(project.file("lint.sarif"))
        .output()
        .expect("multitool runs");
    let said = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(
        checked.status.success() && !said.contains(": error"),
        "{said}"
    );
    let json = lint(&project, &["--format", "json", "key.json"]).expect_code(3);
    let findings: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert!(
        findings
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f["rule"] == "policy-lockout"))
    );
}

#[test]
fn an_unreadable_file_is_exit_1_and_malformed_json_exit_3() {
    let project = TestProject::empty();
    lint(&project, &["missing.json"]).expect_code(1);
    project.write(
        "broken.json",
        "{\"Version\": \"2012-10-17\", \"Statement\": [",
    );
    let run = lint(&project, &["broken.json"]).expect_code(3);
    assert!(run.stderr.contains("error[policy-json]"), "{}", run.stderr);
}

#[test]
fn validate_applies_the_lint_to_every_key_policy() {
    let project = TestProject::dev();
    project.edit(
        "policies/kms/dev-payment-policy.json",
        "\"kms:Decrypt\"",
        "\"kms:Decrpyt\"",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[unknown-action]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean kms:Decrypt?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("--> policies/kms/dev-payment-policy.json:"),
        "{}",
        run.stderr
    );
}

/// A policy file needs no project around it: lint works from any folder, and names the file.
#[test]
fn lint_works_outside_any_project() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("key-policy.json");
    std::fs::copy(
        repo_root().join("policies/kms/dev-payment-policy.json"),
        &good,
    )
    .expect("copy");
    let bad = dir.path().join("typo.json");
    std::fs::write(
        &bad,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:Encryptt","Resource":"*"}]}"#,
    )
    .expect("write");
    let run = |file: &std::path::Path| {
        Command::new(kmsctl_tests::kmsctl_bin())
            .args(["lint"])
            .arg(file.file_name().expect("name"))
            .current_dir(dir.path())
            .env_remove("KMSCTL_ROOT")
            .output()
            .expect("kmsctl runs")
    };
    let clean = run(&good);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(String::from_utf8_lossy(&clean.stdout).contains("1 file(s): 0 error(s)"));
    let refused = run(&bad);
    assert_eq!(refused.status.code(), Some(3));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("typo.json") && said.contains("kms:Encryptt"),
        "{said}"
    );
    assert!(!said.contains("hint:"), "it names a Principal: {said}");

    // An SCP linted without --type: the key-policy errors come with a hint to pass it.
    let scp = dir.path().join("waiting_period.json");
    std::fs::copy(
        repo_root().join("policies/org/service_control_policy/waiting_period.json"),
        &scp,
    )
    .expect("copy");
    let guessed = run(&scp);
    let said = String::from_utf8_lossy(&guessed.stderr);
    assert!(
        said.contains("hint: waiting_period.json names no Principal")
            && said.contains("--type scp waiting_period.json"),
        "{said}"
    );
}

/// One file that cannot be read does not stop the others: each is said, the rest linted, exit 1.
/// A byte order mark is no error; a file that is not UTF-8 says so.
#[test]
fn an_unreadable_file_among_many_is_reported_and_the_rest_linted() {
    let project = TestProject::empty();
    let policy = std::fs::read_to_string(repo_root().join("policies/kms/dev-payment-policy.json"))
        .expect("policy");
    project.write("bom.json", &format!("\u{feff}{policy}"));
    project.write(
        "typo.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:Encryptt","Resource":"*"}]}"#,
    );
    std::fs::write(project.file("utf16.json"), [0xff, 0xfe, b'{', 0, b'}', 0]).expect("write");
    let run = lint(
        &project,
        &["bom.json", "missing.json", "utf16.json", "typo.json"],
    )
    .expect_code(1);
    assert!(run.stderr.contains("missing.json"), "{}", run.stderr);
    assert!(
        run.stderr.contains("utf16.json is not UTF-8 text")
            && run.stderr.contains("save the file as UTF-8"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("kms:Encryptt"),
        "linted after them: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("--> bom.json"),
        "a BOM is no finding: {}",
        run.stderr
    );
    assert!(run.stdout.contains("4 file(s)"), "{}", run.stdout);

    let clean = lint(&project, &["bom.json"]).expect_code(0);
    assert!(clean.stdout.contains("0 error(s)"), "{}", clean.stdout);
}

#[test]
fn inside_a_project_templates_render_with_the_projects_own_values() {
    let project = TestProject::shipped();
    // A wrong value on purpose: the finding shows what the template rendered to.
    project.write(
        "policies/org/service_control_policy/probe.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Probe","Effect":"Deny","Action":"kms:Decrypt","Resource":"*",
           "Condition":{"StringEquals":{"kms:CallerAccount":"{{ ou_path 'root/prod' }}"}}}]}"#,
    );
    project.write(
        "policies/kms/probe.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{ account_id }}:root"},"Action":"kms:*","Resource":"*",
           "Condition":{"StringEquals":{"kms:CallerAccount":"x{{ account_id }}"}}}]}"#,
    );
    let org = lint(
        &project,
        &["policies/org/service_control_policy/probe.json"],
    )
    .expect_code(3);
    assert!(
        org.stderr
            .contains("templates rendered with the values of organization/organization.toml")
            && org
                .stderr
                .contains("\"o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/\""),
        "the [tree]'s ids, not sample ones: {}",
        org.stderr
    );
    let key = lint(&project, &["policies/kms/probe.json"]).expect_code(3);
    assert!(
        key.stderr
            .contains("templates rendered with the values of environments/dev")
            && key.stderr.contains("\"x111111111111\""),
        "the first environment's account: {}",
        key.stderr
    );
    // Outside the project the same file renders with sample values.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        project.file("policies/kms/probe.json"),
        dir.path().join("probe.json"),
    )
    .expect("copy");
    let outside = Command::new(kmsctl_tests::kmsctl_bin())
        .args(["lint", "probe.json"])
        .current_dir(dir.path())
        .env_remove("KMSCTL_ROOT")
        .output()
        .expect("kmsctl runs");
    let said = String::from_utf8_lossy(&outside.stderr);
    assert!(
        said.contains("\"x111122223333\"")
            && said.contains("templates rendered with sample values"),
        "{said}"
    );
    // ou_path renders in key policies too, through organization.toml's [tree].
    project.write(
        "policies/kms/probe-ou.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{ account_id }}:root"},"Action":"kms:*","Resource":"*",
           "Condition":{"StringEquals":{"kms:CallerAccount":"{{ ou_path 'root/prod' }}"}}}]}"#,
    );
    let ou = lint(&project, &["policies/kms/probe-ou.json"]).expect_code(3);
    assert!(
        ou.stderr
            .contains("\"o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/\""),
        "{}",
        ou.stderr
    );
    // A key policy an environment names renders with that environment's values.
    let prod = lint(&project, &["policies/kms/prod-payment-policy.json"]).expect_code(0);
    assert!(
        prod.stderr
            .contains("templates rendered with the values of environments/prod"),
        "{}",
        prod.stderr
    );
}

#[test]
fn machine_readable_output_names_the_files_it_could_not_read() {
    let project = TestProject::organization();
    project.write(
        "good.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    let run = lint(&project, &["--format", "json", "good.json", "missing.json"]).expect_code(1);
    let findings: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let unreadable: Vec<&serde_json::Value> = findings
        .as_array()
        .expect("a list")
        .iter()
        .filter(|f| f["rule"] == "policy-file")
        .collect();
    assert_eq!(unreadable.len(), 1, "{}", run.stdout);
    assert!(
        unreadable[0]["location"]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("missing.json"))
    );
    let only_missing = lint(&project, &["--format", "json", "missing.json"]).expect_code(1);
    assert!(
        serde_json::from_str::<serde_json::Value>(&only_missing.stdout).is_ok(),
        "{}",
        only_missing.stdout
    );
    let human = lint(&project, &["good.json", "missing.json"]).expect_code(1);
    assert!(
        human
            .stdout
            .contains("2 file(s): 0 error(s), 0 warning(s), 1 unreadable."),
        "{}",
        human.stdout
    );
}
