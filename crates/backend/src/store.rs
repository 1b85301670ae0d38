//! The object store under the backend: S3 with conditional writes, or memory for tests.
//!
//! Every change is conditional (`If-None-Match: *` to create, `If-Match: ETAG` to replace or
//! delete), so two writers can never both believe they won: S3 answers the loser 412.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use kmsctl_aws::AwsSettings;

use crate::config::BackendConfig;

/// Objects by key, each with its body and ETag.
pub type Objects = BTreeMap<String, (Vec<u8>, String)>;

/// Where the shared state is kept. Clones share the same client or the same memory.
#[derive(Debug, Clone)]
pub enum Store {
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        /// Empty or ending with `/`.
        prefix: String,
    },
    /// For tests, this crate's and others': the same conditional semantics, no network.
    Memory(Arc<Mutex<Objects>>),
}

/// An object as read, with the ETag to make the next write conditional on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    pub etag: String,
}

/// The answer to a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Written; the new ETag.
    Written(String),
    /// `put_new`: the key already exists (someone else created it first).
    Exists,
    /// `put_replacing`: the object is no longer the one whose ETag was given (rewritten or
    /// deleted meanwhile).
    Changed,
}

/// The answer to a conditional delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Yes,
    /// The object is no longer the one whose ETag was given: left in place.
    Changed,
    /// There was nothing to delete.
    Gone,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the backend configuration is invalid: {0}")]
    Config(String),
    #[error("cannot reach the backend {location}: {error}")]
    Connect {
        location: String,
        error: kmsctl_aws::AwsError,
    },
    #[error(
        "{operation} {location}: the bucket does not exist (NoSuchBucket): check s3_bucket in the backend configuration, or create the bucket"
    )]
    NoSuchBucket {
        operation: &'static str,
        location: String,
    },
    /// `operation` is `s3:PutObject`; `message` is AWS's code and words when it answered.
    #[error("{operation} {location}: {message}")]
    Call {
        operation: &'static str,
        location: String,
        code: Option<String>,
        message: String,
    },
}

impl StoreError {
    /// The S3 error code (`AccessDenied`, `SlowDown`, ...), if S3 sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Call { code, .. } => code.as_deref(),
            Self::NoSuchBucket { .. } => Some("NoSuchBucket"),
            Self::Config(_) | Self::Connect { .. } => None,
        }
    }
}

/// What an S3 error means to a conditional operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// 412: the condition did not hold.
    Precondition,
    /// 409 ConditionalRequestConflict: another conditional write to the key is in flight.
    Conflict,
    /// 404 NoSuchKey.
    NoSuchKey,
    Other,
}

fn failure<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Failure {
    let status = error.raw_response().map(|r| r.status().as_u16());
    match (status, error.code()) {
        (_, Some("PreconditionFailed")) | (Some(412), _) => Failure::Precondition,
        (_, Some("ConditionalRequestConflict")) | (Some(409), None) => Failure::Conflict,
        (_, Some("NoSuchKey")) | (Some(404), None) => Failure::NoSuchKey,
        _ => Failure::Other,
    }
}

/// How long to wait before the one retry of a 409 ConditionalRequestConflict.
const CONFLICT_PAUSE: Duration = Duration::from_millis(250);

/// Runs `call`, and once more after a pause if S3 answers 409 ConditionalRequestConflict.
///
/// AWS: "If there's a conflict between two concurrent conditional write requests to the same
/// object, [...] you receive a 409 Conflict response. [...] retry the request" (Amazon S3 User
/// Guide, "Add preconditions to S3 operations with conditional requests", Conditional writes).
/// A second 409 is left to the caller, which reads it as "someone else is writing this key".
async fn once_more_on_conflict<T, E, F, Fut>(mut call: F) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    match call().await {
        Err(e) if failure(&e) == Failure::Conflict => {
            tracing::debug!("S3 answered 409 ConditionalRequestConflict: retrying once");
            tokio::time::sleep(CONFLICT_PAUSE).await;
            call().await
        }
        other => other,
    }
}

/// What a conditional write requires of the object already at its key.
enum Condition<'a> {
    /// None there (`If-None-Match: *`).
    Absent,
    /// The one with this ETag (`If-Match`).
    Matches(&'a str),
}

/// One conditional `PutObject` of a JSON body, once more after a 409.
async fn put_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    key: &str,
    body: &[u8],
    condition: Condition<'_>,
) -> Result<
    aws_sdk_s3::operation::put_object::PutObjectOutput,
    SdkError<aws_sdk_s3::operation::put_object::PutObjectError, HttpResponse>,
> {
    once_more_on_conflict(|| {
        let request = client
            .put_object()
            .bucket(bucket)
            .key(format!("{prefix}{key}"))
            .content_type("application/json")
            .body(ByteStream::from(body.to_vec()));
        match condition {
            Condition::Absent => request.if_none_match("*"),
            Condition::Matches(etag) => request.if_match(etag),
        }
        .send()
    })
    .await
}

