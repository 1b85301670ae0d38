//! The rule registry: every crate's rules and resource kinds, in one place. Core cannot see the
//! domain crates; each domain declares its kinds and rules in its `Domain` impl, and they meet
//! here with core's and the engine's own.

use kmsctl_core::domain::Domain;
use kmsctl_core::{Control, ResourceKind, Rule};
use kmsctl_hsm::Hsm;
use kmsctl_keys::Keys;
use kmsctl_monitor::Monitor;
use kmsctl_org::Organization;

use crate::simulate::expect;
use crate::{drift, prepare};

/// The rules the engine's own checks report (loading, boundary tests, drift).
pub const RULES: &[&Rule] = &[
    &prepare::CUSTOM_KEY_STORE_UNKNOWN,
    &prepare::RULES_FLOOR,
    &prepare::ORG_PATH_UNKNOWN,
    &expect::EXPECT_FAILED,
    &expect::EXPECT_INVALID,
    &drift::DRIFT_TAGS,
    &crate::organization::APPROVALS_BACKEND,
];

/// Every crate's list of rules.
pub const REGISTRY: [&[&Rule]; 6] = [
    kmsctl_core::RULES,
    Keys::RULES,
    Monitor::RULES,
    Hsm::RULES,
    Organization::RULES,
    RULES,
];

/// Every domain's resource kinds.
pub const KINDS: [&[ResourceKind]; 4] =
    [Keys::KINDS, Monitor::KINDS, Hsm::KINDS, Organization::KINDS];

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
    ResourceKind::control_in(kinds(), kind)
}

/// The rule id of drift in a resource of `kind` (`kms_key_policy` → `drift-kms-key-policy`).
pub fn drift_rule_id(kind: &str) -> String {
    format!("drift-{}", kind.replace('_', "-"))
}

#[cfg(test)]
mod tests;
