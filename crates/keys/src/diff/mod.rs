//! The keys part of a plan: a pure function of the desired keys and the observed account.

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_core::fingerprint::fingerprint;
use kmsctl_core::{Address, Finding, Note, NoteLevel, ResourceChange};
use serde_json::Value;

use crate::config::DeclaredState;
use crate::desired::DesiredKey;
use crate::handle::KeyHandle;
use crate::matching::{
    ADOPT_KEY_ID, ALIAS_CONFLICT, ALIAS_UNMANAGED_KEY, DUPLICATE_KEY, Found, KEY_UNREADABLE,
    find_declared,
};
use crate::observe::{Observation, ObservedKey, Scope};
use crate::rotation::LiveRotation;
use crate::{alias, key, key_policy, rotation};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeysDiff {
    pub changes: Vec<ResourceChange>,
    pub notes: Vec<Note>,
    /// Errors found only with the live state (an alias on an unmanaged key, an immutable
    /// attribute changed): they refuse the plan like the offline guards.
    pub findings: Vec<Finding>,
}

pub fn diff(environment: &str, keys: &[DesiredKey], observation: &Observation) -> KeysDiff {
    let mut out = KeysDiff::default();
    for desired in keys {
        let found = find_declared(observation, desired);
        let first = out.findings.len();
        match found.clone() {
            Found::Absent if desired.state == DeclaredState::PendingDeletion => out.notes.push(Note::new(
                NoteLevel::Info,
                Some(key::address(desired)),
                format!("key {} is declared pending_deletion and AWS has deleted it: remove its [[key]] entry", desired.id),
            )),
            // A key adopted by id is never made anew: the id names the key to take over.
            // key_id and the alias must name the same key: never adopt another one silently.
            ref found if desired.adopt_key_id.as_deref().is_some_and(|want| {
                found.key().is_some_and(|k| k.key_id != want)
            }) => out.findings.push(Finding::of(
                &ADOPT_KEY_ID,
                desired.locations.key.clone(),
                format!(
                    "key_id {} and alias {} name different keys ({} is the alias's)",
                    desired.adopt_key_id.as_deref().unwrap_or_default(),
                    desired.alias,
                    found.key().map_or("", |k| k.key_id.as_str())
                ),
                "adopt the key by one name: remove key_id to take the alias's key, or give the [[key]] another alias",
            )),
            Found::Absent if desired.adopt_key_id.is_some() => out.findings.push(Finding::of(
                &ADOPT_KEY_ID,
                desired.locations.key.clone(),
                format!(
                    "key_id {} names no customer managed key kmsctl can read in env/{environment}'s account",
                    desired.adopt_key_id.as_deref().unwrap_or_default()
                ),
                "check the id (kmsctl import writes it from the account), or remove key_id and adopt to create a new key",
            )),
            Found::Absent => create(desired, observation, environment, &mut out),
            Found::Managed(live) => existing(desired, live, false, observation, environment, &mut out),
            Found::Unmanaged(live) if desired.adopt => existing(desired, live, true, observation, environment, &mut out),
            Found::Unmanaged(live) => out.findings.push(Finding::of(
                &ALIAS_UNMANAGED_KEY,
                desired.locations.key.clone(),
                format!("alias {} points to key {}, which kmsctl does not manage", desired.alias, live.key_id),
                "set adopt = true on this [[key]] to take the key over (kmsctl tags it, then manages it), or choose another alias",
            )),
            Found::Conflict(live, other) => out.findings.push(
                match crate::manual_rotation::unfinished_rotation(&other) {
                    Some((id, old)) if id == desired.id => Finding::of(
                        &ALIAS_CONFLICT,
                        desired.locations.key.clone(),
                        format!(
                            "alias {} points to key {}, the successor of key {old} in a rotation that did not finish (it still carries kmsctl:id {other})",
                            desired.alias, live.key_id
                        ),
                        format!("finish the rotation: kmsctl rotate env/{environment} {}", desired.alias),
                    ),
                    _ => Finding::of(
                        &ALIAS_CONFLICT,
                        desired.locations.key.clone(),
                        format!("alias {} points to key {}, which kmsctl manages as {other}", desired.alias, live.key_id),
                        "give this key another alias, or fix the entry that declares the other key",
                    ),
                },
            ),
            Found::Duplicate(found) => out.findings.push(Finding::of(
                &DUPLICATE_KEY,
                desired.locations.key.clone(),
                format!(
                    "{} live keys carry kmsctl:id = {}: {}",
                    found.len(),
                    desired.id,
                    found.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>().join(", ")
                ),
                "keep one: schedule the others for deletion in AWS (or remove their kmsctl:* tags), then plan again",
            )),
            Found::Unreadable(key_id, reason) => out.findings.push(Finding::of(
                &KEY_UNREADABLE,
                desired.locations.key.clone(),
                format!(
                    "{} AWS said: {reason}.{}",
                    if observation.key_of_alias(&desired.alias) == Some(key_id.as_str()) {
                        format!("alias {} points to key {key_id}, which kmsctl cannot read.", desired.alias)
                    } else {
                        format!("key {key_id} carries the kmsctl:id {} and kmsctl cannot read it (it is not created again).", desired.id)
                    },
                    crate::lockout::blocking(desired)
                ),
                "if a key policy blocks the deployer, restore it with a principal the live policy still allows (see \"Lockout recovery\" in README.md); otherwise let the deployer role call kms:DescribeKey, kms:GetKeyPolicy and kms:ListResourceTags on the key",
            )),
        }
        // What the live state revealed about this key names the key as operators know it.
        if let Some(key) = crate::identity::of_found(&found, observation) {
            for finding in &mut out.findings[first..] {
                finding.key.get_or_insert_with(|| key.clone());
            }
        }
    }
    report_orphans(environment, keys, observation, &mut out.notes);
    out
}

