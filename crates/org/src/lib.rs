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
pub mod levels;
pub mod lint;
pub mod minify;
pub mod observe;
pub mod ops;
pub mod ou_tree;
pub mod target;
pub mod template;
pub mod validate;

/// Whether a resource kind belongs to this domain.
pub fn owns(kind: &str) -> bool {
    [
        diff::KIND_POLICY_TYPE,
        diff::KIND_POLICY,
        diff::KIND_ATTACHMENT,
    ]
    .contains(&kind)
}

/// The Organizations client of a connected session.
pub fn client(session: &kmsctl_aws::Session) -> Client {
    Client::new(&session.config)
}

pub use aws_sdk_organizations::Client;
