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
pub mod key;
pub mod key_policy;
pub mod kinds;
pub mod list;
pub mod manual_rotation;
pub mod matching;
pub mod observe;
pub mod ops;
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

/// The KMS clients of a connected session.
pub fn clients(session: &kmsctl_aws::Session) -> KmsClients {
    KmsClients::new(&session.config)
}

pub use kmsctl_aws::KmsClients;
