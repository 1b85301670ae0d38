//! Evaluation cases from AWS's documentation (IAM policy evaluation logic, KMS key policies,
//! condition operators, SCPs and RCPs).

use serde_json::{Value, json};

use super::*;
use crate::policy::parse;

const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn policy(name: &str, statements: Value) -> NamedPolicy {
    let text = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    NamedPolicy {
        name: name.into(),
        document: parse(&text).expect("policy"),
    }
}

fn role(account: &str, name: &str) -> Principal {
    Principal {
        arn: format!("arn:aws:iam::{account}:role/{name}"),
        account: account.into(),
        org_id: Some("o-a1b2c3d4e5".into()),
        org_paths: vec![format!(
            "o-a1b2c3d4e5/r-ab12/ou-ab12-{}/",
            if account == "111111111111" {
                "dev00000"
            } else {
                "prod0000"
            }
        )],
        ..Default::default()
    }
}

fn request(principal: Principal, action: &str) -> Request {
    Request {
        principal,
        action: action.into(),
        resource: KEY.into(),
        resource_account: "111111111111".into(),
        ..Default::default()
    }
}

fn with(mut req: Request, key: &str, value: &str) -> Request {
    req.context
        .insert(key.to_lowercase(), vec![value.to_owned()]);
    req
}

