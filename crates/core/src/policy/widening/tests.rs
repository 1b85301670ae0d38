//! Widening as the evaluator decides it: what a principal may newly do, not what text changed.

use serde_json::{Value, json};

use super::*;
use crate::policy::parse;
use crate::policy::test_fixtures::REALISTIC_POLICY;

const ACCOUNT: &str = "111122223333";
const APP: &str = "arn:aws:iam::111122223333:role/app";
const BATCH: &str = "arn:aws:iam::111122223333:role/batch";
const VIA_S3: &str = "s3.us-east-1.amazonaws.com";

fn key() -> KeyUnderTest {
    KeyUnderTest {
        arn: format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        account: ACCOUNT.into(),
    }
}

fn doc(statements: Value) -> PolicyDocument {
    parse(&json!({"Version": "2012-10-17", "Statement": statements}).to_string()).expect("policy")
}

/// An administrator, and the app using the key (through S3 when `via` is given).
fn base(users: &[&str], actions: &[&str], via: Option<&str>) -> Vec<Value> {
    let mut usage = json!({"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": users},
        "Action": actions, "Resource": "*"});
    if let Some(via) = via {
        usage["Condition"] = json!({"StringEquals": {"kms:ViaService": via}});
    }
    vec![
        json!({"Sid": "Admin", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:role/admin"},
            "Action": "kms:*", "Resource": "*"}),
        usage,
    ]
}

const USE: &[&str] = &["kms:Encrypt", "kms:Decrypt"];

fn gained(before: Vec<Value>, after: Vec<Value>) -> Vec<(String, String, Option<String>)> {
    gains(&doc(Value::from(before)), &doc(Value::from(after)), &key())
        .into_iter()
        .map(|g| (g.principal, g.action, g.context))
        .collect()
}

fn plain(principal: &str, actions: &[&str]) -> Vec<(String, String, Option<String>)> {
    actions
        .iter()
        .map(|a| (principal.to_owned(), (*a).to_owned(), None))
        .collect()
}

#[test]
fn a_principal_added_to_an_allow_gains_its_actions() {
    let found = gained(base(&[APP], USE, None), base(&[APP, BATCH], USE, None));
    assert_eq!(found, plain(BATCH, &["kms:Decrypt", "kms:Encrypt"]));
}

