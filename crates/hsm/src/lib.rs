//! kmsctl's CloudHSM domain: the cluster, its HSMs and the KMS custom key store, planned as a
//! lifecycle with operator gates. Pure parts: the `hsm.toml` declarations, the offline guards
//! (subnets, HSM count, trust anchor, no password in files), the desired state and the diff.
//! Against AWS: `observe` (CloudHSM, EC2 subnets, KMS custom key stores) and `ops`.

pub mod config;
pub mod connection;
pub mod desired;
pub mod diff;
pub mod domain;
pub mod drift;
pub mod ec2;
pub mod guards;
pub mod kinds;
pub mod observe;
pub mod ops;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trust_anchor;

use std::sync::Arc;
use std::time::Duration;

pub use desired::DesiredHsm;
pub use diff::{HsmDiff, StoreReadiness, diff};
pub use domain::Hsm;
pub use observe::{ObservedHsmSetup, Scope, observe};
pub use ops::apply_change;

/// The name under which this domain keeps its scope in a plan.
pub const DOMAIN: &str = "hsm";

/// The rules this domain's checks report.
pub const RULES: &[&kmsctl_core::Rule] = &[
    &guards::HSM_SUBNETS,
    &guards::HSM_COUNT,
    &guards::HSM_TYPE,
    &guards::HSM_PASSWORD_ENV,
    &guards::HSM_KEY_STORE_NAME,
    &guards::HSM_TRUST_ANCHOR,
    &diff::HSM_SUBNETS_AZ,
    &diff::HSM_KEY_STORE_CLUSTER,
];

/// How apply waits on AWS: poll every `interval`, give up after `timeout`, report each poll.
#[derive(Clone)]
pub struct Waits {
    pub interval: Duration,
    pub timeout: Duration,
    pub progress: Arc<dyn Fn(String) + Send + Sync>,
}

impl std::fmt::Debug for Waits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waits")
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for Waits {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(45 * 60),
            progress: Arc::new(|message| tracing::info!("{message}")),
        }
    }
}

/// Where apply reads the key store password from: the process environment, or (tests) a
/// fixed table. Never a file, never the plan.
#[derive(Clone, Default)]
pub enum Secrets {
    #[default]
    Environment,
    Fixed(std::collections::BTreeMap<String, String>),
}

impl Secrets {
    pub fn read(&self, variable: &str) -> Option<String> {
        match self {
            Self::Environment => std::env::var(variable).ok(),
            Self::Fixed(table) => table.get(variable).cloned(),
        }
        .filter(|value| !value.is_empty())
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values.
        f.write_str(match self {
            Self::Environment => "Secrets::Environment",
            Self::Fixed(_) => "Secrets::Fixed(..)",
        })
    }
}

/// The clients of the services the lifecycle spans.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cloudhsm: aws_sdk_cloudhsmv2::Client,
    /// DescribeSubnets.
    pub ec2: ec2::Ec2,
    /// Custom key store calls.
    pub kms: aws_sdk_kms::Client,
    pub waits: Waits,
    pub secrets: Secrets,
    /// How apply waits for what it wrote to become visible.
    pub propagation: kmsctl_aws::Propagation,
}

/// The CloudHSM clients of a connected session.
pub fn clients(session: &kmsctl_aws::Session, waits: Waits) -> Clients {
    Clients {
        cloudhsm: aws_sdk_cloudhsmv2::Client::new(&session.config),
        ec2: ec2::Ec2::new(&session.config),
        kms: aws_sdk_kms::Client::new(&session.config),
        waits,
        secrets: Secrets::Environment,
        propagation: session.propagation.clone(),
    }
}
