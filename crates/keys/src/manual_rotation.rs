//! Manual rotation of a key AWS cannot rotate (a CloudHSM key store key): a new key with the
//! same policy, tags and description, every alias moved to it, and the old key tagged with the
//! rotation date and its successor, left enabled so what it encrypted can still be decrypted.
//!
//! The new key is made under an identity of its own (`kmsctl:id` = [`successor_id`]) and takes
//! the declared id only once the aliases have moved and the old key has given it up: while both
//! keys exist, no look-up by `kmsctl:id` (after a lost CreateKey answer, or by a plan) can take
//! the old key for its own successor, or find two keys with one id.
//!
//! That identity also tells a later `kmsctl rotate` where an interrupted rotation stopped: a
//! key carrying it exists (CreateKey was done) and the aliases point to it or not (they moved
//! or not). [`finish`] plans only what is left; [`plan`] plans a rotation from its start.

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_core::{Action, Address, AttributeChange, Operation, Ref, ResourceChange};

use crate::desired::{DesiredKey, TAG_ID};
use crate::handle::KeyHandle;
use crate::ops::KeyOp;
use crate::{alias, key};

pub const TAG_ROTATED_AT: &str = "kmsctl:rotated-at";
pub const TAG_SUPERSEDED_BY: &str = "kmsctl:superseded-by";

/// What joins the declared id and the old key's id in [`successor_id`].
pub const SUCCESSOR_OF: &str = "+successor-of-";

/// The identity the successor of `old_key_id` is made with, until it takes the declared one.
pub fn successor_id(id: &str, old_key_id: &str) -> String {
    format!("{id}{SUCCESSOR_OF}{old_key_id}")
}

/// The declared id and the old key's id when `kmsctl_id` is a [`successor_id`]: the key
/// carrying it is the successor of a rotation that did not finish.
pub fn unfinished_rotation(kmsctl_id: &str) -> Option<(&str, &str)> {
    kmsctl_id
        .rsplit_once(SUCCESSOR_OF)
        .filter(|(id, old)| !id.is_empty() && !old.is_empty())
}

/// The changes of one rotation. `store_id` is the key store the old key lives in; `date` is
/// today (RFC 3339 date).
pub fn plan(
    key: &DesiredKey,
    old_key_id: &str,
    store_id: Option<&str>,
    date: &str,
) -> Vec<ResourceChange> {
    let mut new_key = key.clone();
    new_key.custom_key_store_id = store_id.map(|id| Ref::Known(id.to_owned()));
    new_key.id = successor_id(&key.id, old_key_id);
    new_key.tags.insert(TAG_ID.to_owned(), new_key.id.clone());
    let create = key::create(&new_key);
    let successor = KeyHandle::New(create.address.clone());
    let mut changes = vec![create];
    changes.extend(move_aliases(key, key.all_aliases(), old_key_id, &successor));
    let steps = Steps {
        tag_old: true,
        untag_old: true,
        tag_new: true,
    };
    let before = Before {
        successor_id: new_key.id.clone(),
        ..Before::default()
    };
    changes.extend(finish_old_key(
        key, old_key_id, &successor, &before, steps, date, &changes,
    ));
    changes
}

/// A rotation of `old_key_id` that an earlier `kmsctl rotate` started and did not finish, as
/// the key's aliases and the two keys' tags (ListResourceTags) are now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unfinished {
    pub old_key_id: String,
    pub old_tags: BTreeMap<String, String>,
    /// The key that rotation made, found by its [`successor_id`].
    pub successor_key_id: String,
    pub successor_tags: BTreeMap<String, String>,
    /// The key's aliases that already point to the successor.
    pub moved_aliases: BTreeSet<String>,
}

/// The rest of an unfinished rotation: no CreateKey (the successor exists); the aliases not
/// moved yet are moved; the old key gets the rotation tags unless it has them and gives up the
/// declared id if it still carries it; the successor takes the declared id. Empty when
/// nothing is left.
pub fn finish(key: &DesiredKey, found: &Unfinished, date: &str) -> Vec<ResourceChange> {
    let successor = KeyHandle::Existing(found.successor_key_id.clone());
    let mut changes = move_aliases(
        key,
        key.all_aliases()
            .filter(|name| !found.moved_aliases.contains(*name)),
        &found.old_key_id,
        &successor,
    );
    let superseded = found.old_tags.get(TAG_SUPERSEDED_BY) == Some(&found.successor_key_id)
        && found.old_tags.contains_key(TAG_ROTATED_AT);
    let steps = Steps {
        tag_old: !superseded,
        untag_old: found.old_tags.get(TAG_ID) == Some(&key.id),
        tag_new: found.successor_tags.get(TAG_ID) != Some(&key.id),
    };
    let before = Before {
        rotated_at: found.old_tags.get(TAG_ROTATED_AT).cloned(),
        superseded_by: found.old_tags.get(TAG_SUPERSEDED_BY).cloned(),
        successor_id: found
            .successor_tags
            .get(TAG_ID)
            .cloned()
            .unwrap_or_default(),
    };
    changes.extend(finish_old_key(
        key,
        &found.old_key_id,
        &successor,
        &before,
        steps,
        date,
        &changes,
    ));
    changes
}

