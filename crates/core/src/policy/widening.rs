//! Whether a key policy change widens access, as the evaluator decides it: some principal gains a
//! KMS action on the key that it did not have. Dual control asks a second person for these.
//!
//! The key policy is asked alone: identity policies are assumed to allow, as `kmsctl simulate`
//! does without `--identity-policy`, so the question is what the key policy lets through. A
//! request is then allowed when no Deny of the key policy applies and some Allow does; so one
//! that `after` allows and `before` does not meets a statement that differs between them by
//! meaning (Sids, order and formatting aside): an Allow only `after` has, or a Deny only `before`
//! has. Only the actions those name are asked, around "anchors", the Allows of `after` that
//! could let such a request through:
//!
//! - each Allow only `after` has, varying its own condition keys, the Denies' keys, and the keys
//!   of Allows that a request without the key meets (negated operators, `IfExists`);
//! - where a Deny only `before` has names the action, each Allow of `after` naming it, varying
//!   the Denies' keys.
//!
//! An anchor is asked for the principals it names by ARN or service, or, when it names an
//! account, everyone or `NotPrincipal`, for every candidate its conditions on the caller admit:
//! every principal either document names (in `Principal`, `NotPrincipal` or a condition on the
//! caller, negated or not), any principal of each account named and anyone else. Its contexts:
//! the one meeting its conditions, then that one with one key changed at a time, to each value
//! either document compares the key with (wildcards made literals), to a value none names (for
//! negated operators and `IfExists`), or absent. One key at a time, not every combination.
//! `aws:PrincipalOrgID` and `aws:PrincipalOrgPaths` are context keys like the others (the
//! evaluator reads a request's context before its principal). Comparing decisions, not text,
//! makes reordering, Sids, narrowing and added Denies widen nothing.
//!
//! The work is bounded. Actions the same statements name are decided alike and asked once;
//! values of a key that every condition takes alike are one value; each evaluation reads only
//! the statements that can apply to the principal. Every question is then planned and counted
//! against [`EVALUATION_BUDGET`] before any is asked: a change that needs more is not judged but
//! treated as widening (one [`Gain`] with [`Gain::too_large`] set), so a large hostile policy
//! costs a tenth of a second, not minutes.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::catalog::{Catalog, KeyType};
use super::eval::{
    NamedPolicy, Outcome, Policies, Principal, Request, evaluate, key_conditions_hold,
};
use super::lint::Operator;
use super::model::{PolicyDocument, Principals, Statement};
use super::wildcard::action_matches;

/// The most evaluations one judgement makes, an evaluation of a document reading more than
/// [`READ_PER_EVALUATION`] statements and condition values counting once per that many: a change
/// needing more counts as widening. Under a second (release build) at worst.
pub const EVALUATION_BUDGET: usize = 50_000;

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
    /// `Some(n)`: no gain found, but the change was too large to judge within
    /// [`EVALUATION_BUDGET`] (`n`: the statements of the larger document), so it counts as
    /// widening; the principal is then "any principal" and the action `kms:*`.
    pub too_large: Option<usize>,
}

impl Gain {
    /// The one result of a change too large to judge.
    fn undecidable(statements: usize) -> Self {
        Self {
            principal: "any principal".to_owned(),
            action: "kms:*".to_owned(),
            context: None,
            too_large: Some(statements),
        }
    }

