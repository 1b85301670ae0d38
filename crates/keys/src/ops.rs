//! The KMS calls a plan can contain, as stored in plan files, and how apply makes them.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, OriginType, Tag};
pub use kmsctl_aws::ApplyError;
use kmsctl_aws::{AwsError, KmsClients, failed};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::handle::KeyHandle;

/// One KMS call. `key_id` fields hold a key id once references are resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum KeyOp {
    CreateKey {
        /// The `kmsctl:id` tag, also in `tags`: how a lost CreateKey answer is recovered.
        id: String,
        description: String,
        key_spec: String,
        key_usage: String,
        multi_region: bool,
        policy: String,
        tags: BTreeMap<String, String>,
        /// Set for a key in a CloudHSM key store (origin `AWS_CLOUDHSM`).
        #[serde(default)]
        custom_key_store_id: Option<String>,
    },
    UpdateKeyDescription {
        key_id: String,
        description: String,
    },
    TagResource {
        key_id: String,
        tags: BTreeMap<String, String>,
    },
    UntagResource {
        key_id: String,
        tag_keys: Vec<String>,
    },
    EnableKey {
        key_id: String,
    },
    DisableKey {
        key_id: String,
    },
    ScheduleKeyDeletion {
        key_id: String,
        pending_window_in_days: i32,
    },
    CancelKeyDeletion {
        key_id: String,
    },
    PutKeyPolicy {
        key_id: String,
        policy: String,
    },
    EnableKeyRotation {
        key_id: String,
        rotation_period_in_days: Option<i32>,
    },
    DisableKeyRotation {
        key_id: String,
    },
    CreateAlias {
        alias_name: String,
        target_key_id: String,
    },
    UpdateAlias {
        alias_name: String,
        target_key_id: String,
    },
}

/// An operation on `key` as plan data: `{"op": NAME, "key_id": <id or reference>, ...fields}`.
pub fn on_key(name: &str, key: &KeyHandle, fields: Value) -> Value {
    let mut value = json!({"op": name, "key_id": key.to_value()});
    if let (Some(target), Value::Object(extra)) = (value.as_object_mut(), fields) {
        target.extend(extra);
    }
    value
}

pub fn alias_op(name: &str, alias: &str, key: &KeyHandle) -> Value {
    json!({"op": name, "alias_name": alias, "target_key_id": key.to_value()})
}

