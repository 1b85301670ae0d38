//! Finding the live key of a declared key without a state file: through its alias, or failing
//! that through its `kmsctl:id` tag (a crash between CreateKey and CreateAlias leaves a tagged
//! key without alias; it is found and finished, not duplicated).

use kmsctl_core::{Control, Rule};

use crate::observe::{Observation, ObservedKey};

/// Found::Unmanaged: the key lacks kmsctl's tags, so tag-based access control does not cover it.
pub const ALIAS_UNMANAGED_KEY: Rule = Rule::error(
    "alias-unmanaged-key",
    Some(Control::TagAccess),
    "the alias points to a key kmsctl does not manage (set adopt = true)",
);
pub const ADOPT_KEY_ID: Rule = Rule::error(
    "adopt-key-id",
    None,
    "the key a [[key]] adopts by key_id exists (it is never created anew), is the key its alias names, and no other [[key]] adopts it",
);
pub const ALIAS_CONFLICT: Rule = Rule::error(
    "alias-conflict",
    None,
    "the alias points to a key kmsctl manages under another id",
);
pub const DUPLICATE_KEY: Rule = Rule::error(
    "duplicate-key",
    None,
    "several live keys carry the key's kmsctl:id",
);
pub const KEY_UNREADABLE: Rule = Rule::error(
    "key-unreadable",
    None,
    "the alias points to a key kmsctl may not read",
);

#[derive(Debug, Clone, PartialEq)]
pub enum Found<'a> {
    /// No live key: it will be created.
    Absent,
    /// The key kmsctl manages under this id.
    Managed(&'a ObservedKey),
    /// The alias points to a key without kmsctl's tags (adoptable with `adopt = true`).
    Unmanaged(&'a ObservedKey),
    /// The alias points to a key kmsctl manages under another id.
    Conflict(&'a ObservedKey, String),
    /// Several live keys carry this id.
    Duplicate(Vec<&'a ObservedKey>),
    /// The alias points to a key kmsctl may not read.
    Unreadable(String, String),
}

/// [`find`] for a declared key: also through the key id it adopts (`key_id`), when neither
/// its alias nor its `kmsctl:id` finds a key.
pub fn find_declared<'a>(observation: &'a Observation, key: &crate::DesiredKey) -> Found<'a> {
    find_adopting(
        observation,
        &key.id,
        &key.alias,
        key.adopt_key_id.as_deref(),
    )
}

/// [`find`], then through `adopt_key_id` when neither the alias nor the id tag finds a key.
pub fn find_adopting<'a>(
    observation: &'a Observation,
    id: &str,
    alias: &str,
    adopt_key_id: Option<&str>,
) -> Found<'a> {
    let found = find(observation, id, alias);
    let Some(key_id) = adopt_key_id else {
        return found;
    };
    if !matches!(found, Found::Absent) {
        return found;
    }
    if let Some(reason) = observation.unreadable.get(key_id) {
        return Found::Unreadable(key_id.to_owned(), reason.clone());
    }
    match observation.keys.get(key_id) {
        Some(live) => match live.managed_id() {
            Some(managed) if managed == id => Found::Managed(live),
            Some(other) => Found::Conflict(live, other.to_owned()),
            None => Found::Unmanaged(live),
        },
        None => Found::Absent,
    }
}

pub fn find<'a>(observation: &'a Observation, id: &str, alias: &str) -> Found<'a> {
    if let Some(target) = observation.key_of_alias(alias) {
        if let Some(reason) = observation.unreadable.get(target) {
            return Found::Unreadable(target.to_owned(), reason.clone());
        }
        if let Some(key) = observation.keys.get(target) {
            return match key.managed_id() {
                Some(managed) if managed == id => Found::Managed(key),
                Some(other) => Found::Conflict(key, other.to_owned()),
                None => Found::Unmanaged(key),
            };
        }
    }
    let tagged: Vec<&ObservedKey> = observation
        .keys
        .values()
        .filter(|k| k.managed_id() == Some(id))
        .collect();
    match tagged.as_slice() {
        [] => match observation.unreadable_ids.get(id) {
            Some(key_id) => Found::Unreadable(
                key_id.clone(),
                observation
                    .unreadable
                    .get(key_id)
                    .cloned()
                    .unwrap_or_default(),
            ),
            None => Found::Absent,
        },
        [key] => Found::Managed(key),
        _ => Found::Duplicate(tagged),
    }
}

impl<'a> Found<'a> {
    /// The key a plan would act on, if any.
    pub fn key(&self) -> Option<&'a ObservedKey> {
        match self {
            Found::Managed(key) | Found::Unmanaged(key) | Found::Conflict(key, _) => Some(key),
            Found::Absent | Found::Duplicate(_) | Found::Unreadable(..) => None,
        }
    }
}
