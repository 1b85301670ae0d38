//! KMS list calls, fully paginated with the SDK's paginators (AWS pages keys by 100 and aliases
//! by 50; callers get everything).

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{AliasListEntry, KeyListEntry, Tag};

use crate::error::AwsError;

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
