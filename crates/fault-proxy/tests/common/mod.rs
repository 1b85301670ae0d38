//! What the proxy's tests share: the emulator, SDK configurations in a fresh account, counts.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::config::Credentials;
use fault_proxy::{OpCounts, Proxy};

/// The emulator: `KMSCTL_TEST_EMULATOR` when set (as `cargo xtask ci` does), else this process's own.
pub fn upstream() -> String {
    if let Ok(endpoint) = std::env::var("KMSCTL_TEST_EMULATOR") {
        return endpoint;
    }
    match xtask::emulator::shared_for_tests() {
        Ok(emulator) => emulator.endpoint.clone(),
        Err(reason) => panic!("the AWS emulator is required for this test: {reason}"),
    }
}

/// An SDK configuration for `account` (a role assumed through `endpoint`), reaching AWS at
/// `endpoint` (the proxy or the emulator itself), with `retry`.
pub async fn sdk_config(endpoint: &str, account: &str, retry: RetryConfig) -> SdkConfig {
    let loader = || {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .build(),
            )
    };
    let base = loader()
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{account}:role/fault-proxy-tests"
    ))
    .session_name("fault-proxy-tests")
    .configure(&base)
    .build()
    .await;
    loader()
        .credentials_provider(provider)
        .retry_config(retry)
        .load()
        .await
}

/// What the proxy did with `op` so far.
pub fn count(proxy: &Proxy, op: &str) -> OpCounts {
    proxy.counts().get(op).copied().unwrap_or_default()
}