fn default_key_policy() -> NamedPolicy {
    policy(
        "key.json",
        json!([{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"}]),
    )
}

fn decide(policies: &Policies, req: &Request) -> Outcome {
    evaluate(policies, req).outcome
}

#[test]
fn the_default_key_policy_delegates_to_iam_in_the_account() {
    let mut policies = Policies {
        key_policy: Some(default_key_policy()),
        ..Default::default()
    };
    let req = request(role("111111111111", "app"), "kms:Decrypt");
    let answer = evaluate(&policies, &req);
    assert_eq!(answer.outcome, Outcome::ImplicitlyDenied);
    assert!(answer.why.contains("delegates"), "{}", answer.why);
    policies.identity.push(policy(
        "app-role.json",
        json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]),
    ));
    assert_eq!(decide(&policies, &req), Outcome::Allowed);
    assert_eq!(
        decide(
            &policies,
            &request(role("111111111111", "app"), "kms:Encrypt")
        ),
        Outcome::ImplicitlyDenied
    );
}

#[test]
fn a_principal_named_in_the_key_policy_needs_no_iam_policy_in_the_same_account() {
    let policies = Policies {
        key_policy: Some(policy(
            "key.json",
            json!([{"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/app"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}]),
        )),
        ..Default::default()
    };
    assert_eq!(
        decide(
            &policies,
            &request(
                role("111111111111", "app"),
                "kms:GenerateDataKeyWithoutPlaintext"
            )
        ),
        Outcome::Allowed
    );
    assert_eq!(
        decide(
            &policies,
            &request(role("111111111111", "other"), "kms:Decrypt")
        ),
        Outcome::ImplicitlyDenied
    );
}

#[test]
fn cross_account_needs_both_the_key_policy_and_an_identity_policy() {
    let mut policies = Policies {
        key_policy: Some(policy(
            "key.json",
            json!([{"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:Decrypt", "Resource": "*"}]),
        )),
        ..Default::default()
    };
    let req = request(role("222222222222", "app"), "kms:Decrypt");
    assert_eq!(decide(&policies, &req), Outcome::ImplicitlyDenied);
    policies.identity.push(policy("id.json", json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:111111111111:key/*"}])));
    assert_eq!(decide(&policies, &req), Outcome::Allowed);
}

#[test]
fn mfa_deny_with_bool_if_exists() {
    let policies = Policies {
        key_policy: Some(policy(
            "key.json",
            json!([
                {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/admin"}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "MFA", "Effect": "Deny", "Principal": "*", "Action": ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], "Resource": "*",
                 "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
            ]),
        )),
        ..Default::default()
    };
    let admin = || request(role("111111111111", "admin"), "kms:PutKeyPolicy");
    let answer = evaluate(&policies, &admin());
    assert_eq!(
        answer.outcome,
        Outcome::ExplicitlyDenied,
        "no MFA key in the request: IfExists holds"
    );
    assert_eq!(answer.deciding[0].statement, "MFA");
    assert_eq!(
        decide(
            &policies,
            &with(admin(), "aws:MultiFactorAuthPresent", "false")
        ),
        Outcome::ExplicitlyDenied
    );
    assert_eq!(
        decide(
            &policies,
            &with(admin(), "aws:MultiFactorAuthPresent", "true")
        ),
        Outcome::Allowed
    );
}

#[test]
fn negated_operators_on_missing_keys_hold_and_positive_ones_do_not() {
    let deny = |condition: Value| Policies {
        key_policy: Some(policy(
            "key.json",
            json!([
                {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/app"}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": condition}
            ]),
        )),
        ..Default::default()
    };
    let req = request(role("111111111111", "app"), "kms:Decrypt");
    // The seed's misspelt key: no request carries it, so StringNotLike holds for everyone.
    assert_eq!(
        decide(
            &deny(json!({"StringNotLike": {"aws:PrincipalOrgPath": "/root/prod/*"}})),
            &req
        ),
        Outcome::ExplicitlyDenied
    );
    assert_eq!(
        decide(
            &deny(json!({"StringLike": {"aws:PrincipalOrgPath": "/root/prod/*"}})),
            &req
        ),
        Outcome::Allowed
    );
    assert_eq!(
        decide(
            &deny(
                json!({"StringNotEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})
            ),
            &req
        ),
        Outcome::ExplicitlyDenied
    );
    assert_eq!(
        decide(
            &deny(json!({"StringNotEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})),
            &with(
                request(role("111111111111", "app"), "kms:Decrypt"),
                "kms:ViaService",
                "s3.us-east-1.amazonaws.com"
            )
        ),
        Outcome::Allowed
    );
    assert_eq!(
        decide(&deny(json!({"Null": {"aws:SourceVpce": "true"}})), &req),
        Outcome::ExplicitlyDenied
    );
}

#[test]
fn set_operators_on_org_paths() {
    let boundary = Policies {
        scps: vec![(
            "root".into(),
            vec![policy(
                "environment_boundaries.json",
                json!([{"Sid": "ProdKeysProdOnly", "Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/Environment": "prod"}, "ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-prod0000/*"}}}]),
            )],
        )],
        key_policy: Some(default_key_policy()),
        identity: vec![policy(
            "id.json",
            json!([{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]),
        )],
        ..Default::default()
    };
    let mut dev = request(role("111111111111", "app"), "kms:Decrypt");
    dev.resource_tags
        .insert("Environment".into(), "prod".into());
    let answer = evaluate(&boundary, &dev);
    assert_eq!(answer.outcome, Outcome::ExplicitlyDenied);
    assert!(
        answer.deciding[0]
            .why
            .contains("SCP environment_boundaries on root"),
        "{:?}",
        answer.deciding
    );
    dev.resource_tags.insert("Environment".into(), "dev".into());
    assert_eq!(decide(&boundary, &dev), Outcome::Allowed);
    // SCPs never restrict the management account.
    let mut management = boundary.clone();
    management.management_account = Some("111111111111".into());
    dev.resource_tags
        .insert("Environment".into(), "prod".into());
    assert_eq!(decide(&management, &dev), Outcome::Allowed);
}

#[test]
fn numeric_date_ip_and_policy_variables() {
    let deny = |condition: Value| Policies {
        key_policy: Some(policy(
            "key.json",
            json!([
                {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/app"}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": condition}
            ]),
        )),
        ..Default::default()
    };
    let req = || request(role("111111111111", "app"), "kms:ScheduleKeyDeletion");
    let window = json!({"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}});
    assert_eq!(
        decide(
            &deny(window.clone()),
            &with(req(), "kms:ScheduleKeyDeletionPendingWindowInDays", "7")
        ),
        Outcome::ExplicitlyDenied
    );
    assert_eq!(
        decide(
            &deny(window),
            &with(req(), "kms:ScheduleKeyDeletionPendingWindowInDays", "30")
        ),
        Outcome::Allowed
    );
    let after = json!({"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}});
    assert_eq!(
        decide(
            &deny(after),
            &with(req(), "aws:CurrentTime", "2026-06-01T12:00:00Z")
        ),
        Outcome::ExplicitlyDenied
    );
    let outside = json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}});
    assert_eq!(
        decide(
            &deny(outside.clone()),
            &with(req(), "aws:SourceIp", "203.0.113.77")
        ),
        Outcome::Allowed
    );
    assert_eq!(
        decide(&deny(outside), &with(req(), "aws:SourceIp", "198.51.100.1")),
        Outcome::ExplicitlyDenied
    );
    let mut tagged = role("111111111111", "app");
    tagged.tags.insert("team".into(), "payments".into());
    let mut own = request(tagged, "kms:Decrypt");
    own.resource_tags.insert("team".into(), "payments".into());
    let others = json!({"StringNotEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}});
    assert_eq!(decide(&deny(others.clone()), &own), Outcome::Allowed);
    own.resource_tags.insert("team".into(), "orders".into());
    assert_eq!(decide(&deny(others), &own), Outcome::ExplicitlyDenied);
}

#[test]
fn rcps_deny_outside_the_organization_but_not_aws_services() {
    let policies = Policies {
        rcps: vec![(
            "root".into(),
            vec![policy(
                "kms_org_boundary.json",
                json!([{"Sid": "OrgOnly", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}, "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}]),
            )],
        )],
        key_policy: Some(policy(
            "key.json",
            json!([{"Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "Rds", "Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"}]),
        )),
        ..Default::default()
    };
    let mut outsider = role("999999999999", "x");
    outsider.org_id = Some("o-zzzzzzzzzz".into());
    let mut req = request(outsider, "kms:Decrypt");
    req.context.clear();
    assert_eq!(decide(&policies, &req), Outcome::ExplicitlyDenied);
    let service = Principal {
        arn: "rds.amazonaws.com".into(),
        is_service: true,
        ..Default::default()
    };
    assert_eq!(
        decide(&policies, &request(service, "kms:Decrypt")),
        Outcome::Allowed
    );
}

#[test]
fn the_accounts_root_user_needs_no_iam_policy_where_the_key_policy_names_the_account() {
    // AWS KMS developer guide, "Default key policy": the statement gives the account's root
    // user full access to the key, besides enabling IAM policies.
    let policies = Policies {
        key_policy: Some(default_key_policy()),
        ..Default::default()
    };
    let mut root = role("111111111111", "app");
    root.arn = "arn:aws:iam::111111111111:root".into();
    assert_eq!(
        decide(&policies, &request(root.clone(), "kms:Decrypt")),
        Outcome::Allowed
    );
    // Another account's root user still needs its own IAM side (there is none here).
    root.arn = "arn:aws:iam::222222222222:root".into();
    root.account = "222222222222".into();
    assert_eq!(
        decide(&policies, &request(root, "kms:Decrypt")),
        Outcome::ImplicitlyDenied
    );
}

#[test]
fn an_action_on_no_key_is_decided_by_identity_policies_and_denies() {
    // kms:CreateKey has no resource, hence no key policy: IAM allows it, SCPs may deny it.
    let mut req = request(role("111111111111", "admin"), "kms:CreateKey");
    req.resource = "*".into();
    let mut policies = Policies::default();
    let answer = evaluate(&policies, &req);
    assert_eq!(answer.outcome, Outcome::ImplicitlyDenied);
    assert!(
        answer.why.contains("no identity policy allows it"),
        "{}",
        answer.why
    );
    policies.identity.push(policy(
        "admin.json",
        json!([{"Effect": "Allow", "Action": "kms:Create*", "Resource": "*"}]),
    ));
    assert_eq!(decide(&policies, &req), Outcome::Allowed);
    policies.scps.push((
        "root".into(),
        vec![policy(
            "tags.json",
            json!([{"Sid": "DenyCreateKeyWithoutTagBU", "Effect": "Deny", "Action": "kms:CreateKey", "Resource": "*", "Condition": {"Null": {"aws:RequestTag/BU": "true"}}}]),
        )],
    ));
    let answer = evaluate(&policies, &req);
    assert_eq!(answer.outcome, Outcome::ExplicitlyDenied);
    assert_eq!(answer.deciding[0].statement, "DenyCreateKeyWithoutTagBU");
    assert_eq!(
        decide(&policies, &with(req, "aws:RequestTag/BU", "Finance")),
        Outcome::Allowed
    );
}

#[test]
fn every_context_key_of_a_request_is_listed_with_its_values() {
    let mut req = with(
        request(role("222222222222", "app"), "kms:Decrypt"),
        "aws:SourceIp",
        "10.0.0.1",
    );
    req.resource_tags.insert("Environment".into(), "dev".into());
    let values = req.context_values();
    assert_eq!(values["aws:principalaccount"], vec!["222222222222"]);
    assert_eq!(
        values["aws:principalorgpaths"],
        vec!["o-a1b2c3d4e5/r-ab12/ou-ab12-prod0000/"]
    );
    assert_eq!(values["aws:resourcetag/environment"], vec!["dev"]);
    assert_eq!(values["aws:sourceip"], vec!["10.0.0.1"]);
    assert_eq!(values["aws:principalisawsservice"], vec!["false"]);
    assert!(!values.contains_key("aws:principalservicename"));
}
