//! The organization domain's resource kinds (the `kind` of a plan address), with the control each
//! kind's drift concerns: environment boundaries (boundary SCPs and RCPs), unless a policy's
//! `control` names another.

use kmsctl_core::{Control, ResourceKind};

pub const KIND_POLICY_TYPE: &str = "org_policy_type";
pub const KIND_POLICY: &str = "org_policy";
pub const KIND_ATTACHMENT: &str = "org_attachment";

pub const KINDS: [ResourceKind; 3] = [
    boundary(KIND_POLICY_TYPE),
    boundary(KIND_POLICY),
    boundary(KIND_ATTACHMENT),
];

const fn boundary(name: &'static str) -> ResourceKind {
    ResourceKind {
        name,
        control: Some(Control::EnvironmentBoundaries),
    }
}
