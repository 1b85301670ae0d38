//! What an environment's monitoring declarations ask for, resolved: names, ARNs, patterns, the
//! topic policy and tags. Pure: built from the files and the environment's account and region.

use kmsctl_core::environment::partition_of;
use std::collections::BTreeMap;

use kmsctl_core::Location;
use serde_json::{Value, json};

use crate::config::MonitorDecl;
use crate::pattern;
use crate::severity::{self, Severity};

pub const TAG_MANAGED: &str = "kmsctl:managed";
pub const TAG_ENVIRONMENT: &str = "kmsctl:environment";

/// The EventBridge target id kmsctl gives the topic on each alert rule, unless `target_id` says
/// otherwise.
pub const TARGET_ID: &str = "kmsctl-alerts-topic";

/// Where the environment lives, and the key that encrypts the topic.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub environment: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    /// The environment's `[tags]`, put on every monitoring resource with kmsctl's own.
    pub tags: &'a BTreeMap<String, String>,
    /// `KmsMasterKeyId` for the topic (`alias/...`), resolved from `topic_key`.
    pub topic_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRecorder {
    pub name: String,
    pub role_arn: String,
    pub bucket: String,
    /// Empty: every supported resource type.
    pub resource_types: Vec<String>,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRule {
    pub name: String,
    pub identifier: String,
    pub parameters: BTreeMap<String, String>,
    pub frequency: Option<String>,
    pub resource_types: Vec<String>,
    /// `None`: not declared, so not compared (the live rule's is kept).
    pub description: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredSubscription {
    pub protocol: String,
    pub endpoint: String,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredEventRule {
    pub name: String,
    pub arn: String,
    pub severity: Severity,
    pub description: String,
    pub pattern: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredAlerts {
    pub topic_name: String,
    pub topic_arn: String,
    pub kms_master_key_id: Option<String>,
    pub subscriptions: Vec<DesiredSubscription>,
    /// One per severity level at or above `min_severity`.
    pub rules: Vec<DesiredEventRule>,
    /// The topic's target id on each rule.
    pub target_id: String,
    /// Lets EventBridge publish, from these rules only.
    pub policy: Value,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredMonitor {
    pub environment: String,
    pub account_id: String,
    pub region: String,
    pub recorder: Option<DesiredRecorder>,
    pub rules: Vec<DesiredRule>,
    pub alerts: Option<DesiredAlerts>,
    pub tags: BTreeMap<String, String>,
}

impl DesiredMonitor {
    /// Names of kmsctl's EventBridge rules for this environment start with this.
    pub fn event_rule_prefix(&self) -> String {
        event_rule_prefix(&self.environment)
    }

    pub fn declares_anything(&self) -> bool {
        self.recorder.is_some() || !self.rules.is_empty() || self.alerts.is_some()
    }
}

pub fn event_rule_prefix(environment: &str) -> String {
    format!("{environment}-kms-alerts-")
}

/// `aws`, `aws-cn` or `aws-us-gov`, from the region's name.
pub fn topic_arn(region: &str, account_id: &str, name: &str) -> String {
    format!(
        "arn:{}:sns:{region}:{account_id}:{name}",
        partition_of(region)
    )
}

pub fn event_rule_arn(region: &str, account_id: &str, name: &str) -> String {
    format!(
        "arn:{}:events:{region}:{account_id}:rule/{name}",
        partition_of(region)
    )
}

/// The topic policy: EventBridge may publish, only on behalf of kmsctl's alert rules of this
/// environment (`aws:SourceArn`), and nothing reaches the topic except over TLS.
pub fn topic_policy(topic_arn: &str, rule_arns: &[String]) -> Value {
    json!({
        "Version": "2012-10-17",
        "Id": "kmsctl-alerts",
        "Statement": [
            {
                "Sid": "AllowKmsctlAlertRulesToPublish",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    })
}

pub fn build(decl: &MonitorDecl, ctx: &Context<'_>) -> DesiredMonitor {
    let mut tags = ctx.tags.clone();
    tags.insert(TAG_MANAGED.to_owned(), "true".to_owned());
    tags.insert(TAG_ENVIRONMENT.to_owned(), ctx.environment.to_owned());
    let recorder = decl.recorder.as_ref().map(|(file, recorder)| {
        let r = recorder.get_ref();
        let types: Vec<String> = r
            .resource_types
            .iter()
            .map(|t| t.get_ref().clone())
            .collect();
        DesiredRecorder {
            name: r.name.clone(),
            role_arn: r.role_arn.get_ref().clone(),
            bucket: r.delivery_bucket.get_ref().clone(),
            resource_types: if types.iter().any(|t| t == "*") {
                vec![]
            } else {
                types
            },
            location: file.location(recorder.span()),
        }
    });
    let rules = decl
        .rules
        .iter()
        .map(|(file, rule)| {
            let r = rule.get_ref();
            DesiredRule {
                name: r.name.get_ref().clone(),
                identifier: r.identifier.get_ref().clone(),
                parameters: r.parameters.clone(),
                frequency: r
                    .maximum_execution_frequency
                    .as_ref()
                    .map(|f| f.get_ref().clone()),
                resource_types: r.resource_types.clone(),
                description: r.description.as_ref().map(|d| d.get_ref().clone()),
                location: file.location(rule.span()),
            }
        })
        .collect();
    let alerts = decl.alerts.as_ref().map(|(file, alerts)| {
        let a = alerts.get_ref();
        let topic_name = a.topic.get_ref().clone();
        let topic_arn = topic_arn(ctx.region, ctx.account_id, &topic_name);
        let table = severity::table(&a.severity_overrides());
        let rules: Vec<DesiredEventRule> = severity::levels(&table, a.min_severity)
            .into_iter()
            .map(|(severity, events)| {
                let declared = a.rules.get(severity);
                let name = declared.and_then(|d| d.name.as_ref()).map_or_else(
                    || format!("{}{}", event_rule_prefix(ctx.environment), severity.name()),
                    |n| n.get_ref().clone(),
                );
                DesiredEventRule {
                    arn: event_rule_arn(ctx.region, ctx.account_id, &name),
                    description: declared.and_then(|d| d.description.as_ref()).map_or_else(
                        || {
                            format!(
                                "kmsctl: {} CloudTrail KMS events of env/{} to {topic_name}",
                                severity.name(),
                                ctx.environment
                            )
                        },
                        |d| d.get_ref().clone(),
                    ),
                    pattern: pattern::pattern(&events),
                    name,
                    severity,
                }
            })
            .collect();
        let rule_arns: Vec<String> = rules.iter().map(|r| r.arn.clone()).collect();
        DesiredAlerts {
            policy: topic_policy(&topic_arn, &rule_arns),
            topic_arn,
            topic_name,
            kms_master_key_id: ctx.topic_key.clone(),
            subscriptions: a
                .subscriptions
                .iter()
                .filter_map(|s| {
                    let (protocol, endpoint) = s.get_ref().split_once(':')?;
                    Some(DesiredSubscription {
                        protocol: protocol.to_owned(),
                        endpoint: endpoint.to_owned(),
                        location: file.location(s.span()),
                    })
                })
                .collect(),
            rules,
            target_id: a
                .target_id
                .as_ref()
                .map_or_else(|| TARGET_ID.to_owned(), |t| t.get_ref().clone()),
            location: file.location(alerts.span()),
        }
    });
    DesiredMonitor {
        environment: ctx.environment.to_owned(),
        account_id: ctx.account_id.to_owned(),
        region: ctx.region.to_owned(),
        recorder,
        rules,
        alerts,
        tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_arns_carry_the_regions_partition_iso_included() {
        assert_eq!(
            topic_arn("us-isob-east-1", "111111111111", "kms-alerts"),
            "arn:aws-iso-b:sns:us-isob-east-1:111111111111:kms-alerts"
        );
        assert_eq!(
            topic_arn("cn-north-1", "111111111111", "kms-alerts"),
            "arn:aws-cn:sns:cn-north-1:111111111111:kms-alerts"
        );
    }
}
