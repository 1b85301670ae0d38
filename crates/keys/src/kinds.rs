//! The resource kinds of the KMS domain, with the control each kind's drift concerns.

use kmsctl_core::{Control, ResourceKind};

use crate::{alias, key, key_policy, rotation};

pub const KINDS: [ResourceKind; 4] = [
    // What is left of a key's drift once tags (`drift-tags`) and state (`drift-key-state`) are
    // taken out: its description.
    ResourceKind {
        name: key::KIND,
        control: None,
    },
    // An alias names a key for applications; which key it names is no control of the framework.
    ResourceKind {
        name: alias::KIND,
        control: None,
    },
    // The policy's principals are the environment's boundary.
    ResourceKind {
        name: key_policy::KIND,
        control: Some(Control::EnvironmentBoundaries),
    },
    ResourceKind {
        name: rotation::KIND,
        control: Some(Control::Rotation),
    },
];
