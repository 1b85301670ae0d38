//! The Config, SNS and EventBridge calls a plan can contain, what AWS does with each
//! (`semantics`), and how apply makes them. The calls but DeleteConfigRule are taken as
//! idempotent (Put*, CreateTopic by name, Subscribe to the same endpoint), so the SDK's standard
//! retries are enough.

use std::collections::BTreeMap;

use aws_sdk_config::types as config;
use aws_sdk_eventbridge::types as events;
pub use kmsctl_aws::ApplyError;
use kmsctl_aws::{AwsError, Produced, failed};
use kmsctl_core::semantics::{Confirm, LostAnswer, NotYet};
use kmsctl_core::{DomainOp, Outputs, Ref, ResourceChange, Semantics};
use serde::{Deserialize, Serialize};

use crate::Clients;

type Tags = BTreeMap<String, String>;

/// One Config, SNS or EventBridge call. `A` is how an ARN is named: as planned, a [`Ref`] (the
/// ARN, or the output of the change creating the resource); once resolved, the ARN itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum MonitorOp<A = Ref<String>> {
    PutConfigurationRecorder {
        name: String,
        role_arn: String,
        /// Empty: every supported resource type.
        resource_types: Vec<String>,
    },
    PutDeliveryChannel {
        name: String,
        bucket: String,
    },
    StartConfigurationRecorder {
        name: String,
    },
    PutConfigRule {
        name: String,
        identifier: String,
        parameters: BTreeMap<String, String>,
        frequency: Option<String>,
        resource_types: Vec<String>,
        /// `None`: no description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        tags: Tags,
    },
    TagConfigResource {
        arn: A,
        tags: Tags,
    },
    DeleteConfigRule {
        name: String,
    },
    CreateTopic {
        name: String,
        attributes: BTreeMap<String, String>,
        tags: Tags,
    },
    SetTopicAttribute {
        topic_arn: A,
        name: String,
        value: String,
    },
    TagTopic {
        topic_arn: A,
        tags: Tags,
    },
    DeleteTopic {
        topic_arn: A,
    },
    Subscribe {
        topic_arn: A,
        protocol: String,
        endpoint: String,
    },
    Unsubscribe {
        subscription_arn: A,
    },
    PutRule {
        name: String,
        pattern: String,
        description: String,
        tags: Tags,
        /// `ENABLED`, or `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` for a rule matching
        /// read-only calls; absent in plans saved before it was recorded (`ENABLED`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<String>,
    },
    TagRule {
        arn: A,
        tags: Tags,
    },
    DeleteRule {
        name: String,
    },
    PutTargets {
        rule: String,
        id: String,
        /// The topic the rule publishes to.
        arn: A,
    },
    RemoveTargets {
        rule: String,
        ids: Vec<String>,
    },
}

