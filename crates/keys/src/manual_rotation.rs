//! Manual rotation of a key AWS cannot rotate (a CloudHSM key store key): a new key with the
//! same policy, tags and description, every alias moved to it, and the old key tagged with the
//! rotation date and its successor, left enabled so what it encrypted can still be decrypted.
//!
//! The new key is made under an identity of its own (`kmsctl:id` = [`successor_id`]) and takes
//! the declared id only once the aliases have moved and the old key has given it up: while both
//! keys exist, no look-up by `kmsctl:id` (after a lost CreateKey answer, or by a plan) can take
//! the old key for its own successor, or find two keys with one id.

use std::collections::BTreeMap;

use kmsctl_core::{Action, Address, AttributeChange, Operation, Ref, ResourceChange};

use crate::desired::{DesiredKey, TAG_ID};
use crate::handle::KeyHandle;
use crate::ops::KeyOp;
use crate::{alias, key};

pub const TAG_ROTATED_AT: &str = "kmsctl:rotated-at";
pub const TAG_SUPERSEDED_BY: &str = "kmsctl:superseded-by";

/// The identity the successor of `old_key_id` is made with, until it takes the declared one.
pub fn successor_id(id: &str, old_key_id: &str) -> String {
    format!("{id}+successor-of-{old_key_id}")
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
    let handle = KeyHandle::New(create.address.clone());
    let mut changes = vec![create];
    let mut alias_addresses = Vec::new();
    for name in key.all_aliases() {
        let address = alias::address(name);
        alias_addresses.push(address.clone());
        changes.push(ResourceChange {
            address,
            action: Action::Update,
            attributes: vec![AttributeChange {
                name: "target_key_id".into(),
                before: Some(old_key_id.into()),
                after: None,
                known_after_apply: true,
            }],
            depends_on: vec![],
            operations: vec![Operation::encode(&KeyOp::UpdateAlias {
                alias_name: name.clone(),
                target_key_id: handle.key_id(),
            })],
            source: Some(key.locations.key.clone()),
        });
    }
    let old = KeyHandle::Existing(old_key_id.to_owned()).key_id();
    changes.push(ResourceChange {
        address: Address::new(key::KIND, format!("{}@{old_key_id}", key.name)),
        action: Action::Update,
        attributes: vec![
            AttributeChange::new(format!("tags.{TAG_ROTATED_AT}"), None, Some(date.into())),
            AttributeChange::after_apply(format!("tags.{TAG_SUPERSEDED_BY}")),
            AttributeChange::new(format!("tags.{TAG_ID}"), Some(key.id.clone().into()), None),
            AttributeChange::new(
                format!("successor.tags.{TAG_ID}"),
                Some(new_key.id.clone().into()),
                Some(key.id.clone().into()),
            ),
            AttributeChange::new(
                "state",
                Some("Enabled".into()),
                Some("Enabled (kept for decryption)".into()),
            ),
        ],
        depends_on: alias_addresses,
        operations: vec![
            Operation::encode(&KeyOp::TagResource {
                key_id: old.clone(),
                tags: BTreeMap::from([
                    (TAG_ROTATED_AT.to_owned(), Ref::Known(date.to_owned())),
                    (TAG_SUPERSEDED_BY.to_owned(), handle.key_id()),
                ]),
            }),
            // The id moves: off the old key first, so that no moment has two keys claiming it.
            Operation::encode(&KeyOp::UntagResource {
                key_id: old,
                tag_keys: vec![TAG_ID.to_owned()],
            }),
            Operation::encode(&KeyOp::TagResource {
                key_id: handle.key_id(),
                tags: BTreeMap::from([(TAG_ID.to_owned(), Ref::Known(key.id.clone()))]),
            }),
        ],
        source: Some(key.locations.key.clone()),
    });
    changes
}
