//! kmsctl's KMS domain: observe, diff and apply keys (`kms_key`), aliases (`kms_alias`), key
//! policies (`kms_key_policy`) and rotation (`kms_key_rotation`) of one environment.

pub mod alias;
pub mod apply;
pub mod config;
mod create_key;
pub mod desired;
pub mod diff;
pub mod guards;
pub mod handle;
pub mod key;
pub mod key_policy;
pub mod live;
pub mod matching;
pub mod observe;
pub mod ops;
pub mod plan;
pub mod rotate;
pub mod rotation;
pub mod spec;

pub use apply::apply_change;
pub use config::KeyDecl;
pub use desired::{DesiredError, DesiredKey};
pub use diff::{KeysDiff, diff, fingerprints};
pub use observe::{Observation, Options, Scope, observe};
pub use plan::plan;

/// The name under which this domain keeps its scope in a plan.
pub const DOMAIN: &str = "kms";

/// Whether a resource kind belongs to this domain.
pub fn owns(kind: &str) -> bool {
    [key::KIND, alias::KIND, key_policy::KIND, rotation::KIND].contains(&kind)
}

/// The KMS clients of a connected session.
pub fn clients(session: &kmsctl_aws::Session) -> KmsClients {
    KmsClients::new(&session.config)
}

pub use kmsctl_aws::KmsClients;