    /// For the result of a change too large to judge, why it counts as widening: `too large to
    /// judge (120 statements): treated as widening`.
    pub fn undecided(&self) -> Option<String> {
        self.too_large
            .map(|n| format!("too large to judge ({n} statements): treated as widening"))
    }
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

/// A string no policy compares with: a key's value outside every value a policy names.
const OUTSIDE: &str = "kmsctl-outside";
/// An address outside the networks a policy names (TEST-NET-2).
const OUTSIDE_IP: &str = "198.51.100.254";

/// What `after` allows that `before` did not, one gain per principal and action (under the first
/// context found), principals in order, then actions. A change that would take more than
/// [`EVALUATION_BUDGET`] evaluations to judge gives one gain with [`Gain::too_large`] set
/// instead.
pub fn gains(before: &PolicyDocument, after: &PolicyDocument, key: &KeyUnderTest) -> Vec<Gain> {
    gains_within(before, after, key, EVALUATION_BUDGET)
}

fn gains_within(
    before: &PolicyDocument,
    after: &PolicyDocument,
    key: &KeyUnderTest,
    budget: usize,
) -> Vec<Gain> {
    if super::semantically_equal(before, after) {
        return Vec::new();
    }
    let changed = Changed::between(before, after);
    // A gain meets an Allow only `after` has or a Deny only `before` has, and some Allow of
    // `after` names its action.
    let actions: Vec<String> = Catalog::get()
        .matching_actions("kms", "*")
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !ON_NO_KEY.contains(a))
        .map(|a| format!("kms:{a}"))
        .filter(|a| {
            let allowed_after = after
                .statements
                .iter()
                .any(|st| st.is_allow() && names(st, a));
            allowed_after
                && (changed.added_allows().any(|st| names(st, a))
                    || changed.removed_denies().any(|st| names(st, a)))
        })
        .collect();
    if actions.is_empty() {
        return Vec::new();
    }
    // The evaluator reads an action only to tell which statements name it: actions the same
    // statements name are decided alike, so the first of each group is asked for all of them.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_naming: HashMap<(Vec<usize>, Vec<usize>), usize> = HashMap::new();
    for (a, action) in actions.iter().enumerate() {
        let naming = |document: &PolicyDocument| -> Vec<usize> {
            (0..document.statements.len())
                .filter(|&i| names(&document.statements[i], action))
                .collect()
        };
        let group = *by_naming
            .entry((naming(before), naming(after)))
            .or_insert(groups.len());
        match groups.get_mut(group) {
            Some(members) => members.push(a),
            None => groups.push(vec![a]),
        }
    }
    let mut candidates = Candidates::new(before, after, key);
    // Every question is planned, and its cost counted, before any is asked: a change too large
    // to judge is known at once.
    let mut plans = Vec::new();
    let mut left = budget;
    for group in &groups {
        let action = &actions[group[0]];
        let Some(plan) = Plan::new(action, before, after, &changed, &mut candidates, &mut left)
        else {
            let statements = before.statements.len().max(after.statements.len());
            return vec![Gain::undecidable(statements)];
        };
        plans.push(plan);
    }
    let assumed = super::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )
    .expect("a policy kmsctl writes parses");
    // (principal, action) → the context of the gain.
    let mut found: BTreeMap<(usize, usize), Option<String>> = BTreeMap::new();
    for (plan, group) in plans.iter().zip(&groups) {
        let asked = group[0];
        // Per principal, only the statements that can apply to it.
        let mut policies: HashMap<usize, (Policies, Policies)> = HashMap::new();
        for &(p, c) in &plan.pairs {
            if found.contains_key(&(p, asked)) {
                continue;
            }
            if let Entry::Vacant(entry) = policies.entry(p) {
                let mut alone = |document: &PolicyDocument, on: &[&Statement]| {
                    let statements = on
                        .iter()
                        .filter(|st| candidates.can_apply(p, st))
                        .map(|st| (*st).clone())
                        .collect();
                    key_policy_alone(document, statements, &assumed)
                };
                entry.insert((alone(before, &plan.before), alone(after, &plan.after)));
            }
            let (before_policies, after_policies) = &policies[&p];
            let (label, context) = &plan.contexts.list[c];
            let req = request(&candidates.list[p].1, &actions[asked], key, context);
            if allowed(after_policies, &req) && !allowed(before_policies, &req) {
                for &a in group {
                    found.insert((p, a), label.clone());
                }
            }
        }
    }
    found
        .into_iter()
        .map(|((p, a), context)| Gain {
            principal: candidates.list[p].0.clone(),
            action: actions[a].clone(),
            context,
            too_large: None,
        })
        .collect()
}

