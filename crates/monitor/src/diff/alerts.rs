//! `sns_topic`, `sns_topic_policy`, `sns_subscription`, `events_rule`, `events_target`: the
//! alert topic and the EventBridge rules (one per severity level) that publish to it.

use std::collections::BTreeSet;

use kmsctl_core::policy;
use kmsctl_core::{Action, Address, AttributeChange, Note, NoteLevel};
use serde_json::{Value, json};

use super::{MonitorDiff, arn, change, missing_tags, tags_change};
use crate::desired::{DesiredAlerts, DesiredMonitor};
use crate::kinds::*;
use crate::observe::{ObservedMonitor, ObservedTopic, managed_by};
use crate::ops::MonitorOp;
use crate::pattern;

pub(super) fn diff(desired: &DesiredMonitor, observed: &ObservedMonitor, out: &mut MonitorDiff) {
    let mut topic_changes = Vec::new();
    if let Some(alerts) = &desired.alerts {
        topic_changes = topic(desired, alerts, observed, out);
    }
    let target_changes = event_rules(desired, observed, &topic_changes, out);
    retired_topics(desired, observed, &target_changes, out);
}

fn subscription_address(topic: &str, protocol: &str, endpoint: &str) -> Address {
    Address::new(SNS_SUBSCRIPTION, format!("{topic}/{protocol}:{endpoint}"))
}

fn same_policy(live: &str, wanted: &Value) -> bool {
    match (policy::parse(live), policy::parse(&wanted.to_string())) {
        (Ok(a), Ok(b)) => policy::semantically_equal(&a, &b),
        _ => false,
    }
}

