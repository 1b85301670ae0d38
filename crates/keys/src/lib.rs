//! kmsctl's KMS domain: observe, diff and apply keys (`kms_key`), aliases (`kms_alias`), key
//! policies (`kms_key_policy`) and rotation (`kms_key_rotation`) of one environment.

pub mod alias;
pub mod apply;
pub mod config;
mod create_key;
pub mod desired;
pub mod diff;
pub mod domain;
pub mod drift;
pub mod guards;
pub mod handle;
pub mod identity;
pub mod import;
pub mod key;
pub mod key_policy;
pub mod kinds;
pub mod list;
mod lockout;
pub mod manual_rotation;
pub mod matching;
pub mod observe;
pub mod ops;
pub mod ou_path;
pub mod plan;
pub mod rotation;
pub mod spec;

pub use apply::apply_change;
pub use config::KeyDecl;
pub use desired::{DesiredError, DesiredKey};
pub use diff::{KeysDiff, diff, fingerprints};
pub use domain::{DesiredKeys, Keys};
pub use observe::{Observation, Options, Scope, observe};
pub use plan::plan;

/// The name under which this domain keeps its scope in a plan.
pub const DOMAIN: &str = "kms";

/// The rules this domain's checks report.
pub const RULES: &[&kmsctl_core::Rule] = &[
    &guards::KEY_SPEC,
    &guards::DELETION_WINDOW,
    &guards::CUSTOM_KEY_STORE_SPEC,
    &guards::CUSTOM_KEY_STORE_MULTI_REGION,
    &guards::ROTATION_MANUAL_UNNEEDED,
    &guards::ROTATION_MANUAL_REQUIRED,
    &guards::ROTATION_MANUAL_PERIOD,
    &guards::ROTATION_UNSUPPORTED,
    &guards::ROTATION_REQUIRED,
    &guards::ROTATION_PERIOD,
    &guards::REQUIRED_TAGS,
    &guards::ENVIRONMENT_TAG,
    &guards::TAG_LIMITS,
    &guards::TAG_RESERVED,
    &guards::ALIAS_NAME,
    &guards::ALIAS_UNIQUE,
    &guards::KEY_UNIQUE,
    &matching::ALIAS_UNMANAGED_KEY,
    &matching::ALIAS_CONFLICT,
    &matching::ADOPT_KEY_ID,
    &matching::DUPLICATE_KEY,
    &matching::KEY_UNREADABLE,
    &alias::ALIAS_TAKEN,
    &key::IMMUTABLE_ATTRIBUTE,
    &drift::KEY_PENDING_DELETION,
    &drift::DRIFT_KEY_STATE,
    &drift::UNMANAGED_KEY,
];

/// The KMS clients of a connected session.
pub fn clients(session: &kmsctl_aws::Session) -> KmsClients {
    KmsClients {
        propagation: session.propagation.clone(),
        ..KmsClients::new(&session.config)
    }
}

pub use kmsctl_aws::KmsClients;
