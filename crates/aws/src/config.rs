//! SDK configuration from the standard chain (environment, `AWS_PROFILE`, `AWS_ENDPOINT_URL`,
//! SSO, instance roles), with kmsctl's retry and timeout policy and an optional assumed role.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::error::AwsError;
use crate::propagation::Propagation;

/// How to reach one target's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: String,
    pub assume_role_arn: Option<String>,
    /// Attempts per call, the first included. Throttling, 5xx and transient network errors are
    /// retried with exponential backoff and jitter by the SDK's standard retry mode.
    pub max_attempts: u32,
    /// How long a write is given to become visible (see [`Propagation`]).
    pub propagation_timeout: Duration,
}

impl AwsSettings {
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

    pub fn new(region: impl Into<String>, assume_role_arn: Option<String>) -> Self {
        Self {
            region: region.into(),
            assume_role_arn,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            propagation_timeout: Propagation::DEFAULT_TIMEOUT,
        }
    }
}

/// A connected account: the SDK configuration to build clients from, and the caller's account.
#[derive(Debug, Clone)]
pub struct Session {
    pub config: SdkConfig,
    pub account_id: String,
    pub caller_arn: String,
    /// How this run waits for AWS's eventual consistency; every domain's clients carry a copy.
    pub propagation: Propagation,
}

impl Session {
    /// Fails unless the caller is in `expected`: kmsctl never changes an account it was not told to.
    pub fn require_account(&self, target: &str, expected: &str) -> Result<(), AwsError> {
        if self.account_id == expected {
            Ok(())
        } else {
            Err(AwsError::WrongAccount {
                target: target.to_owned(),
                expected: expected.to_owned(),
                actual: self.account_id.clone(),
            })
        }
    }
}

/// The retry policy of every client: bounded attempts, exponential backoff with jitter.
///
/// Not the SDK's adaptive mode: its client rate limiter starts from a measured send rate of zero,
/// so a throttle in the first half second of a run pins the client to 0.5 requests per second
/// (a 2 s plan took 155 s with 30% of requests throttled; 2 s in standard mode).
pub fn retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts.max(1))
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .build()
}

fn loader(settings: &AwsSettings, http: &SharedHttpClient) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http.clone())
        .region(Region::new(settings.region.clone()))
        .retry_config(retry_config(settings.max_attempts))
        .timeout_config(timeout_config())
}

/// Loads the configuration, assumes the role if one is set, and asks STS who the caller is.
pub async fn connect(settings: &AwsSettings) -> Result<Session, AwsError> {
    // One connection pool and TLS set-up for every client of the run (KMS, tagging, Config, SNS,
    // EventBridge, CloudHSM, EC2, STS): each client would otherwise build its own.
    let http = crate::kms::default_http_client().ok_or_else(|| AwsError::Call {
        operation: "http".into(),
        code: None,
        message: "no HTTP client".into(),
    })?;
    let base = loader(settings, &http).load().await;
    let config = match &settings.assume_role_arn {
        Some(role_arn) => {
            let provider = AssumeRoleProvider::builder(role_arn.clone())
                .session_name("kmsctl")
                .configure(&base)
                .build()
                .await;
            loader(settings, &http)
                .credentials_provider(provider)
                .load()
                .await
        }
        None => base,
    };
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::call("sts:GetCallerIdentity", e))?;
    Ok(Session {
        account_id: identity.account().unwrap_or_default().to_owned(),
        caller_arn: identity.arn().unwrap_or_default().to_owned(),
        config,
        propagation: Propagation::new(settings.propagation_timeout),
    })
}

/// Who runs kmsctl, from the credentials of the environment (AWS_PROFILE, SSO, environment
/// variables), before any role kmsctl assumes: dual control compares people, and every apply
/// of a target assumes the same deployer role.
pub async fn caller_identity(
    region: &str,
    max_attempts: u32,
) -> Result<kmsctl_core::Identity, AwsError> {
    let http = crate::kms::default_http_client().ok_or_else(|| AwsError::Call {
        operation: "http".into(),
        code: None,
        message: "no HTTP client".into(),
    })?;
    let settings = AwsSettings {
        max_attempts,
        ..AwsSettings::new(region, None)
    };
    let config = loader(&settings, &http).load().await;
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::call("sts:GetCallerIdentity", e))?;
    Ok(kmsctl_core::Identity {
        arn: identity.arn().unwrap_or_default().to_owned(),
        user_id: identity.user_id().unwrap_or_default().to_owned(),
        account: identity.account().unwrap_or_default().to_owned(),
    })
}
