//! `kmsctl validate organization`: the organization's guards, offline.

use kmsctl_tests::TestProject;

const NO_AWS: &str = "http://127.0.0.1:9";
const ORG: &str = "organization/organization.toml";

fn refused(project: &TestProject, rule: &str, names: &str) -> String {
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(3);
    assert!(
        run.stderr.contains(&format!("error[{rule}]")),
        "{rule}: {}",
        run.stderr
    );
    assert!(run.stderr.contains(names), "names {names}: {}", run.stderr);
    run.stderr
}

#[test]
fn the_shipped_organization_validates_and_shows_sizes_as_uploaded() {
    let project = TestProject::organization();
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(0);
    // One aligned table: a header, then a row per policy, each column starting at one place.
    insta::assert_snapshot!("validate_organization_table", run.stdout.clone());
    let rows: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 8, "{}", run.stdout);
    let header = rows[0];
    for column in ["policy", "characters as uploaded", "as written"] {
        let at = header.find(column).expect("a column");
        let end = at + column.len();
        for row in &rows[1..] {
            let cell_start = row[..at].ends_with("  ") && !row[at..].starts_with(' ');
            let cell_end = row.len() == end || row[end..].starts_with("  ");
            assert!(
                if column == "policy" {
                    cell_start
                } else {
                    cell_end
                },
                "{column:?} is not aligned in {row:?}\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn validate_help_names_the_organization_target() {
    let project = TestProject::organization();
    for command in ["validate", "plan"] {
        let help = project
            .kmsctl_at(NO_AWS, &[command, "--help"])
            .expect_code(0);
        assert!(help.stdout.contains("`organization`"), "{}", help.stdout);
    }
}

/// A `[policy.NAME]` table alone sets nothing: a warning at its line saying what is missing,
/// never a silent "Valid. organization: 0 policies"; an error when it misspells an attached one.
#[test]
fn a_policy_table_for_a_policy_attached_nowhere_is_named_at_its_line() {
    let project = TestProject::organization();
    project.write(
        ORG,
        "account_id = \"123456789012\"\nregion = \"us-east-1\"\n\n[policy.waiting_period]\ndescription = \"x\"\n",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(0);
    let stderr = run.stderr;
    assert!(
        stderr.contains("warning[org-policy-unattached]: [policy.waiting_period] gives settings to policy waiting_period, but no list under [service_control_policies] or [resource_control_policies] attaches it"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("--> {ORG}:4")), "{stderr}");
    assert!(
        stderr.contains(
            "policies/org/service_control_policy/waiting_period.json exists, attached nowhere"
        ),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("add \"waiting_period\" to a target's list under [service_control_policies]"),
        "{stderr}"
    );
    assert!(
        run.stdout.contains("0 policies (nothing is attached"),
        "{}",
        run.stdout
    );

    // A misspelt name is named with the one it resembles.
    let project = TestProject::organization();
    project.edit(ORG, "[policy.waiting_period]", "[policy.waiting_periods]");
    let stderr = refused(
        &project,
        "org-policy-unattached",
        "[policy.waiting_periods]",
    );
    assert!(
        stderr.contains("did you mean [policy.waiting_period]?"),
        "{stderr}"
    );

    // A file that attaches nothing is valid, and says so.
    let project = TestProject::organization();
    project.write(
        ORG,
        "account_id = \"123456789012\"\nregion = \"us-east-1\"\n",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(0);
    assert!(
        run.stdout
            .contains("0 policies (nothing is attached: list policy names per target under [service_control_policies]"),
        "{}",
        run.stdout
    );
}

/// `{{ deployer_role_arn }}` renders without `deployer_role_arn` set: to kmsctl's default role.
#[test]
fn deployer_role_arn_renders_its_default_when_not_set() {
    let project = TestProject::organization();
    project.edit(
        ORG,
        "deployer_role_arn = \"arn:aws:iam::*:role/kmsctl-deployer\"",
        "",
    );
    assert!(
        project
            .read("policies/org/service_control_policy/mfa_critical_api.json")
            .contains("{{ deployer_role_arn }}")
    );
    project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(0);
}

/// Policy types not enabled: one finding per type, naming every target with its line.
#[test]
fn a_policy_type_not_enabled_is_one_finding_naming_every_target() {
    let project = TestProject::organization();
    project.edit(
        ORG,
        "enabled_policy_types = [\"SERVICE_CONTROL_POLICY\", \"RESOURCE_CONTROL_POLICY\"]",
        "enabled_policy_types = []",
    );
    let stderr = refused(&project, "org-policy-type", "SERVICE_CONTROL_POLICY");
    assert_eq!(
        stderr.matches("error[org-policy-type]").count(),
        2,
        "{stderr}"
    );
    let line = |target: &str| {
        project
            .read(ORG)
            .lines()
            .position(|l| l.starts_with(target))
            .expect("line")
            + 1
    };
    let scp = format!(
        "[service_control_policies] attaches policies to root (line {}), root/dev (line {}), root/prod (line {}), but SERVICE_CONTROL_POLICY is not in enabled_policy_types",
        line("root ="),
        line("\"root/dev\""),
        line("\"root/prod\"")
    );
    assert!(stderr.contains(&scp), "{scp}\n{stderr}");
    assert!(
        stderr.contains("[resource_control_policies] attaches policies to root (line"),
        "{stderr}"
    );
}

/// A field organization.toml does not have is refused, pointing to the README section that
/// lists every field.
#[test]
fn an_unknown_field_points_to_the_organization_file_reference() {
    let project = TestProject::organization();
    project.edit(
        ORG,
        "region = \"us-east-1\"",
        "region = \"us-east-1\"\nattach = []",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("every field is in \"Organization file reference\" in README.md"),
        "{}",
        run.stderr
    );
    let readme =
        std::fs::read_to_string(kmsctl_tests::repo_root().join("README.md")).expect("README");
    assert!(readme.contains("\n### Organization file reference\n"));
}

#[test]
fn a_sixth_policy_on_a_target_is_refused_naming_the_target() {
    let project = TestProject::organization();
    for name in ["extra_one", "extra_two", "extra_three"] {
        let text = project.read("policies/org/service_control_policy/waiting_period.json");
        project.write(
            &format!("policies/org/service_control_policy/{name}.json"),
            &text,
        );
    }
    project.edit(ORG, "\"root/prod\" = [\"tag_enforcement\", \"kms_spec_admin\"]", "\"root/prod\" = [\"tag_enforcement\", \"kms_spec_admin\", \"extra_one\", \"extra_two\", \"extra_three\"]");
    let stderr = refused(&project, "org-policy-budget", "root/prod");
    assert!(stderr.contains("6 policies would be attached"), "{stderr}");
    assert!(
        stderr.contains("FullAWSAccess"),
        "AWS's own policy counts: {stderr}"
    );
    // plan refuses the same way, before any AWS call (nothing listens at NO_AWS).
    let plan = project
        .kmsctl_at(NO_AWS, &["plan", "organization"])
        .expect_code(3);
    assert!(
        plan.stderr.contains("error[org-policy-budget]"),
        "{}",
        plan.stderr
    );
}

#[test]
fn a_policy_over_5120_characters_as_uploaded_is_refused_naming_the_file() {
    let project = TestProject::organization();
    let file = "policies/org/service_control_policy/waiting_period.json";
    let mut policy: serde_json::Value = serde_json::from_str(&project.read(file)).expect("json");
    // Pad to exactly 5,121 characters once minified: whitespace in the file does not count.
    let minified_len =
        |p: &serde_json::Value| serde_json::to_string(p).expect("json").chars().count();
    policy["Statement"][0]["Sid"] = serde_json::json!("X");
    let room = 5_121 - minified_len(&policy) + 1;
    policy["Statement"][0]["Sid"] = serde_json::json!("X".repeat(room));
    assert_eq!(minified_len(&policy), 5_121);
    project.write(file, &serde_json::to_string_pretty(&policy).expect("json"));
    let stderr = refused(&project, "org-policy-size", file);
    assert!(stderr.contains("5121 characters as uploaded"), "{stderr}");

    policy["Statement"][0]["Sid"] = serde_json::json!("X".repeat(room - 1));
    project.write(file, &serde_json::to_string_pretty(&policy).expect("json"));
    project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(0);
}

#[test]
fn an_unknown_policy_name_is_refused_with_its_line() {
    let project = TestProject::organization();
    project.edit(
        ORG,
        "\"root/dev\" = [\"tag_enforcement\"]",
        "\"root/dev\" = [\"tag_enforcment\"]",
    );
    let line = project
        .read(ORG)
        .lines()
        .position(|l| l.contains("tag_enforcment"))
        .expect("line")
        + 1;
    refused(&project, "org-policy-unknown", &format!("--> {ORG}:{line}"));
}

#[test]
fn rcps_only_deny_and_scps_take_no_principal() {
    let project = TestProject::organization();
    let rcp = "policies/org/resource_control_policy/kms_org_boundary.json";
    project.edit(rcp, "\"Deny\"", "\"Allow\"");
    refused(&project, "org-rcp-effect", rcp);

    let project = TestProject::organization();
    let scp = "policies/org/service_control_policy/waiting_period.json";
    project.edit(
        scp,
        "\"Effect\": \"Deny\",",
        "\"Effect\": \"Deny\", \"Principal\": \"*\",",
    );
    refused(&project, "org-scp-principal", scp);
}

#[test]
fn the_seeds_ou_paths_by_name_are_refused() {
    let project = TestProject::organization();
    let file = "policies/org/service_control_policy/environment_boundaries.json";
    let text = project.read(file);
    let start = text
        .find("{{ ou_path '")
        .expect("the shipped boundary uses the resolver");
    let end = start + text[start..].find("}}").expect("closed") + 2;
    project.write(
        file,
        &format!(
            "{}{}{}",
            &text[..start],
            "{{ ou_path '/root/prod/*' }}",
            &text[end..]
        ),
    );
    refused(&project, "org-policy-template", "OU path by names");
}

#[test]
fn an_environment_may_tighten_the_organizations_rules_but_never_loosen_them() {
    let project = TestProject::dev();
    let org = TestProject::organization();
    project.write(ORG, &org.read(ORG));
    project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(0);
    project.edit(
        "environments/dev/environment.toml",
        "require_rotation = true",
        "require_rotation = false",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(3);
    assert!(run.stderr.contains("error[rules-floor]"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--> environments/dev/environment.toml:"),
        "{}",
        run.stderr
    );
}
