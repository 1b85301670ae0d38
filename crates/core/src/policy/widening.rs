//! Whether a key policy change widens access, as the evaluator decides it: some principal gains a
//! KMS action on the key that it did not have. Dual control asks a second person for these.
//!
//! Each principal either document names (and a few stand-ins) asks for each KMS action, under
//! the empty context and under one context per statement that meets its conditions, of the key
//! policy alone: identity policies are assumed to allow, as `kmsctl simulate` does without
//! `--identity-policy`, so the question is what the key policy lets through. Comparing
//! decisions, not text, makes reordering, Sids, narrowing and added Denies widen nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{Catalog, KeyType};
use super::eval::{NamedPolicy, Outcome, Policies, Principal, Request, evaluate};
use super::lint::Operator;
use super::model::{PolicyDocument, Principals, Statement};
use super::wildcard::action_matches;

/// The key the policy is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUnderTest {
    pub arn: String,
    pub account: String,
}

/// A principal allowed an action after the change that it was not allowed before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gain {
    /// As the message names it: an ARN, a service, or a stand-in ("any IAM principal of account
    /// 111122223333").
    pub principal: String,
    /// `kms:Decrypt`.
    pub action: String,
    /// The request context it is gained under (`kms:ViaService=ec2.us-east-1.amazonaws.com`);
    /// `None`: with no context at all.
    pub context: Option<String>,
}

/// KMS calls on no key: IAM policies alone decide them, a key policy naming them grants nothing.
const ON_NO_KEY: &[&str] = &[
    "ConnectCustomKeyStore",
    "CreateCustomKeyStore",
    "CreateKey",
    "DeleteCustomKeyStore",
    "DescribeCustomKeyStores",
    "DisconnectCustomKeyStore",
    "GenerateRandom",
    "ListAliases",
    "ListKeys",
    "ListRetirableGrants",
    "UpdateCustomKeyStore",
];

/// Condition keys the caller and the key determine: they come with a candidate principal (whose
/// ARN or account a condition names), never from a context that would contradict it.
const IDENTITY_KEYS: &[&str] = &[
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalservicename",
    "aws:principalisawsservice",
    "aws:userid",
    "aws:username",
    "aws:resourceaccount",
    "kms:calleraccount",
];

/// What `after` allows that `before` did not, one gain per principal and action (under the first
/// context found), principals in order, then actions.
pub fn gains(before: &PolicyDocument, after: &PolicyDocument, key: &KeyUnderTest) -> Vec<Gain> {
    if super::semantically_equal(before, after) {
        return Vec::new();
    }
    // Only an action some Allow of `after` names can be gained.
    let actions: Vec<String> = Catalog::get()
        .matching_actions("kms", "*")
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !ON_NO_KEY.contains(a))
        .map(|a| format!("kms:{a}"))
        .filter(|a| {
            after
                .statements
                .iter()
                .any(|st| st.is_allow() && names(st, a))
        })
        .collect();
    if actions.is_empty() {
        return Vec::new();
    }
    let candidates = candidates(before, after, key);
    let contexts = contexts(before, after);
    let (before, after) = (key_policy_alone(before), key_policy_alone(after));
    let mut found = Vec::new();
    for (label, principal) in &candidates {
        for action in &actions {
            let gained = contexts.iter().find(|(_, context)| {
                let req = request(principal, action, key, context);
                allowed(&after, &req) && !allowed(&before, &req)
            });
            if let Some((context, _)) = gained {
                found.push(Gain {
                    principal: label.clone(),
                    action: action.clone(),
                    context: context.clone(),
                });
            }
        }
    }
    found
}

fn names(st: &Statement, action: &str) -> bool {
    match (&st.action, &st.not_action) {
        (Some(a), _) => a.iter().any(|p| action_matches(p, action)),
        (None, Some(n)) => !n.iter().any(|p| action_matches(p, action)),
        (None, None) => false,
    }
}

fn key_policy_alone(document: &PolicyDocument) -> Policies {
    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    Policies {
        key_policy: Some(NamedPolicy {
            name: "key policy".to_owned(),
            document: document.clone(),
        }),
        identity: vec![NamedPolicy {
            name: "(assumed identity policy)".to_owned(),
            document: super::parse(ALLOW_ALL).expect("a policy kmsctl writes parses"),
        }],
        ..Policies::default()
    }
}

fn allowed(policies: &Policies, req: &Request) -> bool {
    evaluate(policies, req).outcome == Outcome::Allowed
}

fn request(
    principal: &Principal,
    action: &str,
    key: &KeyUnderTest,
    context: &BTreeMap<String, Vec<String>>,
) -> Request {
    let mut context = context.clone();
    if !principal.is_service {
        context.insert(
            "kms:calleraccount".to_owned(),
            vec![principal.account.clone()],
        );
    }
    Request {
        principal: principal.clone(),
        action: action.to_owned(),
        resource: key.arn.clone(),
        resource_account: key.account.clone(),
        resource_tags: BTreeMap::new(),
        context,
    }
}

/// `*` and `?` of a pattern made a literal the pattern matches.
fn literal(pattern: &str) -> String {
    pattern.replace(['*', '?'], "x")
}

fn account_of(arn: &str) -> String {
    arn.split(':').nth(4).unwrap_or_default().to_owned()
}

/// Any IAM principal of an account that no statement names by ARN.
fn member_of(partition: &str, account: &str) -> (String, Principal) {
    (
        format!("any IAM principal of account {account}"),
        Principal {
            arn: format!("arn:{partition}:iam::{account}:role/kmsctl-unnamed-principal"),
            account: account.to_owned(),
            ..Principal::default()
        },
    )
}

