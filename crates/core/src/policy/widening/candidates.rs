//! The principals asked: those the documents name, any principal of each account named, and
//! anyone else; which statements can apply to each, and what asking one costs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::contexts::literal;
use super::{KeyUnderTest, READ_PER_EVALUATION, request};
use crate::policy::eval::{Principal, key_conditions_hold};
use crate::policy::lint::Operator;
use crate::policy::model::{PolicyDocument, Principals, Statement};

/// Condition keys the caller and the key determine: they come with a candidate principal (whose
/// ARN or account a condition names), never from a context that would contradict it.
pub(super) const IDENTITY_KEYS: &[&str] = &[
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalservicename",
    "aws:principalisawsservice",
    "aws:userid",
    "aws:username",
    "aws:resourceaccount",
    "kms:calleraccount",
];

fn account_of(arn: &str) -> String {
    arn.split(':').nth(4).unwrap_or_default().to_owned()
}

fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
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
/// `Principal`, `NotPrincipal`, or a condition on the caller's ARN, account or service, negated
/// or not), any principal of the key's account and of each account named, and anyone else.
pub(super) struct Candidates {
    /// In the order gains are reported.
    pub(super) list: Vec<(String, Principal)>,
    /// A named principal's ARN to its place in `list`.
    index: HashMap<String, usize>,
    partition: String,
    key: KeyUnderTest,
    /// Per anchor (where it is), the candidates it can apply to.
    admitted: HashMap<*const Statement, Vec<usize>>,
    /// Per candidate and statement (where it is), whether the statement can apply to it.
    applies: HashMap<(usize, *const Statement), bool>,
}

/// The principals one statement names: (label, principal) by ARN, and accounts.
type Named = (BTreeMap<String, (String, Principal)>, BTreeSet<String>);

impl Candidates {
    pub(super) fn new(before: &PolicyDocument, after: &PolicyDocument, key: &KeyUnderTest) -> Self {
        let partition = key.arn.split(':').nth(1).unwrap_or("aws").to_owned();
        let mut named: BTreeMap<String, (String, Principal)> = BTreeMap::new();
        let mut accounts = BTreeSet::from([key.account.clone()]);
        for st in before.statements.iter().chain(&after.statements) {
            let (in_st, accounts_in_st) = named_in(st, &partition);
            for (arn, entry) in in_st {
                named.entry(arn).or_insert(entry);
            }
            accounts.extend(accounts_in_st);
        }
        let mut list: Vec<(String, Principal)> = Vec::new();
        let mut index = HashMap::new();
        for (arn, entry) in named {
            index.insert(arn, list.len());
            list.push(entry);
        }
        list.extend(accounts.iter().map(|a| member_of(&partition, a)));
        // Anyone else: an account neither document mentions.
        let text = format!("{} {}", before.canonical(), after.canonical());
        let other = (0..)
            .map(|n: u64| (999_999_999_999 - n).to_string())
            .find(|a| !accounts.contains(a) && !text.contains(a.as_str()))
            .expect("some account id is not in two policies");
        let (_, anyone) = member_of(&partition, &other);
        list.push((
            "anyone else (a principal of another account)".to_owned(),
            anyone,
        ));
        Self {
            list,
            index,
            partition,
            key: key.clone(),
            admitted: HashMap::new(),
            applies: HashMap::new(),
        }
    }

    /// The candidates an anchor can apply to, in order: those it names when it names principals
    /// by ARN or service only, every one when it names an account, everyone, or principals it
    /// does not apply to (`NotPrincipal`); less those its conditions on the caller exclude.
    /// Worked out once per anchor, not per action.
    pub(super) fn admitted_by(&mut self, anchor: &Statement) -> Vec<usize> {
        let at = std::ptr::from_ref(anchor);
        if let Some(admitted) = self.admitted.get(&at) {
            return admitted.clone();
        }
        let by_name = match &anchor.principal {
            Some(Principals::Map(map)) => map
                .iter()
                .all(|(kind, values)| kind != "AWS" || values.iter().all(|v| names_one(v))),
            _ => false,
        };
        let mut named: Vec<usize> = if by_name {
            named_in(anchor, &self.partition)
                .0
                .keys()
                .filter_map(|arn| self.index.get(arn).copied())
                .collect()
        } else {
            (0..self.list.len()).collect()
        };
        named.sort_unstable();
        named.dedup();
        named.retain(|&p| self.can_apply(p, anchor));
        self.admitted.insert(at, named.clone());
        named
    }

    /// Whether the statement can apply to the candidate, as the evaluator matches principals:
    /// not when its `Principal` names principals by ARN or service and none is this one
    /// (`*`, accounts, roots, `NotPrincipal` and role sessions, named by their role, always
    /// can), nor when its conditions on the caller exclude it.
    pub(super) fn can_apply(&mut self, p: usize, st: &Statement) -> bool {
        let at = (p, std::ptr::from_ref(st));
        if let Some(&known) = self.applies.get(&at) {
            return known;
        }
        let principal = &self.list[p].1;
        let named = match &st.principal {
            Some(Principals::Map(map)) => {
                principal.arn.contains(":assumed-role/")
                    || map.values().flatten().any(|v| {
                        v == "*"
                            || *v == principal.arn
                            || *v == principal.account
                            || v.ends_with(":root")
                    })
            }
            _ => true,
        };
        // Conditions on the caller, but not those with policy variables (the request's context
        // may decide them).
        let on_caller: Vec<&String> = st
            .condition
            .values()
            .flatten()
            .filter(|(k, written)| {
                IDENTITY_KEYS.contains(&k.to_lowercase().as_str())
                    && !written.iter().any(|v| v.contains("${"))
            })
            .map(|(k, _)| k)
            .collect();
        let known = named
            && (on_caller.is_empty() || {
                let req = request(principal, "", &self.key, &BTreeMap::new());
                on_caller.iter().all(|k| key_conditions_hold(st, k, &req))
            });
        self.applies.insert(at, known);
        known
    }

    /// What evaluating a document of these statements costs for the candidate, in evaluations
    /// of [`EVALUATION_BUDGET`](super::EVALUATION_BUDGET): it reads the statements that can
    /// apply to it.
    pub(super) fn cost(&mut self, p: usize, on: &[&Statement]) -> usize {
        let read: usize = on
            .iter()
            .filter(|st| self.can_apply(p, st))
            .map(|st| {
                let values: usize = st.condition.values().flatten().map(|(_, v)| v.len()).sum();
                1 + values
            })
            .sum();
        read.div_ceil(READ_PER_EVALUATION).max(1)
    }
}

/// Whether an `AWS` principal value names one principal, not an account or everyone.
fn names_one(value: &str) -> bool {
    value != "*" && !is_account_id(value) && !value.ends_with(":root")
}

fn named_in(st: &Statement, partition: &str) -> Named {
    let mut named: BTreeMap<String, (String, Principal)> = BTreeMap::new();
    let mut accounts = BTreeSet::new();
    let mut add = |label: &str, principal: Principal| {
        named
            .entry(principal.arn.clone())
            .or_insert_with(|| (label.to_owned(), principal));
    };
    for principals in [&st.principal, &st.not_principal].into_iter().flatten() {
        let Principals::Map(map) = principals else {
            continue;
        };
        for (kind, values) in map {
            for value in values.iter().filter(|v| *v != "*") {
                let arn = if is_account_id(value) {
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
    // Negated operators too: the principal a Deny exempts is the one it does not deny.
    for (operator, keys) in &st.condition {
        if Operator::parse(operator).is_none_or(|op| op.base == "Null") {
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
    (named, accounts)
}