fn create(desired: &DesiredKey, observation: &Observation, environment: &str, out: &mut KeysDiff) {
    let change = key::create(desired);
    let address = change.address.clone();
    out.changes.push(change);
    let handle = KeyHandle::New(address.clone());
    if desired.state == DeclaredState::Enabled {
        out.changes.extend(rotation::diff(
            desired,
            None,
            &handle,
            Some(&address),
            &mut out.notes,
        ));
    }
    aliases(
        desired,
        &handle,
        observation,
        Some(&address),
        environment,
        out,
    );
}

fn existing(
    desired: &DesiredKey,
    live: &ObservedKey,
    adopt: bool,
    observation: &Observation,
    environment: &str,
    out: &mut KeysDiff,
) {
    let immutable = key::immutable_findings(desired, live);
    if !immutable.is_empty() {
        out.findings.extend(immutable);
        return;
    }
    let key_change = key::update(desired, live, adopt);
    let depends_on = key_change.as_ref().map(|c| c.address.clone());
    out.changes.extend(key_change);
    if desired.state == DeclaredState::PendingDeletion {
        return;
    }
    let handle = KeyHandle::Existing(live.key_id.clone());
    let policy_change = key_policy::diff(desired, live, depends_on.as_ref());
    // Apply runs independent changes side by side: rotation and aliases come after a policy
    // change (which may be what lets the deployer make them), and that after the key's own.
    let depends_on = policy_change
        .as_ref()
        .map(|c| c.address.clone())
        .or(depends_on);
    out.changes.extend(policy_change);
    if desired.state == DeclaredState::Disabled {
        if desired.rotation.is_some() {
            out.notes.push(Note::new(
                NoteLevel::Verbose,
                Some(rotation::address(desired)),
                "rotation is not compared while the key is declared disabled (AWS changes rotation on enabled keys only)",
            ));
        }
    } else {
        let live_rotation = live.rotation_enabled.map(|enabled| LiveRotation {
            enabled,
            period_days: live.rotation_period_days,
        });
        if live_rotation.is_some() || desired.rotation.is_none() {
            out.changes.extend(rotation::diff(
                desired,
                live_rotation,
                &handle,
                depends_on.as_ref(),
                &mut out.notes,
            ));
        } else {
            out.notes.push(Note::new(
                NoteLevel::Info,
                Some(rotation::address(desired)),
                "AWS did not report this key's rotation status; it is compared on the next plan",
            ));
        }
    }
    aliases(
        desired,
        &handle,
        observation,
        depends_on.as_ref(),
        environment,
        out,
    );
    let declared: BTreeSet<&String> = desired.all_aliases().collect();
    for extra in live.aliases.iter().filter(|a| !declared.contains(a)) {
        out.notes.push(Note::new(
            NoteLevel::Info,
            Some(key::address(desired)),
            format!(
                "alias {extra} also points to this key but is not declared; kmsctl leaves it alone"
            ),
        ));
    }
}

