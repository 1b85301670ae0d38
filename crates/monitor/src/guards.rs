//! Offline guards on an environment's monitoring declarations.

use std::collections::BTreeMap;

use kmsctl_core::limits::MAX_SNS_TOPIC_NAME_CHARS;
use kmsctl_core::{Control, Finding, Rule};

use crate::catalog;
use crate::config::{AlertsDecl, MonitorDecl};
use crate::event_names;
use crate::severity;

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
pub const CONFIG_RULE_DESCRIPTION: Rule = Rule::error(
    "config-rule-description",
    Some(Control::Monitoring),
    "a config rule's description fits AWS Config's 256 characters",
);
pub const ALERTS_EVENT_NAME: Rule = Rule::error(
    "alerts-event-name",
    Some(Control::Monitoring),
    "every event name of [alerts.severity] is the CloudTrail event name of a KMS API call (fix: the nearest one)",
);
pub const ALERTS_RULE: Rule = Rule::error(
    "alerts-rule",
    Some(Control::Monitoring),
    "alert rule names, descriptions and the target id are ones EventBridge accepts, each name once, for a level that has a rule",
);

/// AWS Config's longest rule description.
const MAX_CONFIG_RULE_DESCRIPTION_CHARS: usize = 256;
/// EventBridge's longest rule name and target id.
const MAX_EVENTS_NAME_CHARS: usize = 64;
/// EventBridge's longest rule description.
const MAX_EVENTS_DESCRIPTION_CHARS: usize = 512;

