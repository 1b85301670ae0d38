//! `kms_key_rotation`: automatic rotation on or off, and its period.

use kmsctl_core::{Action, Address, AttributeChange, Note, NoteLevel, Operation, ResourceChange};
use serde_json::json;

use crate::desired::{DesiredKey, DesiredRotation};
use crate::handle::KeyHandle;
use crate::ops::KeyOp;

pub const KIND: &str = crate::kinds::KEY_ROTATION;

pub fn address(key: &DesiredKey) -> Address {
    Address::new(KIND, key.name.clone())
}

/// What AWS reports about a key's rotation (`GetKeyRotationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveRotation {
    pub enabled: bool,
    /// AWS omits it in some answers (and the emulator always does): then it is unknown.
    pub period_days: Option<i64>,
}

/// Pure comparison: the change to make, if any, and a note when the period cannot be compared.
pub fn compare(
    desired: &DesiredRotation,
    live: Option<LiveRotation>,
) -> (Option<(Vec<AttributeChange>, &'static str)>, Option<String>) {
    let period = json!(desired.period_days);
    match live {
        None => (
            Some((
                vec![
                    AttributeChange::added("enabled", desired.enabled),
                    AttributeChange::added("rotation_period_in_days", period),
                ],
                if desired.enabled {
                    "EnableKeyRotation"
                } else {
                    "DisableKeyRotation"
                },
            )),
            None,
        ),
        Some(live) if live.enabled != desired.enabled => {
            let mut attributes = vec![AttributeChange::new(
                "enabled",
                Some(live.enabled.into()),
                Some(desired.enabled.into()),
            )];
            if desired.enabled {
                attributes.push(AttributeChange::new(
                    "rotation_period_in_days",
                    live.period_days.map(Into::into),
                    Some(period),
                ));
                (Some((attributes, "EnableKeyRotation")), None)
            } else {
                (Some((attributes, "DisableKeyRotation")), None)
            }
        }
        Some(LiveRotation { enabled: false, .. }) => (None, None),
        Some(LiveRotation {
            enabled: true,
            period_days: None,
        }) => (
            None,
            Some(format!(
                "AWS did not report the rotation period; it cannot be compared with the declared {} days",
                desired.period_days
            )),
        ),
        Some(LiveRotation {
            enabled: true,
            period_days: Some(days),
        }) if days != desired.period_days => (
            Some((
                vec![AttributeChange::new(
                    "rotation_period_in_days",
                    Some(days.into()),
                    Some(period),
                )],
                "EnableKeyRotation",
            )),
            None,
        ),
        Some(_) => (None, None),
    }
}

/// The rotation change of a key, new (`live = None` and a new handle) or existing.
pub fn diff(
    key: &DesiredKey,
    live: Option<LiveRotation>,
    handle: &KeyHandle,
    depends_on: Option<&Address>,
    notes: &mut Vec<Note>,
) -> Option<ResourceChange> {
    let desired = key.rotation.as_ref()?;
    let (change, note) = compare(desired, live);
    if let Some(note) = note {
        notes.push(Note::new(NoteLevel::Verbose, Some(address(key)), note));
    }
    // `compare` names the call for its readers; which one is made follows the declaration alone.
    let (attributes, _) = change?;
    // A brand-new key starts with rotation off: nothing to do unless it is wanted on.
    if live.is_none() && !desired.enabled {
        return None;
    }
    let key_id = handle.key_id();
    let op = if desired.enabled {
        KeyOp::EnableKeyRotation {
            key_id,
            // The guards keep the period within AWS's 90..=2560 days; beyond i32, AWS refuses it.
            rotation_period_in_days: Some(i32::try_from(desired.period_days).unwrap_or(i32::MAX)),
        }
    } else {
        KeyOp::DisableKeyRotation { key_id }
    };
    Some(ResourceChange {
        address: address(key),
        action: if live.is_none() {
            Action::Create
        } else {
            Action::Update
        },
        attributes,
        depends_on: depends_on.into_iter().cloned().collect(),
        operations: vec![Operation::encode(&op)],
        source: Some(
            key.locations
                .rotation
                .clone()
                .unwrap_or_else(|| key.locations.key.clone()),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(enabled: bool, period_days: i64) -> DesiredRotation {
        DesiredRotation {
            enabled,
            period_days,
        }
    }

    // The shape of a real AWS answer: {"KeyRotationEnabled": true, "RotationPeriodInDays": 365, ...}.
    #[test]
    fn period_is_compared_when_aws_reports_it() {
        let live = Some(LiveRotation {
            enabled: true,
            period_days: Some(365),
        });
        let (change, note) = compare(&want(true, 180), live);
        let (attributes, op) = change.expect("period differs");
        assert_eq!(op, "EnableKeyRotation");
        assert_eq!(attributes[0].before, Some(json!(365)));
        assert_eq!(attributes[0].after, Some(json!(180)));
        assert_eq!(note, None);
        assert_eq!(compare(&want(true, 365), live), (None, None));
    }

    #[test]
    fn unknown_period_is_no_diff_but_a_note() {
        let live = Some(LiveRotation {
            enabled: true,
            period_days: None,
        });
        let (change, note) = compare(&want(true, 180), live);
        assert!(change.is_none());
        assert!(note.is_some_and(|n| n.contains("180")));
    }

    #[test]
    fn enabling_and_disabling() {
        let off = Some(LiveRotation {
            enabled: false,
            period_days: None,
        });
        assert_eq!(
            compare(&want(true, 365), off).0.map(|c| c.1),
            Some("EnableKeyRotation")
        );
        let on = Some(LiveRotation {
            enabled: true,
            period_days: Some(365),
        });
        assert_eq!(
            compare(&want(false, 365), on).0.map(|c| c.1),
            Some("DisableKeyRotation")
        );
        assert_eq!(compare(&want(false, 365), off), (None, None));
    }
}
