//! The organization domain's resource kinds: the `kind` of a plan address.

pub const KIND_POLICY_TYPE: &str = "org_policy_type";
pub const KIND_POLICY: &str = "org_policy";
pub const KIND_ATTACHMENT: &str = "org_attachment";

pub const ALL: [&str; 3] = [KIND_POLICY_TYPE, KIND_POLICY, KIND_ATTACHMENT];
