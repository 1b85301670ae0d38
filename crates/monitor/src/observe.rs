//! Reads an environment's monitoring as AWS holds it: the configuration recorder and delivery
//! channel, every Config rule with its tags, the EventBridge rules that may be the alert rules
//! (under kmsctl's name prefix, named in the files, or on KMS's events) with their targets and
//! tags, and the alert topic with its attributes, tags and subscriptions.
//! Topics that kmsctl's rules target are read too, so a renamed topic's predecessor is found.
//! When the environment declares alerts, the CloudTrail trails that log its region are read too
//! (status and event selectors): the alerts fire only if one of them logs KMS's write events.
//! A CloudTrail read AWS denies the deployer (an SCP, a member account and an organization
//! trail) is recorded with AWS's words, not the end of the observation: the diff judges what
//! could be read ([`ObservedMonitor::trails_denied`], [`ObservedTrail::status_denied`],
//! [`ObservedTrail::selectors_denied`]). Any other failure still fails the observation.

use std::collections::{BTreeMap, BTreeSet};

use crate::list::{self as monitoring, Tags};
use kmsctl_aws::{AwsError, failed, map_bounded};
use kmsctl_core::{Address, fingerprint::fingerprint};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Clients;
use crate::desired::{self, DesiredMonitor, TAG_ENVIRONMENT, TAG_MANAGED};

/// What apply must observe again: saved in the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    pub environment: String,
    pub account_id: String,
    pub region: String,
    /// The alert topic: `Some` exactly when the environment declares `[alerts]`, and then the
    /// region's CloudTrail trails are read too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The alert rules named in the files (`[alerts.rules.LEVEL] name`) outside kmsctl's
    /// `ENV-kms-alerts-` prefix: read even when another tool made them, to adopt them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_rules: Vec<String>,
}

