//! kmsctl's Organizations domain: service and resource control policies, where they are
//! attached, and the OU tree their conditions refer to.
//!
//! Pure parts: targets, the OU path resolver, the `{{ ou_path '...' }}` template function, the
//! minified form AWS's size limit is counted on, the per-target budget, the offline guards and
//! lints, and the diff. Against AWS: `observe` reads the organization, `ops` applies a plan.

pub mod budget;
pub mod config;
pub mod declared_tree;
pub mod deployer;
pub mod diff;
pub mod domain;
pub mod guards;
pub mod kinds;
pub mod levels;
pub mod lint;
pub mod minify;
pub mod observe;
pub mod ops;
pub mod ou_tree;
pub mod target;
pub mod template;

/// AWS's limit on an SCP or RCP, in characters of the content as uploaded.
pub const MAX_POLICY_CHARS: usize = 5_120;

/// The Organizations client of a connected session.
pub fn client(session: &kmsctl_aws::Session) -> Client {
    Client::new(&session.config)
}

pub use aws_sdk_organizations::Client;
pub use domain::{DesiredOrganization, Organization};
