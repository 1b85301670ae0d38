//! The KMS domain's resource kinds (the `kind` of a plan address), with the control each kind's
//! drift concerns.

use kmsctl_core::{Control, ResourceKind};

pub const KEY: &str = "kms_key";
pub const ALIAS: &str = "kms_alias";
pub const KEY_POLICY: &str = "kms_key_policy";
pub const KEY_ROTATION: &str = "kms_key_rotation";

pub const KINDS: [ResourceKind; 4] = [
    // What is left of a key's drift once tags (`drift-tags`) and state (`drift-key-state`) are
    // taken out: its description.
    ResourceKind {
        name: KEY,
        control: None,
    },
    // An alias names a key for applications; which key it names is no control of the framework.
    ResourceKind {
        name: ALIAS,
        control: None,
    },
    // The policy's principals are the environment's boundary.
    ResourceKind {
        name: KEY_POLICY,
        control: Some(Control::EnvironmentBoundaries),
    },
    ResourceKind {
        name: KEY_ROTATION,
        control: Some(Control::Rotation),
    },
];