/// An EventBridge rule name or target id: 1–64 of letters, digits, `.`, `-` and `_`.
fn events_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_EVENTS_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

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
        if let Some(description) = &rule.description
            && description.get_ref().chars().count() > MAX_CONFIG_RULE_DESCRIPTION_CHARS
        {
            findings.push(Finding::of(
                &CONFIG_RULE_DESCRIPTION,
                file.location(description.span()),
                format!(
                    "config rule {}: the description has {} characters; AWS Config takes at most {MAX_CONFIG_RULE_DESCRIPTION_CHARS}",
                    rule.name.get_ref(),
                    description.get_ref().chars().count()
                ),
                format!("shorten it to {MAX_CONFIG_RULE_DESCRIPTION_CHARS} characters"),
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
        for name in alerts.severity.keys() {
            if let Some((message, fix)) = event_names::problem(name.get_ref()) {
                findings.push(Finding::of(
                    &ALERTS_EVENT_NAME,
                    file.location(name.span()),
                    format!("[alerts.severity] {message}: the alert would never fire"),
                    fix,
                ));
            }
        }
        check_alert_rules(file, alerts, &mut findings);
    }
    findings
}

/// `target_id` and `[alerts.rules.LEVEL]`: names EventBridge accepts, each once, and each for a
/// level that gets a rule.
fn check_alert_rules(
    file: &kmsctl_core::source::SourceFile,
    alerts: &AlertsDecl,
    findings: &mut Vec<Finding>,
) {
    let name_fix = format!("use 1–{MAX_EVENTS_NAME_CHARS} letters, digits, '.', '-' and '_'");
    if let Some(target_id) = &alerts.target_id
        && !events_name(target_id.get_ref())
    {
        findings.push(Finding::of(
            &ALERTS_RULE,
            file.location(target_id.span()),
            format!(
                "target_id = {:?} is not an EventBridge target id",
                target_id.get_ref()
            ),
            name_fix.clone(),
        ));
    }
    let table = severity::table(&alerts.severity_overrides());
    let levels = severity::levels(&table, alerts.min_severity);
    let mut names: BTreeMap<&str, severity::Severity> = BTreeMap::new();
    for (level, rule) in alerts.rules.declared() {
        let decl = rule.get_ref();
        if !levels.contains_key(&level) {
            let why = if level < alerts.min_severity {
                format!(
                    "it is below min_severity = \"{}\"",
                    alerts.min_severity.name()
                )
            } else {
                "no event of the severity table has that level".to_owned()
            };
            findings.push(Finding::of(
                &ALERTS_RULE,
                file.location(rule.span()),
                format!(
                    "[alerts.rules.{}] names a rule kmsctl does not make: {why}",
                    level.name()
                ),
                if level < alerts.min_severity {
                    format!(
                        "lower min_severity to \"{}\", or remove [alerts.rules.{}]",
                        level.name(),
                        level.name()
                    )
                } else {
                    format!(
                        "give an event that level in [alerts.severity], or remove [alerts.rules.{}]",
                        level.name()
                    )
                },
            ));
        }
        if let Some(name) = &decl.name {
            if !events_name(name.get_ref()) {
                findings.push(Finding::of(
                    &ALERTS_RULE,
                    file.location(name.span()),
                    format!(
                        "[alerts.rules.{}] name = {:?} is not an EventBridge rule name",
                        level.name(),
                        name.get_ref()
                    ),
                    name_fix.clone(),
                ));
            } else if let Some(other) = names.insert(name.get_ref(), level) {
                findings.push(Finding::of(
                    &ALERTS_RULE,
                    file.location(name.span()),
                    format!(
                        "[alerts.rules.{}] and [alerts.rules.{}] are both named {:?}",
                        other.name(),
                        level.name(),
                        name.get_ref()
                    ),
                    "give each level's rule its own name",
                ));
            }
        }
        if let Some(description) = &decl.description
            && description.get_ref().chars().count() > MAX_EVENTS_DESCRIPTION_CHARS
        {
            findings.push(Finding::of(
                &ALERTS_RULE,
                file.location(description.span()),
                format!(
                    "[alerts.rules.{}] description has {} characters; EventBridge takes at most {MAX_EVENTS_DESCRIPTION_CHARS}",
                    level.name(),
                    description.get_ref().chars().count()
                ),
                format!("shorten it to {MAX_EVENTS_DESCRIPTION_CHARS} characters"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests_support::from_text;

    fn findings(text: &str) -> Vec<Finding> {
        check(&from_text(text))
    }

    fn line(finding: &Finding) -> String {
        finding.location.to_string()
    }

    #[test]
    fn an_event_name_that_is_no_kms_call_is_refused_at_its_line_with_the_fix() {
        let found = findings(
            "[alerts]\ntopic = \"t\"\n\n[alerts.severity]\nScheduleKeyDeletion = \"critical\"\nDisableKeyRotatoin = \"high\"\n\"kms:DisableKeyRotation\" = \"high\"\n",
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found.iter().all(|f| f.rule == "alerts-event-name"));
        let typo = found
            .iter()
            .find(|f| f.message.contains("DisableKeyRotatoin"))
            .expect("the typo");
        assert_eq!(line(typo), "environments/prod/monitor.toml:6");
        assert_eq!(typo.fix, "did you mean DisableKeyRotation?");
        assert!(
            typo.message.contains("would never fire"),
            "{}",
            typo.message
        );
        let prefixed = found
            .iter()
            .find(|f| f.message.contains("kms:DisableKeyRotation"))
            .expect("the prefix");
        assert_eq!(line(prefixed), "environments/prod/monitor.toml:7");
        assert_eq!(
            prefixed.fix,
            "drop the kms: prefix: write DisableKeyRotation"
        );
    }

    #[test]
    fn alert_rule_names_descriptions_and_the_target_id_are_checked() {
        let ok = "[alerts]\ntopic = \"t\"\ntarget_id = \"SendToSNS\"\n\n[alerts.rules.critical]\nname = \"kms-key-deletion-alert\"\ndescription = \"Alert on KMS key deletion scheduling\"\n";
        assert_eq!(findings(ok), vec![]);
        let bad = "[alerts]\ntopic = \"t\"\ntarget_id = \"send to sns\"\n\n[alerts.rules.critical]\nname = \"kms-alert\"\n\n[alerts.rules.high]\nname = \"kms-alert\"\n\n[alerts.rules.low]\nname = \"low-alert\"\n";
        let found = findings(bad);
        let messages: Vec<(String, &str)> = found
            .iter()
            .map(|f| (line(f), f.message.as_str()))
            .collect();
        assert!(found.iter().all(|f| f.rule == "alerts-rule"), "{found:#?}");
        assert_eq!(found.len(), 3, "{messages:#?}");
        assert!(messages[0].1.contains("target_id = \"send to sns\""));
        assert!(
            messages[1].1.contains("[alerts.rules.low] names a rule kmsctl does not make: it is below min_severity = \"high\""),
            "{messages:#?}"
        );
        assert!(
            messages[2]
                .1
                .contains("[alerts.rules.high] and [alerts.rules.critical] are both named"),
            "{messages:#?}"
        );
        assert_eq!(messages[2].0, "environments/prod/monitor.toml:6");
    }

    #[test]
    fn a_config_rule_description_longer_than_aws_config_takes_is_refused() {
        let long = "x".repeat(257);
        let found = findings(&format!(
            "[[config_rule]]\nname = \"r\"\nidentifier = \"CMK_BACKING_KEY_ROTATION_ENABLED\"\ndescription = \"{long}\"\n"
        ));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "config-rule-description");
        assert_eq!(line(&found[0]), "environments/prod/monitor.toml:4");
    }
}
