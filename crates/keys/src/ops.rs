//! The KMS calls a plan can contain, as the diff builds them and plan files store them, and what
//! AWS does with each (`semantics`). Apply makes them in `apply.rs`.

use std::collections::BTreeMap;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
pub use kmsctl_aws::ApplyError;
use kmsctl_core::semantics::{Confirm, LostAnswer, NotYet, UNKNOWN_PRINCIPAL};
use kmsctl_core::{DomainOp, Ref, Semantics};
use serde::{Deserialize, Serialize};

/// One KMS call. `K` is how a key is named: as planned, a [`Ref`] (an id, or the output of the
/// change creating the key); once apply has resolved the references, the id itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum KeyOp<K = Ref<String>> {
    CreateKey {
        /// The `kmsctl:id` tag, also in `tags`: how a lost CreateKey answer is recovered.
        id: String,
        description: String,
        #[serde(with = "kmsctl_aws::sdk_enum::wire")]
        key_spec: KeySpec,
        #[serde(with = "kmsctl_aws::sdk_enum::wire")]
        key_usage: KeyUsageType,
        multi_region: bool,
        policy: String,
        tags: BTreeMap<String, String>,
        /// Set for a key in a CloudHSM key store (origin `AWS_CLOUDHSM`); absent is `None`, as
        /// serde reads a missing `Option` field.
        custom_key_store_id: Option<K>,
    },
    UpdateKeyDescription {
        key_id: K,
        description: String,
    },
    /// Tag values may name another change's output (`kmsctl:superseded-by` on rotation).
    TagResource {
        key_id: K,
        tags: BTreeMap<String, K>,
    },
    UntagResource {
        key_id: K,
        tag_keys: Vec<String>,
    },
    EnableKey {
        key_id: K,
    },
    DisableKey {
        key_id: K,
    },
    ScheduleKeyDeletion {
        key_id: K,
        pending_window_in_days: i32,
    },
    CancelKeyDeletion {
        key_id: K,
    },
    PutKeyPolicy {
        key_id: K,
        policy: String,
    },
    EnableKeyRotation {
        key_id: K,
        rotation_period_in_days: Option<i32>,
    },
    DisableKeyRotation {
        key_id: K,
    },
    CreateAlias {
        alias_name: String,
        target_key_id: K,
    },
    UpdateAlias {
        alias_name: String,
        target_key_id: K,
    },
}

/// The codes on which CreateKey is made again: a principal the key policy names that IAM does
/// not know yet (made seconds before) is refused as a malformed policy, though nothing was made
/// (other malformed policies, KMS's lockout safety check among them, are final).
pub const CREATE_KEY_NOT_YET: &[&str] = &[UNKNOWN_PRINCIPAL];

// A key made seconds ago is not yet known to every KMS host: calls naming it answer
// NotFoundException ("AWS KMS eventual consistency" in the KMS developer guide). The lists
// follow terraform-provider-aws (`internal/service/kms/key.go`): NotFound everywhere,
// DisabledException for rotation, an unknown principal for PutKeyPolicy.
const KEY_UNSEEN: &[&str] = &["NotFoundException"];
const ROTATION_NOT_YET: &[&str] = &["NotFoundException", "DisabledException"];
const KEY_POLICY_NOT_YET: &[&str] = &["NotFoundException", UNKNOWN_PRINCIPAL];

// Right after this change's CreateKey, EnableKey or CancelKeyDeletion the key's new state has
// not reached every host either: KMSInvalidStateException and DisabledException are then "not
// yet" too (final otherwise: a key pending deletion, a disconnected key store).
const KEY_UNSEEN_AFTER_STATE_CHANGE: &[&str] = &[
    "NotFoundException",
    "KMSInvalidStateException",
    "DisabledException",
];
const KEY_POLICY_NOT_YET_AFTER_STATE_CHANGE: &[&str] = &[
    "NotFoundException",
    "KMSInvalidStateException",
    "DisabledException",
    UNKNOWN_PRINCIPAL,
];