/// The topic, its policy and its subscriptions. Returns the address of the topic's change, if
/// any, for what must follow it.
fn topic(
    desired: &DesiredMonitor,
    alerts: &DesiredAlerts,
    observed: &ObservedMonitor,
    out: &mut MonitorDiff,
) -> Vec<Address> {
    let name = &alerts.topic_name;
    let address = Address::new(SNS_TOPIC, name.clone());
    let source = Some(alerts.location.clone());
    let live = observed.topic(&alerts.topic_arn);
    let mut after_topic = Vec::new();
    match live {
        None => {
            let mut attributes = vec![AttributeChange::added("arn", alerts.topic_arn.clone())];
            let mut topic_attributes = std::collections::BTreeMap::new();
            if let Some(key) = &alerts.kms_master_key_id {
                attributes.push(AttributeChange::added("kms_master_key_id", key.clone()));
                topic_attributes.insert("KmsMasterKeyId".to_owned(), key.clone());
            }
            out.changes.push(change(
                address.clone(),
                Action::Create,
                attributes,
                vec![MonitorOp::CreateTopic {
                    name: name.clone(),
                    attributes: topic_attributes,
                    tags: desired.tags.clone(),
                }],
                vec![],
                source.clone(),
            ));
            after_topic.push(address.clone());
        }
        Some(live) => {
            let mut attributes = Vec::new();
            let mut operations = Vec::new();
            if live.kms_master_key_id != alerts.kms_master_key_id {
                attributes.push(AttributeChange::new(
                    "kms_master_key_id",
                    live.kms_master_key_id.clone().map(Into::into),
                    alerts.kms_master_key_id.clone().map(Into::into),
                ));
                operations.push(MonitorOp::SetTopicAttribute {
                    topic_arn: arn(&live.arn),
                    name: "KmsMasterKeyId".into(),
                    value: alerts.kms_master_key_id.clone().unwrap_or_default(),
                });
            }
            if let Some(tags) = tags_change(&desired.tags, &live.tags) {
                attributes.push(tags);
                operations.push(MonitorOp::TagTopic {
                    topic_arn: arn(&live.arn),
                    tags: missing_tags(&desired.tags, &live.tags),
                });
            }
            if !operations.is_empty() {
                let action = if managed_by(&live.tags, &desired.environment) {
                    Action::Update
                } else {
                    Action::Adopt
                };
                out.changes.push(change(
                    address.clone(),
                    action,
                    attributes,
                    operations,
                    vec![],
                    source.clone(),
                ));
                after_topic.push(address.clone());
            }
        }
    }

    // The policy.
    let live_policy = live.and_then(|t| t.policy.as_deref());
    if !live_policy.is_some_and(|p| same_policy(p, &alerts.policy)) {
        let mut attributes = match live_policy.map(policy::parse) {
            Some(Ok(before)) => match policy::parse(&alerts.policy.to_string()) {
                Ok(after) => policy::attribute_changes(&before, &after, "policy "),
                Err(_) => vec![],
            },
            _ => vec![],
        };
        if attributes.is_empty() {
            if let Some(live_policy) = live_policy {
                attributes.push(AttributeChange::new(
                    "policy",
                    Some(live_policy.into()),
                    Some(alerts.policy.clone()),
                ));
            } else {
                let rule_arns: Vec<&str> = alerts.rules.iter().map(|r| r.arn.as_str()).collect();
                attributes.push(AttributeChange::added(
                    "publish",
                    "events.amazonaws.com, only from these rules (aws:SourceArn)",
                ));
                attributes.push(AttributeChange::added("rules", json!(rule_arns)));
                attributes.push(AttributeChange::added("deny", "sns:Publish without TLS"));
            }
        }
        out.changes.push(change(
            Address::new(SNS_TOPIC_POLICY, name.clone()),
            if live.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            attributes,
            vec![MonitorOp::SetTopicAttribute {
                topic_arn: arn(&alerts.topic_arn),
                name: "Policy".into(),
                value: alerts.policy.to_string(),
            }],
            after_topic.clone(),
            source.clone(),
        ));
    }

    // Subscriptions.
    let live_subscriptions = live.map(|t| t.subscriptions.as_slice()).unwrap_or_default();
    for wanted in &alerts.subscriptions {
        let found = live_subscriptions
            .iter()
            .find(|s| s.protocol == wanted.protocol && s.endpoint == wanted.endpoint);
        let address = subscription_address(name, &wanted.protocol, &wanted.endpoint);
        match found {
            Some(s) if s.pending() => out.notes.push(Note::new(
                NoteLevel::Info,
                Some(address),
                format!("{}:{} has not confirmed the subscription yet: no alert reaches it until it does", wanted.protocol, wanted.endpoint),
            )),
            Some(_) => {}
            None => out.changes.push(change(
                address,
                Action::Create,
                vec![AttributeChange::added("endpoint", format!("{}:{}", wanted.protocol, wanted.endpoint))],
                vec![MonitorOp::Subscribe {
                    topic_arn: arn(&alerts.topic_arn),
                    protocol: wanted.protocol.clone(),
                    endpoint: wanted.endpoint.clone(),
                }],
                after_topic.clone(),
                Some(wanted.location.clone()),
            )),
        }
    }
    // Subscriptions the file does not declare, on a topic kmsctl manages: alerts go only where
    // the files say.
    if let Some(live) = live.filter(|t| managed_by(&t.tags, &desired.environment)) {
        remove_undeclared_subscriptions(live, alerts, out);
    }
    after_topic
}

fn remove_undeclared_subscriptions(
    live: &ObservedTopic,
    alerts: &DesiredAlerts,
    out: &mut MonitorDiff,
) {
    for s in &live.subscriptions {
        if alerts
            .subscriptions
            .iter()
            .any(|w| w.protocol == s.protocol && w.endpoint == s.endpoint)
        {
            continue;
        }
        let address = subscription_address(&live.name, &s.protocol, &s.endpoint);
        if s.pending() {
            out.notes.push(Note::new(
                NoteLevel::Warning,
                Some(address),
                format!("{}:{} is subscribed but not declared; it cannot be removed while its confirmation is pending (AWS drops it after 3 days unconfirmed)", s.protocol, s.endpoint),
            ));
            continue;
        }
        out.changes.push(change(
            address,
            Action::Delete,
            vec![AttributeChange::new(
                "endpoint",
                Some(format!("{}:{}", s.protocol, s.endpoint).into()),
                None,
            )],
            vec![MonitorOp::Unsubscribe {
                subscription_arn: arn(&s.arn),
            }],
            vec![],
            None,
        ));
    }
}

