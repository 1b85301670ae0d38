//! Offline guards on an environment's monitoring declarations.

use std::collections::BTreeMap;

use kmsctl_core::limits::MAX_SNS_TOPIC_NAME_CHARS;
use kmsctl_core::{Control, Finding, Rule};

use crate::catalog;
use crate::config::MonitorDecl;

pub const CONFIG_RULE_IDENTIFIER: Rule = Rule::error(
    "config-rule-identifier",
    Some(Control::Monitoring),
    "an AWS Config managed rule identifier (fix: the nearest valid one)",
);
pub const CONFIG_RULE_UNIQUE: Rule = Rule::error(
    "config-rule-unique",
    Some(Control::Monitoring),
    "no config rule name declared twice",
);
pub const CONFIG_RULE_FREQUENCY: Rule = Rule::error(
    "config-rule-frequency",
    Some(Control::Monitoring),
    "maximum_execution_frequency is one AWS accepts",
);
pub const ALERTS_TOPIC: Rule = Rule::error(
    "alerts-topic",
    Some(Control::Monitoring),
    "the alert topic is an SNS topic name",
);
pub const ALERTS_SUBSCRIPTION: Rule = Rule::error(
    "alerts-subscription",
    Some(Control::Monitoring),
    "every subscription is PROTOCOL:ENDPOINT with a protocol SNS knows",
);

const FREQUENCIES: &[&str] = &[
    "One_Hour",
    "Three_Hours",
    "Six_Hours",
    "Twelve_Hours",
    "TwentyFour_Hours",
];
const PROTOCOLS: &[&str] = &[
    "email",
    "email-json",
    "sms",
    "sqs",
    "lambda",
    "http",
    "https",
    "application",
    "firehose",
];

pub fn check(monitor: &MonitorDecl) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut names: BTreeMap<&str, ()> = BTreeMap::new();
    for (file, rule) in &monitor.rules {
        let rule = rule.get_ref();
        let identifier = rule.identifier.get_ref();
        if catalog::find(identifier).is_none() {
            let fix = match catalog::nearest(identifier) {
                Some(nearest) => format!("did you mean identifier = \"{nearest}\"?"),
                None => "use an AWS Config managed rule identifier (the list is in AWS's Config developer guide)".to_owned(),
            };
            findings.push(Finding::of(
                &CONFIG_RULE_IDENTIFIER,
                file.location(rule.identifier.span()),
                format!(
                    "config rule {}: {identifier:?} is not an AWS managed rule identifier",
                    rule.name.get_ref()
                ),
                fix,
            ));
        }
        if names.insert(rule.name.get_ref(), ()).is_some() {
            findings.push(Finding::of(
                &CONFIG_RULE_UNIQUE,
                file.location(rule.name.span()),
                format!("config rule {} is declared twice", rule.name.get_ref()),
                "give each rule its own name",
            ));
        }
        if let Some(frequency) = &rule.maximum_execution_frequency
            && !FREQUENCIES.contains(&frequency.get_ref().as_str())
        {
            findings.push(Finding::of(
                &CONFIG_RULE_FREQUENCY,
                file.location(frequency.span()),
                format!(
                    "maximum_execution_frequency = {:?} is not one AWS accepts",
                    frequency.get_ref()
                ),
                format!("use one of: {}", FREQUENCIES.join(", ")),
            ));
        }
    }
    if let Some((file, alerts)) = &monitor.alerts {
        let alerts = alerts.get_ref();
        let topic = alerts.topic.get_ref();
        if topic.is_empty()
            || topic.len() > MAX_SNS_TOPIC_NAME_CHARS
            || !topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            findings.push(Finding::of(
                &ALERTS_TOPIC,
                file.location(alerts.topic.span()),
                format!("topic = {topic:?} is not an SNS topic name"),
                format!("use 1–{MAX_SNS_TOPIC_NAME_CHARS} letters, digits, '-' and '_'"),
            ));
        }
        for subscription in &alerts.subscriptions {
            let valid =
                subscription
                    .get_ref()
                    .split_once(':')
                    .is_some_and(|(protocol, endpoint)| {
                        PROTOCOLS.contains(&protocol) && !endpoint.is_empty()
                    });
            if !valid {
                findings.push(Finding::of(
                    &ALERTS_SUBSCRIPTION,
                    file.location(subscription.span()),
                    format!(
                        "subscription {:?} is not PROTOCOL:ENDPOINT",
                        subscription.get_ref()
                    ),
                    format!(
                        "e.g. \"email:secops@example.com\"; protocols: {}",
                        PROTOCOLS.join(", ")
                    ),
                ));
            }
        }
    }
    findings
}
