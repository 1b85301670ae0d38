//! `kms_key`: creation, description, tags, enabled state and scheduled deletion of a key.

use std::collections::BTreeMap;

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};
use kmsctl_core::{
    Action, Address, AttributeChange, Finding, Operation, Ref, ResourceChange, Rule,
};
use serde_json::Value;

use crate::config::DeclaredState;
use crate::desired::DesiredKey;
use crate::handle::KeyHandle;
use crate::observe::ObservedKey;
use crate::ops::KeyOp;

pub const KIND: &str = crate::kinds::KEY;

pub const IMMUTABLE_ATTRIBUTE: Rule = Rule::error(
    "immutable-attribute",
    None,
    "spec, usage, origin and multi-Region are as declared: AWS fixes them at creation",
);

pub fn address(key: &DesiredKey) -> Address {
    Address::new(KIND, key.name.clone())
}

fn change(
    key: &DesiredKey,
    action: Action,
    attributes: Vec<AttributeChange>,
    operations: Vec<KeyOp>,
) -> ResourceChange {
    ResourceChange {
        address: address(key),
        action,
        attributes,
        depends_on: vec![],
        operations: operations.iter().map(Operation::encode).collect(),
        source: Some(key.locations.key.clone()),
    }
}

fn policy_label(key: &DesiredKey) -> String {
    let statements = key.policy.statements;
    match &key.policy.file {
        Some(file) => format!("{} ({statements} statements)", file.display()),
        None => "AWS default key policy (account root)".to_owned(),
    }
}

/// A new key: CreateKey with its policy and tags, then DisableKey when declared disabled.
pub fn create(key: &DesiredKey) -> ResourceChange {
    let mut attributes = vec![
        AttributeChange::after_apply("arn"),
        AttributeChange::after_apply("key_id"),
        AttributeChange::added("alias", key.alias.clone()),
        AttributeChange::added("description", key.description.clone()),
        AttributeChange::added("key_spec", key.spec.clone()),
        AttributeChange::added("key_usage", key.usage.clone()),
        AttributeChange::added("multi_region", key.multi_region),
        AttributeChange::added("policy", policy_label(key)),
    ];
    if let Some(store) = &key.custom_key_store {
        attributes.push(AttributeChange::added("custom_key_store", store.clone()));
        attributes.push(AttributeChange::added("origin", key.origin.as_str()));
    }
    attributes.extend([AttributeChange::added(
        "state",
        key_state(key.state).as_str(),
    )]);
    attributes.extend(
        key.tags
            .iter()
            .map(|(k, v)| AttributeChange::added(format!("tags.{k}"), v.clone())),
    );
    let mut operations = vec![KeyOp::CreateKey {
        id: key.id.clone(),
        description: key.description.clone(),
        key_spec: KeySpec::from(key.spec.as_str()),
        key_usage: KeyUsageType::from(key.usage.as_str()),
        multi_region: key.multi_region,
        policy: key.policy.text.clone(),
        tags: key.tags.clone(),
        custom_key_store_id: key.custom_key_store_id.clone(),
    }];
    if key.state == DeclaredState::Disabled {
        operations.push(KeyOp::DisableKey {
            key_id: KeyHandle::New(address(key)).key_id(),
        });
    }
    change(key, Action::Create, attributes, operations)
}

/// The key state AWS reports for a key in the declared state.
fn key_state(state: DeclaredState) -> KeyState {
    match state {
        DeclaredState::Enabled => KeyState::Enabled,
        DeclaredState::Disabled => KeyState::Disabled,
        DeclaredState::PendingDeletion => KeyState::PendingDeletion,
    }
}

/// Spec, usage, origin and multi-Region are fixed at creation: kmsctl never replaces a key.
pub fn immutable_findings(key: &DesiredKey, observed: &ObservedKey) -> Vec<Finding> {
    // An attribute AWS did not report is unknown, not different.
    let fields = [
        (
            "spec",
            observed
                .spec
                .get()
                .is_some_and(|have| *have != KeySpec::from(key.spec.as_str())),
            key.spec.as_str(),
            observed.spec.as_str(),
            key.locations.spec.as_ref(),
        ),
        (
            "usage",
            observed
                .usage
                .get()
                .is_some_and(|have| *have != KeyUsageType::from(key.usage.as_str())),
            key.usage.as_str(),
            observed.usage.as_str(),
            key.locations.usage.as_ref(),
        ),
        (
            "origin",
            observed
                .origin
                .get()
                .is_some_and(|have| *have != key.origin),
            key.origin.as_str(),
            observed.origin.as_str(),
            None,
        ),
    ];
    let mut findings: Vec<Finding> = fields
        .into_iter()
        .filter(|(_, differs, ..)| *differs)
        .map(|(field, _, want, have, location)| {
            immutable(key, observed, field, have, want, location)
        })
        .collect();
    if key.multi_region != observed.multi_region {
        findings.push(immutable(
            key,
            observed,
            "multi_region",
            &observed.multi_region.to_string(),
            &key.multi_region.to_string(),
            None,
        ));
    }
    findings
}