/// The alert rules and their targets. Returns the target changes, which retiring a topic
/// must follow.
fn event_rules(
    desired: &DesiredMonitor,
    observed: &ObservedMonitor,
    topic_changes: &[Address],
    out: &mut MonitorDiff,
) -> Vec<Address> {
    let mut target_changes = Vec::new();
    let wanted_rules = desired
        .alerts
        .as_ref()
        .map(|a| a.rules.as_slice())
        .unwrap_or_default();
    for (alerts, wanted) in desired
        .alerts
        .iter()
        .flat_map(|a| a.rules.iter().map(move |r| (a, r)))
    {
        let address = Address::new(EVENTS_RULE, wanted.name.clone());
        let source = Some(alerts.location.clone());
        let live = observed.event_rule(&wanted.name);
        let state = rule_state(&wanted.pattern);
        let put = MonitorOp::PutRule {
            name: wanted.name.clone(),
            pattern: wanted.pattern.to_string(),
            description: wanted.description.clone(),
            tags: desired.tags.clone(),
            state: (state != ENABLED).then(|| state.to_owned()),
        };
        let mut rule_change = None;
        match live {
            None => {
                out.changes.push(change(
                    address.clone(),
                    Action::Create,
                    vec![
                        AttributeChange::added(
                            "events",
                            wanted.pattern["detail"]["eventName"].clone(),
                        ),
                        AttributeChange::added("severity", wanted.severity.name()),
                    ],
                    vec![put],
                    vec![],
                    source.clone(),
                ));
                rule_change = Some(address.clone());
            }
            Some(live) => {
                let mut attributes = Vec::new();
                let mut operations = Vec::new();
                let live_pattern: Option<Value> = live
                    .pattern
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p).ok());
                let same_pattern = live_pattern
                    .as_ref()
                    .is_some_and(|p| pattern::semantically_equal(p, &wanted.pattern));
                if !same_pattern {
                    attributes.push(AttributeChange::new(
                        "event_pattern",
                        live.pattern
                            .clone()
                            .map(|p| live_pattern.unwrap_or(Value::String(p))),
                        Some(wanted.pattern.clone()),
                    ));
                }
                if live.state != state {
                    attributes.push(AttributeChange::new(
                        "state",
                        Some(live.state.clone().into()),
                        Some(state.into()),
                    ));
                }
                if live.description.as_deref() != Some(wanted.description.as_str()) {
                    attributes.push(AttributeChange::new(
                        "description",
                        live.description.clone().map(Into::into),
                        Some(wanted.description.clone().into()),
                    ));
                }
                if !attributes.is_empty() {
                    operations.push(put);
                }
                if let Some(tags) = tags_change(&desired.tags, &live.tags) {
                    attributes.push(tags);
                    operations.push(MonitorOp::TagRule {
                        arn: arn(&live.arn),
                        tags: missing_tags(&desired.tags, &live.tags),
                    });
                }
                if !operations.is_empty() {
                    let action = if managed_by(&live.tags, &desired.environment) {
                        Action::Update
                    } else {
                        Action::Adopt
                    };
                    out.changes.push(change(
                        address.clone(),
                        action,
                        attributes,
                        operations,
                        vec![],
                        source.clone(),
                    ));
                    rule_change = Some(address.clone());
                }
            }
        }
        // The target: the topic, under the declared id (kmsctl's by default); any other target
        // of a managed rule goes.
        let target_id = alerts.target_id.as_str();
        let live_targets = live.map(|r| r.targets.clone()).unwrap_or_default();
        let target_address = Address::new(EVENTS_TARGET, format!("{}/{target_id}", wanted.name));
        let live_arn = live_targets.get(target_id);
        if live_arn != Some(&alerts.topic_arn) {
            out.changes.push(change(
                target_address.clone(),
                if live_arn.is_some() {
                    Action::Update
                } else {
                    Action::Create
                },
                vec![AttributeChange::new(
                    "arn",
                    live_arn.cloned().map(Into::into),
                    Some(alerts.topic_arn.clone().into()),
                )],
                vec![MonitorOp::PutTargets {
                    rule: wanted.name.clone(),
                    id: target_id.to_owned(),
                    arn: arn(&alerts.topic_arn),
                }],
                rule_change.iter().chain(topic_changes).cloned().collect(),
                source.clone(),
            ));
            target_changes.push(target_address);
        }
        if live.is_some_and(|r| managed_by(&r.tags, &desired.environment)) {
            for (id, arn) in live_targets
                .iter()
                .filter(|(id, _)| id.as_str() != target_id)
            {
                let address = Address::new(EVENTS_TARGET, format!("{}/{id}", wanted.name));
                out.changes.push(change(
                    address.clone(),
                    Action::Delete,
                    vec![AttributeChange::new("arn", Some(arn.clone().into()), None)],
                    vec![MonitorOp::RemoveTargets {
                        rule: wanted.name.clone(),
                        ids: vec![id.clone()],
                    }],
                    vec![],
                    None,
                ));
                target_changes.push(address);
            }
        }
    }
    // Managed alert rules no severity level asks for any more (or `[alerts]` removed).
    for live in &observed.event_rules {
        if !managed_by(&live.tags, &desired.environment)
            || wanted_rules.iter().any(|r| r.name == live.name)
        {
            continue;
        }
        let mut removals = Vec::new();
        for (id, arn) in &live.targets {
            let address = Address::new(EVENTS_TARGET, format!("{}/{id}", live.name));
            out.changes.push(change(
                address.clone(),
                Action::Delete,
                vec![AttributeChange::new("arn", Some(arn.clone().into()), None)],
                vec![MonitorOp::RemoveTargets {
                    rule: live.name.clone(),
                    ids: vec![id.clone()],
                }],
                vec![],
                None,
            ));
            removals.push(address.clone());
            target_changes.push(address);
        }
        out.changes.push(change(
            Address::new(EVENTS_RULE, live.name.clone()),
            Action::Delete,
            vec![AttributeChange::new(
                "event_pattern",
                live.pattern.clone().map(Into::into),
                None,
            )],
            vec![MonitorOp::DeleteRule {
                name: live.name.clone(),
            }],
            removals,
            None,
        ));
    }
    target_changes
}

