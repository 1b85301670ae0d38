use std::collections::BTreeMap;

use kmsctl_core::Action;

use super::*;
use crate::config::tests_support::declaration;
use crate::desired::{Context, TARGET_ID, build};
use crate::observe::Scope;
use crate::observe::{
    ObservedEventRule, ObservedRecorder, ObservedRule, ObservedSubscription, ObservedTopic,
    ObservedTrail, TrailEventSelector,
};

fn desired() -> DesiredMonitor {
    let tags = BTreeMap::from([("Environment".to_owned(), "prod".to_owned())]);
    build(
        &declaration(),
        &Context {
            environment: "prod",
            account_id: "222222222222",
            region: "us-east-1",
            tags: &tags,
            topic_key: Some("alias/prod-alerts".into()),
        },
    )
}

/// What AWS holds right after applying `desired()`.
fn applied(desired: &DesiredMonitor) -> ObservedMonitor {
    let recorder = desired.recorder.as_ref().expect("recorder");
    let alerts = desired.alerts.as_ref().expect("alerts");
    ObservedMonitor {
        recorder: Some(ObservedRecorder {
            name: recorder.name.clone(),
            role_arn: Some(recorder.role_arn.clone()),
            resource_types: recorder.resource_types.clone(),
            all_supported: false,
            recording: true,
            channel: Some("default".into()),
            bucket: Some(recorder.bucket.clone()),
        }),
        rules: desired
            .rules
            .iter()
            .map(|r| ObservedRule {
                name: r.name.clone(),
                arn: format!(
                    "arn:aws:config:us-east-1:222222222222:config-rule/{}",
                    r.name
                ),
                owner: "AWS".into(),
                identifier: Some(r.identifier.clone()),
                parameters: r.parameters.clone(),
                frequency: r.frequency.clone(),
                resource_types: r.resource_types.clone(),
                description: r.description.clone(),
                tags: desired.tags.clone(),
            })
            .collect(),
        topics: vec![ObservedTopic {
            arn: alerts.topic_arn.clone(),
            name: alerts.topic_name.clone(),
            // Reordered keys and statements: the same policy to AWS.
            policy: Some(reordered(&alerts.policy)),
            kms_master_key_id: alerts.kms_master_key_id.clone(),
            tags: desired.tags.clone(),
            subscriptions: vec![ObservedSubscription {
                arn: format!("{}:1111", alerts.topic_arn),
                protocol: "email".into(),
                endpoint: "secops@example.com".into(),
            }],
        }],
        event_rules: alerts
            .rules
            .iter()
            .map(|r| ObservedEventRule {
                name: r.name.clone(),
                arn: r.arn.clone(),
                pattern: Some(reordered(&r.pattern)),
                state: "ENABLED".into(),
                description: Some(r.description.clone()),
                tags: desired.tags.clone(),
                targets: BTreeMap::from([(TARGET_ID.to_owned(), alerts.topic_arn.clone())]),
            })
            .collect(),
        // The account's trail, which kmsctl only reads.
        trails: Some(vec![ObservedTrail {
            name: "management-events".into(),
            arn: "arn:aws:cloudtrail:eu-west-1:222222222222:trail/management-events".into(),
            home_region: "eu-west-1".into(),
            multi_region: true,
            logging: true,
            event_selectors: vec![TrailEventSelector::default()],
            ..ObservedTrail::default()
        }]),
        trails_denied: None,
    }
}

fn reordered(value: &serde_json::Value) -> String {
    let mut value = value.clone();
    if let Some(statements) = value.get_mut("Statement").and_then(|s| s.as_array_mut()) {
        statements.reverse();
    }
    if let Some(names) = value
        .pointer_mut("/detail/eventName")
        .and_then(|s| s.as_array_mut())
    {
        names.reverse();
    }
    serde_json::to_string(&value).expect("json")
}

fn addresses(diff: &MonitorDiff) -> Vec<String> {
    diff.changes
        .iter()
        .map(|c| format!("{} {}", c.action.symbol(), c.address))
        .collect()
}

