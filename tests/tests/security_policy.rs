//! Trust boundary attacks, offline: a public grant hidden behind a condition every caller meets,
//! a key policy that locks the deployer out through a Deny, and an SCP or RCP that denies the
//! deployer what kmsctl needs to restore a control. Each is refused (exit 3) with a message that
//! names the statement.

use kmsctl_tests::{Run, TestProject};

/// Nothing listens here: a command that tried to reach AWS would fail with exit 1.
const NO_AWS: &str = "http://127.0.0.1:9";
const POLICY: &str = "policies/kms/dev-payment-policy.json";
const ANCHOR: &str = "\"Sid\": \"DenyKeyUsageFromNonDevOUs\",";
const SPEC_ADMIN: &str = "policies/org/service_control_policy/kms_spec_admin.json";

/// The shipped dev environment with one more statement in its payment key's policy.
fn dev_with_statement(statement: &str) -> TestProject {
    let project = TestProject::dev();
    project.edit(
        POLICY,
        ANCHOR,
        &format!("{statement} }},\n    {{\n      {ANCHOR}"),
    );
    project
}

fn validate_dev(project: &TestProject, code: i32) -> Run {
    project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(code)
}

fn assert_shows(run: &Run, shown: &[&str]) {
    for text in shown {
        assert!(run.stderr.contains(text), "{text}\n{}", run.stderr);
    }
}

fn public_statement(condition: &str) -> String {
    format!(
        r#""Sid": "Shared", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {condition}"#
    )
}

#[test]
fn a_public_grant_under_a_condition_every_caller_meets_is_refused() {
    let project = dev_with_statement(&public_statement(
        r#"{ "Bool": { "aws:SecureTransport": "true" } }"#,
    ));
    let run = validate_dev(&project, 3);
    assert_shows(
        &run,
        &[
            "error[policy-public-principal]: statement \"Shared\" allows everyone (principal \"*\"): its Condition holds for callers in any account (Bool aws:SecureTransport)",
            &format!("--> {POLICY}:"),
            "= fix: name the principals instead of \"*\"",
        ],
    );
}

#[test]
fn a_public_grant_under_a_negated_or_vacuous_organization_condition_is_refused() {
    for condition in [
        r#"{ "StringNotEquals": { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } }"#,
        r#"{ "StringEqualsIfExists": { "aws:PrincipalAccount": "111111111111" } }"#,
        r#"{ "ForAllValues:StringLike": { "aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*" } }"#,
    ] {
        let project = dev_with_statement(&public_statement(condition));
        let run = validate_dev(&project, 3);
        assert_shows(
            &run,
            &[
                "error[policy-public-principal]",
                "a caller outside the organization and its accounts still meets its conditions",
            ],
        );
    }
}

#[test]
fn a_public_grant_limited_to_the_organization_or_an_endpoint_validates() {
    for condition in [
        r#"{ "StringEquals": { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } }"#,
        r#"{ "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*" } }"#,
        r#"{ "StringEquals": { "aws:SourceVpce": "vpce-1a2b3c4d" } }"#,
    ] {
        let project = dev_with_statement(&public_statement(condition));
        validate_dev(&project, 0);
    }
}

#[test]
fn a_deny_that_catches_the_deployer_is_a_lockout_naming_it() {
    let project = dev_with_statement(
        r#""Sid": "OnlyAdminsChangeThePolicy", "Effect": "Deny", "Principal": "*", "Action": "kms:PutKeyPolicy", "Resource": "*", "Condition": { "StringNotEquals": { "aws:PrincipalTag/team": "admins" } }"#,
    );
    let run = validate_dev(&project, 3);
    let deployer = format!("arn:aws:iam::{}:role/kmsctl-deployer", project.account);
    assert_shows(
        &run,
        &[
            &format!(
                "error[policy-lockout]: statement \"OnlyAdminsChangeThePolicy\" denies the deployer {deployer} (env/dev's assume_role_arn) kms:PutKeyPolicy: kmsctl could not change this key's policy again"
            ),
            &format!("--> {POLICY}:"),
            "\"ArnNotLike\"",
        ],
    );

    // Exempting the deployer settles it.
    project.edit(
        POLICY,
        r#""StringNotEquals": { "aws:PrincipalTag/team": "admins" }"#,
        &format!(
            r#""StringNotEquals": {{ "aws:PrincipalTag/team": "admins" }}, "ArnNotLike": {{ "aws:PrincipalArn": "{deployer}" }}"#
        ),
    );
    validate_dev(&project, 0);
}

