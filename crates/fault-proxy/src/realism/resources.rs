//! Resources the proxy keeps in mind: those hidden by `Unseen` (until an instant) and names known to exist
//! (to tell a create from an update of a put-style operation), per scope (account and region).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde_json::Value;

use super::Scope;

/// What kind of resource an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Res {
    /// A KMS key, by id.
    Key,
    /// A KMS alias, by name (`alias/x`).
    Alias,
    /// An Organizations policy, by id.
    Policy,
    /// An Organizations attachment: `policy-id|target-id`.
    Attachment,
    /// A Config rule, by name.
    ConfigRule,
    /// An SNS topic, by ARN.
    Topic,
    /// An SNS subscription, by ARN.
    Subscription,
    /// An EventBridge rule: `bus|name`.
    Rule,
    /// An EventBridge target: `bus|rule|id`.
    Target,
}

/// Resources hidden until an instant.
#[derive(Default)]
pub(crate) struct Hidden(HashMap<Scope, HashMap<Res, HashMap<String, Instant>>>);

impl Hidden {
    pub fn hide(&mut self, scope: &Scope, res: Res, id: &str, until: Instant) {
        let ids = self
            .0
            .entry(scope.clone())
            .or_default()
            .entry(res)
            .or_default();
        let entry = ids.entry(id.to_string()).or_insert(until);
        *entry = (*entry).max(until);
    }

    pub fn is_hidden(&self, scope: &Scope, res: Res, id: &str, now: Instant) -> bool {
        self.0
            .get(scope)
            .and_then(|kinds| kinds.get(&res))
            .and_then(|ids| ids.get(id))
            .is_some_and(|until| now < *until)
    }

    /// Whether anything is hidden in `scope` at `now` (and forgets what no longer is).
    pub fn any(&mut self, scope: &Scope, now: Instant) -> bool {
        let Some(kinds) = self.0.get_mut(scope) else {
            return false;
        };
        for ids in kinds.values_mut() {
            ids.retain(|_, until| now < *until);
        }
        kinds.retain(|_, ids| !ids.is_empty());
        if kinds.is_empty() {
            self.0.remove(scope);
            return false;
        }
        true
    }
}

/// Names known to exist.
#[derive(Default)]
pub(crate) struct Known(HashMap<Scope, HashMap<Res, HashSet<String>>>);

impl Known {
    /// Records `id`; true if it was not known.
    pub fn add(&mut self, scope: &Scope, res: Res, id: &str) -> bool {
        self.0
            .entry(scope.clone())
            .or_default()
            .entry(res)
            .or_default()
            .insert(id.to_string())
    }

    pub fn remove(&mut self, scope: &Scope, res: Res, id: &str) {
        if let Some(ids) = self.0.get_mut(scope).and_then(|kinds| kinds.get_mut(&res)) {
            ids.remove(id);
        }
    }
}

/// Keeps the items of the array at `path` in `value` that `keep` accepts; how many went.
pub(crate) fn retain_items(
    value: &mut Value,
    path: &[&str],
    mut keep: impl FnMut(&Value) -> bool,
) -> usize {
    let mut slot = Some(value);
    for key in path {
        slot = slot.and_then(|v| v.get_mut(*key));
    }
    let Some(Value::Array(items)) = slot else {
        return 0;
    };
    let before = items.len();
    items.retain(|item| keep(item));
    before - items.len()
}

/// The string at `path` in `value`.
pub(crate) fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut slot = value;
    for key in path {
        slot = slot.get(*key)?;
    }
    slot.as_str()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hidden_until_the_instant() {
        let scope = Scope::new("1", "r");
        let other = Scope::new("2", "r");
        let t0 = Instant::now();
        let mut hidden = Hidden::default();
        assert!(!hidden.any(&scope, t0));
        hidden.hide(&scope, Res::Key, "k", t0 + Duration::from_millis(100));
        assert!(hidden.is_hidden(&scope, Res::Key, "k", t0));
        assert!(!hidden.is_hidden(&scope, Res::Alias, "k", t0));
        assert!(!hidden.is_hidden(&other, Res::Key, "k", t0));
        assert!(hidden.any(&scope, t0 + Duration::from_millis(99)));
        assert!(!hidden.is_hidden(&scope, Res::Key, "k", t0 + Duration::from_millis(100)));
        assert!(!hidden.any(&scope, t0 + Duration::from_millis(100)));
    }

    #[test]
    fn known_names() {
        let scope = Scope::new("1", "r");
        let mut known = Known::default();
        assert!(known.add(&scope, Res::ConfigRule, "a"));
        assert!(!known.add(&scope, Res::ConfigRule, "a"));
        assert!(known.add(&scope, Res::Rule, "a"), "per kind");
        known.remove(&scope, Res::ConfigRule, "a");
        assert!(known.add(&scope, Res::ConfigRule, "a"));
    }

    #[test]
    fn json_helpers() {
        let mut v = serde_json::json!({"A": {"B": [{"Id": "1"}, {"Id": "2"}, {"Id": "3"}]}});
        assert_eq!(retain_items(&mut v, &["A", "B"], |i| i["Id"] != "2"), 1);
        assert_eq!(v["A"]["B"].as_array().unwrap().len(), 2);
        assert_eq!(retain_items(&mut v, &["A", "C"], |_| false), 0);
        assert_eq!(str_at(&v, &["A", "B"]), None);
        assert_eq!(
            str_at(&serde_json::json!({"X": {"Y": "z"}}), &["X", "Y"]),
            Some("z")
        );
    }
}
