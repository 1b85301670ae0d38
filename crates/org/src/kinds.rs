//! The resource kinds of the Organizations domain, with the control each kind's drift concerns:
//! environment boundaries (boundary SCPs and RCPs), unless a policy's `control` names another.

use kmsctl_core::{Control, ResourceKind};

use crate::diff::{KIND_ATTACHMENT, KIND_POLICY, KIND_POLICY_TYPE};

pub const KINDS: [ResourceKind; 3] = [
    ResourceKind {
        name: KIND_POLICY_TYPE,
        control: Some(Control::EnvironmentBoundaries),
    },
    ResourceKind {
        name: KIND_POLICY,
        control: Some(Control::EnvironmentBoundaries),
    },
    ResourceKind {
        name: KIND_ATTACHMENT,
        control: Some(Control::EnvironmentBoundaries),
    },
];