#[test]
fn lint_without_an_environment_refuses_a_lockout_through_a_deny() {
    let project = TestProject::empty();
    project.write(
        "key.json",
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Freeze", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/BreakGlass"}}}
  ]
}"#,
    );
    let run = project
        .kmsctl_at(NO_AWS, &["lint", "--type", "key", "key.json"])
        .expect_code(3);
    assert_shows(
        &run,
        &[
            "error[policy-lockout]: statement \"Freeze\" denies the deployer arn:aws:iam::111122223333:role/kmsctl-deployer",
            "no environment",
            "--> key.json:5 (/Statement/1)",
        ],
    );
}

#[test]
fn an_scp_denying_the_deployer_a_restore_action_is_refused() {
    let project = TestProject::organization();
    project.edit(
        SPEC_ADMIN,
        "\"arn:aws:iam::*:role/{{ kms_admin_role }}\",\n            \"{{ deployer_role_arn }}\"",
        "\"arn:aws:iam::*:role/{{ kms_admin_role }}\"",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(3);
    assert_shows(
        &run,
        &[
            "error[org-deployer-denied]: SCP kms_spec_admin statement DenyKeyAdministrationExceptKMSAdmins denies the deployer",
            "kms:CancelKeyDeletion",
            "kms:EnableKeyRotation",
            "kmsctl could not restore these controls",
            &format!("--> {SPEC_ADMIN}:4 (/Statement/0)"),
            "deployer_knowingly_denied = [",
        ],
    );

    // Listing the restore actions as knowingly denied leaves warnings only.
    project.edit(
        "organization/organization.toml",
        "deployer_role_arn = ",
        "deployer_knowingly_denied = [\"kms:CreateKey\", \"kms:PutKeyPolicy\", \"kms:CancelKeyDeletion\", \"kms:EnableKey\", \"kms:EnableKeyRotation\", \"kms:TagResource\"]\ndeployer_role_arn = ",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(0);
    assert_shows(&run, &["warning[org-deployer-denied]"]);
    assert!(!run.stderr.contains("error["), "{}", run.stderr);
}

#[test]
fn the_seeds_mfa_scp_denies_the_deployer_and_is_refused() {
    let project = TestProject::organization();
    let file = "policies/org/service_control_policy/mfa_critical_api.json";
    project.edit(
        file,
        "\"BoolIfExists\": { \"aws:MultiFactorAuthPresent\": \"false\" },",
        "\"BoolIfExists\": { \"aws:MultiFactorAuthPresent\": \"false\" }",
    );
    project.edit(
        file,
        "\n        \"ArnNotLike\": { \"aws:PrincipalArn\": \"{{ deployer_role_arn }}\" }",
        "",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(3);
    assert_shows(
        &run,
        &[
            "error[org-deployer-denied]: SCP mfa_critical_api",
            "kms:CreateKey, kms:PutKeyPolicy",
        ],
    );
}

#[test]
fn an_rcp_denying_the_deployer_on_the_keys_is_refused() {
    let project = TestProject::organization();
    let file = "policies/org/resource_control_policy/kms_org_boundary.json";
    // Only principals tagged team=kms may touch the keys: the deployer role carries no such tag.
    project.edit(
        file,
        "\"StringNotEqualsIfExists\": { \"aws:PrincipalOrgID\": \"{{ org_id }}\" }",
        "\"StringNotEqualsIfExists\": { \"aws:PrincipalTag/team\": \"kms\" }",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "organization"])
        .expect_code(3);
    assert_shows(
        &run,
        &[
            "error[org-deployer-denied]: RCP kms_org_boundary statement DenyKMSAccessFromOutsideTheOrganization denies the deployer",
            "kms:PutKeyPolicy",
            "(keys in account",
        ],
    );
}