#[test]
fn an_action_added_is_gained() {
    let found = gained(
        base(&[APP], USE, None),
        base(
            &[APP],
            &["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
            None,
        ),
    );
    assert_eq!(found, plain(APP, &["kms:GenerateDataKey"]));
}

#[test]
fn a_condition_removed_gains_without_it() {
    let found = gained(base(&[APP], USE, Some(VIA_S3)), base(&[APP], USE, None));
    assert_eq!(found, plain(APP, &["kms:Decrypt", "kms:Encrypt"]));
}

#[test]
fn a_principal_replaced_gains_only_for_the_new_one() {
    let found = gained(base(&[APP], USE, None), base(&[BATCH], USE, None));
    assert_eq!(found, plain(BATCH, &["kms:Decrypt", "kms:Encrypt"]));
    let found = gained(base(&[BATCH], USE, None), base(&[APP], USE, None));
    assert_eq!(found, plain(APP, &["kms:Decrypt", "kms:Encrypt"]));
}

#[test]
fn a_condition_changed_to_another_service_gains_under_that_service() {
    let ec2 = "ec2.us-east-1.amazonaws.com";
    let found = gained(
        base(&[APP], USE, Some(VIA_S3)),
        base(&[APP], USE, Some(ec2)),
    );
    let context = Some(format!("kms:ViaService={ec2}"));
    assert_eq!(
        found,
        [
            (APP.to_owned(), "kms:Decrypt".to_owned(), context.clone()),
            (APP.to_owned(), "kms:Encrypt".to_owned(), context),
        ]
    );
}

#[test]
fn a_deny_added_or_actions_narrowed_or_access_removed_gain_nothing() {
    let mut denied = base(&[APP], USE, None);
    denied.push(
        json!({"Sid": "NoDecrypt", "Effect": "Deny", "Principal": "*",
        "Action": "kms:Decrypt", "Resource": "*"}),
    );
    assert_eq!(gained(base(&[APP], USE, None), denied), []);
    let narrowed = base(&[APP], &["kms:Encrypt"], None);
    assert_eq!(gained(base(&[APP], USE, None), narrowed), []);
    let conditioned = base(&[APP], USE, Some(VIA_S3));
    assert_eq!(gained(base(&[APP], USE, None), conditioned), []);
    let mut removed = base(&[APP], USE, None);
    removed.pop();
    assert_eq!(gained(base(&[APP], USE, None), removed), []);
}

#[test]
fn everyone_in_the_organization_gains_through_a_new_wildcard_statement() {
    let mut after = base(&[APP], USE, None);
    after.push(json!({"Sid": "Org", "Effect": "Allow", "Principal": "*",
        "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}));
    let found = gained(base(&[APP], USE, None), after);
    assert!(
        found.contains(&(
            "anyone else (a principal of another account)".to_owned(),
            "kms:Decrypt".to_owned(),
            Some("aws:PrincipalOrgID=o-a1b2c3d4e5".to_owned())
        )),
        "{found:?}"
    );
    assert!(found.iter().all(|(_, action, _)| action == "kms:Decrypt"));
    assert!(!found.iter().any(|(p, _, _)| p == APP), "{found:?}");
}

#[test]
fn the_same_policy_reformatted_reordered_or_with_other_sids_gains_nothing() {
    let before = parse(REALISTIC_POLICY).expect("policy");
    let mut value: Value = serde_json::from_str(REALISTIC_POLICY).expect("json");
    value["Statement"].as_array_mut().expect("array").reverse();
    for (i, st) in value["Statement"]
        .as_array_mut()
        .expect("array")
        .iter_mut()
        .enumerate()
    {
        st["Sid"] = json!(format!("Renamed{i}"));
    }
    let after = parse(&value.to_string()).expect("policy");
    assert!(!crate::policy::semantically_equal(&before, &after));
    assert_eq!(gains(&before, &after, &key()), []);
    let compact = parse(&serde_json::to_string(&value).expect("json")).expect("policy");
    assert_eq!(gains(&after, &compact, &key()), []);
}

#[test]
fn what_the_accounts_root_delegation_already_allows_is_no_gain() {
    let root = json!({"Sid": "Root", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"});
    let mut before = base(&[APP], &["kms:Decrypt"], None);
    before.push(root.clone());
    let mut after = base(&[APP, BATCH], USE, None);
    after.push(root);
    assert_eq!(gained(before, after), []);
}

#[test]
fn delegating_to_an_account_gains_for_its_principals() {
    let mut after = base(&[APP], USE, None);
    after.push(json!({"Sid": "Partner", "Effect": "Allow",
        "Principal": {"AWS": "444455556666"}, "Action": "kms:Decrypt", "Resource": "*"}));
    let found = gained(base(&[APP], USE, None), after);
    assert_eq!(
        found,
        [
            ("arn:aws:iam::444455556666:root", "kms:Decrypt", None),
            (
                "any IAM principal of account 444455556666",
                "kms:Decrypt",
                None
            ),
        ]
        .map(|(p, a, c): (&str, &str, Option<String>)| (p.to_owned(), a.to_owned(), c))
    );
}

#[test]
fn a_service_and_a_source_network_are_asked_too() {
    let mut before = base(&[APP], USE, None);
    before[1]["Condition"] = json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
    let mut after = before.clone();
    after[1]["Condition"] = json!({"IpAddress": {"aws:SourceIp": "192.168.0.0/16"}});
    after.push(json!({"Sid": "Logs", "Effect": "Allow",
        "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:Encrypt", "Resource": "*"}));
    let found = gained(before, after);
    let network = Some("aws:SourceIp=192.168.0.0".to_owned());
    assert_eq!(
        found,
        [
            (APP.to_owned(), "kms:Decrypt".to_owned(), network.clone()),
            (APP.to_owned(), "kms:Encrypt".to_owned(), network),
            (
                "logs.amazonaws.com".to_owned(),
                "kms:Encrypt".to_owned(),
                None
            ),
        ]
    );
}

#[test]
fn a_new_root_delegation_gains_for_every_principal_of_the_account() {
    let mut after = base(&[APP], USE, None);
    after.push(json!({"Sid": "Root", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}));
    let found = gained(base(&[APP], USE, None), after);
    let of = |principal: &str| {
        found
            .iter()
            .filter(|(p, _, _)| p == principal)
            .map(|(_, a, _)| a.as_str())
            .collect::<Vec<_>>()
    };
    let everyone = of("any IAM principal of account 111122223333");
    assert!(everyone.contains(&"kms:Decrypt") && everyone.contains(&"kms:ScheduleKeyDeletion"));
    assert!(
        !everyone.contains(&"kms:CreateKey"),
        "on no key: {everyone:?}"
    );
    assert!(of(APP).contains(&"kms:PutKeyPolicy"));
    assert!(!of(APP).contains(&"kms:Decrypt"), "the app had it");
    assert_eq!(
        of("anyone else (a principal of another account)"),
        Vec::<&str>::new()
    );
}