/// The memory store's ETag: quoted hex like S3's, equal for equal bodies like S3's.
fn memory_etag(body: &[u8]) -> String {
    format!("\"{}\"", &crate::sha256_hex(body)[..32])
}

/// An ETag in its HTTP form, quoted as S3 sends it, whatever an S3-compatible store sends: one
/// form everywhere lets callers compare the ETags they hold.
fn quoted(etag: Option<&str>) -> String {
    match etag {
        None | Some("") => String::new(),
        Some(e) if e.starts_with('"') || e.starts_with("W/") => e.to_owned(),
        Some(e) => format!("\"{e}\""),
    }
}

fn guard(objects: &Mutex<Objects>) -> MutexGuard<'_, Objects> {
    objects.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// An empty store in memory, for tests.
    pub fn memory() -> Self {
        Self::Memory(Arc::default())
    }

    /// A store on an existing client (a mock in tests); `prefix` is normalised like
    /// [`BackendConfig::prefix`].
    pub fn from_client(client: aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Self {
        let config = BackendConfig {
            key_prefix: Some(prefix.to_owned()),
            ..BackendConfig::new(bucket)
        };
        Self::S3 {
            client,
            bucket: bucket.to_owned(),
            prefix: config.prefix(),
        }
    }

    /// `s3://bucket/prefix/`, for messages.
    pub fn describe(&self) -> String {
        self.location("")
    }

    /// Where `key` is, for messages: `s3://bucket/prefix/key`.
    pub fn location(&self, key: &str) -> String {
        match self {
            Self::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}{key}"),
            Self::Memory(_) => format!("memory://{key}"),
        }
    }

    fn error<E>(
        &self,
        operation: &'static str,
        key: &str,
        error: SdkError<E, HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let location = self.location(key);
        let code = error.code().map(str::to_owned);
        let hint = match code.as_deref() {
            Some("NoSuchBucket") => {
                return StoreError::NoSuchBucket {
                    operation,
                    location,
                };
            }
            Some(
                "PermanentRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException",
            ) => " (the bucket is in another region: set region in the backend configuration)",
            Some("AccessDenied") => {
                " (check the bucket policy and the caller's IAM permissions for this key)"
            }
            _ => "",
        };
        // AWS's own words when it answered; the whole chain (timeouts, connection errors) when not.
        let message = match (error.code(), error.message()) {
            (Some(code), Some(text)) => format!("{code}: {text}{hint}"),
            (Some(code), None) => format!("{code}{hint}"),
            _ => kmsctl_aws::describe(&error),
        };
        StoreError::Call {
            operation,
            location,
            code,
            message,
        }
    }

    /// The object at `key`, or `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        match self {
            Self::Memory(objects) => {
                // Lets concurrent tasks interleave as they would around a network call.
                tokio::task::yield_now().await;
                Ok(guard(objects).get(key).map(|(body, etag)| Object {
                    body: body.clone(),
                    etag: etag.clone(),
                }))
            }
            Self::S3 {
                client,
                bucket,
                prefix,
            } => {
                let result = client
                    .get_object()
                    .bucket(bucket)
                    .key(format!("{prefix}{key}"))
                    .send()
                    .await;
                let output = match result {
                    Ok(output) => output,
                    Err(e) if failure(&e) == Failure::NoSuchKey => return Ok(None),
                    Err(e) => return Err(self.error("s3:GetObject", key, e)),
                };
                let etag = quoted(output.e_tag());
                let body = output.body.collect().await.map_err(|e| StoreError::Call {
                    operation: "s3:GetObject",
                    location: self.location(key),
                    code: None,
                    message: format!("reading the body: {}", kmsctl_aws::describe(&e)),
                })?;
                Ok(Some(Object {
                    body: body.into_bytes().to_vec(),
                    etag,
                }))
            }
        }
    }

    /// Creates `key` unless it exists (`If-None-Match: *`).
    pub async fn put_new(&self, key: &str, body: Vec<u8>) -> Result<Put, StoreError> {
        match self {
            Self::Memory(objects) => {
                tokio::task::yield_now().await;
                let mut objects = guard(objects);
                if objects.contains_key(key) {
                    return Ok(Put::Exists);
                }
                let etag = memory_etag(&body);
                objects.insert(key.to_owned(), (body, etag.clone()));
                Ok(Put::Written(etag))
            }
            Self::S3 {
                client,
                bucket,
                prefix,
            } => {
                let result =
                    put_object(client, bucket, prefix, key, &body, Condition::Absent).await;
                match result {
                    Ok(output) => Ok(Put::Written(quoted(output.e_tag()))),
                    Err(e) => match failure(&e) {
                        // A second 409: someone else's creation is under way; theirs wins.
                        Failure::Precondition | Failure::Conflict => Ok(Put::Exists),
                        _ => Err(self.error("s3:PutObject", key, e)),
                    },
                }
            }
        }
    }

    /// Replaces `key` if it is still the object whose ETag is `etag` (`If-Match`).
    pub async fn put_replacing(
        &self,
        key: &str,
        body: Vec<u8>,
        etag: &str,
    ) -> Result<Put, StoreError> {
        match self {
            Self::Memory(objects) => {
                tokio::task::yield_now().await;
                let mut objects = guard(objects);
                match objects.get_mut(key) {
                    Some((old_body, old_etag)) if old_etag == etag => {
                        let new_etag = memory_etag(&body);
                        *old_body = body;
                        old_etag.clone_from(&new_etag);
                        Ok(Put::Written(new_etag))
                    }
                    _ => Ok(Put::Changed),
                }
            }
            Self::S3 {
                client,
                bucket,
                prefix,
            } => {
                let result =
                    put_object(client, bucket, prefix, key, &body, Condition::Matches(etag)).await;
                match result {
                    Ok(output) => Ok(Put::Written(quoted(output.e_tag()))),
                    Err(e) => match failure(&e) {
                        // 404: it was deleted; 409 twice: someone else is rewriting it.
                        Failure::Precondition | Failure::NoSuchKey | Failure::Conflict => {
                            Ok(Put::Changed)
                        }
                        Failure::Other => Err(self.error("s3:PutObject", key, e)),
                    },
                }
            }
        }
    }

    /// Deletes `key` if it is still the object whose ETag is `etag` (`If-Match`).
    pub async fn delete_matching(&self, key: &str, etag: &str) -> Result<Deleted, StoreError> {
        match self {
            Self::Memory(objects) => {
                tokio::task::yield_now().await;
                let mut objects = guard(objects);
                match objects.get(key) {
                    None => Ok(Deleted::Gone),
                    Some((_, current)) if current != etag => Ok(Deleted::Changed),
                    Some(_) => {
                        objects.remove(key);
                        Ok(Deleted::Yes)
                    }
                }
            }
            Self::S3 {
                client,
                bucket,
                prefix,
            } => {
                let result = once_more_on_conflict(|| {
                    client
                        .delete_object()
                        .bucket(bucket)
                        .key(format!("{prefix}{key}"))
                        .if_match(etag)
                        .send()
                })
                .await;
                match result {
                    Ok(_) => Ok(Deleted::Yes),
                    Err(e) => match failure(&e) {
                        Failure::Precondition | Failure::Conflict => Ok(Deleted::Changed),
                        Failure::NoSuchKey => Ok(Deleted::Gone),
                        Failure::Other => Err(self.error("s3:DeleteObject", key, e)),
                    },
                }
            }
        }
    }

    /// The keys that start with `prefix`, in S3's order (lexicographic), every page read.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Self::Memory(objects) => {
                tokio::task::yield_now().await;
                Ok(guard(objects)
                    .range(prefix.to_owned()..)
                    .map(|(key, _)| key)
                    .take_while(|key| key.starts_with(prefix))
                    .cloned()
                    .collect())
            }
            Self::S3 {
                client,
                bucket,
                prefix: root,
            } => {
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(format!("{root}{prefix}"))
                    .into_paginator()
                    .send();
                let mut keys = Vec::new();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| self.error("s3:ListObjectsV2", prefix, e))?;
                    keys.extend(
                        page.contents()
                            .iter()
                            .filter_map(|object| object.key()?.strip_prefix(root.as_str()))
                            .map(str::to_owned),
                    );
                }
                Ok(keys)
            }
        }
    }
}