impl<K> KeyOp<K> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateKey { .. } => "CreateKey",
            Self::UpdateKeyDescription { .. } => "UpdateKeyDescription",
            Self::TagResource { .. } => "TagResource",
            Self::UntagResource { .. } => "UntagResource",
            Self::EnableKey { .. } => "EnableKey",
            Self::DisableKey { .. } => "DisableKey",
            Self::ScheduleKeyDeletion { .. } => "ScheduleKeyDeletion",
            Self::CancelKeyDeletion { .. } => "CancelKeyDeletion",
            Self::PutKeyPolicy { .. } => "PutKeyPolicy",
            Self::EnableKeyRotation { .. } => "EnableKeyRotation",
            Self::DisableKeyRotation { .. } => "DisableKeyRotation",
            Self::CreateAlias { .. } => "CreateAlias",
            Self::UpdateAlias { .. } => "UpdateAlias",
        }
    }

    /// How each call is made on an eventually consistent KMS. Every call but CreateKey goes
    /// through the SDK's standard retries, which repeat it after a lost answer; what apply
    /// wrote is confirmed by reading it back (`confirm`) before apply ends.
    pub fn semantics(&self) -> Semantics {
        let not_yet = |codes| NotYet::RepeatedByApply(codes);
        let confirm = |read, until| Some(Confirm { read, until });
        match self {
            Self::CreateKey { .. } => Semantics {
                lost_answer: LostAnswer::LookUp(
                    "the key carrying the kmsctl:id tag, through ListKeys and ListResourceTags, polled until the propagation timeout before a second CreateKey; SDK retries are off for CreateKey",
                ),
                not_yet: NotYet::RepeatedByRun(CREATE_KEY_NOT_YET),
                confirm: confirm("kms:DescribeKey", "the key is found"),
            },
            // Setting what is already set changes nothing.
            Self::UpdateKeyDescription { .. } => Semantics {
                not_yet: not_yet(KEY_UNSEEN),
                confirm: confirm("kms:DescribeKey", "the description is the new one"),
                ..Semantics::REPEAT
            },
            Self::TagResource { .. } | Self::UntagResource { .. } => Semantics {
                not_yet: not_yet(KEY_UNSEEN),
                confirm: confirm("kms:ListResourceTags", "the tags are the new ones"),
                ..Semantics::REPEAT
            },
            Self::EnableKey { .. } | Self::DisableKey { .. } => Semantics {
                not_yet: not_yet(KEY_UNSEEN),
                confirm: confirm("kms:DescribeKey", "the key state is the new one"),
                ..Semantics::REPEAT
            },
            Self::PutKeyPolicy { .. } => Semantics {
                not_yet: not_yet(KEY_POLICY_NOT_YET),
                confirm: confirm("kms:GetKeyPolicy", "the policy is the one put"),
                ..Semantics::REPEAT
            },
            Self::EnableKeyRotation { .. } | Self::DisableKeyRotation { .. } => Semantics {
                not_yet: not_yet(ROTATION_NOT_YET),
                confirm: confirm("kms:GetKeyRotationStatus", "rotation is as set"),
                ..Semantics::REPEAT
            },
            Self::UpdateAlias { .. } => Semantics {
                not_yet: not_yet(KEY_UNSEEN),
                confirm: confirm("kms:ListAliases", "the alias names the new key"),
                ..Semantics::REPEAT
            },
            Self::ScheduleKeyDeletion { .. } => Semantics {
                lost_answer: LostAnswer::Unrecovered(
                    "a repeat finds the key already pending deletion and fails (KMSInvalidStateException); the next plan sees the key pending deletion and plans nothing",
                ),
                not_yet: not_yet(KEY_UNSEEN),
                confirm: confirm("kms:DescribeKey", "the key is PendingDeletion"),
            },
            Self::CancelKeyDeletion { .. } => Semantics {
                lost_answer: LostAnswer::Unrecovered(
                    "a repeat finds the key no longer pending deletion and fails (KMSInvalidStateException); the next plan sees it Disabled and plans what is left",
                ),
                not_yet: not_yet(KEY_UNSEEN),
                confirm: confirm("kms:DescribeKey", "the key is Disabled"),
            },
            Self::CreateAlias { .. } => Semantics {
                lost_answer: LostAnswer::RepeatIsChecked(
                    "a repeat fails with AlreadyExistsException: the alias is read (DescribeKey on it) and taken when it names the planned key",
                ),
                not_yet: not_yet(KEY_UNSEEN),
                confirm: confirm("kms:ListAliases", "the alias is listed on its key"),
            },
        }
    }
}

impl DomainOp for KeyOp {
    type Resolved = KeyOp<String>;

    fn name(&self) -> &'static str {
        KeyOp::name(self)
    }

    fn semantics(&self) -> Semantics {
        KeyOp::semantics(self)
    }

    /// After a state change of the same change (CreateKey, EnableKey, CancelKeyDeletion), calls
    /// on the key also wait out KMSInvalidStateException and DisabledException.
    fn semantics_after(&self, earlier: &[Self]) -> Semantics {
        let semantics = self.semantics();
        let state_changed = earlier.iter().any(|op| {
            matches!(
                op,
                Self::CreateKey { .. } | Self::EnableKey { .. } | Self::CancelKeyDeletion { .. }
            )
        });
        let not_yet = match self {
            _ if !state_changed => return semantics,
            Self::PutKeyPolicy { .. } => KEY_POLICY_NOT_YET_AFTER_STATE_CHANGE,
            Self::CreateKey { .. } | Self::ScheduleKeyDeletion { .. } => return semantics,
            _ => KEY_UNSEEN_AFTER_STATE_CHANGE,
        };
        Semantics {
            not_yet: NotYet::RepeatedByApply(not_yet),
            ..semantics
        }
    }
}

#[cfg(test)]
mod tests;