impl Scope {
    pub fn of(desired: &DesiredMonitor) -> Self {
        let prefix = desired.event_rule_prefix();
        Self {
            environment: desired.environment.clone(),
            account_id: desired.account_id.clone(),
            region: desired.region.clone(),
            topic: desired.alerts.as_ref().map(|a| a.topic_name.clone()),
            event_rules: desired
                .alerts
                .iter()
                .flat_map(|a| &a.rules)
                .filter(|r| !r.name.starts_with(&prefix))
                .map(|r| r.name.clone())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedRecorder {
    pub name: String,
    pub role_arn: Option<String>,
    /// Empty when the recorder records every supported type.
    pub resource_types: Vec<String>,
    pub all_supported: bool,
    pub recording: bool,
    pub channel: Option<String>,
    pub bucket: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedRule {
    pub name: String,
    pub arn: String,
    pub owner: String,
    pub identifier: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub frequency: Option<String>,
    pub resource_types: Vec<String>,
    pub description: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedSubscription {
    /// `PendingConfirmation` until the endpoint confirms (email).
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
}

impl ObservedSubscription {
    pub fn pending(&self) -> bool {
        !self.arn.starts_with("arn:")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedTopic {
    pub arn: String,
    pub name: String,
    pub policy: Option<String>,
    pub kms_master_key_id: Option<String>,
    pub tags: Tags,
    pub subscriptions: Vec<ObservedSubscription>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedEventRule {
    pub name: String,
    pub arn: String,
    pub pattern: Option<String>,
    pub state: String,
    pub description: Option<String>,
    pub tags: Tags,
    /// Target id → ARN.
    pub targets: BTreeMap<String, String>,
}

/// A CloudTrail trail as DescribeTrails lists it in the environment's region, with its status
/// and event selectors. kmsctl never changes trails: they serve the whole account (or the
/// organization); the alerts only need one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedTrail {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    /// An organization trail: made in the management account, it logs every member account.
    pub organization: bool,
    /// `GetTrailStatus`'s `IsLogging`. Read only for trails that log the region (see
    /// [`ObservedTrail::logs_region`]); `false` for the others, and when the read was denied.
    pub logging: bool,
    /// Basic event selectors (`GetEventSelectors`); a trail has these or advanced ones. Read
    /// only for trails that log the region, like `logging`; empty when the read was denied.
    pub event_selectors: Vec<TrailEventSelector>,
    pub advanced_event_selectors: Vec<TrailAdvancedSelector>,
    /// AWS's words (`AccessDeniedException: ...`) when it denied the deployer `GetTrailStatus`:
    /// whether the trail is logging is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_denied: Option<String>,
    /// AWS's words when it denied the deployer `GetEventSelectors`: what the trail logs is
    /// unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selectors_denied: Option<String>,
}

impl ObservedTrail {
    /// Whether the trail logs events made in `region`: its home region's, or every region's.
    /// (An organization trail logs the member accounts, in the regions it logs.)
    pub fn logs_region(&self, region: &str) -> bool {
        self.multi_region || self.home_region == region
    }
}

/// A basic event selector. `None` fields are AWS's defaults: management events included, read
/// and write.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrailEventSelector {
    /// `All`, `ReadOnly` or `WriteOnly`.
    pub read_write_type: Option<String>,
    pub include_management_events: Option<bool>,
    /// Event sources whose management events the trail does not log (`kms.amazonaws.com`).
    pub exclude_management_event_sources: Vec<String>,
}

/// An advanced event selector: an event is logged when it matches every field selector.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrailAdvancedSelector {
    pub name: Option<String>,
    pub field_selectors: Vec<TrailFieldSelector>,
}

/// One field of an advanced event selector, with its operators.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrailFieldSelector {
    /// `eventCategory`, `eventSource`, `readOnly`, ...
    pub field: String,
    pub equals: Vec<String>,
    pub starts_with: Vec<String>,
    pub ends_with: Vec<String>,
    pub not_equals: Vec<String>,
    pub not_starts_with: Vec<String>,
    pub not_ends_with: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedMonitor {
    pub recorder: Option<ObservedRecorder>,
    pub rules: Vec<ObservedRule>,
    pub topics: Vec<ObservedTopic>,
    pub event_rules: Vec<ObservedEventRule>,
    /// The trails listed in the region; `None`: not read, as the environment declares no
    /// alerts (then kmsctl makes no CloudTrail call). Empty when DescribeTrails was denied.
    pub trails: Option<Vec<ObservedTrail>>,
    /// AWS's words when it denied the deployer `DescribeTrails`: which trails exist is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trails_denied: Option<String>,
}

/// Whether kmsctl manages a resource for `environment`: only those are updated without
/// adoption or deleted. Environments may share an account and region; the environment tag keeps
/// one from deleting another's rules.
pub fn managed_by(tags: &Tags, environment: &str) -> bool {
    tags.get(TAG_MANAGED).is_some_and(|v| v == "true")
        && tags.get(TAG_ENVIRONMENT).is_some_and(|e| e == environment)
}

impl ObservedMonitor {
    pub fn rule(&self, name: &str) -> Option<&ObservedRule> {
        self.rules.iter().find(|r| r.name == name)
    }

    pub fn topic(&self, arn: &str) -> Option<&ObservedTopic> {
        self.topics.iter().find(|t| t.arn == arn)
    }

    pub fn event_rule(&self, name: &str) -> Option<&ObservedEventRule> {
        self.event_rules.iter().find(|r| r.name == name)
    }

    /// The observed state behind each address a plan can touch, for staleness fingerprints.
    pub fn fingerprints(&self) -> BTreeMap<Address, String> {
        use crate::kinds::*;
        let mut out = BTreeMap::new();
        let mut put = |kind: &str, name: String, value: Value| {
            out.insert(Address::new(kind, name), fingerprint(&value));
        };
        if let Some(r) = &self.recorder {
            put(CONFIG_RECORDER, r.name.clone(), json!(r));
        }
        for r in &self.rules {
            put(CONFIG_RULE, r.name.clone(), json!(r));
        }
        for t in &self.topics {
            put(
                SNS_TOPIC,
                t.name.clone(),
                json!({"kms": t.kms_master_key_id, "tags": t.tags}),
            );
            put(SNS_TOPIC_POLICY, t.name.clone(), json!(t.policy));
            for s in &t.subscriptions {
                put(
                    SNS_SUBSCRIPTION,
                    format!("{}/{}:{}", t.name, s.protocol, s.endpoint),
                    json!(s),
                );
            }
        }
        for r in &self.event_rules {
            put(
                EVENTS_RULE,
                r.name.clone(),
                json!({"pattern": r.pattern, "state": r.state, "description": r.description, "tags": r.tags}),
            );
            for (id, arn) in &r.targets {
                put(EVENTS_TARGET, format!("{}/{id}", r.name), json!(arn));
            }
        }
        out
    }
}

pub async fn observe(
    clients: &Clients,
    scope: &Scope,
    parallelism: usize,
) -> Result<ObservedMonitor, AwsError> {
    let trails = async {
        match scope.topic {
            Some(_) => trails(&clients.cloudtrail, &scope.region, parallelism)
                .await
                .map(|(trails, denied)| (Some(trails), denied)),
            None => Ok((None, None)),
        }
    };
    let (recorder, rules, event_rules, trails) = tokio::join!(
        recorder(&clients.config),
        config_rules(&clients.config, parallelism),
        event_rules(&clients.events, scope, parallelism),
        trails,
    );
    let (recorder, rules, event_rules, (trails, trails_denied)) =
        (recorder?, rules?, event_rules?, trails?);
    let mut topic_arns: BTreeSet<String> = event_rules
        .iter()
        .filter(|r| managed_by(&r.tags, &scope.environment))
        .flat_map(|r| r.targets.values())
        .filter(|arn| arn.starts_with("arn:") && arn.contains(":sns:"))
        .cloned()
        .collect();
    if let Some(topic) = &scope.topic {
        topic_arns.insert(desired::topic_arn(&scope.region, &scope.account_id, topic));
    }
    let topics = map_bounded(topic_arns.into_iter().collect(), parallelism, |arn| {
        topic(&clients.sns, arn)
    })
    .await?
    .into_iter()
    .flatten()
    .collect();
    Ok(ObservedMonitor {
        recorder,
        rules,
        topics,
        event_rules,
        trails,
        trails_denied,
    })
}

async fn recorder(client: &aws_sdk_config::Client) -> Result<Option<ObservedRecorder>, AwsError> {
    let recorders = client
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(failed("config:DescribeConfigurationRecorders"))?;
    // A region has at most one customer-managed recorder; service-linked ones are AWS's.
    let Some(found) = recorders
        .configuration_recorders()
        .iter()
        .find(|r| r.service_principal().is_none())
    else {
        return Ok(None);
    };
    let name = found.name().unwrap_or_default().to_owned();
    let status = client
        .describe_configuration_recorder_status()
        .configuration_recorder_names(&name)
        .send()
        .await
        .map_err(failed("config:DescribeConfigurationRecorderStatus"))?;
    let channels = client
        .describe_delivery_channels()
        .send()
        .await
        .map_err(failed("config:DescribeDeliveryChannels"))?;
    let channel = channels.delivery_channels().first();
    let group = found.recording_group();
    Ok(Some(ObservedRecorder {
        role_arn: found.role_arn().map(str::to_owned),
        all_supported: group.is_some_and(|g| g.all_supported()),
        resource_types: group
            .map(|g| {
                g.resource_types()
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        recording: status
            .configuration_recorders_status()
            .iter()
            .any(|s| s.recording()),
        channel: channel.and_then(|c| c.name()).map(str::to_owned),
        bucket: channel.and_then(|c| c.s3_bucket_name()).map(str::to_owned),
        name,
    }))
}

async fn config_rules(
    client: &aws_sdk_config::Client,
    parallelism: usize,
) -> Result<Vec<ObservedRule>, AwsError> {
    let rules = monitoring::config_rules(client).await?;
    map_bounded(rules, parallelism, |rule| async move {
        let arn = rule.config_rule_arn().unwrap_or_default().to_owned();
        let tags = monitoring::config_tags(client, &arn).await?;
        let source = rule.source();
        Ok(ObservedRule {
            name: rule.config_rule_name().unwrap_or_default().to_owned(),
            owner: source
                .map(|s| s.owner().as_str().to_owned())
                .unwrap_or_default(),
            identifier: source
                .and_then(|s| s.source_identifier())
                .map(str::to_owned),
            parameters: parameters(rule.input_parameters()),
            frequency: rule
                .maximum_execution_frequency()
                .map(|f| f.as_str().to_owned()),
            resource_types: rule
                .scope()
                .map(|s| s.compliance_resource_types().to_vec())
                .unwrap_or_default(),
            description: rule
                .description()
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            arn,
            tags,
        })
    })
    .await
}

/// `InputParameters` is a JSON object as a string; values that are not strings keep their JSON.
fn parameters(input: Option<&str>) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = input.and_then(|i| serde_json::from_str(i).ok()) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect()
}

/// Whether an EventBridge rule may be one of the environment's alert rules, so its tags and
/// targets are read: a name under kmsctl's prefix or named in the files, or a pattern on KMS's
/// events (kmsctl's rules, renamed in the files since they were made, have one).
fn alert_rule_candidate(rule: &aws_sdk_eventbridge::types::Rule, scope: &Scope) -> bool {
    let name = rule.name().unwrap_or_default();
    if name.starts_with(&desired::event_rule_prefix(&scope.environment))
        || scope.event_rules.iter().any(|n| n == name)
    {
        return true;
    }
    let pattern: Option<Value> = rule
        .event_pattern()
        .and_then(|p| serde_json::from_str(p).ok());
    pattern.is_some_and(|p| match &p["source"] {
        Value::Array(sources) => sources.iter().any(|s| s == "aws.kms"),
        source => source == "aws.kms",
    })
}

/// The default bus's rules that may be the environment's alert rules
/// ([`alert_rule_candidate`]), with their tags and targets: one listing of the bus, as the
/// rules' names are the files' to choose.
async fn event_rules(
    client: &aws_sdk_eventbridge::Client,
    scope: &Scope,
    parallelism: usize,
) -> Result<Vec<ObservedEventRule>, AwsError> {
    let rules: Vec<_> = monitoring::event_rules(client)
        .await?
        .into_iter()
        .filter(|rule| alert_rule_candidate(rule, scope))
        .collect();
    map_bounded(rules, parallelism, |rule| async move {
        let name = rule.name().unwrap_or_default().to_owned();
        let arn = rule.arn().unwrap_or_default().to_owned();
        let tags = monitoring::rule_tags(client, &arn).await?;
        let targets = monitoring::rule_targets(client, &name)
            .await?
            .iter()
            .map(|t| (t.id().to_owned(), t.arn().to_owned()))
            .collect();
        Ok(ObservedEventRule {
            pattern: rule.event_pattern().map(str::to_owned),
            state: rule
                .state()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            description: rule.description().map(str::to_owned),
            name,
            arn,
            tags,
            targets,
        })
    })
    .await
}

async fn topic(
    client: &aws_sdk_sns::Client,
    arn: String,
) -> Result<Option<ObservedTopic>, AwsError> {
    let attributes = match client.get_topic_attributes().topic_arn(&arn).send().await {
        Ok(out) => out.attributes().cloned().unwrap_or_default(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(AwsError::call("sns:GetTopicAttributes", e)),
    };
    let tags = monitoring::topic_tags(client, &arn).await?;
    let subscriptions = monitoring::topic_subscriptions(client, &arn)
        .await?
        .iter()
        .map(|s| ObservedSubscription {
            arn: s.subscription_arn().unwrap_or_default().to_owned(),
            protocol: s.protocol().unwrap_or_default().to_owned(),
            endpoint: s.endpoint().unwrap_or_default().to_owned(),
        })
        .collect();
    Ok(Some(ObservedTopic {
        name: arn.rsplit(':').next().unwrap_or_default().to_owned(),
        policy: attributes.get("Policy").cloned(),
        kms_master_key_id: attributes
            .get("KmsMasterKeyId")
            .filter(|k| !k.is_empty())
            .cloned(),
        arn,
        tags,
        subscriptions,
    }))
}

/// What one read of a trail found.
enum Read<T> {
    Found(T),
    /// The trail was deleted since the listing.
    Gone,
    /// AWS denied the deployer the read: its words.
    Denied(String),
}

/// AWS's words (`AccessDeniedException: ...`) when `error` says the caller may not make the
/// call: CloudTrail answers `AccessDeniedException` (an IAM policy, an SCP, a permissions
/// boundary); `AccessDenied` and `UnauthorizedOperation` are the other spellings AWS's APIs use
/// for the same refusal. `None` for any other error, which fails the observation.
fn denied(error: &AwsError) -> Option<String> {
    match error {
        AwsError::Call {
            code: Some(code),
            message,
            ..
        } if matches!(
            code.as_str(),
            "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation"
        ) =>
        {
            Some(message.clone())
        }
        _ => None,
    }
}

/// The trails listed in `region`, with the status and event selectors of each one that logs it.
/// A trail deleted between the listing and these reads is left out. A denied DescribeTrails
/// gives no trail and AWS's words; a denied status or selectors read is kept on the trail.
async fn trails(
    client: &aws_sdk_cloudtrail::Client,
    region: &str,
    parallelism: usize,
) -> Result<(Vec<ObservedTrail>, Option<String>), AwsError> {
    let listed = match monitoring::trails(client).await {
        Ok(listed) => listed,
        Err(error) => return denied(&error).map(|why| (vec![], Some(why))).ok_or(error),
    };
    let found = map_bounded(listed, parallelism, |trail| async move {
        let mut observed = ObservedTrail {
            name: trail.name().unwrap_or_default().to_owned(),
            arn: trail.trail_arn().unwrap_or_default().to_owned(),
            home_region: trail.home_region().unwrap_or(region).to_owned(),
            multi_region: trail.is_multi_region_trail().unwrap_or(false),
            organization: trail.is_organization_trail().unwrap_or(false),
            ..ObservedTrail::default()
        };
        if !observed.logs_region(region) || observed.arn.is_empty() {
            return Ok(Some(observed));
        }
        let (status, selectors) = tokio::join!(
            trail_status(client, &observed.arn, &observed.home_region),
            trail_selectors(client, &observed.arn, &observed.home_region),
        );
        let (status, selectors) = (status?, selectors?);
        match status {
            Read::Found(logging) => observed.logging = logging,
            Read::Gone => return Ok(None),
            Read::Denied(why) => observed.status_denied = Some(why),
        }
        match selectors {
            Read::Found((basic, advanced)) => {
                observed.event_selectors = basic;
                observed.advanced_event_selectors = advanced;
            }
            Read::Gone => return Ok(None),
            Read::Denied(why) => observed.selectors_denied = Some(why),
        }
        Ok(Some(observed))
    })
    .await?;
    Ok((found.into_iter().flatten().collect(), None))
}

/// A trail is read in its home region, by ARN: that is where it lives (a shadow copy's status
/// and selectors are the trail's), and how AWS asks for organization trails to be named.
fn in_home_region(home_region: &str) -> aws_sdk_cloudtrail::config::Builder {
    aws_sdk_cloudtrail::config::Builder::default().region(aws_sdk_cloudtrail::config::Region::new(
        home_region.to_owned(),
    ))
}

/// `IsLogging`.
async fn trail_status(
    client: &aws_sdk_cloudtrail::Client,
    arn: &str,
    home_region: &str,
) -> Result<Read<bool>, AwsError> {
    match client
        .get_trail_status()
        .name(arn)
        .customize()
        .config_override(in_home_region(home_region))
        .send()
        .await
    {
        Ok(out) => Ok(Read::Found(out.is_logging().unwrap_or(false))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_trail_not_found_exception()) =>
        {
            Ok(Read::Gone)
        }
        Err(e) => {
            let error = AwsError::call("cloudtrail:GetTrailStatus", e);
            denied(&error).map(Read::Denied).ok_or(error)
        }
    }
}

type Selectors = (Vec<TrailEventSelector>, Vec<TrailAdvancedSelector>);

/// The trail's basic and advanced event selectors.
async fn trail_selectors(
    client: &aws_sdk_cloudtrail::Client,
    arn: &str,
    home_region: &str,
) -> Result<Read<Selectors>, AwsError> {
    let out = match client
        .get_event_selectors()
        .trail_name(arn)
        .customize()
        .config_override(in_home_region(home_region))
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_trail_not_found_exception()) =>
        {
            return Ok(Read::Gone);
        }
        Err(e) => {
            let error = AwsError::call("cloudtrail:GetEventSelectors", e);
            return denied(&error).map(Read::Denied).ok_or(error);
        }
    };
    let basic = out
        .event_selectors()
        .iter()
        .map(|s| TrailEventSelector {
            read_write_type: s.read_write_type().map(|t| t.as_str().to_owned()),
            include_management_events: s.include_management_events(),
            exclude_management_event_sources: s.exclude_management_event_sources().to_vec(),
        })
        .collect();
    let advanced = out
        .advanced_event_selectors()
        .iter()
        .map(|s| TrailAdvancedSelector {
            name: s.name().map(str::to_owned),
            field_selectors: s
                .field_selectors()
                .iter()
                .map(|f| TrailFieldSelector {
                    field: f.field().to_owned(),
                    equals: f.equals().to_vec(),
                    starts_with: f.starts_with().to_vec(),
                    ends_with: f.ends_with().to_vec(),
                    not_equals: f.not_equals().to_vec(),
                    not_starts_with: f.not_starts_with().to_vec(),
                    not_ends_with: f.not_ends_with().to_vec(),
                })
                .collect(),
        })
        .collect();
    Ok(Read::Found((basic, advanced)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str) -> AwsError {
        AwsError::Call {
            operation: "cloudtrail:DescribeTrails".into(),
            code: Some(code.into()),
            message: format!("{code}: not for you"),
        }
    }

    #[test]
    fn only_a_denial_is_kept_as_aws_words() {
        for code in [
            "AccessDeniedException",
            "AccessDenied",
            "UnauthorizedOperation",
        ] {
            assert_eq!(denied(&error(code)), Some(format!("{code}: not for you")));
        }
        for code in [
            "ThrottlingException",
            "InternalFailure",
            "TrailNotFoundException",
        ] {
            assert_eq!(denied(&error(code)), None, "{code} fails the observation");
        }
        let unanswered = AwsError::Call {
            operation: "cloudtrail:DescribeTrails".into(),
            code: None,
            message: "dispatch failure: timed out".into(),
        };
        assert_eq!(denied(&unanswered), None);
    }
}