fn tag_list(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ApplyError> {
    kmsctl_aws::sdk_tags(tags, |k, v| Tag::builder().tag_key(k).tag_value(v).build())
}

/// Makes the call; returns the outputs it produced (`key_id`, `arn`).
pub async fn run(clients: &KmsClients, op: KeyOp) -> Result<BTreeMap<String, String>, ApplyError> {
    // Every call but CreateKey acts on a key or an alias that already has its name.
    let (output, value) = match op {
        KeyOp::CreateKey { .. } => return create_key(clients, op).await,
        KeyOp::UpdateKeyDescription {
            key_id,
            description,
        } => {
            clients
                .write
                .update_key_description()
                .key_id(&key_id)
                .description(description)
                .send()
                .await
                .map_err(failed("kms:UpdateKeyDescription"))?;
            ("key_id", key_id)
        }
        KeyOp::TagResource { key_id, tags } => {
            clients
                .write
                .tag_resource()
                .key_id(&key_id)
                .set_tags(Some(tag_list(&tags)?))
                .send()
                .await
                .map_err(failed("kms:TagResource"))?;
            ("key_id", key_id)
        }
        KeyOp::UntagResource { key_id, tag_keys } => {
            clients
                .write
                .untag_resource()
                .key_id(&key_id)
                .set_tag_keys(Some(tag_keys))
                .send()
                .await
                .map_err(failed("kms:UntagResource"))?;
            ("key_id", key_id)
        }
        KeyOp::EnableKey { key_id } => {
            clients
                .write
                .enable_key()
                .key_id(&key_id)
                .send()
                .await
                .map_err(failed("kms:EnableKey"))?;
            ("key_id", key_id)
        }
        KeyOp::DisableKey { key_id } => {
            clients
                .write
                .disable_key()
                .key_id(&key_id)
                .send()
                .await
                .map_err(failed("kms:DisableKey"))?;
            ("key_id", key_id)
        }
        KeyOp::ScheduleKeyDeletion {
            key_id,
            pending_window_in_days,
        } => {
            clients
                .write
                .schedule_key_deletion()
                .key_id(&key_id)
                .pending_window_in_days(pending_window_in_days)
                .send()
                .await
                .map_err(failed("kms:ScheduleKeyDeletion"))?;
            ("key_id", key_id)
        }
        KeyOp::CancelKeyDeletion { key_id } => {
            clients
                .write
                .cancel_key_deletion()
                .key_id(&key_id)
                .send()
                .await
                .map_err(failed("kms:CancelKeyDeletion"))?;
            ("key_id", key_id)
        }
        KeyOp::PutKeyPolicy { key_id, policy } => {
            clients
                .write
                .put_key_policy()
                .key_id(&key_id)
                .policy_name("default")
                .policy(policy)
                .send()
                .await
                .map_err(failed("kms:PutKeyPolicy"))?;
            ("key_id", key_id)
        }
        KeyOp::EnableKeyRotation {
            key_id,
            rotation_period_in_days,
        } => {
            clients
                .write
                .enable_key_rotation()
                .key_id(&key_id)
                .set_rotation_period_in_days(rotation_period_in_days)
                .send()
                .await
                .map_err(failed("kms:EnableKeyRotation"))?;
            ("key_id", key_id)
        }
        KeyOp::DisableKeyRotation { key_id } => {
            clients
                .write
                .disable_key_rotation()
                .key_id(&key_id)
                .send()
                .await
                .map_err(failed("kms:DisableKeyRotation"))?;
            ("key_id", key_id)
        }
        KeyOp::CreateAlias {
            alias_name,
            target_key_id,
        } => {
            clients
                .write
                .create_alias()
                .alias_name(&alias_name)
                .target_key_id(target_key_id)
                .send()
                .await
                .map_err(failed("kms:CreateAlias"))?;
            ("alias_name", alias_name)
        }
        KeyOp::UpdateAlias {
            alias_name,
            target_key_id,
        } => {
            clients
                .write
                .update_alias()
                .alias_name(&alias_name)
                .target_key_id(target_key_id)
                .send()
                .await
                .map_err(failed("kms:UpdateAlias"))?;
            ("alias_name", alias_name)
        }
    };
    Ok(BTreeMap::from([(output.to_owned(), value)]))
}

/// Attempts of one CreateKey, the first included.
const CREATE_ATTEMPTS: u32 = 10;

/// What a failed CreateKey tells about the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CreateFailure {
    /// AWS refused the request before acting on it (throttled; a principal IAM does not know
    /// yet): no key was made, try again.
    NotMade,
    /// The answer was lost or AWS failed internally: the key may exist.
    Ambiguous,
    /// Anything else: report it.
    Final,
}

fn classify(code: Option<&str>) -> CreateFailure {
    match code {
        None => CreateFailure::Ambiguous,
        Some(
            "ThrottlingException" | "LimitExceededException" | "MalformedPolicyDocumentException",
        ) => CreateFailure::NotMade,
        Some(code)
            if code.contains("Internal")
                || code.contains("ServiceUnavailable")
                || code == "DependencyTimeoutException" =>
        {
            CreateFailure::Ambiguous
        }
        Some(_) => CreateFailure::Final,
    }
}

/// Exponential backoff from 250 ms to 10 s, with jitter so parallel creates spread out.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64.saturating_mul(1 << attempt.min(6)).min(10_000);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos(),
    ) % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter)
}

