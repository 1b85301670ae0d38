//! The KMS domain's resource kinds: the `kind` of a plan address.

pub const KEY: &str = "kms_key";
pub const ALIAS: &str = "kms_alias";
pub const KEY_POLICY: &str = "kms_key_policy";
pub const KEY_ROTATION: &str = "kms_key_rotation";

pub const ALL: [&str; 4] = [KEY, ALIAS, KEY_POLICY, KEY_ROTATION];
