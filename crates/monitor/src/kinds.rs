//! The resource kinds of the monitoring domain, as they appear in plan addresses.

pub const CONFIG_RECORDER: &str = "config_recorder";
pub const CONFIG_RULE: &str = "config_rule";
pub const SNS_TOPIC: &str = "sns_topic";
pub const SNS_TOPIC_POLICY: &str = "sns_topic_policy";
pub const SNS_SUBSCRIPTION: &str = "sns_subscription";
pub const EVENTS_RULE: &str = "events_rule";
pub const EVENTS_TARGET: &str = "events_target";

pub const ALL: [&str; 7] = [
    CONFIG_RECORDER,
    CONFIG_RULE,
    SNS_TOPIC,
    SNS_TOPIC_POLICY,
    SNS_SUBSCRIPTION,
    EVENTS_RULE,
    EVENTS_TARGET,
];