/// Whether the S3 endpoint is overridden (an emulator such as moto): such endpoints take the
/// bucket in the path, not in the host name.
/// `global` is the SdkConfig's `endpoint_url()`: the SDK reads the per-service variable itself
/// when it builds the S3 client, but the SdkConfig only exposes the global one.
fn endpoint_overridden(global: Option<&str>) -> bool {
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    global.is_some()
        || (!ignored && std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|v| !v.is_empty()))
}

/// Connects to the backend's bucket: the standard credential chain, `assume_role_arn` when set,
/// the backend's region or else `default_region`.
pub async fn connect(
    config: &BackendConfig,
    default_region: &str,
    max_attempts: u32,
) -> Result<Store, StoreError> {
    config.validate().map_err(StoreError::Config)?;
    let prefix = config.prefix();
    let region = config
        .region
        .clone()
        .unwrap_or_else(|| default_region.to_owned());
    let settings = AwsSettings {
        max_attempts,
        ..AwsSettings::new(region, config.assume_role_arn.clone())
    };
    let session = kmsctl_aws::connect(&settings)
        .await
        .map_err(|error| StoreError::Connect {
            location: format!("s3://{}/{prefix}", config.s3_bucket),
            error,
        })?;
    let mut builder = aws_sdk_s3::config::Builder::from(&session.config);
    if endpoint_overridden(session.config.endpoint_url()) {
        builder = builder.force_path_style(true);
    }
    Ok(Store::S3 {
        client: aws_sdk_s3::Client::from_conf(builder.build()),
        bucket: config.s3_bucket.clone(),
        prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_honours_conditions() {
        let store = Store::memory();
        let Put::Written(first) = store.put_new("a/1", b"one".to_vec()).await.expect("put") else {
            panic!("not written");
        };
        assert_eq!(
            store.put_new("a/1", b"two".to_vec()).await.expect("put"),
            Put::Exists
        );
        let Put::Written(second) = store
            .put_replacing("a/1", b"two".to_vec(), &first)
            .await
            .expect("replace")
        else {
            panic!("not replaced");
        };
        assert_ne!(first, second);
        assert_eq!(
            store
                .put_replacing("a/1", b"three".to_vec(), &first)
                .await
                .expect("stale"),
            Put::Changed
        );
        assert_eq!(
            store
                .put_replacing("nothing", b"x".to_vec(), &first)
                .await
                .expect("missing"),
            Put::Changed
        );
        store.put_new("a/2", b"x".to_vec()).await.expect("put");
        store.put_new("b/1", b"x".to_vec()).await.expect("put");
        assert_eq!(store.list("a/").await.expect("list"), ["a/1", "a/2"]);
        assert_eq!(
            store.delete_matching("a/1", &first).await.expect("delete"),
            Deleted::Changed
        );
        assert_eq!(
            store.delete_matching("a/1", &second).await.expect("delete"),
            Deleted::Yes
        );
        assert_eq!(
            store.delete_matching("a/1", &second).await.expect("delete"),
            Deleted::Gone
        );
        assert_eq!(store.get("a/1").await.expect("get"), None);
        assert_eq!(
            store.get("a/2").await.expect("get").map(|o| o.body),
            Some(b"x".to_vec())
        );
    }

    /// S3's XML error body.
    fn s3_error(code: &str, message: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>1</RequestId></Error>"
        )
    }

    /// A store whose S3 answers `PutObject` as `rule` says, in `bucket` under `prefix`.
    fn mocked_store(rule: &aws_smithy_mocks::Rule, bucket: &str, prefix: &str) -> Store {
        let client = aws_smithy_mocks::mock_client!(
            aws_sdk_s3,
            aws_smithy_mocks::RuleMode::Sequential,
            [rule]
        );
        Store::from_client(client, bucket, prefix)
    }

    /// A first lock of env/prod, put as `acquire` puts it (only if absent).
    async fn put_lock(store: &Store) -> Result<Put, StoreError> {
        store.put_new("locks/env/prod", b"{}".to_vec()).await
    }

    /// moto answers 412 too (see the smoke check in the crate's history); this pins the SDK
    /// side: S3's XML error becomes `Put::Exists`, and a 409 is retried once.
    #[tokio::test]
    async fn s3_412_on_put_new_is_exists_and_409_is_retried_once() {
        use aws_sdk_s3::Client;
        use aws_smithy_mocks::mock;

        let precondition = mock!(Client::put_object)
            .sequence()
            .http_status(
                412,
                Some(s3_error(
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                )),
            )
            .build();
        let store = mocked_store(&precondition, "team-state", "kmsctl");
        assert_eq!(store.describe(), "s3://team-state/kmsctl/");
        let put = put_lock(&store).await.expect("put");
        assert_eq!(put, Put::Exists);

        let conflict_then_ok = mock!(Client::put_object)
            .sequence()
            .http_status(
                409,
                Some(s3_error(
                    "ConditionalRequestConflict",
                    "A conflicting conditional operation is currently in progress",
                )),
            )
            .http_status(200, None)
            .build();
        let store = mocked_store(&conflict_then_ok, "team-state", "");
        let put = put_lock(&store).await.expect("put");
        assert!(matches!(put, Put::Written(_)), "{put:?}");
        assert_eq!(conflict_then_ok.num_calls(), 2);

        let denied = mock!(Client::put_object)
            .sequence()
            .http_status(403, Some(s3_error("AccessDenied", "Access Denied")))
            .build();
        let store = mocked_store(&denied, "b-1", "kmsctl/");
        let err = put_lock(&store).await.expect_err("denied");
        assert_eq!(
            err.to_string(),
            "s3:PutObject s3://b-1/kmsctl/locks/env/prod: AccessDenied: Access Denied (check the bucket policy and the caller's IAM permissions for this key)"
        );
    }
}