#[test]
fn from_nothing_everything_is_created_in_an_order_apply_can_follow() {
    let desired = desired();
    let diff = diff(&desired, &ObservedMonitor::default());
    assert!(diff.findings.is_empty(), "{:?}", diff.findings);
    assert_eq!(
        addresses(&diff),
        [
            "+ config_recorder.default",
            "+ config_rule.kms-cmk-not-scheduled-for-deletion",
            "+ config_rule.kms-key-rotation-enabled",
            "+ sns_topic.prod-kms-security-alerts",
            "+ sns_topic_policy.prod-kms-security-alerts",
            "+ sns_subscription.prod-kms-security-alerts/email:secops@example.com",
            "+ events_rule.prod-kms-alerts-high",
            "+ events_target.prod-kms-alerts-high/kmsctl-alerts-topic",
            "+ events_rule.prod-kms-alerts-critical",
            "+ events_target.prod-kms-alerts-critical/kmsctl-alerts-topic",
        ]
    );
    let target = &diff.changes[7];
    assert_eq!(
        target
            .depends_on
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "events_rule.prod-kms-alerts-high",
            "sns_topic.prod-kms-security-alerts"
        ]
    );
}

#[test]
fn applied_state_has_no_changes_even_when_aws_reorders_json() {
    let desired = desired();
    let diff = diff(&desired, &applied(&desired));
    assert!(diff.changes.is_empty(), "{:#?}", diff.changes);
    assert!(diff.findings.is_empty());
}

