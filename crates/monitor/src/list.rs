//! Listing calls of the monitoring services (AWS Config, SNS, EventBridge, CloudTrail), every
//! page read. Config and SNS come with SDK paginators; EventBridge's list operations have none in
//! the service model, so their page loops live here and nowhere else. CloudTrail's DescribeTrails
//! is not paged: one answer holds every trail.

use std::collections::BTreeMap;

use kmsctl_aws::AwsError;

pub type Tags = BTreeMap<String, String>;

pub async fn config_rules(
    client: &aws_sdk_config::Client,
) -> Result<Vec<aws_sdk_config::types::ConfigRule>, AwsError> {
    client
        .describe_config_rules()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("config:DescribeConfigRules", e))
}

pub async fn config_tags(client: &aws_sdk_config::Client, arn: &str) -> Result<Tags, AwsError> {
    let tags: Vec<_> = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("config:ListTagsForResource", e))?;
    Ok(tags
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect())
}

pub async fn topic_subscriptions(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
) -> Result<Vec<aws_sdk_sns::types::Subscription>, AwsError> {
    client
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("sns:ListSubscriptionsByTopic", e))
}

pub async fn topic_tags(client: &aws_sdk_sns::Client, arn: &str) -> Result<Tags, AwsError> {
    let out = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::call("sns:ListTagsForResource", e))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}

/// Every EventBridge rule on the default bus.
pub async fn event_rules(
    client: &aws_sdk_eventbridge::Client,
) -> Result<Vec<aws_sdk_eventbridge::types::Rule>, AwsError> {
    let mut rules = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_rules()
            .limit(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsError::call("events:ListRules", e))?;
        rules.extend(page.rules().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(rules);
        }
    }
}

pub async fn rule_targets(
    client: &aws_sdk_eventbridge::Client,
    rule: &str,
) -> Result<Vec<aws_sdk_eventbridge::types::Target>, AwsError> {
    let mut targets = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_targets_by_rule()
            .rule(rule)
            .limit(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsError::call("events:ListTargetsByRule", e))?;
        targets.extend(page.targets().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(targets);
        }
    }
}

pub async fn rule_tags(client: &aws_sdk_eventbridge::Client, arn: &str) -> Result<Tags, AwsError> {
    let out = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::call("events:ListTagsForResource", e))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}

/// Every trail DescribeTrails lists in the client's region: the region's own and, with shadow
/// trails included, the copies of multi-Region trails made elsewhere and of organization trails.
/// (ListTrails pages, but names only name, ARN and home region; DescribeTrails answers at once,
/// with whether a trail is multi-Region or the organization's.)
pub async fn trails(
    client: &aws_sdk_cloudtrail::Client,
) -> Result<Vec<aws_sdk_cloudtrail::types::Trail>, AwsError> {
    let out = client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:DescribeTrails", e))?;
    Ok(out.trail_list().to_vec())
}