impl<A> MonitorOp<A> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::PutConfigurationRecorder { .. } => "PutConfigurationRecorder",
            Self::PutDeliveryChannel { .. } => "PutDeliveryChannel",
            Self::StartConfigurationRecorder { .. } => "StartConfigurationRecorder",
            Self::PutConfigRule { .. } => "PutConfigRule",
            Self::TagConfigResource { .. } => "TagConfigResource",
            Self::DeleteConfigRule { .. } => "DeleteConfigRule",
            Self::CreateTopic { .. } => "CreateTopic",
            Self::SetTopicAttribute { .. } => "SetTopicAttribute",
            Self::TagTopic { .. } => "TagTopic",
            Self::DeleteTopic { .. } => "DeleteTopic",
            Self::Subscribe { .. } => "Subscribe",
            Self::Unsubscribe { .. } => "Unsubscribe",
            Self::PutRule { .. } => "PutRule",
            Self::TagRule { .. } => "TagRule",
            Self::DeleteRule { .. } => "DeleteRule",
            Self::PutTargets { .. } => "PutTargets",
            Self::RemoveTargets { .. } => "RemoveTargets",
        }
    }

    /// How each call is made on an eventually consistent AWS. The SDK's standard retries repeat
    /// a call after a lost answer, taken as harmless (Put* sets the same thing again,
    /// CreateTopic by name returns the topic, Subscribe to the same endpoint returns the
    /// subscription); a delete's "already gone" is taken as done; the codes AWS answers while
    /// a role, a recorder or a topic made seconds ago propagates are "not yet".
    pub fn semantics(&self) -> Semantics {
        let (not_yet, confirm): (&'static [&'static str], _) = match self {
            Self::PutConfigurationRecorder { .. } => (
                RECORDER_NOT_YET,
                (
                    "config:DescribeConfigurationRecorders",
                    "the recorder is as put",
                ),
            ),
            Self::PutDeliveryChannel { .. } => (
                CHANNEL_NOT_YET,
                ("config:DescribeDeliveryChannels", "the channel is as put"),
            ),
            Self::StartConfigurationRecorder { .. } => (
                START_NOT_YET,
                (
                    "config:DescribeConfigurationRecorderStatus",
                    "the recorder is recording",
                ),
            ),
            Self::PutConfigRule { .. } => (
                RULE_NOT_YET,
                ("config:DescribeConfigRules", "the rule is as put"),
            ),
            Self::TagConfigResource { .. } => (
                CONFIG_UNSEEN,
                ("config:ListTagsForResource", "the tags are the new ones"),
            ),
            Self::DeleteConfigRule { .. } => (
                CONFIG_RULE_BUSY,
                ("config:DescribeConfigRules", "the rule is gone"),
            ),
            Self::CreateTopic { .. } => (NEVER, ("sns:ListTopics", "the topic is listed")),
            Self::SetTopicAttribute { .. } => (
                TOPIC_UNSEEN,
                ("sns:GetTopicAttributes", "the attribute is the new value"),
            ),
            Self::TagTopic { .. } => (
                TOPIC_UNSEEN,
                ("sns:ListTagsForResource", "the tags are the new ones"),
            ),
            Self::DeleteTopic { .. } => (NEVER, ("sns:ListTopics", "the topic is gone")),
            Self::Subscribe { .. } => (
                TOPIC_UNSEEN,
                ("sns:ListSubscriptionsByTopic", "the subscription is listed"),
            ),
            Self::Unsubscribe { .. } => (
                NEVER,
                ("sns:ListSubscriptionsByTopic", "the subscription is gone"),
            ),
            Self::PutRule { .. } => (NEVER, ("events:DescribeRule", "the rule is as put")),
            Self::TagRule { .. } => (
                EVENTS_UNSEEN,
                ("events:ListTagsForResource", "the tags are the new ones"),
            ),
            Self::DeleteRule { .. } => (
                RULE_TARGETS_LEAVING,
                ("events:ListRules", "the rule is gone"),
            ),
            Self::PutTargets { .. } => (
                EVENTS_UNSEEN,
                ("events:ListTargetsByRule", "the target is listed"),
            ),
            Self::RemoveTargets { .. } => {
                (NEVER, ("events:ListTargetsByRule", "the target is gone"))
            }
        };
        let lost_answer = match self {
            Self::DeleteConfigRule { .. } => LostAnswer::RepeatIsChecked(
                "a repeat after the rule is gone fails with NoSuchConfigRuleException: taken as done",
            ),
            Self::Unsubscribe { .. } => LostAnswer::RepeatIsChecked(
                "a repeat after the subscription is gone fails with NotFound: taken as done",
            ),
            _ => LostAnswer::Repeat,
        };
        Semantics {
            lost_answer,
            not_yet: if not_yet.is_empty() {
                NotYet::Never
            } else {
                NotYet::RepeatedByApply(not_yet)
            },
            confirm: Some(Confirm {
                read: confirm.0,
                until: confirm.1,
            }),
        }
    }
}

const NEVER: &[&str] = &[];

