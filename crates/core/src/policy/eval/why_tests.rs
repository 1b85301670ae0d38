//! What an answer says about itself: the statement and condition that failed, the Deny
//! statements and their policies; and role sessions matched to their role.

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

fn caller(arn: &str) -> Request {
    Request {
        principal: Principal {
            arn: arn.into(),
            account: "111111111111".into(),
            ..Default::default()
        },
        action: "kms:Decrypt".into(),
        resource: KEY.into(),
        resource_account: "111111111111".into(),
        ..Default::default()
    }
}

fn via(mut req: Request, service: &str) -> Request {
    req.context
        .insert("kms:viaservice".into(), vec![service.to_owned()]);
    req
}

/// The key policy of the issue: the app role may decrypt through S3 only.
fn s3_only() -> Policies {
    Policies {
        key_policy: Some(policy(
            "policies/kms/app.json",
            json!([{"Sid": "AllowUseInProd", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/app"},
                "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]),
        )),
        ..Default::default()
    }
}

#[test]
fn an_implicit_deny_names_the_statement_and_the_false_condition_with_the_requests_value() {
    let answer = evaluate(
        &s3_only(),
        &via(
            caller("arn:aws:iam::111111111111:role/app"),
            "ec2.us-east-1.amazonaws.com",
        ),
    );
    assert_eq!(answer.outcome, Outcome::ImplicitlyDenied);
    assert_eq!(
        answer.why,
        "statement \"AllowUseInProd\" of the key policy matches the action and principal, but its condition StringEquals kms:ViaService = [\"s3.us-east-1.amazonaws.com\"] is false: the request's kms:ViaService is \"ec2.us-east-1.amazonaws.com\""
    );
    assert_eq!(
        answer.unmet,
        vec![Unmet {
            policy: "policies/kms/app.json".into(),
            source: Source::KeyPolicy,
            statement: "AllowUseInProd".into(),
            conditions: vec![FalseCondition {
                operator: "StringEquals".into(),
                key: "kms:ViaService".into(),
                values: vec!["s3.us-east-1.amazonaws.com".into()],
                request: Some(vec!["ec2.us-east-1.amazonaws.com".into()]),
            }],
        }]
    );

    let absent = evaluate(&s3_only(), &caller("arn:aws:iam::111111111111:role/app"));
    assert!(
        absent
            .why
            .ends_with("is false: the request has no kms:ViaService"),
        "{}",
        absent.why
    );
    // Another principal: the statement does not name it, so nothing is unmet.
    let other = evaluate(&s3_only(), &caller("arn:aws:iam::111111111111:role/other"));
    assert_eq!(
        other.why,
        "no statement of the key policy allows this principal this action"
    );
    assert!(other.unmet.is_empty());
    // Allowed: nothing unmet is reported.
    let allowed = evaluate(
        &s3_only(),
        &via(
            caller("arn:aws:iam::111111111111:role/app"),
            "s3.us-east-1.amazonaws.com",
        ),
    );
    assert_eq!(allowed.outcome, Outcome::Allowed);
    assert!(allowed.unmet.is_empty());
}

#[test]
fn a_delegating_key_policy_names_the_identity_statement_whose_condition_is_false() {
    let policies = Policies {
        key_policy: Some(policy(
            "key.json",
            json!([{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"}]),
        )),
        identity: vec![policy(
            "policies/iam/app.json",
            json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]),
        )],
        ..Default::default()
    };
    let answer = evaluate(&policies, &caller("arn:aws:iam::111111111111:role/app"));
    assert_eq!(answer.outcome, Outcome::ImplicitlyDenied);
    assert_eq!(
        answer.why,
        "the key policy delegates to the principal's account, and no identity policy given allows it; statement 0 of identity policy policies/iam/app.json matches the action and resource, but its condition Bool aws:MultiFactorAuthPresent = [\"true\"] is false: the request has no aws:MultiFactorAuthPresent"
    );
    assert_eq!(answer.deciding[0].statement, "Root");
    assert_eq!(answer.unmet[0].source, Source::Identity);
}

#[test]
fn an_explicit_deny_names_the_statement_and_its_policy_by_level() {
    let mut policies = s3_only();
    policies.scps.push((
        "root".into(),
        vec![policy(
            "policies/org/service_control_policy/environment_boundaries.json",
            json!([{"Sid": "DenyDecrypt", "Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]),
        )],
    ));
    let req = caller("arn:aws:iam::111111111111:role/app");
    let answer = evaluate(&policies, &req);
    assert_eq!(
        answer.why,
        "statement \"DenyDecrypt\" of SCP environment_boundaries on root denies it, and an explicit Deny always wins"
    );
    assert_eq!(
        answer.deciding[0].source,
        Source::Scp {
            target: "root".into()
        }
    );
    policies.rcps.push((
        "root".into(),
        vec![policy(
            "policies/org/resource_control_policy/kms_org_boundary.json",
            json!([{"Sid": "Outside", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}]),
        )],
    ));
    let both = evaluate(&policies, &req);
    assert_eq!(
        both.why,
        "statements \"DenyDecrypt\" of SCP environment_boundaries on root and \"Outside\" of RCP kms_org_boundary on root deny it, and an explicit Deny always wins"
    );
    assert!(both.unmet.is_empty());
}

#[test]
fn a_role_session_is_its_role_to_the_key_policy_and_to_conditions() {
    let policies = Policies {
        key_policy: Some(policy(
            "key.json",
            json!([
                {"Sid": "App", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/teams/app"}, "Action": "kms:Decrypt", "Resource": "*"},
                {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/admin"}, "Action": "kms:Encrypt", "Resource": "*",
                 "Condition": {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/admin"}}}
            ]),
        )),
        ..Default::default()
    };
    let session = |arn: &str, action: &str| {
        let mut req = caller(arn);
        req.action = action.into();
        evaluate(&policies, &req)
    };
    // The policy names the role with its path; the session ARN carries none.
    let app = session(
        "arn:aws:sts::111111111111:assumed-role/app/alice",
        "kms:Decrypt",
    );
    assert_eq!(app.outcome, Outcome::Allowed, "{}", app.why);
    assert_eq!(app.deciding[0].statement, "App");
    // aws:PrincipalArn is the role's ARN, not the session's.
    let admin = session(
        "arn:aws:sts::111111111111:assumed-role/admin/bob",
        "kms:Encrypt",
    );
    assert_eq!(admin.outcome, Outcome::Allowed, "{}", admin.why);
    let other = session(
        "arn:aws:sts::111111111111:assumed-role/other/alice",
        "kms:Decrypt",
    );
    assert_eq!(other.outcome, Outcome::ImplicitlyDenied);
}

#[test]
fn the_account_root_principal_covers_a_role_session_through_iam() {
    let mut policies = Policies {
        key_policy: Some(policy(
            "key.json",
            json!([{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"}]),
        )),
        ..Default::default()
    };
    let req = caller("arn:aws:sts::111111111111:assumed-role/app/alice");
    let answer = evaluate(&policies, &req);
    assert_eq!(answer.outcome, Outcome::ImplicitlyDenied);
    assert!(answer.why.contains("delegates"), "{}", answer.why);
    policies.identity.push(policy(
        "app.json",
        json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]),
    ));
    assert_eq!(evaluate(&policies, &req).outcome, Outcome::Allowed);
    // The account id as the principal, too.
    policies.key_policy = Some(policy(
        "key.json",
        json!([{"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "kms:*", "Resource": "*"}]),
    ));
    assert_eq!(evaluate(&policies, &req).outcome, Outcome::Allowed);
    let values = req.context_values();
    assert_eq!(
        values["aws:principalarn"],
        vec!["arn:aws:iam::111111111111:role/app"]
    );
    assert!(!values.contains_key("aws:username"));
}

#[test]
fn a_role_in_notprincipal_does_not_exempt_its_sessions() {
    // IAM user guide, "NotPrincipal": a Deny exempts a role session only when the session's
    // own ARN is listed; the role's ARN alone leaves its sessions denied.
    let deny_all_but = |listed: &str| Policies {
        key_policy: Some(policy(
            "key.json",
            json!([
                {"Sid": "App", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/app"}, "Action": "kms:Decrypt", "Resource": "*"},
                {"Sid": "OnlyListed", "Effect": "Deny", "NotPrincipal": {"AWS": listed}, "Action": "kms:Decrypt", "Resource": "*"}
            ]),
        )),
        ..Default::default()
    };
    let session = caller("arn:aws:sts::111111111111:assumed-role/app/alice");
    let by_role = evaluate(
        &deny_all_but("arn:aws:iam::111111111111:role/app"),
        &session,
    );
    assert_eq!(
        by_role.outcome,
        Outcome::ExplicitlyDenied,
        "{}",
        by_role.why
    );
    let by_session = evaluate(
        &deny_all_but("arn:aws:sts::111111111111:assumed-role/app/alice"),
        &session,
    );
    assert_eq!(by_session.outcome, Outcome::Allowed, "{}", by_session.why);
}
