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

/// The app's usage statement of [`base`] under `condition`.
fn used_when(condition: Value) -> Vec<Value> {
    let mut statements = base(&[APP], USE, None);
    statements[1]["Condition"] = condition;
    statements
}

/// [`base`] and a Deny of every KMS action to everyone under `condition`.
fn denied_unless(condition: Value) -> Vec<Value> {
    let mut statements = base(&[APP], USE, None);
    statements.push(
        json!({"Sid": "Perimeter", "Effect": "Deny", "Principal": "*",
        "Action": "kms:*", "Resource": "*", "Condition": condition}),
    );
    statements
}

fn app_gains(found: &[(String, String, Option<String>)], context: &str) -> bool {
    ["kms:Decrypt", "kms:Encrypt"].iter().all(|action| {
        found.contains(&(
            APP.to_owned(),
            (*action).to_owned(),
            Some(context.to_owned()),
        ))
    })
}

#[test]
fn a_data_perimeter_deny_changed_to_another_organization_gains_inside_it() {
    let perimeter = |org: &str| json!({"StringNotEquals": {"aws:PrincipalOrgID": org}});
    let found = gained(
        denied_unless(perimeter("o-abc")),
        denied_unless(perimeter("o-evil")),
    );
    assert!(app_gains(&found, "aws:PrincipalOrgID=o-evil"), "{found:?}");
    assert!(
        found
            .iter()
            .all(|(_, _, c)| c.as_deref() == Some("aws:PrincipalOrgID=o-evil")),
        "{found:?}"
    );
    // One more organization let in widens; one fewer does not.
    let both = json!({"StringNotEquals": {"aws:PrincipalOrgID": ["o-abc", "o-zzz"]}});
    let found = gained(
        denied_unless(perimeter("o-abc")),
        denied_unless(both.clone()),
    );
    assert!(app_gains(&found, "aws:PrincipalOrgID=o-zzz"), "{found:?}");
    assert_eq!(
        gained(denied_unless(both), denied_unless(perimeter("o-abc"))),
        []
    );
}

#[test]
fn an_organization_path_deny_loosened_to_the_whole_organization_gains() {
    // policies/kms/prod-payment-policy.json, DenyKeyUsageFromNonProdOUs.
    let outside = |path: &str| {
        let mut statements = base(&[APP], USE, None);
        statements.push(
            json!({"Sid": "DenyKeyUsageFromNonProdOUs", "Effect": "Deny",
            "Principal": "*",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": path},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}),
        );
        statements
    };
    let prod = outside("o-abc/r-root/ou-prod/*");
    let found = gained(prod.clone(), outside("o-abc/*"));
    assert!(
        app_gains(&found, "aws:PrincipalOrgPaths=o-abc/x"),
        "{found:?}"
    );
    assert_eq!(gained(outside("o-abc/*"), prod), []);
}

#[test]
fn a_vpc_endpoint_deny_gains_for_an_endpoint_let_in() {
    let only = |operator: &str, endpoints: Value| {
        denied_unless(json!({operator: {"aws:SourceVpce": endpoints}}))
    };
    let one = only("StringNotEquals", json!(["vpce-1"]));
    let found = gained(
        one.clone(),
        only("StringNotEquals", json!(["vpce-1", "vpce-2"])),
    );
    assert!(app_gains(&found, "aws:SourceVpce=vpce-2"), "{found:?}");
    let found = gained(one.clone(), only("StringNotEquals", json!("vpce-2")));
    assert!(app_gains(&found, "aws:SourceVpce=vpce-2"), "{found:?}");
    let found = gained(one.clone(), only("StringNotLike", json!("vpce-*")));
    assert!(app_gains(&found, "aws:SourceVpce=vpce-x"), "{found:?}");
    // Fewer endpoints, or a pattern made exact: nothing gained.
    assert_eq!(
        gained(
            only("StringNotEquals", json!(["vpce-1", "vpce-2"])),
            one.clone()
        ),
        []
    );
    assert_eq!(gained(only("StringNotLike", json!("vpce-*")), one), []);
}

#[test]
fn an_allow_for_the_organization_gains_for_an_organization_added() {
    let org = |ids: Value| {
        let mut statements = base(&[APP], USE, None);
        statements.push(json!({"Sid": "Org", "Effect": "Allow", "Principal": "*",
            "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": ids}}}));
        statements
    };
    let found = gained(org(json!("o-abc")), org(json!(["o-abc", "o-zzz"])));
    assert!(
        found.contains(&(
            "anyone else (a principal of another account)".to_owned(),
            "kms:Decrypt".to_owned(),
            Some("aws:PrincipalOrgID=o-zzz".to_owned())
        )),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .all(|(_, action, context)| action == "kms:Decrypt"
                && context.as_deref() == Some("aws:PrincipalOrgID=o-zzz")),
        "{found:?}"
    );
}