/// UpdateAlias of each of `names` to the successor.
fn move_aliases<'k>(
    key: &DesiredKey,
    names: impl Iterator<Item = &'k String>,
    old_key_id: &str,
    successor: &KeyHandle,
) -> Vec<ResourceChange> {
    let after = match successor {
        KeyHandle::Existing(id) => Some(id.clone().into()),
        KeyHandle::New(_) => None,
    };
    names
        .map(|name| ResourceChange {
            address: alias::address(name),
            action: Action::Update,
            attributes: vec![AttributeChange {
                name: "target_key_id".into(),
                before: Some(old_key_id.into()),
                after: after.clone(),
                known_after_apply: after.is_none(),
            }],
            depends_on: vec![],
            operations: vec![Operation::encode(&KeyOp::UpdateAlias {
                alias_name: name.clone(),
                target_key_id: successor.key_id(),
            })],
            source: Some(key.locations.key.clone()),
        })
        .collect()
}

/// Which of the last steps a rotation still needs.
#[derive(Debug, Clone, Copy)]
struct Steps {
    /// TagResource of the old key: rotated-at and superseded-by.
    tag_old: bool,
    /// UntagResource of the old key's kmsctl:id.
    untag_old: bool,
    /// TagResource of the successor's kmsctl:id (the declared id).
    tag_new: bool,
}

/// The tags those steps change, as they are before.
#[derive(Debug, Clone, Default)]
struct Before {
    rotated_at: Option<String>,
    superseded_by: Option<String>,
    successor_id: String,
}

/// The old key's change: its rotation tags, then the declared id moved from it to the
/// successor, after every alias change in `earlier`.
fn finish_old_key(
    key: &DesiredKey,
    old_key_id: &str,
    successor: &KeyHandle,
    before: &Before,
    steps: Steps,
    date: &str,
    earlier: &[ResourceChange],
) -> Option<ResourceChange> {
    let old = KeyHandle::Existing(old_key_id.to_owned()).key_id();
    let mut attributes = Vec::new();
    let mut operations = Vec::new();
    if steps.tag_old {
        attributes.push(AttributeChange::new(
            format!("tags.{TAG_ROTATED_AT}"),
            before.rotated_at.clone().map(Into::into),
            Some(date.into()),
        ));
        attributes.push(match successor {
            KeyHandle::Existing(id) => AttributeChange::new(
                format!("tags.{TAG_SUPERSEDED_BY}"),
                before.superseded_by.clone().map(Into::into),
                Some(id.clone().into()),
            ),
            KeyHandle::New(_) => AttributeChange::after_apply(format!("tags.{TAG_SUPERSEDED_BY}")),
        });
        operations.push(Operation::encode(&KeyOp::TagResource {
            key_id: old.clone(),
            tags: BTreeMap::from([
                (TAG_ROTATED_AT.to_owned(), Ref::Known(date.to_owned())),
                (TAG_SUPERSEDED_BY.to_owned(), successor.key_id()),
            ]),
        }));
    }
    if steps.untag_old {
        attributes.push(AttributeChange::new(
            format!("tags.{TAG_ID}"),
            Some(key.id.clone().into()),
            None,
        ));
        // The id moves: off the old key first, so that no moment has two keys claiming it.
        operations.push(Operation::encode(&KeyOp::UntagResource {
            key_id: old,
            tag_keys: vec![TAG_ID.to_owned()],
        }));
    }
    if steps.tag_new {
        attributes.push(AttributeChange::new(
            format!("successor.tags.{TAG_ID}"),
            Some(before.successor_id.clone().into()),
            Some(key.id.clone().into()),
        ));
        operations.push(Operation::encode(&KeyOp::TagResource {
            key_id: successor.key_id(),
            tags: BTreeMap::from([(TAG_ID.to_owned(), Ref::Known(key.id.clone()))]),
        }));
    }
    if operations.is_empty() {
        return None;
    }
    attributes.push(AttributeChange::new(
        "state",
        Some("Enabled".into()),
        Some("Enabled (kept for decryption)".into()),
    ));
    Some(ResourceChange {
        address: Address::new(key::KIND, format!("{}@{old_key_id}", key.name)),
        action: Action::Update,
        attributes,
        depends_on: earlier
            .iter()
            .filter(|c| c.address.kind == alias::KIND)
            .map(|c| c.address.clone())
            .collect(),
        operations,
        source: Some(key.locations.key.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_successor_id_names_the_declared_key_and_the_old_key() {
        let id = successor_id("prod/db/payments/encryption", "1234abcd-12ab");
        assert_eq!(
            unfinished_rotation(&id),
            Some(("prod/db/payments/encryption", "1234abcd-12ab"))
        );
        assert_eq!(unfinished_rotation("prod/db/payments/encryption"), None);
        assert_eq!(unfinished_rotation("x+successor-of-"), None);
    }
}
