//! AWS's limits that kmsctl checks before AWS does, each named once: the guards and their
//! messages use these names, never the numbers.

use std::ops::RangeInclusive;

/// KMS `ScheduleKeyDeletion`: `PendingWindowInDays` is 7–30 (KMS API reference).
pub const MIN_PENDING_WINDOW_DAYS: i64 = 7;
pub const MAX_PENDING_WINDOW_DAYS: i64 = 30;

/// KMS `EnableKeyRotation`: `RotationPeriodInDays` is 90–2560 (KMS API reference).
pub const MIN_ROTATION_PERIOD_DAYS: i64 = 90;
pub const MAX_ROTATION_PERIOD_DAYS: i64 = 2560;

/// KMS `PutKeyPolicy`: a key policy is at most 32 KB (KMS quotas, "Key policy document size").
pub const MAX_KEY_POLICY_BYTES: usize = 32_768;

/// Organizations: an SCP or RCP is at most 5,120 characters as uploaded (Organizations quotas).
pub const MAX_ORG_POLICY_CHARS: usize = 5_120;

/// Organizations: at most 5 policies of a type directly attached to a root, OU or account, the
/// AWS-managed `FullAWSAccess` included (Organizations quotas).
pub const MAX_ORG_POLICIES_PER_TARGET: usize = 5;

/// KMS `TagResource`: at most 50 tags per key (KMS API reference, "Tag").
pub const MAX_TAGS: usize = 50;
/// KMS `Tag.TagKey`: 1–128 characters (KMS API reference).
pub const MAX_TAG_KEY_CHARS: usize = 128;
/// KMS `Tag.TagValue`: 0–256 characters (KMS API reference).
pub const MAX_TAG_VALUE_CHARS: usize = 256;

/// KMS `CreateAlias`: `AliasName` is 1–256 characters, `alias/` included (KMS API reference).
pub const MAX_ALIAS_CHARS: usize = 256;

/// SNS `CreateTopic`: a topic name is 1–256 characters (SNS API reference).
pub const MAX_SNS_TOPIC_NAME_CHARS: usize = 256;

/// KMS `CreateCustomKeyStore`: `CustomKeyStoreName` is 1–256 characters (KMS API reference).
pub const MAX_KEY_STORE_NAME_CHARS: usize = 256;

/// A custom key store needs active HSMs in at least 2 Availability Zones (KMS developer guide).
pub const MIN_KEY_STORE_HSMS: i64 = 2;
/// CloudHSM: at most 28 HSMs per cluster (CloudHSM quotas).
pub const MAX_CLUSTER_HSMS: i64 = 28;

/// `MIN..=MAX` of a pair above, for `contains` checks.
pub const PENDING_WINDOW_DAYS: RangeInclusive<i64> =
    MIN_PENDING_WINDOW_DAYS..=MAX_PENDING_WINDOW_DAYS;
pub const ROTATION_PERIOD_DAYS: RangeInclusive<i64> =
    MIN_ROTATION_PERIOD_DAYS..=MAX_ROTATION_PERIOD_DAYS;