#[test]
fn an_encryption_context_value_added_gains_under_it() {
    let tenant = |values: Value| {
        used_when(json!({"StringEquals": {"kms:EncryptionContext:tenant": values}}))
    };
    let found = gained(tenant(json!(["t1"])), tenant(json!(["t1", "t2"])));
    let context = Some("kms:EncryptionContext:tenant=t2".to_owned());
    assert_eq!(
        found,
        [
            (APP.to_owned(), "kms:Decrypt".to_owned(), context.clone()),
            (APP.to_owned(), "kms:Encrypt".to_owned(), context),
        ]
    );
    assert_eq!(
        gained(tenant(json!(["t1", "t2"])), tenant(json!(["t1"]))),
        []
    );
}

#[test]
fn a_service_added_after_the_first_gains_under_it() {
    let sqs = "sqs.us-east-1.amazonaws.com";
    assert!(sqs > VIA_S3);
    let found = gained(
        base(&[APP], USE, Some(VIA_S3)),
        used_when(json!({"StringEquals": {"kms:ViaService": [VIA_S3, sqs]}})),
    );
    let context = Some(format!("kms:ViaService={sqs}"));
    assert_eq!(
        found,
        [
            (APP.to_owned(), "kms:Decrypt".to_owned(), context.clone()),
            (APP.to_owned(), "kms:Encrypt".to_owned(), context),
        ]
    );
}

#[test]
fn a_negated_condition_removed_gains_where_it_excluded() {
    let found = gained(
        used_when(json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})),
        base(&[APP], USE, None),
    );
    assert!(app_gains(&found, "aws:SourceVpce=vpce-1"), "{found:?}");
}

#[test]
fn a_deny_removed_gains_for_the_principals_the_allows_name() {
    // The Deny names no one but whom it spares; the app, named only by an unchanged Allow,
    // gains.
    let mut before = base(&[APP], USE, None);
    before.push(json!({"Sid": "OnlyAdmin", "Effect": "Deny",
        "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/admin"},
        "Action": "kms:Decrypt", "Resource": "*"}));
    let found = gained(before, base(&[APP], USE, None));
    assert_eq!(found, plain(APP, &["kms:Decrypt"]));
}

/// `n` statements for everyone, each under its own conditions, `narrowed` by one more.
fn sprawling(n: usize, narrowed: bool) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut like = serde_json::Map::new();
            like.insert(
                "aws:PrincipalArn".into(),
                json!(format!("arn:aws:iam::*:role/h{i}-*")),
            );
            like.insert(
                format!("kms:EncryptionContext:k{i}"),
                json!([format!("v{i}a*"), format!("v{i}b")]),
            );
            let mut condition = json!({"StringLike": like,
                "StringNotEquals": {"aws:SourceVpce": [format!("vpce-{i}"), format!("vpce-{}", i + 1)]}});
            if narrowed {
                condition["StringEquals"] =
                    json!({"kms:ViaService": format!("s{i}.amazonaws.com")});
            }
            json!({"Sid": format!("H{i}"), "Effect": "Allow", "Principal": "*",
                "Action": "kms:*", "Resource": "*", "Condition": condition})
        })
        .collect()
}