/// CreateKey has no idempotency token, so the SDK must not retry it: a retry after a lost answer
/// would make a second key. This loop is the named exception to "retries are configuration".
/// After an ambiguous failure it looks for the key by its `kmsctl:id` tag through consistent APIs
/// (ListKeys + ListResourceTags) and takes it; it creates again only when no such key exists.
/// Throttling and `MalformedPolicyDocumentException` (the IAM eventual-consistency window of a
/// principal made seconds before) mean no key was made: those are simply retried.
async fn create_key(
    clients: &KmsClients,
    op: KeyOp,
) -> Result<BTreeMap<String, String>, ApplyError> {
    let KeyOp::CreateKey {
        id,
        description,
        key_spec,
        key_usage,
        multi_region,
        policy,
        tags,
        custom_key_store_id,
    } = op
    else {
        return Err(ApplyError::Malformed(
            "create_key called with another operation".into(),
        ));
    };
    let tags = tag_list(&tags)?;
    let mut last_error = None;
    for attempt in 1..=CREATE_ATTEMPTS {
        let result = clients
            .write
            .create_key()
            .description(&description)
            .key_spec(KeySpec::from(key_spec.as_str()))
            .key_usage(KeyUsageType::from(key_usage.as_str()))
            .multi_region(multi_region)
            .policy(&policy)
            .set_tags(Some(tags.clone()))
            .set_origin(
                custom_key_store_id
                    .as_ref()
                    .map(|_| OriginType::AwsCloudhsm),
            )
            .set_custom_key_store_id(custom_key_store_id.clone())
            .customize()
            .config_override(kmsctl_aws::kms::no_retries())
            .send()
            .await;
        let error = match result {
            Ok(output) => {
                let metadata = output
                    .key_metadata
                    .ok_or_else(|| ApplyError::Malformed("CreateKey returned no key".into()))?;
                return Ok(BTreeMap::from([
                    ("key_id".to_owned(), metadata.key_id),
                    ("arn".to_owned(), metadata.arn.unwrap_or_default()),
                ]));
            }
            Err(error) => error,
        };
        let failure = classify(error.code());
        let error = AwsError::call("kms:CreateKey", error);
        tracing::warn!(attempt, ?failure, %error, "CreateKey failed");
        if failure == CreateFailure::Final {
            return Err(error.into());
        }
        last_error = Some(error);
        tokio::time::sleep(backoff(attempt)).await;
        if failure == CreateFailure::Ambiguous
            && let Some(found) = find_by_id_tag(clients, &id).await?
        {
            return Ok(found);
        }
    }
    Err(last_error.map_or_else(
        || ApplyError::Malformed("CreateKey never attempted".into()),
        ApplyError::from,
    ))
}

/// The key carrying `kmsctl:id = id`, read through consistent APIs.
async fn find_by_id_tag(
    clients: &KmsClients,
    id: &str,
) -> Result<Option<BTreeMap<String, String>>, ApplyError> {
    let keys = crate::list::list_keys(&clients.list).await?;
    let candidates: Vec<(String, String)> = keys
        .iter()
        .filter_map(|k| {
            Some((
                k.key_id()?.to_owned(),
                k.key_arn().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let found = kmsctl_aws::map_bounded(candidates, 16, |(key_id, arn)| async move {
        let tags = crate::list::list_resource_tags(&clients.list_resource_tags, &key_id).await;
        let ours = tags.is_ok_and(|tags| {
            tags.iter()
                .any(|t| t.tag_key == crate::desired::TAG_ID && t.tag_value == id)
        });
        Ok::<_, AwsError>(ours.then_some((key_id, arn)))
    })
    .await?;
    Ok(found.into_iter().flatten().next().map(|(key_id, arn)| {
        tracing::info!(key_id, "found the key a lost CreateKey answer had made");
        BTreeMap::from([("key_id".to_owned(), key_id), ("arn".to_owned(), arn)])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmsctl_core::Address;

    #[test]
    fn operations_round_trip_through_plan_json() {
        let value = on_key(
            "PutKeyPolicy",
            &KeyHandle::Existing("k-1".into()),
            json!({"policy": "{}"}),
        );
        let op: KeyOp = serde_json::from_value(value).expect("known op");
        assert_eq!(
            op,
            KeyOp::PutKeyPolicy {
                key_id: "k-1".into(),
                policy: "{}".into()
            }
        );
    }

    #[test]
    fn new_keys_are_referenced_until_apply() {
        let value = alias_op(
            "CreateAlias",
            "alias/x",
            &KeyHandle::New(Address::new("kms_key", "x")),
        );
        assert_eq!(value["target_key_id"], json!({"$ref": "kms_key.x#key_id"}));
    }

    #[test]
    fn create_failures_are_classified_by_what_they_say_about_the_key() {
        assert_eq!(
            classify(Some("ThrottlingException")),
            CreateFailure::NotMade
        );
        assert_eq!(
            classify(Some("MalformedPolicyDocumentException")),
            CreateFailure::NotMade
        );
        assert_eq!(classify(None), CreateFailure::Ambiguous);
        assert_eq!(
            classify(Some("KMSInternalException")),
            CreateFailure::Ambiguous
        );
        assert_eq!(
            classify(Some("ServiceUnavailableException")),
            CreateFailure::Ambiguous
        );
        assert_eq!(classify(Some("TagException")), CreateFailure::Final);
        assert!(
            backoff(1) >= Duration::from_millis(250) && backoff(1) <= Duration::from_millis(500)
        );
        assert!(backoff(20) <= Duration::from_secs(10));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let value = json!({"op": "EnableKey", "key_id": "k", "extra": 1});
        assert!(serde_json::from_value::<KeyOp>(value).is_err());
    }
}