/// A role made seconds ago is not yet assumable by AWS Config (terraform-provider-aws retries
/// these, `internal/service/configservice/configuration_recorder.go`, `delivery_channel.go`,
/// `config_rule.go`): and a recorder put seconds ago is not yet seen by the calls that need it.
const RECORDER_NOT_YET: &[&str] = &["InvalidRoleException"];
const CHANNEL_NOT_YET: &[&str] = &[
    "InsufficientDeliveryPolicyException",
    "NoAvailableConfigurationRecorderException",
];
const START_NOT_YET: &[&str] = &[
    "NoAvailableDeliveryChannelException",
    "NoSuchConfigurationRecorderException",
];
const RULE_NOT_YET: &[&str] = &[
    "InsufficientPermissionsException",
    "NoAvailableConfigurationRecorderException",
];
const CONFIG_UNSEEN: &[&str] = &["ResourceNotFoundException"];
/// A rule being evaluated or deleted answers ResourceInUseException until that ends.
const CONFIG_RULE_BUSY: &[&str] = &["ResourceInUseException"];
/// A topic made seconds ago: SNS's "not found" (`NotFound`, the SDK's NotFoundException).
const TOPIC_UNSEEN: &[&str] = &["NotFound", "NotFoundException"];
const EVENTS_UNSEEN: &[&str] = &["ResourceNotFoundException"];
/// A rule whose targets were removed seconds ago: "Rule can't be deleted since it has targets"
/// (terraform-provider-aws retries it, `internal/service/events/rule.go`).
const RULE_TARGETS_LEAVING: &[&str] = &["ValidationException|has targets"];

/// The call's error, unless it is the "already done" answer `done` of a repeat.
fn unless_done<T>(result: Result<T, AwsError>, done: &[&str]) -> Result<(), AwsError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.code().is_some_and(|code| done.contains(&code)) => Ok(()),
        Err(error) => Err(error),
    }
}

impl DomainOp for MonitorOp {
    type Resolved = MonitorOp<String>;

    fn name(&self) -> &'static str {
        MonitorOp::name(self)
    }

    fn semantics(&self) -> Semantics {
        MonitorOp::semantics(self)
    }
}

/// Runs the change's operations in order; returns its outputs (`arn` of a new topic or rule).
pub async fn apply_change(
    clients: &Clients,
    change: &ResourceChange,
    outputs: &Outputs,
) -> Result<Produced, ApplyError> {
    kmsctl_aws::apply_operations::<MonitorOp, _, _>(change, outputs, &clients.propagation, |op| {
        run(clients, op)
    })
    .await
}

fn malformed(e: impl std::fmt::Display) -> ApplyError {
    ApplyError::Malformed(e.to_string())
}

fn config_tags(tags: &Tags) -> Vec<config::Tag> {
    tags.iter()
        .map(|(k, v)| config::Tag::builder().key(k).value(v).build())
        .collect()
}

fn sns_tags(tags: &Tags) -> Result<Vec<aws_sdk_sns::types::Tag>, ApplyError> {
    kmsctl_aws::sdk_tags(tags, |k, v| {
        aws_sdk_sns::types::Tag::builder().key(k).value(v).build()
    })
}

fn events_tags(tags: &Tags) -> Result<Vec<events::Tag>, ApplyError> {
    kmsctl_aws::sdk_tags(tags, |k, v| events::Tag::builder().key(k).value(v).build())
}

fn recording_group(resource_types: &[String]) -> config::RecordingGroup {
    if resource_types.is_empty() {
        return config::RecordingGroup::builder()
            .all_supported(true)
            .build();
    }
    config::RecordingGroup::builder()
        .all_supported(false)
        .include_global_resource_types(false)
        .set_resource_types(Some(
            resource_types
                .iter()
                .map(|t| config::ResourceType::from(t.as_str()))
                .collect(),
        ))
        .recording_strategy(
            config::RecordingStrategy::builder()
                .use_only(config::RecordingStrategyType::InclusionByResourceTypes)
                .build(),
        )
        .build()
}

