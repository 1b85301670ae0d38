//! `kms_key_policy`: the key policy, compared semantically (key order, whitespace, set order,
//! string vs one-element array never make a diff) and shown statement by statement.

use kmsctl_core::approval::{ApprovalKind, Sensitive};
use kmsctl_core::policy::widening::{Gain, KeyUnderTest, gains};
use kmsctl_core::policy::{self, ChangeKind};
use kmsctl_core::{Action, Address, AttributeChange, Operation, Ref, ResourceChange};
use serde_json::Value;

use crate::desired::DesiredKey;
use crate::handle::KeyHandle;
use crate::observe::{Observation, ObservedKey};
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

/// Dual control: a PutKeyPolicy on an existing key that lets some principal do what the live
/// policy did not. A key being created has no policy before it, so creating one never is.
pub fn sensitive(observed: &Observation, change: &ResourceChange) -> Vec<Sensitive> {
    let reason = change.operations.iter().find_map(|op| {
        let Ok(KeyOp::PutKeyPolicy {
            key_id: Ref::Known(key_id),
            policy,
        }) = op.decode::<KeyOp>()
        else {
            return None;
        };
        let live = observed.keys.get(&key_id)?;
        let key = KeyUnderTest {
            account: live.arn.split(':').nth(4).unwrap_or_default().to_owned(),
            arn: live.arn.clone(),
        };
        widening(live.policy.as_deref(), &policy, &key)
    });
    reason
        .map(|reason| Sensitive {
            address: change.address.clone(),
            kind: ApprovalKind::KeyPolicyWidening,
            reason,
        })
        .into_iter()
        .collect()
}

/// Why putting `wanted` over the `live` policy widens access; `None` when it does not. A live
/// policy that cannot be read or parsed counts as widening: nothing shows it does not; so does a
/// change too large to judge.
pub fn widening(live: Option<&str>, wanted: &str, key: &KeyUnderTest) -> Option<String> {
    let Some(live) = live else {
        return Some(
            "the live key policy could not be read, so the change may widen it".to_owned(),
        );
    };
    let (live, wanted) = match (policy::parse(live), policy::parse(wanted)) {
        (Ok(live), Ok(wanted)) => (live, wanted),
        (Err(error), _) | (_, Err(error)) => {
            return Some(format!(
                "the key policy could not be compared ({error}), so the change may widen it"
            ));
        }
    };
    let found = gains(&live, &wanted, key);
    if let Some(undecided) = found.iter().find_map(Gain::undecided) {
        return Some(format!("the key policy change is {undecided}"));
    }
    (!found.is_empty()).then(|| describe(&found))
}

/// The first gains, by principal: `P gains kms:Decrypt, kms:Encrypt; and 4 more`.
fn describe(found: &[Gain]) -> String {
    const SHOWN: usize = 3;
    let mut groups: Vec<(&str, Option<&str>, Vec<&str>)> = Vec::new();
    for gain in found.iter().take(SHOWN) {
        let context = gain.context.as_deref();
        match groups.last_mut() {
            Some((principal, when, actions))
                if *principal == gain.principal && *when == context =>
            {
                actions.push(&gain.action);
            }
            _ => groups.push((&gain.principal, context, vec![&gain.action])),
        }
    }
    let mut parts: Vec<String> = groups
        .iter()
        .map(|(principal, when, actions)| {
            let when = when.map(|c| format!(" when {c}")).unwrap_or_default();
            format!("{principal} gains {}{when}", actions.join(", "))
        })
        .collect();
    if found.len() > SHOWN {
        parts.push(format!("and {} more", found.len() - SHOWN));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_change_too_large_to_judge_is_said_to_be_so() {
        let policy = |statements: usize, narrowed: bool| {
            let statements: Vec<Value> = (0..statements)
                .map(|i| {
                    let mut condition = json!({
                        "StringLike": {"aws:PrincipalArn": format!("arn:aws:iam::*:role/h{i}-*")},
                        "StringNotEquals": {"aws:SourceVpce": [format!("vpce-{i}"), format!("vpce-{}", i + 1)]}});
                    if narrowed {
                        condition["StringEquals"] = json!({"kms:ViaService": format!("s{i}.amazonaws.com")});
                    }
                    json!({"Sid": format!("H{i}"), "Effect": "Allow", "Principal": "*",
                        "Action": "kms:*", "Resource": "*", "Condition": condition})
                })
                .collect();
            json!({"Version": "2012-10-17", "Statement": statements}).to_string()
        };
        let key = KeyUnderTest {
            arn: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                .to_owned(),
            account: "111122223333".to_owned(),
        };
        assert_eq!(
            widening(Some(&policy(120, false)), &policy(120, true), &key).as_deref(),
            Some(
                "the key policy change is too large to judge (120 statements): treated as widening"
            )
        );
        assert_eq!(
            widening(Some(&policy(2, false)), &policy(2, true), &key),
            None
        );
    }
}