/// What one evaluation of [`EVALUATION_BUDGET`] reads at most, in statements and the values
/// their conditions compare with (the evaluator's work grows with both): one reading more counts
/// as one per this many.
pub const READ_PER_EVALUATION: usize = 32;

/// The questions asked about one action (for its group): (principal, context) pairs, each once,
/// in order.
struct Plan<'d> {
    /// The statements of each document that name the action (the others never apply to it).
    before: Vec<&'d Statement>,
    after: Vec<&'d Statement>,
    contexts: Interned,
    pairs: Vec<(usize, usize)>,
}

impl<'d> Plan<'d> {
    fn new(
        action: &str,
        before: &'d PolicyDocument,
        after: &'d PolicyDocument,
        changed: &Changed<'_>,
        candidates: &mut Candidates,
        left: &mut usize,
    ) -> Option<Self> {
        let on = |document: &'d PolicyDocument| -> Vec<&'d Statement> {
            document
                .statements
                .iter()
                .filter(|st| (st.is_allow() || st.is_deny()) && names(st, action))
                .collect()
        };
        let (before, after) = (on(before), on(after));
        let relevant: Vec<&Statement> = before.iter().chain(&after).copied().collect();
        let values = Values::of(&relevant);
        // Only keys with values to ask (not the caller's).
        let asked_keys = |statements: Vec<&Statement>, absent_only: bool| -> BTreeSet<String> {
            let mut keys = keys_in(statements, absent_only);
            keys.retain(|k| values.by_key.contains_key(k));
            keys
        };
        let (allows, denies): (Vec<&Statement>, Vec<&Statement>) =
            relevant.iter().partition(|st| st.is_allow());
        // A removed Deny: the keys of the Denies tell the requests it denied from those the
        // Denies of `after` do.
        let deny_keys = asked_keys(denies, false);
        // An added Allow: its own keys too, and those of Allows that a request lacking the key
        // meets (a negated operator, `IfExists`), which might let it through before.
        let mut allow_keys = deny_keys.clone();
        allow_keys.extend(asked_keys(allows, true));
        let deny_removed = changed.removed_denies().any(|st| names(st, action));
        let mut contexts = Interned::default();
        let mut asked = HashSet::new();
        let mut pairs = Vec::new();
        // What asking a candidate costs: an evaluation of each document, reading the statements
        // that can apply to it.
        let mut costs: HashMap<usize, usize> = HashMap::new();
        for anchor in after
            .iter()
            .filter(|st| st.is_allow() && (deny_removed || changed.added(st)))
        {
            let admitted = candidates.admitted_by(anchor);
            if admitted.is_empty() {
                continue;
            }
            let keys = if changed.added(anchor) {
                let mut keys = allow_keys.clone();
                keys.extend(asked_keys(vec![*anchor], false));
                keys
            } else {
                deny_keys.clone()
            };
            let around: Vec<usize> = around(anchor, &keys, &values)
                .into_iter()
                .map(|context| contexts.intern(context))
                .collect();
            for p in admitted {
                let cost = match costs.get(&p) {
                    Some(&cost) => cost,
                    None => {
                        let cost = candidates.cost(p, &before) + candidates.cost(p, &after);
                        costs.insert(p, cost);
                        cost
                    }
                };
                for &c in &around {
                    if asked.insert((p, c)) {
                        *left = left.checked_sub(cost)?;
                        pairs.push((p, c));
                    }
                }
            }
        }
        Some(Self {
            before,
            after,
            contexts,
            pairs,
        })
    }
}

/// The condition keys of the statements, lowercased; `absent_only`: only under conditions a
/// request without the key meets.
fn keys_in<'s>(
    statements: impl IntoIterator<Item = &'s Statement>,
    absent_only: bool,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for st in statements {
        for (operator, keys) in &st.condition {
            let asked = !absent_only
                || Operator::parse(operator).is_some_and(|op| holds_when_absent(&op, keys));
            if asked {
                out.extend(keys.keys().map(|k| k.to_lowercase()));
            }
        }
    }
    out
}