#[test]
fn a_change_too_large_to_judge_counts_as_widening_at_once() {
    let before = doc(Value::from(sprawling(120, false)));
    let after = doc(Value::from(sprawling(120, true)));
    let started = std::time::Instant::now();
    let found = gains(&before, &after, &key());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].too_large, Some(120));
    assert_eq!(
        found[0].undecided().as_deref(),
        Some("too large to judge (120 statements): treated as widening")
    );
    // So is a new one: no principal is reported as gaining, the whole change is.
    let found = gains(&doc(Value::from(base(&[APP], USE, None))), &after, &key());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].too_large, Some(120));
}

#[test]
fn the_budget_bounds_the_evaluations_not_the_verdict() {
    let (before, after) = (
        doc(Value::from(base(&[APP], USE, None))),
        doc(Value::from(base(&[APP, BATCH], USE, None))),
    );
    // Two evaluations per request; kms:Encrypt and kms:Decrypt, named by the same statements,
    // are asked as one: the app and the batch job need four.
    let found = gains_within(&before, &after, &key(), 3);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].too_large, Some(2));
    let found = gains_within(&before, &after, &key(), 4);
    assert!(
        found
            .iter()
            .all(|g| g.too_large.is_none() && g.undecided().is_none())
    );
    assert_eq!(found.len(), 2);
    // A narrowing too large to judge still counts: nothing shows it does not widen.
    let narrowed = doc(Value::from(base(&[APP], &["kms:Encrypt"], None)));
    assert_eq!(
        gains_within(&before, &narrowed, &key(), 0)[0].too_large,
        Some(2)
    );
}

#[test]
fn a_large_realistic_policy_is_judged_within_the_budget() {
    // The console's policy with 60 usage statements, one of them given to another account.
    let usage = |i: usize, extra: Option<&str>| {
        let mut who = vec![format!("arn:aws:iam::{ACCOUNT}:role/app{i}")];
        who.extend(extra.map(str::to_owned));
        json!({"Sid": format!("Use{i}"), "Effect": "Allow", "Principal": {"AWS": who},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": format!("svc{i}.us-east-1.amazonaws.com"),
                "kms:EncryptionContext:tenant": format!("t{i}")}}})
    };
    let mut before = base(&[APP], USE, None);
    before.push(json!({"Sid": "Root", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}));
    before.extend((0..60).map(|i| usage(i, None)));
    let mut after = before.clone();
    after[62] = usage(59, Some("arn:aws:iam::444455556666:role/partner"));
    let found = gained(before.clone(), after);
    assert!(
        found.contains(&(
            "arn:aws:iam::444455556666:role/partner".to_owned(),
            "kms:Decrypt".to_owned(),
            Some(
                "kms:EncryptionContext:tenant=t59, kms:ViaService=svc59.us-east-1.amazonaws.com"
                    .to_owned()
            )
        )),
        "{found:?}"
    );
    assert!(found.iter().all(|(p, _, _)| p.contains("444455556666")));
    // A perimeter loosened on it: every principal named gains, none too large to judge.
    let mut fenced = before.clone();
    fenced.push(
        json!({"Sid": "Perimeter", "Effect": "Deny", "Principal": "*", "Action": "kms:*",
        "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}}),
    );
    let mut loosened = fenced.clone();
    loosened[63]["Condition"]["StringNotEquals"]["aws:PrincipalOrgID"] = json!(["o-abc", "o-new"]);
    let found = gains(
        &doc(Value::from(fenced)),
        &doc(Value::from(loosened)),
        &key(),
    );
    assert!(found.iter().all(|g| g.too_large.is_none()), "{found:?}");
    assert!(
        found
            .iter()
            .any(|g| g.principal == "arn:aws:iam::111122223333:role/app59"
                && g.context.as_deref() == Some("aws:PrincipalOrgID=o-new")),
        "{found:?}"
    );
}