fn aliases(
    desired: &DesiredKey,
    handle: &KeyHandle,
    observation: &Observation,
    depends_on: Option<&Address>,
    environment: &str,
    out: &mut KeysDiff,
) {
    for name in desired.all_aliases() {
        match alias::diff(desired, name, handle, observation, depends_on, environment) {
            Ok(change) => out.changes.extend(change),
            Err(finding) => out.findings.push(*finding),
        }
    }
}

/// Managed keys of this environment that no file declares any more: reported, never deleted.
fn report_orphans(
    environment: &str,
    keys: &[DesiredKey],
    observation: &Observation,
    notes: &mut Vec<Note>,
) {
    let declared: BTreeSet<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    for live in observation.keys.values() {
        if let Some(rotated) = live.tags.get(crate::manual_rotation::TAG_ROTATED_AT)
            && live.managed_environment() == Some(environment)
        {
            notes.push(Note::new(
                NoteLevel::Verbose,
                None,
                format!(
                    "key {} was rotated out on {rotated} (superseded by {}); it stays enabled to decrypt what it encrypted",
                    live.key_id,
                    live.tags.get(crate::manual_rotation::TAG_SUPERSEDED_BY).map_or("?", String::as_str)
                ),
            ));
            continue;
        }
        let Some(id) = live.managed_id() else {
            continue;
        };
        if live.managed_environment() != Some(environment)
            || declared.contains(id)
            || live.pending_deletion()
        {
            continue;
        }
        if let Some((declared_id, old)) = crate::manual_rotation::unfinished_rotation(id)
            && declared.contains(declared_id)
        {
            notes.push(Note::new(
                NoteLevel::Warning,
                None,
                format!(
                    "key {} is the successor of key {old} in a rotation that did not finish (kmsctl:id {id}); finish it with kmsctl rotate env/{environment} ALIAS",
                    live.key_id
                ),
            ));
            continue;
        }
        notes.push(Note::new(
            NoteLevel::Warning,
            None,
            format!(
                "orphaned key {} (kmsctl:id {id}) is managed by this environment but no file declares it; kmsctl leaves it alone. \
                 To delete it, declare it again with state = \"pending_deletion\"",
                live.key_id
            ),
        ));
    }
}

/// The fingerprint of the observed state of each of `wanted` (the resources a plan touches):
/// the key for the key, its policy and its rotation; the target for an alias. `None` when it
/// does not exist. Only what is wanted is serialised: a thousand unchanged keys cost nothing.
pub fn fingerprints(
    scope: &Scope,
    observation: &Observation,
    wanted: &BTreeSet<&Address>,
) -> BTreeMap<Address, Option<String>> {
    let mut out = BTreeMap::new();
    for declared in &scope.keys {
        let key_addresses = [key::KIND, key_policy::KIND, rotation::KIND]
            .map(|kind| Address::new(kind, declared.name.clone()));
        if key_addresses.iter().any(|a| wanted.contains(a)) {
            let primary = declared.aliases.first().map_or("", String::as_str);
            let found = crate::matching::find_adopting(
                observation,
                &declared.id,
                primary,
                declared.adopt_key_id.as_deref(),
            );
            let snapshot = match found {
                Found::Duplicate(keys) => serde_json::to_value(keys).ok(),
                Found::Unreadable(id, _) => Some(Value::from(id)),
                other => other.key().and_then(|k| serde_json::to_value(k).ok()),
            };
            let print = snapshot.map(|s| fingerprint(&s));
            for address in key_addresses.into_iter().filter(|a| wanted.contains(a)) {
                out.insert(address, print.clone());
            }
        }
        for name in &declared.aliases {
            let address = alias::address(name);
            if wanted.contains(&address) {
                let target = observation.key_of_alias(name).map(Value::from);
                out.insert(address, target.map(|t| fingerprint(&t)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