/// Whether a condition holds for a request without the key (the evaluator's rule): a negated
/// operator, `IfExists`, `ForAllValues:`, `Null: true`.
fn holds_when_absent(op: &Operator<'_>, keys: &BTreeMap<String, BTreeSet<String>>) -> bool {
    op.if_exists
        || op.set == Some("ForAllValues")
        || (op.set.is_none() && op.negated())
        || (op.base == "Null"
            && keys
                .values()
                .flatten()
                .any(|v| v.eq_ignore_ascii_case("true")))
}

/// The statements that differ by meaning: in one document and not the other, Sids aside.
struct Changed<'a> {
    removed: Vec<&'a Statement>,
    added: Vec<&'a Statement>,
    /// Where `added` are (in `after`).
    added_at: HashSet<*const Statement>,
}

impl<'a> Changed<'a> {
    fn between(before: &'a PolicyDocument, after: &'a PolicyDocument) -> Self {
        let meanings =
            |d: &PolicyDocument| -> HashSet<String> { d.statements.iter().map(meaning).collect() };
        let (in_before, in_after) = (meanings(before), meanings(after));
        let only = |d: &'a PolicyDocument, other: &HashSet<String>| -> Vec<&'a Statement> {
            d.statements
                .iter()
                .filter(|st| !other.contains(&meaning(st)))
                .collect()
        };
        let added = only(after, &in_before);
        Self {
            removed: only(before, &in_after),
            added_at: added.iter().map(|st| std::ptr::from_ref(*st)).collect(),
            added,
        }
    }

    fn added_allows(&self) -> impl Iterator<Item = &'a Statement> + '_ {
        self.added.iter().copied().filter(|st| st.is_allow())
    }

    fn removed_denies(&self) -> impl Iterator<Item = &'a Statement> + '_ {
        self.removed.iter().copied().filter(|st| st.is_deny())
    }

    /// Whether this statement of `after` means what no statement of `before` does.
    fn added(&self, st: &Statement) -> bool {
        self.added_at.contains(&std::ptr::from_ref(st))
    }
}

/// A statement's canonical form without its Sid, which decides nothing.
fn meaning(st: &Statement) -> String {
    let mut canonical = st.canonical();
    if let Some(object) = canonical.as_object_mut() {
        object.remove("Sid");
    }
    canonical.to_string()
}

fn names(st: &Statement, action: &str) -> bool {
    match (&st.action, &st.not_action) {
        (Some(a), _) => a.iter().any(|p| action_matches(p, action)),
        (None, Some(n)) => !n.iter().any(|p| action_matches(p, action)),
        (None, None) => false,
    }
}

