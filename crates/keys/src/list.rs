//! KMS list calls, fully paginated with the SDK's paginators (AWS pages keys by 100 and aliases
//! by 50; callers get everything).

use std::collections::BTreeMap;

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{AliasListEntry, KeyListEntry, Tag};
use aws_sdk_resourcegroupstagging::types::TagFilter;
use kmsctl_aws::AwsError;

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
