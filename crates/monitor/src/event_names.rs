//! The CloudTrail event names of KMS API calls, which alert rules match (`detail.eventName`).
//!
//! For KMS, CloudTrail's `eventName` is the API action's name, so the catalog of KMS actions
//! shipped with kmsctl (`crates/core/data/iam-catalog.tsv`) is the list, with the differences
//! between IAM's action names and CloudTrail's written here: `ReEncrypt` is one call that IAM
//! authorizes as `ReEncryptFrom` and `ReEncryptTo`, and a few KMS events are AWS service events
//! (automatic rotation, the deletion at the end of the waiting period), which no API-call rule
//! matches. EventBridge compares event names exactly: case matters and there are no wildcards.

use kmsctl_core::policy::catalog::Catalog;
use kmsctl_core::template::levenshtein;

/// CloudTrail event names of KMS API calls that are not IAM action names.
const API_EVENTS_NOT_ACTIONS: &[&str] = &["ReEncrypt"];

/// IAM action names that CloudTrail never logs as an event name, with the one it logs.
const ACTIONS_LOGGED_AS: &[(&str, &str)] =
    &[("ReEncryptFrom", "ReEncrypt"), ("ReEncryptTo", "ReEncrypt")];

/// KMS events that are AWS service events ("AWS Service Event via CloudTrail"), not API calls.
const SERVICE_EVENTS: &[&str] = &["RotateKey", "DeleteKey", "DeleteExpiredKeyMaterial"];

/// Every event name an alert rule can match, sorted.
pub fn known() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Catalog::get()
        .matching_actions("kms", "*")
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !ACTIONS_LOGGED_AS.iter().any(|(action, _)| action == a))
        .chain(API_EVENTS_NOT_ACTIONS.iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

pub fn is_known(name: &str) -> bool {
    known().contains(&name)
}

/// Why `name` is not the event name of a KMS API call, and what to write instead; `None` when it
/// is one.
pub fn problem(name: &str) -> Option<(String, String)> {
    let known = known();
    if known.contains(&name) {
        return None;
    }
    let nearest = |wanted: &str| nearest(wanted, &known);
    if let Some(rest) = name
        .split_once(':')
        .filter(|(prefix, _)| prefix.eq_ignore_ascii_case("kms"))
        .map(|(_, rest)| rest)
    {
        let then = if known.contains(&rest) {
            format!("write {rest}")
        } else {
            match nearest(rest) {
                Some(n) => format!("did you mean {n}?"),
                None => "write the KMS API call's name".to_owned(),
            }
        };
        return Some((
            format!(
                "{name:?} is an IAM action, not a CloudTrail event name (CloudTrail logs KMS calls without the kms: prefix)"
            ),
            format!("drop the kms: prefix: {then}"),
        ));
    }
    if let Some((_, logged)) = ACTIONS_LOGGED_AS.iter().find(|(action, _)| *action == name) {
        return Some((
            format!("{name:?} is an IAM permission, not a CloudTrail event name"),
            format!(
                "did you mean {logged}? (CloudTrail logs ReEncryptFrom and ReEncryptTo as one ReEncrypt call)"
            ),
        ));
    }
    if SERVICE_EVENTS.contains(&name) {
        return Some((
            format!("{name:?} is an AWS service event, not a KMS API call: kmsctl's alert rules match API calls (\"AWS API Call via CloudTrail\") only"),
            "remove it; alert on the call that causes it instead (ScheduleKeyDeletion, EnableKeyRotation, ImportKeyMaterial)".to_owned(),
        ));
    }
    if name.contains('*') || name.contains('?') {
        let matched: Vec<&str> = Catalog::get()
            .matching_actions("kms", name)
            .unwrap_or_default()
            .into_iter()
            .filter(|a| known.contains(a))
            .collect();
        let fix = if matched.is_empty() {
            "write each event name in full".to_owned()
        } else {
            format!("write each event name in full: {}", matched.join(", "))
        };
        return Some((
            format!("{name:?} has a wildcard: EventBridge compares event names exactly"),
            fix,
        ));
    }
    if let Some(same) = known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return Some((
            format!(
                "{name:?} is not a CloudTrail event name: EventBridge compares event names exactly, case included"
            ),
            format!("did you mean {same}?"),
        ));
    }
    let fix = match nearest(name) {
        Some(n) => format!("did you mean {n}?"),
        None => "use the name of a KMS API call (AWS KMS API reference), e.g. ScheduleKeyDeletion"
            .to_owned(),
    };
    Some((
        format!("{name:?} is not the CloudTrail event name of a KMS API call"),
        fix,
    ))
}

/// The closest event name, if close enough to be a typo.
fn nearest(wanted: &str, known: &[&'static str]) -> Option<&'static str> {
    let lowered = wanted.to_lowercase();
    known
        .iter()
        .map(|k| (levenshtein(&lowered, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 3.max(lowered.len() / 4))
        .min_by_key(|(d, k)| (*d, k.len()))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_events_are_known_and_re_encrypt_is_the_event_not_the_permissions() {
        for name in crate::severity::SEED.iter().map(|(n, _)| *n) {
            assert!(is_known(name), "{name}");
        }
        assert!(is_known("DisableKeyRotation"));
        assert!(is_known("ReEncrypt"));
        assert!(!is_known("ReEncryptFrom"));
        assert!(
            problem("ReEncryptFrom")
                .is_some_and(|(_, fix)| fix.contains("did you mean ReEncrypt?"))
        );
    }

    #[test]
    fn a_typo_a_prefix_a_case_and_a_wildcard_each_get_their_fix() {
        let fix = |name| problem(name).map(|(_, fix)| fix).unwrap_or_default();
        assert_eq!(
            fix("DisableKeyRotatoin"),
            "did you mean DisableKeyRotation?"
        );
        assert_eq!(
            fix("kms:DisableKeyRotation"),
            "drop the kms: prefix: write DisableKeyRotation"
        );
        assert_eq!(
            fix("kms:ScheduleKeyDeleton"),
            "drop the kms: prefix: did you mean ScheduleKeyDeletion?"
        );
        assert_eq!(fix("disablekey"), "did you mean DisableKey?");
        assert!(
            fix("Disable*").contains("DisableKey, DisableKeyRotation"),
            "{}",
            fix("Disable*")
        );
        assert!(fix("RotateKey").starts_with("remove it"));
        assert!(fix("Xyzzy").starts_with("use the name of a KMS API call"));
        assert_eq!(problem("ScheduleKeyDeletion"), None);
    }
}
