//! The rule registry: every crate's rules and resource kinds, in one place. Core cannot see the
//! domain crates, so they meet here (the one file to move should the engine crate take it).

use kmsctl_core::{Control, ResourceKind, Rule};

use crate::commands::{drift, prepare};
use crate::simulate::expect;

/// The rules the CLI's own checks report.
pub const RULES: &[&Rule] = &[
    &prepare::CUSTOM_KEY_STORE_UNKNOWN,
    &prepare::RULES_FLOOR,
    &prepare::ORG_PATH_UNKNOWN,
    &expect::EXPECT_FAILED,
    &expect::EXPECT_INVALID,
    &drift::DRIFT_TAGS,
    &drift::DRIFT_KEY_STATE,
    &drift::UNMANAGED_KEY,
    &drift::UNMANAGED_ORG_POLICY,
];

/// Every crate's list of rules.
pub const REGISTRY: [&[&Rule]; 6] = [
    kmsctl_core::RULES,
    kmsctl_keys::RULES,
    kmsctl_monitor::RULES,
    kmsctl_hsm::RULES,
    kmsctl_org::RULES,
    RULES,
];

/// Every domain's resource kinds.
pub const KINDS: [&[ResourceKind]; 4] = [
    &kmsctl_keys::kinds::KINDS,
    &kmsctl_monitor::kinds::KINDS,
    &kmsctl_hsm::kinds::KINDS,
    &kmsctl_org::kinds::KINDS,
];

/// Every rule of the registry.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    REGISTRY.into_iter().flatten().copied()
}

/// Every resource kind.
pub fn kinds() -> impl Iterator<Item = &'static ResourceKind> {
    KINDS.into_iter().flatten()
}

/// The control drift of a resource kind concerns. Every kind a domain owns is in its table (its
/// `owns` reads the table), so a kind not found concerns no control.
pub fn kind_control(kind: &str) -> Option<Control> {
    kinds().find(|k| k.name == kind).and_then(|k| k.control)
}

/// The rule id of drift in a resource of `kind` (`kms_key_policy` → `drift-kms-key-policy`).
pub fn drift_rule_id(kind: &str) -> String {
    format!("drift-{}", kind.replace('_', "-"))
}

#[cfg(test)]
mod tests;