async fn run(clients: &Clients, op: MonitorOp<String>) -> Result<Produced, ApplyError> {
    let none = BTreeMap::new();
    match op {
        MonitorOp::PutConfigurationRecorder {
            name,
            role_arn,
            resource_types,
        } => {
            let recorder = config::ConfigurationRecorder::builder()
                .name(name)
                .role_arn(role_arn)
                .recording_group(recording_group(&resource_types))
                .build();
            clients
                .config
                .put_configuration_recorder()
                .configuration_recorder(recorder)
                .send()
                .await
                .map_err(failed("config:PutConfigurationRecorder"))?;
        }
        MonitorOp::PutDeliveryChannel { name, bucket } => {
            let channel = config::DeliveryChannel::builder()
                .name(name)
                .s3_bucket_name(bucket)
                .build();
            clients
                .config
                .put_delivery_channel()
                .delivery_channel(channel)
                .send()
                .await
                .map_err(failed("config:PutDeliveryChannel"))?;
        }
        MonitorOp::StartConfigurationRecorder { name } => {
            clients
                .config
                .start_configuration_recorder()
                .configuration_recorder_name(name)
                .send()
                .await
                .map_err(failed("config:StartConfigurationRecorder"))?;
        }
        MonitorOp::PutConfigRule {
            name,
            identifier,
            parameters,
            frequency,
            resource_types,
            description,
            tags,
        } => {
            let source = config::Source::builder()
                .owner(config::Owner::Aws)
                .source_identifier(identifier)
                .build()
                .map_err(malformed)?;
            let mut rule = config::ConfigRule::builder()
                .config_rule_name(name)
                .set_description(description)
                .source(source);
            if !parameters.is_empty() {
                rule =
                    rule.input_parameters(serde_json::to_string(&parameters).map_err(malformed)?);
            }
            if let Some(frequency) = frequency {
                rule = rule.maximum_execution_frequency(config::MaximumExecutionFrequency::from(
                    frequency.as_str(),
                ));
            }
            if !resource_types.is_empty() {
                rule = rule.scope(
                    config::Scope::builder()
                        .set_compliance_resource_types(Some(resource_types))
                        .build(),
                );
            }
            let mut call = clients.config.put_config_rule().config_rule(rule.build());
            if !tags.is_empty() {
                call = call.set_tags(Some(config_tags(&tags)));
            }
            call.send().await.map_err(failed("config:PutConfigRule"))?;
        }
        MonitorOp::TagConfigResource { arn, tags } => {
            clients
                .config
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(config_tags(&tags)))
                .send()
                .await
                .map_err(failed("config:TagResource"))?;
        }
        MonitorOp::DeleteConfigRule { name } => {
            let deleted = clients
                .config
                .delete_config_rule()
                .config_rule_name(name)
                .send()
                .await
                .map_err(failed("config:DeleteConfigRule"));
            unless_done(deleted, &["NoSuchConfigRuleException"])?;
        }
        MonitorOp::CreateTopic {
            name,
            attributes,
            tags,
        } => {
            let created = clients
                .sns
                .create_topic()
                .name(name)
                .set_attributes(Some(attributes.into_iter().collect()))
                .set_tags(Some(sns_tags(&tags)?))
                .send()
                .await
                .map_err(failed("sns:CreateTopic"))?;
            return Ok(BTreeMap::from([(
                "arn".to_owned(),
                created.topic_arn().unwrap_or_default().to_owned(),
            )]));
        }
        MonitorOp::SetTopicAttribute {
            topic_arn,
            name,
            value,
        } => {
            clients
                .sns
                .set_topic_attributes()
                .topic_arn(topic_arn)
                .attribute_name(name)
                .attribute_value(value)
                .send()
                .await
                .map_err(failed("sns:SetTopicAttributes"))?;
        }
        MonitorOp::TagTopic { topic_arn, tags } => {
            clients
                .sns
                .tag_resource()
                .resource_arn(topic_arn)
                .set_tags(Some(sns_tags(&tags)?))
                .send()
                .await
                .map_err(failed("sns:TagResource"))?;
        }
        MonitorOp::DeleteTopic { topic_arn } => {
            clients
                .sns
                .delete_topic()
                .topic_arn(topic_arn)
                .send()
                .await
                .map_err(failed("sns:DeleteTopic"))?;
        }
        MonitorOp::Subscribe {
            topic_arn,
            protocol,
            endpoint,
        } => {
            let subscribed = clients
                .sns
                .subscribe()
                .topic_arn(topic_arn)
                .protocol(protocol)
                .endpoint(endpoint)
                .return_subscription_arn(true)
                .send()
                .await
                .map_err(failed("sns:Subscribe"))?;
            return Ok(BTreeMap::from([(
                "arn".to_owned(),
                subscribed.subscription_arn().unwrap_or_default().to_owned(),
            )]));
        }
        MonitorOp::Unsubscribe { subscription_arn } => {
            let unsubscribed = clients
                .sns
                .unsubscribe()
                .subscription_arn(subscription_arn)
                .send()
                .await
                .map_err(failed("sns:Unsubscribe"));
            unless_done(unsubscribed, TOPIC_UNSEEN)?;
        }
        MonitorOp::PutRule {
            name,
            pattern,
            description,
            tags,
            state,
        } => {
            let put = clients
                .events
                .put_rule()
                .name(name)
                .event_pattern(pattern)
                .description(description)
                .state(
                    state
                        .as_deref()
                        .map_or(events::RuleState::Enabled, events::RuleState::from),
                )
                .set_tags(Some(events_tags(&tags)?))
                .send()
                .await
                .map_err(failed("events:PutRule"))?;
            return Ok(BTreeMap::from([(
                "arn".to_owned(),
                put.rule_arn().unwrap_or_default().to_owned(),
            )]));
        }
        MonitorOp::TagRule { arn, tags } => {
            clients
                .events
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(events_tags(&tags)?))
                .send()
                .await
                .map_err(failed("events:TagResource"))?;
        }
        MonitorOp::DeleteRule { name } => {
            clients
                .events
                .delete_rule()
                .name(name)
                .send()
                .await
                .map_err(failed("events:DeleteRule"))?;
        }
        MonitorOp::PutTargets { rule, id, arn } => {
            let target = events::Target::builder()
                .id(id)
                .arn(arn)
                .build()
                .map_err(malformed)?;
            let out = clients
                .events
                .put_targets()
                .rule(rule)
                .targets(target)
                .send()
                .await
                .map_err(failed("events:PutTargets"))?;
            // PutTargets answers 200 with per-target failures: they are failures all the same.
            if let Some(entry) = out.failed_entries().first() {
                return Err(ApplyError::Aws(kmsctl_aws::AwsError::Call {
                    operation: "events:PutTargets".into(),
                    code: entry.error_code().map(str::to_owned),
                    message: entry
                        .error_message()
                        .unwrap_or("a target was not added")
                        .to_owned(),
                }));
            }
        }
        MonitorOp::RemoveTargets { rule, ids } => {
            let out = clients
                .events
                .remove_targets()
                .rule(rule)
                .set_ids(Some(ids))
                .send()
                .await
                .map_err(failed("events:RemoveTargets"))?;
            if let Some(entry) = out.failed_entries().first() {
                return Err(ApplyError::Aws(kmsctl_aws::AwsError::Call {
                    operation: "events:RemoveTargets".into(),
                    code: entry.error_code().map(str::to_owned),
                    message: entry
                        .error_message()
                        .unwrap_or("a target was not removed")
                        .to_owned(),
                }));
            }
        }
    }
    Ok(none)
}

#[cfg(test)]
mod tests;
