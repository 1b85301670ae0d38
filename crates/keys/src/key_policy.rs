//! `kms_key_policy`: the key policy, compared semantically (key order, whitespace, set order,
//! string vs one-element array never make a diff) and shown statement by statement.

use kmsctl_core::policy::{self, ChangeKind};
use kmsctl_core::{Action, Address, AttributeChange, Operation, ResourceChange};
use serde_json::Value;

use crate::desired::DesiredKey;
use crate::handle::KeyHandle;
use crate::observe::ObservedKey;
use crate::ops::KeyOp;

pub const KIND: &str = crate::kinds::KEY_POLICY;

pub fn address(key: &DesiredKey) -> Address {
    Address::new(KIND, key.name.clone())
}

/// The statement-by-statement difference from the live policy to the declared one.
pub fn attribute_changes(observed: Option<&str>, key: &DesiredKey) -> Option<Vec<AttributeChange>> {
    let live = match observed.map(policy::parse) {
        Some(Ok(live)) => live,
        Some(Err(error)) => {
            return Some(vec![AttributeChange::new(
                "policy",
                Some(format!("(live policy is not valid JSON: {error})").into()),
                Some(key.policy.text.clone().into()),
            )]);
        }
        None => {
            return Some(vec![AttributeChange::new(
                "policy",
                Some("(unreadable)".into()),
                Some(key.policy.text.clone().into()),
            )]);
        }
    };
    // Compared as text: both sides are `canonical()` serialised the same way.
    let live_canonical = live.canonical().to_string();
    if live_canonical == key.policy.canonical {
        return None;
    }
    let mut attributes = Vec::new();
    for statement in policy::diff(&live, &key.policy.document()) {
        let label = match statement.kind {
            ChangeKind::Added => format!("statement {:?} (added)", statement.statement),
            ChangeKind::Removed => format!("statement {:?} (removed)", statement.statement),
            ChangeKind::Modified => format!("statement {:?}", statement.statement),
        };
        for field in statement.fields {
            let list = |values: Vec<String>| (!values.is_empty()).then(|| Value::from(values));
            attributes.push(AttributeChange::new(
                format!("{label}: {}", field.field),
                list(field.removed),
                list(field.added),
            ));
        }
    }
    Some(attributes)
}

/// PutKeyPolicy when the live policy differs in meaning from the declared one.
pub fn diff(
    key: &DesiredKey,
    observed: &ObservedKey,
    depends_on: Option<&Address>,
) -> Option<ResourceChange> {
    let attributes = attribute_changes(observed.policy.as_deref(), key)?;
    let handle = KeyHandle::Existing(observed.key_id.clone());
    Some(ResourceChange {
        address: address(key),
        action: Action::Update,
        attributes,
        depends_on: depends_on.into_iter().cloned().collect(),
        operations: vec![Operation::encode(&KeyOp::PutKeyPolicy {
            key_id: handle.key_id(),
            policy: key.policy.text.clone(),
        })],
        source: Some(kmsctl_core::Location::file(
            key.policy
                .file
                .clone()
                .unwrap_or_else(|| key.locations.key.file.clone()),
        )),
    })
}