fn immutable(
    key: &DesiredKey,
    observed: &ObservedKey,
    field: &str,
    have: &str,
    want: &str,
    location: Option<&kmsctl_core::Location>,
) -> Finding {
    Finding::of(
        &IMMUTABLE_ATTRIBUTE,
        location
            .cloned()
            .unwrap_or_else(|| key.locations.key.clone()),
        format!(
            "key {} ({}): {field} is {have} and cannot change to {want}: AWS fixes it at creation",
            key.id, observed.key_id
        ),
        format!(
            "set {field} back to {have}; to move to {want}, declare a new key (another purpose), migrate, then schedule the old one for deletion"
        ),
    )
}

/// Changes to an existing key's description, tags and state. `adopt` marks a key taken over.
pub fn update(key: &DesiredKey, observed: &ObservedKey, adopt: bool) -> Option<ResourceChange> {
    let key_id = || Ref::Known(observed.key_id.clone());
    if key.state == DeclaredState::PendingDeletion {
        if observed.pending_deletion() {
            return None;
        }
        let attributes = vec![
            AttributeChange::new(
                "state",
                Some(observed.state.as_str().into()),
                Some("PendingDeletion".into()),
            ),
            AttributeChange::added("deletion_window_in_days", key.deletion_window_days),
        ];
        let days = i32::try_from(key.deletion_window_days).unwrap_or(30);
        let ops = vec![KeyOp::ScheduleKeyDeletion {
            key_id: key_id(),
            pending_window_in_days: days,
        }];
        return Some(change(key, Action::ScheduleDeletion, attributes, ops));
    }

    let mut attributes = Vec::new();
    let mut operations = Vec::new();
    let cancelling = observed.pending_deletion();
    if cancelling {
        operations.push(KeyOp::CancelKeyDeletion { key_id: key_id() });
    }
    if key.description != observed.description {
        attributes.push(AttributeChange::new(
            "description",
            Some(observed.description.clone().into()),
            Some(key.description.clone().into()),
        ));
        operations.push(KeyOp::UpdateKeyDescription {
            key_id: key_id(),
            description: key.description.clone(),
        });
    }
    let (to_set, to_remove) = tag_changes(&key.tags, &observed.tags);
    for name in to_set.keys().chain(&to_remove) {
        attributes.push(AttributeChange::new(
            format!("tags.{name}"),
            observed.tags.get(name).cloned().map(Value::from),
            key.tags.get(name).cloned().map(Value::from),
        ));
    }
    if !to_set.is_empty() {
        operations.push(KeyOp::TagResource {
            key_id: key_id(),
            tags: to_set
                .into_iter()
                .map(|(k, v)| (k, Ref::Known(v)))
                .collect(),
        });
    }
    if !to_remove.is_empty() {
        operations.push(KeyOp::UntagResource {
            key_id: key_id(),
            tag_keys: to_remove,
        });
    }
    // CancelKeyDeletion leaves the key Disabled.
    let current = if cancelling {
        Some(&KeyState::Disabled)
    } else {
        observed.state.get()
    };
    let wanted = key_state(key.state);
    if current != Some(&wanted) || cancelling {
        attributes.push(AttributeChange::new(
            "state",
            Some(observed.state.as_str().into()),
            Some(wanted.as_str().into()),
        ));
    }
    match (current, key.state) {
        (Some(KeyState::Disabled), DeclaredState::Enabled) => {
            operations.push(KeyOp::EnableKey { key_id: key_id() })
        }
        (Some(KeyState::Enabled), DeclaredState::Disabled) => {
            operations.push(KeyOp::DisableKey { key_id: key_id() })
        }
        _ => {}
    }
    if operations.is_empty() {
        return None;
    }
    let action = if adopt {
        Action::Adopt
    } else if cancelling {
        Action::CancelDeletion
    } else {
        Action::Update
    };
    Some(change(key, action, attributes, operations))
}

/// Tags to set (new or changed values) and tag keys to remove: the declared set is the whole set.
pub fn tag_changes(
    desired: &BTreeMap<String, String>,
    observed: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let to_set = desired
        .iter()
        .filter(|(k, v)| observed.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let to_remove = observed
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .cloned()
        .collect();
    (to_set, to_remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_changes_set_changed_and_remove_undeclared() {
        let desired = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]);
        let observed = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "x".to_owned()),
            ("c".to_owned(), "3".to_owned()),
        ]);
        let (set, remove) = tag_changes(&desired, &observed);
        assert_eq!(set, BTreeMap::from([("b".to_owned(), "2".to_owned())]));
        assert_eq!(remove, vec!["c".to_owned()]);
    }
}
