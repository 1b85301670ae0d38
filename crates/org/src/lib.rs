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
pub mod drift;
pub mod guards;
pub mod import;
pub mod kinds;
pub mod levels;
pub mod lint;
pub mod minify;
pub mod observe;
pub mod ops;
pub mod ou_tree;
pub mod target;
pub mod template;
pub mod weakened;

/// The rules this domain's checks report.
pub const RULES: &[&kmsctl_core::Rule] = &[
    &declared_tree::ORG_TREE,
    &weakened::GUARDRAIL_WEAKENED,
    &declared_tree::ORG_TREE_MISMATCH,
    &guards::ORG_POLICY_TYPE,
    &guards::ORG_POLICY_UNATTACHED,
    &guards::ORG_TARGET,
    &guards::ORG_POLICY_BUDGET,
    &guards::ORG_POLICY_UNKNOWN,
    &guards::ORG_POLICY_SIZE,
    &guards::ORG_POLICY_TEMPLATE,
    &guards::ORG_POLICY_JSON,
    &guards::ORG_POLICY_VERSION,
    &guards::ORG_POLICY_SID,
    &guards::ORG_POLICY_STATEMENT,
    &guards::ORG_SCP_PRINCIPAL,
    &guards::ORG_RCP_EFFECT,
    &guards::ORG_RCP_PRINCIPAL,
    &deployer::ORG_DEPLOYER_DENIED,
    &deployer::ORG_DEPLOYER_KNOWINGLY_DENIED,
    &diff::ORG_POLICY_UNMANAGED,
    &drift::UNMANAGED_ORG_POLICY,
];

/// The Organizations client of a connected session.
pub fn client(session: &kmsctl_aws::Session) -> Clients {
    let config = aws_sdk_organizations::config::Builder::from(&session.config)
        .retry_classifier(ErrorCodes::new(
            "Organizations busy",
            ORGANIZATIONS_BUSY,
            &[],
        ))
        .build();
    Clients {
        organizations: Client::from_conf(config),
        propagation: session.propagation.clone(),
    }
}

pub use aws_sdk_organizations::Client;
use kmsctl_aws::retry_codes::{ErrorCodes, ORGANIZATIONS_BUSY};

/// The Organizations client, and how apply waits for what it wrote to become visible. It
/// dereferences to the SDK client, which every read takes.
#[derive(Debug, Clone)]
pub struct Clients {
    pub organizations: Client,
    pub propagation: kmsctl_aws::Propagation,
}

impl std::ops::Deref for Clients {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.organizations
    }
}
pub use domain::{DesiredOrganization, Organization};
