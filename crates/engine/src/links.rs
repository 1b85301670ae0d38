//! The typed edges between domains, applied by the engine (domains never import each other):
//! the CloudHSM key store's id to the keys it holds, and the topic's key to the monitoring that
//! encrypts with it. (The organization's `[rules]` as floors of every environment's are applied
//! when an environment is prepared: `crate::prepare`.)

use crate::prepare::Prepared;

/// The keys to plan: those in the CloudHSM key store get its id (or the reference to the change
/// that connects it); while the store cannot take keys, its keys are held back with a note.
pub fn keys_for_store(
    prepared: &Prepared,
    store: Option<&kmsctl_hsm::StoreReadiness>,
) -> (Vec<kmsctl_keys::DesiredKey>, Vec<kmsctl_core::Note>) {
    let mut keys = Vec::new();
    let mut held = Vec::new();
    for key in &prepared.keys {
        if key.custom_key_store.is_none() {
            keys.push(key.clone());
            continue;
        }
        match store {
            Some(kmsctl_hsm::StoreReadiness::Connected(id)) => {
                let mut key = key.clone();
                key.custom_key_store_id = Some(kmsctl_core::Ref::Known(id.clone()));
                keys.push(key);
            }
            Some(kmsctl_hsm::StoreReadiness::InPlan(reference)) => {
                let mut key = key.clone();
                key.custom_key_store_id = Some(kmsctl_core::Ref::After(reference.clone()));
                keys.push(key);
            }
            Some(kmsctl_hsm::StoreReadiness::NotReady(reason)) => held.push(reason.as_str()),
            None => held.push("no key store is declared"),
        }
    }
    let held_keys: Vec<&str> = prepared
        .keys
        .iter()
        .filter(|k| k.custom_key_store.is_some() && !keys.iter().any(|kept| kept.id == k.id))
        .map(|k| k.alias.as_str())
        .collect();
    let notes = held
        .first()
        .map(|reason| {
            kmsctl_core::Note::new(
                kmsctl_core::NoteLevel::Info,
                None,
                format!(
                    "not planned yet: {} in the key store ({reason}); they follow once the store is connected",
                    held_keys.join(", ")
                ),
            )
        })
        .into_iter()
        .collect();
    (keys, notes)
}

/// The topic is encrypted with a key of this plan: it is created or changed after that key, its
/// alias and its policy are in place.
pub fn after_topic_key(
    monitor_changes: &mut [kmsctl_core::ResourceChange],
    key_changes: &[kmsctl_core::ResourceChange],
    key: &kmsctl_monitor::topic_key::TopicKey,
) {
    let key_addresses: Vec<kmsctl_core::Address> = key_changes
        .iter()
        .filter(|c| c.address.name == key.name || c.address.name == key.kms_master_key_id)
        .map(|c| c.address.clone())
        .collect();
    for change in monitor_changes
        .iter_mut()
        .filter(|c| c.address.kind == kmsctl_monitor::kinds::SNS_TOPIC)
    {
        change.depends_on.extend(key_addresses.iter().cloned());
    }
}
