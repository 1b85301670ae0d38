//! kmsctl's monitoring domain: AWS Config managed rules (and the configuration recorder they
//! need) and CloudTrail-driven EventBridge alerts to an SNS topic, per environment, with the
//! check that a CloudTrail trail delivers the KMS events those alerts match.
//!
//! Pure parts: the catalog of AWS managed rule identifiers (with the nearest valid name for a
//! typo), the CloudTrail event names of KMS API calls, the seed's severity table, the EventBridge patterns per severity and a matcher, the
//! offline guards, the topic key check, the desired state and the diff. Against AWS: `observe`
//! and `ops`.

pub mod catalog;
pub mod config;
pub mod desired;
pub mod diff;
pub mod domain;
pub mod drift;
pub mod event_names;
pub mod guards;
pub mod kinds;
pub mod list;
pub mod observe;
pub mod ops;
pub mod pattern;
pub mod severity;
pub mod topic_key;

pub use desired::{DesiredMonitor, build};
pub use diff::{MonitorDiff, diff};
pub use domain::Monitor;
pub use observe::{ObservedMonitor, Scope, observe};
pub use ops::apply_change;

/// The name under which this domain keeps its scope in a plan.
pub const DOMAIN: &str = "monitor";

/// The rules this domain's checks report.
pub const RULES: &[&kmsctl_core::Rule] = &[
    &guards::CONFIG_RULE_IDENTIFIER,
    &guards::CONFIG_RULE_UNIQUE,
    &guards::CONFIG_RULE_FREQUENCY,
    &guards::CONFIG_RULE_DESCRIPTION,
    &guards::ALERTS_TOPIC,
    &guards::ALERTS_SUBSCRIPTION,
    &guards::ALERTS_EVENT_NAME,
    &guards::ALERTS_RULE,
    &diff::CONFIG_RECORDER_MISSING,
    &diff::CONFIG_RECORDER_STOPPED,
    &diff::CONFIG_RECORDER_NAME,
    &diff::CLOUDTRAIL_MISSING,
    &diff::cloudtrail::CLOUDTRAIL_UNREADABLE,
    &topic_key::ALERTS_TOPIC_KEY,
    &topic_key::ALERTS_TOPIC_KEY_POLICY,
];

/// The clients of the services monitoring spans.
#[derive(Debug, Clone)]
pub struct Clients {
    pub config: aws_sdk_config::Client,
    pub sns: aws_sdk_sns::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// Read only: whether a trail delivers the KMS events the alerts match.
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// How apply waits for what it wrote to become visible.
    pub propagation: kmsctl_aws::Propagation,
}

/// The monitoring clients of a connected session.
pub fn clients(session: &kmsctl_aws::Session) -> Clients {
    Clients {
        config: aws_sdk_config::Client::new(&session.config),
        sns: kmsctl_aws::sns::sns_client(&session.config),
        events: aws_sdk_eventbridge::Client::new(&session.config),
        cloudtrail: aws_sdk_cloudtrail::Client::new(&session.config),
        propagation: session.propagation.clone(),
    }
}
