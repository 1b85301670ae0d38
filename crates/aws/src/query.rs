//! One AWS Query-protocol call (a form-encoded POST answered in XML: EC2's protocol, and
//! STS's, SNS's, IAM's) without the service's generated SDK crate. Such a crate compiles its
//! whole service model: `aws-sdk-ec2` cost about 150 s of a cold build for a single call.
//!
//! The request goes through the SDK's own orchestrator (`aws-smithy-runtime`), configured from
//! the session's `SdkConfig` as a generated client would be: its HTTP client (one connection
//! pool for the run), credentials and identity cache, region, endpoint override, timeouts, and
//! retry configuration (attempts and backoff; throttling codes, 5xx and transient network errors
//! are retried, classified as the SDK clients classify them). Each attempt is signed with SigV4.

mod endpoint;
mod error;
mod sigv4;
#[cfg(test)]
pub(crate) mod tests;

use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_smithy_query::QueryWriter;
use aws_smithy_runtime::client::identity::IdentityCache;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use aws_types::SdkConfig;

pub use aws_smithy_types::error::metadata::ProvideErrorMetadata;
pub use error::{QueryError, ServiceError};

/// What a Query request needs to know of its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryService {
    /// The SDK's service id: `AWS_ENDPOINT_URL_<ID>` and a profile's `services` section use it.
    pub service_id: &'static str,
    /// The SigV4 signing name, also the first label of the regional endpoint: `ec2`.
    pub signing_name: &'static str,
    /// The API version every request names: `2016-11-15`.
    pub version: &'static str,
    /// The service's FIPS endpoint in GovCloud is its regional one (EC2's is).
    pub gov_fips_is_regional: bool,
}

/// Sends Query requests to one service with a session's configuration.
#[derive(Debug, Clone)]
pub struct QueryClient {
    service: QueryService,
    config: SdkConfig,
}

impl QueryClient {
    pub fn new(config: &SdkConfig, service: QueryService) -> Self {
        Self {
            service,
            config: config.clone(),
        }
    }

    /// Sends `Action=action` with `params` (names as the API reference spells them, lists
    /// numbered from 1: `SubnetId.1`) and returns the XML answer.
    pub async fn send(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, QueryError> {
        let config = &self.config;
        let region = config.region().ok_or(QueryError::NoRegion)?.to_string();
        let credentials = config
            .credentials_provider()
            .ok_or(QueryError::NoCredentials)?;
        let url = endpoint::resolve(config, &self.service, &region)?;
        let http = config
            .http_client()
            .or_else(crate::kms::default_http_client)
            .ok_or(QueryError::NoHttpClient)?;
        let cache = config
            .identity_cache()
            .unwrap_or_else(|| IdentityCache::lazy().build());
        let retry = config
            .retry_config()
            .cloned()
            .unwrap_or_else(RetryConfig::standard);
        let mut operation = Operation::builder()
            .service_name(self.service.signing_name)
            .operation_name(action.to_owned())
            .behavior_version(
                config
                    .behavior_version()
                    .unwrap_or_else(BehaviorVersion::latest),
            )
            .http_client(http)
            .endpoint_url(&url)
            .standard_retry(&retry)
            .retry_classifier(HttpStatusCodeClassifier::default())
            .retry_classifier(TransientErrorClassifier::<ServiceError>::new())
            .retry_classifier(AwsErrorCodeClassifier::<ServiceError>::new())
            .with_connection_poisoning()
            .runtime_plugin(sigv4::plugin(
                credentials,
                cache,
                region,
                self.service.signing_name,
            ))
            .serializer(request)
            .deserializer(answer);
        if let Some(timeouts) = config.timeout_config() {
            operation = operation.timeout_config(timeouts.clone());
        }
        if let Some(sleep) = config.sleep_impl() {
            operation = operation.sleep_impl(sleep);
        }
        if let Some(time) = config.time_source() {
            operation = operation.time_source(time);
        }
        let body = form(action, self.service.version, params);
        Ok(operation.build().invoke(body).await?)
    }
}

/// `Action=…&Version=…&Name=value…`, encoded as the SDK's Query serializers encode.
fn form(action: &str, version: &str, params: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut writer = QueryWriter::new(&mut out, action, version);
    for (name, value) in params {
        writer.prefix(name).string(value);
    }
    writer.finish();
    out
}

fn request(body: String) -> Result<HttpRequest, BoxError> {
    let request = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", body.len())
        .body(SdkBody::from(body))?;
    Ok(HttpRequest::try_from(request)?)
}

fn answer(response: &HttpResponse) -> Result<String, OrchestratorError<ServiceError>> {
    let body = response.body().bytes().unwrap_or_default();
    if response.status().is_success() {
        return String::from_utf8(body.to_vec()).map_err(|e| OrchestratorError::response(e.into()));
    }
    Err(OrchestratorError::operation(ServiceError::from_answer(
        response.status().as_u16(),
        body,
    )))
}
