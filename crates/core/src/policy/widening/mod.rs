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

mod candidates;
mod changed;
mod contexts;
mod plan;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use super::catalog::Catalog;
use super::eval::{NamedPolicy, Outcome, Policies, Principal, Request, evaluate};
use super::model::{PolicyDocument, Statement};
use candidates::Candidates;
use changed::{Changed, names};
use plan::Plan;

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

#[cfg(test)]
mod tests;
