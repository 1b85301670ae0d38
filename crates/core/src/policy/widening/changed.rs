//! Which statements differ by meaning between the documents, and which name an action.

use std::collections::HashSet;

use crate::policy::model::{PolicyDocument, Statement};
use crate::policy::wildcard::action_matches;

/// The statements that differ by meaning: in one document and not the other, Sids aside.
pub(super) struct Changed<'a> {
    removed: Vec<&'a Statement>,
    added: Vec<&'a Statement>,
    /// Where `added` are (in `after`).
    added_at: HashSet<*const Statement>,
}

impl<'a> Changed<'a> {
    pub(super) fn between(before: &'a PolicyDocument, after: &'a PolicyDocument) -> Self {
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

    pub(super) fn added_allows(&self) -> impl Iterator<Item = &'a Statement> + '_ {
        self.added.iter().copied().filter(|st| st.is_allow())
    }

    pub(super) fn removed_denies(&self) -> impl Iterator<Item = &'a Statement> + '_ {
        self.removed.iter().copied().filter(|st| st.is_deny())
    }

    /// Whether this statement of `after` means what no statement of `before` does.
    pub(super) fn added(&self, st: &Statement) -> bool {
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

pub(super) fn names(st: &Statement, action: &str) -> bool {
    match (&st.action, &st.not_action) {
        (Some(a), _) => a.iter().any(|p| action_matches(p, action)),
        (None, Some(n)) => !n.iter().any(|p| action_matches(p, action)),
        (None, None) => false,
    }
}
