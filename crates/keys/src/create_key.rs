//! CreateKey, the one KMS call a blind repeat would make twice: its own attempts, and the
//! look-up after a lost answer that its semantics declare.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, OriginType, Tag};
use kmsctl_aws::{AwsError, KmsClients, Produced};

use kmsctl_core::semantics::NotYet;

use crate::ops::{ApplyError, CREATE_KEY_NOT_YET};

/// A CreateKey with its references resolved and its tags in the SDK's form.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    pub description: String,
    pub key_spec: KeySpec,
    pub key_usage: KeyUsageType,
    pub multi_region: bool,
    pub policy: String,
    pub tags: Vec<Tag>,
    pub custom_key_store_id: Option<String>,
}

/// Refusals for rate, before AWS acted: with SDK retries off, CreateKey makes its own.
/// Not `LimitExceededException`: in KMS it is a resource quota (100,000 keys per account and
/// Region, "Resource quotas" in the KMS developer guide) that no repeat gets past.
const RATE_LIMITED: &[&str] = &["ThrottlingException"];

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

fn classify(code: Option<&str>, message: &str) -> CreateFailure {
    match code {
        None => CreateFailure::Ambiguous,
        Some(code)
            if RATE_LIMITED.contains(&code)
                || NotYet::RepeatedByRun(CREATE_KEY_NOT_YET).means_not_yet(Some(code), message) =>
        {
            CreateFailure::NotMade
        }
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
/// would make a second key. This loop is the named exception to "retries are configuration"
/// (its semantics say so: a look-up after a lost answer, its own repeats).
/// After an ambiguous failure it looks for the key by its `kmsctl:id` tag (ListKeys +
/// ListResourceTags) and takes it. A key made seconds ago is not yet in ListKeys, so the look-up
/// polls for the whole propagation window before it concludes that nothing was made and creates
/// again. Throttling and the "not yet" codes (`MalformedPolicyDocumentException` for a principal
/// IAM does not know yet, not KMS's lockout check) mean no key was made: those are retried.
pub async fn create_key(clients: &KmsClients, request: Request) -> Result<Produced, ApplyError> {
    let Request {
        id,
        description,
        key_spec,
        key_usage,
        multi_region,
        policy,
        tags,
        custom_key_store_id,
    } = request;
    let mut last_error = None;
    let search = Search::default();
    let started = tokio::time::Instant::now();
    let mut attempt = 0;
    // Lost answers get CREATE_ATTEMPTS tries; refusals before AWS acted (throttling, an unknown
    // principal) go on for the propagation window.
    let mut ambiguous = 0;
    while ambiguous < CREATE_ATTEMPTS {
        attempt += 1;
        let result = clients
            .write
            .create_key()
            .description(&description)
            .key_spec(key_spec.clone())
            .key_usage(key_usage.clone())
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
        let failure = classify(error.code(), error.message().unwrap_or_default());
        let error = AwsError::call("kms:CreateKey", error);
        tracing::warn!(attempt, ?failure, %error, "CreateKey failed");
        if failure == CreateFailure::Final
            || (failure == CreateFailure::NotMade
                && started.elapsed() >= clients.propagation.timeout)
        {
            return Err(error.into());
        }
        last_error = Some(error);
        if failure == CreateFailure::Ambiguous {
            ambiguous += 1;
            let what = format!("the key a lost CreateKey answer may have made (kmsctl:id {id})");
            let found = clients
                .propagation
                .wait_until(&what, || search.next(clients, &id))
                .await?;
            if let Some(found) = found {
                tracing::info!(
                    key_id = found["key_id"],
                    "found the key a lost CreateKey answer had made"
                );
                return Ok(found);
            }
        } else {
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
    Err(last_error.map_or_else(
        || ApplyError::Malformed("CreateKey never attempted".into()),
        ApplyError::from,
    ))
}

/// The look-up of the key carrying `kmsctl:id = id`, polled: each poll lists the keys and reads
/// the tags of those not known to be another's, so polling a large account costs one ListKeys
/// per poll (ListKeys pages hold 1,000 keys) plus the keys without a kmsctl:id.
#[derive(Default)]
struct Search {
    /// Keys that carry another kmsctl:id: never this one. A key read without tags is read
    /// again (its tags may not show yet).
    not_it: Mutex<HashSet<String>>,
}

impl Search {
    async fn next(&self, clients: &KmsClients, id: &str) -> Result<Option<Produced>, ApplyError> {
        let keys = crate::list::list_keys(&clients.list).await?;
        let not_it = self
            .not_it
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let candidates: Vec<(String, String)> = keys
            .iter()
            .filter_map(|k| {
                Some((
                    k.key_id()?.to_owned(),
                    k.key_arn().unwrap_or_default().to_owned(),
                ))
            })
            .filter(|(key_id, _)| !not_it.contains(key_id))
            .collect();
        let read = kmsctl_aws::map_bounded(candidates, 16, |(key_id, arn)| async move {
            let tags = crate::list::list_resource_tags(&clients.list_resource_tags, &key_id).await;
            // A key just listed may not be readable yet: it is read again at the next poll.
            let carried = tags.ok().map(|tags| {
                tags.into_iter()
                    .find(|t| t.tag_key == crate::desired::TAG_ID)
                    .map(|t| t.tag_value)
            });
            Ok::<_, AwsError>((key_id, arn, carried))
        })
        .await?;
        let mut found = Vec::new();
        for (key_id, arn, carried) in read {
            match carried {
                Some(Some(carried)) if carried == id => found.push((key_id, arn)),
                Some(Some(_)) => {
                    self.not_it
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(key_id);
                }
                Some(None) | None => {}
            }
        }
        match found.as_slice() {
            [] => Ok(None),
            [(key_id, arn)] => Ok(Some(BTreeMap::from([
                ("key_id".to_owned(), key_id.clone()),
                ("arn".to_owned(), arn.clone()),
            ]))),
            // Never guess between two: the next plan refuses them as duplicate-key.
            several => Err(ApplyError::Aws(AwsError::Call {
                operation: "kms:CreateKey".into(),
                code: None,
                message: format!(
                    "after a lost answer, several keys carry kmsctl:id {id} ({}); none was taken",
                    several
                        .iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_failures_are_classified_by_what_they_say_about_the_key() {
        assert_eq!(
            classify(Some("ThrottlingException"), ""),
            CreateFailure::NotMade
        );
        assert_eq!(
            classify(
                Some("MalformedPolicyDocumentException"),
                "Policy contains a statement with one or more invalid principals."
            ),
            CreateFailure::NotMade
        );
        assert_eq!(classify(None, ""), CreateFailure::Ambiguous);
        assert_eq!(
            classify(Some("KMSInternalException"), ""),
            CreateFailure::Ambiguous
        );
        assert_eq!(
            classify(Some("ServiceUnavailableException"), ""),
            CreateFailure::Ambiguous
        );
        assert_eq!(classify(Some("TagException"), ""), CreateFailure::Final);
        assert_eq!(
            classify(
                Some("MalformedPolicyDocumentException"),
                "The policy has a syntax error"
            ),
            CreateFailure::Final,
            "a malformed policy is final unless it names an unknown principal"
        );
        assert_eq!(
            classify(Some("LimitExceededException"), ""),
            CreateFailure::Final,
            "the key quota is full: repeating cannot help"
        );
        assert_eq!(
            classify(
                Some("MalformedPolicyDocumentException"),
                "The new key policy will not allow you to update the key policy in the future."
            ),
            CreateFailure::Final,
            "KMS's lockout safety check: waiting cannot fix it"
        );
        assert!(
            backoff(1) >= Duration::from_millis(250) && backoff(1) <= Duration::from_millis(500)
        );
        assert!(backoff(20) <= Duration::from_secs(10));
    }

    #[test]
    fn every_not_yet_code_create_key_declares_is_retried() {
        let op: crate::ops::KeyOp<String> = crate::ops::KeyOp::CreateKey {
            id: String::new(),
            description: String::new(),
            key_spec: KeySpec::SymmetricDefault,
            key_usage: KeyUsageType::EncryptDecrypt,
            multi_region: false,
            policy: String::new(),
            tags: BTreeMap::new(),
            custom_key_store_id: None,
        };
        let codes = op.semantics().not_yet.codes();
        assert!(!codes.is_empty());
        for entry in codes {
            let (code, words) = entry.split_once('|').unwrap_or((entry, ""));
            assert_eq!(
                classify(Some(code), &format!("... {words} ...")),
                CreateFailure::NotMade,
                "{entry}"
            );
        }
    }
}