/// The document with only `statements`, as the key policy, and identity policies that allow.
fn key_policy_alone(
    document: &PolicyDocument,
    statements: Vec<Statement>,
    assumed: &PolicyDocument,
) -> Policies {
    Policies {
        key_policy: Some(NamedPolicy {
            name: "key policy".to_owned(),
            document: PolicyDocument {
                version: document.version.clone(),
                id: document.id.clone(),
                statements,
                unknown_fields: Vec::new(),
                field_lines: BTreeMap::new(),
            },
        }),
        identity: vec![NamedPolicy {
            name: "(assumed identity policy)".to_owned(),
            document: assumed.clone(),
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
struct Candidates {
    /// In the order gains are reported.
    list: Vec<(String, Principal)>,
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
    fn new(before: &PolicyDocument, after: &PolicyDocument, key: &KeyUnderTest) -> Self {
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
    fn admitted_by(&mut self, anchor: &Statement) -> Vec<usize> {
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
    fn can_apply(&mut self, p: usize, st: &Statement) -> bool {
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
    /// of [`EVALUATION_BUDGET`]: it reads the statements that can apply to it.
    fn cost(&mut self, p: usize, on: &[&Statement]) -> usize {
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

/// The values worth asking per condition key (not the identity keys, which come with the
/// principal): every value any statement compares the key with, wildcards made literals,
/// numbers also one either side; both booleans; and one value no statement names for keys under
/// a negated or `IfExists` operator.
#[derive(Default)]
struct Values {
    /// Lowercased key → (key as first written, values in order of appearance).
    by_key: BTreeMap<String, (String, Vec<String>)>,
}

impl Values {
    fn of(statements: &[&Statement]) -> Self {
        let mut out = Self::default();
        for st in statements {
            for (operator, keys) in &st.condition {
                let Some(op) = Operator::parse(operator) else {
                    continue;
                };
                for (key, written) in keys {
                    let lowered = key.to_lowercase();
                    if IDENTITY_KEYS.contains(&lowered.as_str()) {
                        continue;
                    }
                    let (_, values) = out
                        .by_key
                        .entry(lowered)
                        .or_insert_with(|| (key.clone(), Vec::new()));
                    let mut add = |value: String| {
                        if !values.contains(&value) {
                            values.push(value);
                        }
                    };
                    for value in written {
                        for candidate in asked(&op, key, value) {
                            add(candidate);
                        }
                    }
                    if op.negated() || op.if_exists {
                        match op.family() {
                            Some(KeyType::IpAddress) => add(OUTSIDE_IP.to_owned()),
                            Some(KeyType::String | KeyType::Arn) => add(OUTSIDE.to_owned()),
                            _ => {}
                        }
                    }
                }
            }
        }
        for (key, (_, values)) in &mut out.by_key {
            distinct(key, values, statements);
        }
        out
    }

    fn of_key(&self, key: &str) -> Option<&(String, Vec<String>)> {
        self.by_key.get(key)
    }
}

/// Keeps the first of the values every statement's conditions on the key take alike (all hold,
/// or not, for both): changing the key to one or the other decides every request alike. Forty
/// endpoints both documents let through are one value to ask, the one only `after` lets through
/// another. Not for keys compared with policy variables (`${aws:username}`), which the caller
/// decides.
fn distinct(key: &str, values: &mut Vec<String>, statements: &[&Statement]) {
    let on_key: Vec<&Statement> = statements
        .iter()
        .filter(|st| {
            st.condition
                .values()
                .any(|keys| keys.keys().any(|k| k.eq_ignore_ascii_case(key)))
        })
        .copied()
        .collect();
    let variable = on_key.iter().any(|st| {
        st.condition.values().flatten().any(|(k, written)| {
            k.eq_ignore_ascii_case(key) && written.iter().any(|v| v.contains("${"))
        })
    });
    if variable {
        return;
    }
    let mut seen = HashSet::new();
    values.retain(|value| {
        let req = Request {
            context: BTreeMap::from([(key.to_owned(), vec![value.clone()])]),
            ..Request::default()
        };
        let taken: Vec<bool> = on_key
            .iter()
            .map(|st| key_conditions_hold(st, key, &req))
            .collect();
        seen.insert(taken)
    });
}

/// The values asked for one value a condition compares a key with.
fn asked(op: &Operator<'_>, key: &str, value: &str) -> Vec<String> {
    let base = op.base;
    if base == "Null" {
        return if value.eq_ignore_ascii_case("false") {
            vec![plausible(key)]
        } else {
            Vec::new()
        };
    }
    match op.family() {
        Some(KeyType::Bool) => vec!["true".to_owned(), "false".to_owned()],
        Some(KeyType::IpAddress) => vec![network(value)],
        Some(KeyType::Numeric) => match value.parse::<i64>() {
            Ok(n) => vec![
                value.to_owned(),
                (n.saturating_sub(1)).to_string(),
                (n.saturating_add(1)).to_string(),
            ],
            Err(_) => vec![value.to_owned()],
        },
        _ if base.ends_with("Like") || base.starts_with("Arn") => vec![literal(value)],
        _ => vec![value.to_owned()],
    }
}

fn network(cidr: &str) -> String {
    cidr.split('/').next().unwrap_or(cidr).to_owned()
}

/// A request context: its label for the message (`None` for the empty one) and its values by
/// lowercased key.
type Context = (Option<String>, BTreeMap<String, Vec<String>>);

/// Contexts numbered once per action, so each (principal, context) is asked once.
#[derive(Default)]
struct Interned {
    list: Vec<Context>,
    index: HashMap<BTreeMap<String, Vec<String>>, usize>,
}

impl Interned {
    fn intern(&mut self, context: Context) -> usize {
        if let Some(&i) = self.index.get(&context.1) {
            return i;
        }
        self.index.insert(context.1.clone(), self.list.len());
        self.list.push(context);
        self.list.len() - 1
    }
}

/// The contexts asked around an anchor: the one meeting its conditions, then that one with one
/// of `keys` changed to each of its values, then without it.
fn around(anchor: &Statement, keys: &BTreeSet<String>, values: &Values) -> Vec<Context> {
    let base = meeting(anchor);
    let context = |entries: &[(String, String, String)]| -> Context {
        let labels: Vec<String> = entries
            .iter()
            .map(|(written, _, value)| format!("{written}={value}"))
            .collect();
        let map = entries
            .iter()
            .map(|(_, lowered, value)| (lowered.clone(), vec![value.clone()]))
            .collect();
        ((!labels.is_empty()).then(|| labels.join(", ")), map)
    };
    let mut out = vec![context(&base)];
    for key in keys {
        let Some((written, asked)) = values.of_key(key) else {
            continue;
        };
        for value in asked {
            let mut entries = base.clone();
            match entries.iter_mut().find(|(_, lowered, _)| lowered == key) {
                Some(entry) if entry.2 == *value => continue,
                Some(entry) => entry.2 = value.clone(),
                None => entries.push((written.clone(), key.clone(), value.clone())),
            }
            out.push(context(&entries));
        }
        if base.iter().any(|(_, lowered, _)| lowered == key) {
            let entries: Vec<_> = base
                .iter()
                .filter(|(_, lowered, _)| lowered != key)
                .cloned()
                .collect();
            out.push(context(&entries));
        }
    }
    out
}

/// A context meeting a statement's conditions where a value is easily had (the first value,
/// wildcards made literal), as (key as written, lowercased key, value); a negated operator is
/// met by the key's absence, or by a value no policy names where absence would not do
/// (`ForAnyValue:`).
fn meeting(st: &Statement) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for (operator, keys) in &st.condition {
        let Some(op) = Operator::parse(operator) else {
            continue;
        };
        for (key, wanted) in keys {
            let lowered = key.to_lowercase();
            let Some(first) = wanted.iter().next() else {
                continue;
            };
            if IDENTITY_KEYS.contains(&lowered.as_str()) || out.iter().any(|e| e.1 == lowered) {
                continue;
            }
            let value = if op.negated() {
                if op.set != Some("ForAnyValue") || op.if_exists {
                    continue;
                }
                match op.family() {
                    Some(KeyType::IpAddress) => OUTSIDE_IP.to_owned(),
                    Some(KeyType::String | KeyType::Arn) => OUTSIDE.to_owned(),
                    _ => continue,
                }
            } else {
                match op.base {
                    "Null" if first.eq_ignore_ascii_case("true") => continue,
                    "Null" => plausible(key),
                    "IpAddress" => network(first),
                    "NumericLessThan" => match first.parse::<i64>() {
                        Ok(n) => n.saturating_sub(1).to_string(),
                        Err(_) => continue,
                    },
                    "NumericGreaterThan" => match first.parse::<i64>() {
                        Ok(n) => n.saturating_add(1).to_string(),
                        Err(_) => continue,
                    },
                    "DateLessThan" => "1970-01-01T00:00:00Z".to_owned(),
                    "DateGreaterThan" => "9999-12-31T23:59:59Z".to_owned(),
                    "Bool"
                    | "NumericEquals"
                    | "NumericLessThanEquals"
                    | "NumericGreaterThanEquals"
                    | "DateEquals"
                    | "DateLessThanEquals"
                    | "DateGreaterThanEquals"
                    | "BinaryEquals" => first.clone(),
                    base if base.ends_with("Like") || base.starts_with("Arn") => literal(first),
                    base if base.starts_with("String") => first.clone(),
                    _ => continue,
                }
            };
            out.push((key.clone(), lowered, value));
        }
    }
    out
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
