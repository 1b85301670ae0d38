//! `kms_alias`: each declared alias points to its key.

use kmsctl_core::{Action, Address, AttributeChange, Finding, Operation, ResourceChange, Rule};
use serde_json::Value;

use crate::desired::DesiredKey;
use crate::handle::KeyHandle;
use crate::observe::Observation;
use crate::ops::KeyOp;

pub const KIND: &str = crate::kinds::ALIAS;

pub const ALIAS_TAKEN: Rule = Rule::error(
    "alias-taken",
    None,
    "a declared alias points to a key this environment does not manage, and is not moved",
);

pub fn address(alias: &str) -> Address {
    Address::new(KIND, alias)
}

/// Creates the alias, or moves it from a key this environment manages (or a deleted key).
/// Moving it away from a key kmsctl does not manage is refused: that key's users depend on it.
pub fn diff(
    key: &DesiredKey,
    alias: &str,
    handle: &KeyHandle,
    observation: &Observation,
    depends_on: Option<&Address>,
    environment: &str,
) -> Result<Option<ResourceChange>, Box<Finding>> {
    let target = match handle {
        KeyHandle::Existing(id) => Some(id.as_str()),
        KeyHandle::New(_) => None,
    };
    let current = observation.key_of_alias(alias);
    let alias_name = alias.to_owned();
    let target_key_id = handle.key_id();
    let (action, op, before) = match current {
        None => (
            Action::Create,
            KeyOp::CreateAlias {
                alias_name,
                target_key_id,
            },
            None,
        ),
        Some(current) if Some(current) == target => return Ok(None),
        Some(current) => {
            let owner = observation.keys.get(current);
            let movable = match owner {
                None => !observation.unreadable.contains_key(current),
                Some(owner) => owner.managed_environment() == Some(environment),
            };
            if !movable {
                let location = key
                    .locations
                    .aliases
                    .get(alias)
                    .cloned()
                    .unwrap_or_else(|| key.locations.key.clone());
                return Err(Box::new(Finding::of(
                    &ALIAS_TAKEN,
                    location,
                    format!(
                        "alias {alias} points to key {current}, which this environment does not manage"
                    ),
                    "choose another alias, or move the alias in AWS yourself once nothing uses it through that key",
                )));
            }
            (
                Action::Update,
                KeyOp::UpdateAlias {
                    alias_name,
                    target_key_id,
                },
                Some(Value::from(current)),
            )
        }
    };
    let after = match handle {
        KeyHandle::Existing(id) => {
            AttributeChange::new("target_key_id", before, Some(id.clone().into()))
        }
        KeyHandle::New(_) => AttributeChange {
            known_after_apply: true,
            ..AttributeChange::new("target_key_id", before, None)
        },
    };
    Ok(Some(ResourceChange {
        address: address(alias),
        action,
        attributes: vec![after],
        depends_on: depends_on.into_iter().cloned().collect(),
        operations: vec![Operation::encode(&op)],
        source: Some(
            key.locations
                .aliases
                .get(alias)
                .cloned()
                .unwrap_or_else(|| key.locations.key.clone()),
        ),
    }))
}
