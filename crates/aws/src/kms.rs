//! KMS clients and list calls. Lists are fully paginated with the SDK's paginators (AWS pages
//! keys by 100 and aliases by 50; callers get everything).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::retry::RetryPartition;
use aws_sdk_kms::types::{AliasListEntry, KeyListEntry, Tag};
use aws_sdk_resourcegroupstagging::types::TagFilter;

use crate::error::AwsError;
use crate::governor::{GovernedHttpClient, Governor};

/// One KMS client per operation that kmsctl calls in bulk. AWS applies a request quota per
/// operation (DescribeKey 100/s, GetKeyPolicy 30/s, ...), so each has its own retry partition
/// (its own retry quota) and its own [`Governor`], which learns the operation's rate from
/// throttling answers: a throttled GetKeyPolicy does not slow DescribeKey down.
#[derive(Debug, Clone)]
pub struct KmsClients {
    pub describe_key: Client,
    pub get_key_policy: Client,
    pub get_key_rotation_status: Client,
    pub list_resource_tags: Client,
    pub list: Client,
    /// Every change (CreateKey, PutKeyPolicy, TagResource, ...).
    pub write: Client,
    /// The Resource Groups Tagging API: tags of many keys per call.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
}

impl KmsClients {
    pub fn new(config: &SdkConfig) -> Self {
        // One connection pool and TLS setup for all of them; each wraps it with its governor.
        let http = config.http_client().or_else(default_http_client);
        let kms = |partition: &'static str| {
            let mut conf = aws_sdk_kms::config::Builder::from(config)
                .retry_partition(RetryPartition::new(partition));
            if let Some(http) = http.clone() {
                let governed = GovernedHttpClient::new(http, Governor::new(partition));
                conf = conf.http_client(governed);
            }
            Client::from_conf(conf.build())
        };
        Self {
            describe_key: kms("kms-DescribeKey"),
            get_key_policy: kms("kms-GetKeyPolicy"),
            get_key_rotation_status: kms("kms-GetKeyRotationStatus"),
            list_resource_tags: kms("kms-ListResourceTags"),
            list: kms("kms-List"),
            write: kms("kms-write"),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
        }
    }

    /// The same client for every operation (tests with stubbed answers).
    pub fn from_clients(kms: Client, tagging: aws_sdk_resourcegroupstagging::Client) -> Self {
        Self {
            describe_key: kms.clone(),
            get_key_policy: kms.clone(),
            get_key_rotation_status: kms.clone(),
            list_resource_tags: kms.clone(),
            list: kms.clone(),
            write: kms,
            tagging,
        }
    }
}

/// The HTTP client the SDK would pick by itself (hyper 1.x, rustls with aws-lc, proxy settings
/// from the environment), built here so it can be wrapped.
pub(crate) fn default_http_client() -> Option<aws_smithy_runtime_api::client::http::SharedHttpClient>
{
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
    let client = Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    Some(client)
}

/// Retries for a call that must not be retried blindly (CreateKey): none.
pub fn no_retries() -> aws_sdk_kms::config::Builder {
    aws_sdk_kms::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// Tags of every KMS key carrying `tag_key = tag_value`, by key id, through the Resource Groups
/// Tagging API (about 50 keys a call). That API is eventually consistent: a key tagged seconds ago may
/// be missing and tags may be stale, so callers confirm what matters with `list_resource_tags`.
pub async fn tagged_keys(
    tagging: &aws_sdk_resourcegroupstagging::Client,
    tag_key: &str,
    tag_value: &str,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    let filter = TagFilter::builder().key(tag_key).values(tag_value).build();
    let mappings: Vec<_> = tagging
        .get_resources()
        .resource_type_filters("kms:key")
        .tag_filters(filter)
        // Pages are limited by tags: ~50 keys of 10 tags a page, on AWS and the emulator alike.
        .tags_per_page(500)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("tagging:GetResources", e))?;
    let mut keys = BTreeMap::new();
    for mapping in mappings {
        let Some(key_id) = mapping
            .resource_arn()
            .and_then(|arn| arn.rsplit_once(":key/"))
            .map(|(_, id)| id.to_owned())
        else {
            continue;
        };
        let tags = mapping
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        keys.insert(key_id, tags);
    }
    Ok(keys)
}

pub async fn list_keys(client: &Client) -> Result<Vec<KeyListEntry>, AwsError> {
    client
        .list_keys()
        .limit(1000)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("kms:ListKeys", e))
}

pub async fn list_aliases(client: &Client) -> Result<Vec<AliasListEntry>, AwsError> {
    client
        .list_aliases()
        .limit(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("kms:ListAliases", e))
}

pub async fn list_resource_tags(client: &Client, key_id: &str) -> Result<Vec<Tag>, AwsError> {
    client
        .list_resource_tags()
        .key_id(key_id)
        .limit(50)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("kms:ListResourceTags", e))
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::operation::list_keys::ListKeysOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn entry(id: &str) -> KeyListEntry {
        KeyListEntry::builder().key_id(id).build()
    }

    // The emulator returns every list in one page, so paging is proven here on the real SDK
    // client with stubbed responses.
    #[tokio::test]
    async fn list_keys_follows_every_page() {
        let first = mock!(Client::list_keys)
            .match_requests(|r| r.marker().is_none())
            .then_output(|| {
                ListKeysOutput::builder()
                    .keys(entry("k1"))
                    .keys(entry("k2"))
                    .truncated(true)
                    .next_marker("m1")
                    .build()
            });
        let second = mock!(Client::list_keys)
            .match_requests(|r| r.marker() == Some("m1"))
            .then_output(|| {
                ListKeysOutput::builder()
                    .keys(entry("k3"))
                    .truncated(false)
                    .build()
            });
        let client = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&first, &second]);
        let keys = list_keys(&client).await.expect("lists");
        let ids: Vec<_> = keys.iter().filter_map(KeyListEntry::key_id).collect();
        assert_eq!(ids, ["k1", "k2", "k3"]);
        assert_eq!(second.num_calls(), 1);
    }
}