#[test]
fn pattern_edit_removed_target_and_deleted_subscription_each_show() {
    let desired = desired();
    let mut live = applied(&desired);
    live.event_rules[0].pattern = Some(r#"{"source":["aws.kms"]}"#.into());
    live.event_rules[1].targets.clear();
    live.topics[0].subscriptions.clear();
    let diff = diff(&desired, &live);
    assert_eq!(
        addresses(&diff),
        [
            "+ sns_subscription.prod-kms-security-alerts/email:secops@example.com",
            "~ events_rule.prod-kms-alerts-high",
            "+ events_target.prod-kms-alerts-critical/kmsctl-alerts-topic",
        ]
    );
    assert_eq!(diff.changes[1].attributes[0].name, "event_pattern");
}

#[test]
fn undeclared_subscriptions_and_targets_on_managed_resources_go() {
    let desired = desired();
    let mut live = applied(&desired);
    live.topics[0].subscriptions.push(ObservedSubscription {
        arn: "arn:aws:sns:us-east-1:222222222222:prod-kms-security-alerts:2222".into(),
        protocol: "https".into(),
        endpoint: "https://attacker.example".into(),
    });
    live.topics[0].subscriptions.push(ObservedSubscription {
        arn: "PendingConfirmation".into(),
        protocol: "email".into(),
        endpoint: "someone@example.com".into(),
    });
    live.event_rules[0].targets.insert(
        "extra".into(),
        "arn:aws:sqs:us-east-1:222222222222:q".into(),
    );
    let diff = diff(&desired, &live);
    assert_eq!(
        addresses(&diff),
        [
            "- sns_subscription.prod-kms-security-alerts/https:https://attacker.example",
            "- events_target.prod-kms-alerts-high/extra",
        ]
    );
    assert!(diff.notes.iter().any(|n| n.message.contains("pending")));
}

#[test]
fn no_recorder_and_none_declared_refuses_with_the_fix() {
    let mut desired = desired();
    desired.recorder = None;
    let diff = diff(&desired, &ObservedMonitor::default());
    assert_eq!(diff.findings.len(), 1);
    let finding = &diff.findings[0];
    assert_eq!(finding.rule, "config-recorder-missing");
    assert!(
        finding.fix.contains("declare [config_recorder]"),
        "{}",
        finding.fix
    );
    assert!(finding.location.to_string().contains("monitor.toml"));
}

#[test]
fn a_stopped_recorder_not_declared_refuses_and_a_declared_one_is_started() {
    let desired_with = desired();
    let mut live = applied(&desired_with);
    if let Some(r) = live.recorder.as_mut() {
        r.recording = false;
    }
    let mut without = desired_with.clone();
    without.recorder = None;
    assert_eq!(
        diff(&without, &live).findings[0].rule,
        "config-recorder-stopped"
    );
    let started = diff(&desired_with, &live);
    assert_eq!(addresses(&started), ["~ config_recorder.default"]);
    assert_eq!(
        started.changes[0].operations[0]["op"],
        "StartConfigurationRecorder"
    );
}

#[test]
fn a_raised_min_severity_deletes_the_managed_rule_with_its_targets_first() {
    let desired = desired();
    let mut live = applied(&desired);
    let mut medium = live.event_rules[0].clone();
    medium.name = "prod-kms-alerts-medium".into();
    live.event_rules.push(medium.clone());
    // Another environment's rule in the same account is never touched.
    let mut other = medium;
    other.name = "prod-kms-alerts-low".into();
    other
        .tags
        .insert("kmsctl:environment".into(), "staging".into());
    live.event_rules.push(other);
    let diff = diff(&desired, &live);
    assert_eq!(
        addresses(&diff),
        [
            "- events_target.prod-kms-alerts-medium/kmsctl-alerts-topic",
            "- events_rule.prod-kms-alerts-medium",
        ]
    );
    assert_eq!(
        diff.changes[1].depends_on,
        [diff.changes[0].address.clone()]
    );
}

#[test]
fn a_renamed_topic_is_created_retargeted_and_the_old_one_deleted_last() {
    let desired = desired();
    let mut live = applied(&desired);
    let old_arn = "arn:aws:sns:us-east-1:222222222222:old-alerts".to_owned();
    live.topics[0].arn = old_arn.clone();
    live.topics[0].name = "old-alerts".into();
    for rule in &mut live.event_rules {
        rule.targets.insert(TARGET_ID.into(), old_arn.clone());
    }
    let diff = diff(&desired, &live);
    let last = diff.changes.last().expect("changes");
    assert_eq!(
        format!("{} {}", last.action.symbol(), last.address),
        "- sns_topic.old-alerts"
    );
    assert_eq!(last.depends_on.len(), 2, "after both targets moved");
}

#[test]
fn an_unmanaged_rule_of_the_declared_name_is_adopted_and_other_rules_are_left_alone() {
    let desired = desired();
    let mut live = applied(&desired);
    live.rules[0].tags.clear();
    live.rules.push(ObservedRule {
        name: "someone-elses-rule".into(),
        identifier: Some("S3_BUCKET_VERSIONING_ENABLED".into()),
        ..Default::default()
    });
    let diff = diff(&desired, &live);
    assert_eq!(
        addresses(&diff),
        ["<= config_rule.kms-cmk-not-scheduled-for-deletion"]
    );
    assert_eq!(diff.changes[0].action, Action::Adopt);
    assert_eq!(diff.changes[0].operations[0]["op"], "TagConfigResource");
}

/// The prod declaration with the framework's settings: a Config rule description, the alert
/// rule's name and description, and the target id.
fn framework_desired() -> DesiredMonitor {
    use crate::config::tests_support::{DECLARATION, from_text};
    let text = DECLARATION
        .replace(
            "maximum_execution_frequency = \"TwentyFour_Hours\"\n",
            "maximum_execution_frequency = \"TwentyFour_Hours\"\ndescription = \"Checks whether automatic key rotation is enabled for each KMS key\"\n",
        )
        .replace(
            "min_severity = \"high\"\n",
            "min_severity = \"high\"\ntarget_id = \"SendToSNS\"\n\n[alerts.rules.critical]\nname = \"kms-key-deletion-alert\"\ndescription = \"Alert on KMS key deletion scheduling\"\n",
        );
    let tags = BTreeMap::from([("Environment".to_owned(), "prod".to_owned())]);
    build(
        &from_text(&text),
        &Context {
            environment: "prod",
            account_id: "222222222222",
            region: "us-east-1",
            tags: &tags,
            topic_key: Some("alias/prod-alerts".into()),
        },
    )
}

#[test]
fn the_frameworks_rule_names_target_id_and_descriptions_are_made_as_declared() {
    let desired = framework_desired();
    let alerts = desired.alerts.as_ref().expect("alerts");
    assert_eq!(alerts.target_id, "SendToSNS");
    let critical = &alerts.rules[1];
    assert_eq!(critical.name, "kms-key-deletion-alert");
    assert_eq!(critical.description, "Alert on KMS key deletion scheduling");
    assert_eq!(
        alerts.policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"][1],
        "arn:aws:events:us-east-1:222222222222:rule/kms-key-deletion-alert"
    );
    assert_eq!(Scope::of(&desired).event_rules, ["kms-key-deletion-alert"]);
    let diff = diff(&desired, &ObservedMonitor::default());
    let shown = addresses(&diff);
    for address in [
        "+ events_rule.kms-key-deletion-alert",
        "+ events_target.kms-key-deletion-alert/SendToSNS",
        "+ events_target.prod-kms-alerts-high/SendToSNS",
    ] {
        assert!(shown.iter().any(|a| a == address), "{address}: {shown:#?}");
    }
    let rule = diff
        .changes
        .iter()
        .find(|c| c.address.to_string() == "config_rule.kms-key-rotation-enabled")
        .expect("the rule");
    assert_eq!(
        rule.operations[0]["description"],
        "Checks whether automatic key rotation is enabled for each KMS key"
    );
    let put = diff
        .changes
        .iter()
        .find(|c| c.address.to_string() == "events_rule.kms-key-deletion-alert")
        .expect("the alert rule");
    assert_eq!(
        put.operations[0]["description"],
        "Alert on KMS key deletion scheduling"
    );
    // Applied, nothing is left to do.
    let mut live = applied(&desired);
    for rule in &mut live.event_rules {
        rule.targets = BTreeMap::from([("SendToSNS".to_owned(), alerts.topic_arn.clone())]);
    }
    let again = super::diff(&desired, &live);
    assert!(again.changes.is_empty(), "{:#?}", again.changes);
}

#[test]
fn a_changed_config_rule_description_is_drift_only_where_one_is_declared() {
    let desired = framework_desired();
    let mut live = applied(&desired);
    live.event_rules.iter_mut().for_each(|r| {
        r.targets = BTreeMap::from([(
            "SendToSNS".to_owned(),
            desired.alerts.as_ref().expect("alerts").topic_arn.clone(),
        )]);
    });
    for rule in &mut live.rules {
        rule.description = Some("edited by hand".into());
    }
    let diff = diff(&desired, &live);
    assert_eq!(addresses(&diff), ["~ config_rule.kms-key-rotation-enabled"]);
    let attribute = &diff.changes[0].attributes[0];
    assert_eq!(attribute.name, "description");
    assert_eq!(
        diff.changes[0].operations[0]["description"],
        "Checks whether automatic key rotation is enabled for each KMS key"
    );

    // A rule without a declared description keeps the live one when something else changes.
    let mut other = live.clone();
    other.rules[0].parameters.insert("p".into(), "v".into());
    let diff = super::diff(&desired, &other);
    assert_eq!(
        addresses(&diff),
        [
            "~ config_rule.kms-cmk-not-scheduled-for-deletion",
            "~ config_rule.kms-key-rotation-enabled"
        ]
    );
    assert_eq!(
        diff.changes[0].operations[0]["description"],
        "edited by hand"
    );
}

#[test]
fn the_frameworks_hand_made_alert_rule_is_adopted_and_kmsctls_old_one_deleted() {
    let desired = framework_desired();
    let alerts = desired.alerts.as_ref().expect("alerts");
    let mut live = applied(&desired);
    for rule in &mut live.event_rules {
        rule.targets = BTreeMap::from([("SendToSNS".to_owned(), alerts.topic_arn.clone())]);
    }
    // The framework's rule, made by Terraform: no kmsctl tags.
    live.event_rules[1].tags.clear();
    // kmsctl's own critical rule from before the files named it.
    live.event_rules.push(ObservedEventRule {
        name: "prod-kms-alerts-critical".into(),
        arn: "arn:aws:events:us-east-1:222222222222:rule/prod-kms-alerts-critical".into(),
        targets: BTreeMap::from([(TARGET_ID.to_owned(), alerts.topic_arn.clone())]),
        tags: desired.tags.clone(),
        ..live.event_rules[0].clone()
    });
    let diff = diff(&desired, &live);
    assert_eq!(
        addresses(&diff),
        [
            "<= events_rule.kms-key-deletion-alert",
            "- events_target.prod-kms-alerts-critical/kmsctl-alerts-topic",
            "- events_rule.prod-kms-alerts-critical",
        ]
    );
    assert_eq!(diff.changes[0].operations[0]["op"], "TagRule");

    // A new target id: the topic under it, and the old id removed from kmsctl's rules.
    let mut old_id = applied(&desired);
    for rule in &mut old_id.event_rules {
        rule.targets = BTreeMap::from([(TARGET_ID.to_owned(), alerts.topic_arn.clone())]);
    }
    let shown = addresses(&super::diff(&desired, &old_id));
    assert_eq!(
        shown,
        [
            "+ events_target.prod-kms-alerts-high/SendToSNS",
            "- events_target.prod-kms-alerts-high/kmsctl-alerts-topic",
            "+ events_target.kms-key-deletion-alert/SendToSNS",
            "- events_target.kms-key-deletion-alert/kmsctl-alerts-topic",
        ]
    );
}
