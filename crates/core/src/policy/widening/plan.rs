//! The questions asked about one action, planned and counted against the budget before any
//! is asked.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::candidates::Candidates;
use super::changed::{Changed, names};
use super::contexts::{Interned, Values, around};
use crate::policy::lint::Operator;
use crate::policy::model::{PolicyDocument, Statement};

/// The questions asked about one action (for its group): (principal, context) pairs, each once,
/// in order.
pub(super) struct Plan<'d> {
    /// The statements of each document that name the action (the others never apply to it).
    pub(super) before: Vec<&'d Statement>,
    pub(super) after: Vec<&'d Statement>,
    pub(super) contexts: Interned,
    pub(super) pairs: Vec<(usize, usize)>,
}

impl<'d> Plan<'d> {
    pub(super) fn new(
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