/// The principals asked, by a label for the message: every one either document names (in
/// `Principal`, `NotPrincipal`, or a condition on the caller's ARN, account or service), any
/// principal of the key's account and of each account named, and anyone else.
fn candidates(
    before: &PolicyDocument,
    after: &PolicyDocument,
    key: &KeyUnderTest,
) -> Vec<(String, Principal)> {
    let partition = key.arn.split(':').nth(1).unwrap_or("aws");
    let mut named: BTreeMap<String, (String, Principal)> = BTreeMap::new();
    let mut accounts = BTreeSet::from([key.account.clone()]);
    let mut add = |label: &str, principal: Principal| {
        named
            .entry(principal.arn.clone())
            .or_insert_with(|| (label.to_owned(), principal));
    };
    for st in before.statements.iter().chain(&after.statements) {
        for principals in [&st.principal, &st.not_principal].into_iter().flatten() {
            let Principals::Map(map) = principals else {
                continue;
            };
            for (kind, values) in map {
                for value in values.iter().filter(|v| *v != "*") {
                    let is_account = value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit());
                    let arn = if is_account {
                        format!("arn:{partition}:iam::{value}:root")
                    } else {
                        value.clone()
                    };
                    let account = account_of(&arn);
                    add(
                        &arn,
                        Principal {
                            account: account.clone(),
                            is_service: kind == "Service",
                            arn: arn.clone(),
                            ..Principal::default()
                        },
                    );
                    if kind == "AWS" && !account.is_empty() {
                        accounts.insert(account);
                    }
                }
            }
        }
        for (operator, keys) in &st.condition {
            if Operator::parse(operator).is_none_or(|op| op.negated() || op.base == "Null") {
                continue;
            }
            for (key_name, values) in keys {
                for value in values {
                    match key_name.to_lowercase().as_str() {
                        "aws:principalarn" => add(
                            value,
                            Principal {
                                arn: literal(value),
                                account: account_of(&literal(value)),
                                ..Principal::default()
                            },
                        ),
                        "aws:principalaccount" | "kms:calleraccount" => {
                            accounts.insert(literal(value));
                        }
                        "aws:principalservicename" => add(
                            value,
                            Principal {
                                arn: literal(value),
                                is_service: true,
                                ..Principal::default()
                            },
                        ),
                        _ => {}
                    }
                }
            }
        }
    }
    let mut out: Vec<(String, Principal)> = named.into_values().collect();
    out.extend(accounts.iter().map(|a| member_of(partition, a)));
    // Anyone else: an account neither document mentions.
    let text = format!("{} {}", before.canonical(), after.canonical());
    let other = (0..)
        .map(|n: u64| (999_999_999_999 - n).to_string())
        .find(|a| !accounts.contains(a) && !text.contains(a.as_str()))
        .expect("some account id is not in two policies");
    let (_, anyone) = member_of(partition, &other);
    out.push((
        "anyone else (a principal of another account)".to_owned(),
        anyone,
    ));
    out
}

/// A request context, labelled for the message (`None` for the empty one).
type Context = (Option<String>, BTreeMap<String, Vec<String>>);

/// The contexts asked: none, and per statement one that meets its conditions where a value is
/// easily had (the first value, wildcards made literal); negated operators are left to the empty
/// context. One per statement, not per combination: the count stays linear.
fn contexts(before: &PolicyDocument, after: &PolicyDocument) -> Vec<Context> {
    let mut out: Vec<Context> = vec![(None, BTreeMap::new())];
    for st in before.statements.iter().chain(&after.statements) {
        let (labels, values) = meeting(st);
        if !out.iter().any(|(_, seen)| *seen == values) {
            out.push((Some(labels.join(", ")), values));
        }
    }
    out
}

/// A context meeting a statement's conditions: labels (`key=value`) and values by lowercased key.
fn meeting(st: &Statement) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let mut labels = Vec::new();
    let mut values = BTreeMap::new();
    for (operator, keys) in &st.condition {
        let Some(op) = Operator::parse(operator).filter(|op| !op.negated()) else {
            continue;
        };
        for (key, wanted) in keys {
            let lowered = key.to_lowercase();
            let Some(first) = wanted.iter().next() else {
                continue;
            };
            if IDENTITY_KEYS.contains(&lowered.as_str()) || values.contains_key(&lowered) {
                continue;
            }
            let value = match op.base {
                "Null" if first.eq_ignore_ascii_case("true") => continue,
                "Null" => plausible(key),
                "IpAddress" => first.split('/').next().unwrap_or(first).to_owned(),
                "Bool" | "NumericEquals" | "NumericLessThanEquals" | "NumericGreaterThanEquals" => {
                    first.clone()
                }
                base if base.ends_with("Like") || base.starts_with("Arn") => literal(first),
                base if base.starts_with("String") => first.clone(),
                _ => continue,
            };
            labels.push(format!("{key}={value}"));
            values.insert(lowered, vec![value]);
        }
    }
    (labels, values)
}

/// A value of the key's type, for `Null: false` (the key present).
fn plausible(key: &str) -> String {
    let value = match Catalog::get().key(key).map(|k| k.kind) {
        Some(KeyType::Bool) => "true",
        Some(KeyType::Numeric) => "1",
        Some(KeyType::Date) => "2020-01-01T00:00:00Z",
        Some(KeyType::IpAddress) => "192.0.2.1",
        _ => "x",
    };
    value.to_owned()
}

#[cfg(test)]
mod tests;
