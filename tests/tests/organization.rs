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
    assert!(
        run.stdout.contains("Valid. organization: 7 policies."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("environment_boundaries"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("characters as uploaded"),
        "{}",
        run.stdout
    );
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
