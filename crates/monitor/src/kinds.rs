//! The resource kinds of the monitoring domain, as they appear in plan addresses, with the
//! control each kind's drift concerns.

use kmsctl_core::{Control, ResourceKind};

pub const CONFIG_RECORDER: &str = "config_recorder";
pub const CONFIG_RULE: &str = "config_rule";
pub const SNS_TOPIC: &str = "sns_topic";
pub const SNS_TOPIC_POLICY: &str = "sns_topic_policy";
pub const SNS_SUBSCRIPTION: &str = "sns_subscription";
pub const EVENTS_RULE: &str = "events_rule";
pub const EVENTS_TARGET: &str = "events_target";

/// Every kind is monitoring and alerting.
pub const KINDS: [ResourceKind; 7] = [
    monitoring(CONFIG_RECORDER),
    monitoring(CONFIG_RULE),
    monitoring(SNS_TOPIC),
    monitoring(SNS_TOPIC_POLICY),
    monitoring(SNS_SUBSCRIPTION),
    monitoring(EVENTS_RULE),
    monitoring(EVENTS_TARGET),
];

const fn monitoring(name: &'static str) -> ResourceKind {
    ResourceKind {
        name,
        control: Some(Control::Monitoring),
    }
}
