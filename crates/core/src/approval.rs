//! Dual control: the kinds of change that `[approvals] required_for` in organization.toml can
//! put under a second person's approval, and which of a plan's changes are of those kinds.
//!
//! Deletion and disabling are read from the calls a change makes (never from its `action`
//! label); widening a key policy and weakening a guardrail are judged by the domain that knows
//! the before and after (`Domain::sensitive`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::plan::ResourceChange;

/// A kind of change that can require an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// `ScheduleKeyDeletion`.
    ScheduleDeletion,
    /// `DisableKey`.
    DisableKey,
    /// A key policy change that gives some principal an action it did not have.
    KeyPolicyWidening,
    /// A guardrail SCP or RCP detached, deleted, or loosened.
    GuardrailWeakening,
}

impl ApprovalKind {
    pub const ALL: [Self; 4] = [
        Self::ScheduleDeletion,
        Self::DisableKey,
        Self::KeyPolicyWidening,
        Self::GuardrailWeakening,
    ];

    /// As organization.toml spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ScheduleDeletion => "schedule_deletion",
            Self::DisableKey => "disable_key",
            Self::KeyPolicyWidening => "key_policy_widening",
            Self::GuardrailWeakening => "guardrail_weakening",
        }
    }
}

impl fmt::Display for ApprovalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One change of a plan that is of a kind that can require approval, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sensitive {
    pub address: Address,
    pub kind: ApprovalKind,
    /// For a person: "arn:aws:iam::111122223333:role/app gains kms:Decrypt".
    pub reason: String,
}

/// The kinds a change is of by the calls it makes: `ScheduleKeyDeletion`, `DisableKey`.
pub fn from_operations(change: &ResourceChange) -> Vec<Sensitive> {
    let mut found = Vec::new();
    for operation in &change.operations {
        let (kind, reason) = match operation.name() {
            Some("ScheduleKeyDeletion") => (
                ApprovalKind::ScheduleDeletion,
                "the key is scheduled for deletion",
            ),
            Some("DisableKey") => (ApprovalKind::DisableKey, "the key is disabled"),
            _ => continue,
        };
        if !found.iter().any(|s: &Sensitive| s.kind == kind) {
            found.push(Sensitive {
                address: change.address.clone(),
                kind,
                reason: reason.to_owned(),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operation;
    use crate::plan::Action;

    fn change(ops: &[&str]) -> ResourceChange {
        ResourceChange {
            address: Address::new("kms_key", "payments"),
            action: Action::Update,
            attributes: vec![],
            depends_on: vec![],
            operations: ops
                .iter()
                .map(|op| Operation::raw_for_tests(serde_json::json!({"op": op})))
                .collect(),
            source: None,
        }
    }

    #[test]
    fn deletion_and_disabling_are_read_from_the_calls() {
        let found = from_operations(&change(&[
            "DisableKey",
            "ScheduleKeyDeletion",
            "DisableKey",
        ]));
        let kinds: Vec<ApprovalKind> = found.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            vec![ApprovalKind::DisableKey, ApprovalKind::ScheduleDeletion]
        );
        assert!(from_operations(&change(&["EnableKey", "DisableKeyRotation"])).is_empty());
    }

    #[test]
    fn kinds_are_spelled_as_organization_toml_spells_them() {
        for kind in ApprovalKind::ALL {
            let json = serde_json::to_value(kind).expect("serialize");
            assert_eq!(json, serde_json::Value::from(kind.name()));
        }
    }
}
