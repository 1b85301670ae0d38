//! The live key a finding is about, as operators know it: its aliases and ARN beside its id
//! (findings name resources by plan address, which no one outside kmsctl knows).

use std::collections::BTreeMap;

use kmsctl_core::{Address, KeyRef};
use serde_json::Value;

use crate::DesiredKeys;
use crate::desired::DesiredKey;
use crate::matching::{Found, find_declared};
use crate::observe::{Observation, ObservedKey};

/// A key AWS described (its aliases sorted: reports do not change with ListAliases' order).
pub fn of(live: &ObservedKey) -> KeyRef {
    let mut aliases = live.aliases.clone();
    aliases.sort();
    KeyRef {
        key_id: live.key_id.clone(),
        arn: (!live.arn.is_empty()).then(|| live.arn.clone()),
        aliases,
    }
}

/// A key kmsctl may not read: its id, and the aliases ListAliases shows pointing to it.
pub fn unreadable(observation: &Observation, key_id: &str) -> KeyRef {
    KeyRef {
        key_id: key_id.to_owned(),
        arn: None,
        aliases: observation
            .aliases
            .iter()
            .filter(|(_, target)| target.as_deref() == Some(key_id))
            .map(|(alias, _)| alias.clone())
            .collect(),
    }
}

/// What a declared key's live key is found to be, when it is one key.
pub fn of_found(found: &Found<'_>, observation: &Observation) -> Option<KeyRef> {
    match found {
        Found::Managed(live) | Found::Unmanaged(live) | Found::Conflict(live, _) => Some(of(live)),
        Found::Unreadable(key_id, _) => Some(unreadable(observation, key_id)),
        Found::Absent | Found::Duplicate(_) => None,
    }
}

fn declared(observation: &Observation, key: &DesiredKey) -> Option<KeyRef> {
    of_found(&find_declared(observation, key), observation)
}

/// A live key by id or ARN, when the observation holds it.
fn live(observation: &Observation, id_or_arn: &str) -> Option<KeyRef> {
    if let Some(live) = observation.keys.get(id_or_arn) {
        return Some(of(live));
    }
    if let Some(live) = observation.keys.values().find(|k| k.arn == id_or_arn) {
        return Some(of(live));
    }
    observation
        .unreadable
        .contains_key(id_or_arn)
        .then(|| unreadable(observation, id_or_arn))
}

/// The key a drift finding's resource is or belongs to: a plan address of this domain (of a
/// declared key, or of a key no file declares, named by its id), or a live key's id or ARN. A key
/// outside the observation (an unmanaged one) is what its finding's evidence says.
pub fn key_of(
    desired: &DesiredKeys<'_>,
    observation: &Observation,
    resource: &str,
    evidence: &BTreeMap<String, Value>,
) -> Option<KeyRef> {
    let address = resource
        .parse::<Address>()
        .ok()
        .filter(|a| crate::kinds::KINDS.iter().any(|k| k.name == a.kind));
    if let Some(address) = address {
        if address.kind == crate::kinds::ALIAS {
            if let Some(key) = desired
                .keys
                .iter()
                .find(|k| k.all_aliases().any(|a| *a == address.name))
                && let Some(found) = declared(observation, key)
            {
                return Some(found);
            }
            return observation
                .key_of_alias(&address.name)
                .and_then(|id| live(observation, id));
        }
        return match desired.keys.iter().find(|k| k.name == address.name) {
            Some(key) => declared(observation, key),
            None => live(observation, &address.name),
        };
    }
    if let Some(found) = live(observation, resource) {
        return Some(found);
    }
    let key_id = evidence.get("key_id").and_then(Value::as_str)?;
    Some(KeyRef {
        key_id: key_id.to_owned(),
        arn: resource.starts_with("arn:").then(|| resource.to_owned()),
        aliases: evidence
            .get("aliases")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}