/// Managed topics kmsctl's rules pointed at that the files no longer name (the topic was
/// renamed or `[alerts]` removed): deleted once no rule targets them.
fn retired_topics(
    desired: &DesiredMonitor,
    observed: &ObservedMonitor,
    target_changes: &[Address],
    out: &mut MonitorDiff,
) {
    let current: BTreeSet<&str> = desired
        .alerts
        .iter()
        .map(|a| a.topic_arn.as_str())
        .collect();
    for live in &observed.topics {
        if current.contains(live.arn.as_str()) || !managed_by(&live.tags, &desired.environment) {
            continue;
        }
        out.changes.push(change(
            Address::new(SNS_TOPIC, live.name.clone()),
            Action::Delete,
            vec![AttributeChange::new(
                "arn",
                Some(live.arn.clone().into()),
                None,
            )],
            vec![MonitorOp::DeleteTopic {
                topic_arn: arn(&live.arn),
            }],
            target_changes.to_vec(),
            None,
        ));
    }
}

const ENABLED: &str = "ENABLED";
/// The rule state EventBridge needs to deliver read-only management events (EventBridge user
/// guide, "Receiving read-only management events from AWS services"): with `ENABLED` a rule
/// never sees `Decrypt`, `Encrypt`, `GenerateDataKey`, `Describe*`, ...
pub const ALL_MANAGEMENT_EVENTS: &str = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/// KMS calls CloudTrail records with `readOnly: true` (besides Describe*, Get* and List*).
const READ_ONLY_CALLS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "ReEncrypt",
    "Sign",
    "Verify",
    "VerifyMac",
    "DeriveSharedSecret",
];

fn read_only(event: &str) -> bool {
    ["Describe", "Get", "List"]
        .iter()
        .any(|prefix| event.starts_with(prefix))
        || READ_ONLY_CALLS.contains(&event)
}

/// `ENABLED`, or the state that delivers read-only calls when the pattern matches one.
fn rule_state(pattern: &Value) -> &'static str {
    let names = &pattern["detail"]["eventName"];
    let any_read_only = names
        .as_array()
        .is_some_and(|names| names.iter().filter_map(Value::as_str).any(read_only));
    if any_read_only {
        ALL_MANAGEMENT_EVENTS
    } else {
        ENABLED
    }
}

#[cfg(test)]
mod state_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_rule_matching_read_only_calls_gets_the_state_that_delivers_them() {
        let admin = json!({"detail": {"eventName": ["ScheduleKeyDeletion", "DisableKey"]}});
        assert_eq!(rule_state(&admin), ENABLED);
        let usage = json!({"detail": {"eventName": ["DisableKey", "Decrypt"]}});
        assert_eq!(rule_state(&usage), ALL_MANAGEMENT_EVENTS);
        assert_eq!(
            rule_state(&json!({"detail": {"eventName": ["GetKeyPolicy"]}})),
            ALL_MANAGEMENT_EVENTS
        );
    }
}
