//! CloudTrail trails in the emulator, for the demo and the end-to-end tests. kmsctl refuses to plan
//! alerts in a region no trail logs KMS's management events of (`cloudtrail-missing`), as a real
//! account would need one: an account of the emulator starts without any.
//!
//! Calls go straight to moto over [`crate::http`], unsigned: moto reads the account from the
//! `x-moto-account-id` header and the service and region from the `Authorization` header's
//! credential scope, and checks no signature. A trail needs an S3 bucket of its account
//! (moto checks it exists, not its policy); xtask makes it the same way rather than pulling in
//! an S3 SDK.

use std::time::Duration;

use serde_json::{Value, json};

use super::EmulatorError;
use crate::http;

/// The trail [`provision_trail`] makes: the name the `cloudtrail-missing` fix suggests.
pub const TRAIL: &str = "kms-management-events";

/// Headers moto routes an unsigned request by: the account, and the service and region.
pub(super) fn headers(account: &str, region: &str, service: &str) -> [(String, String); 2] {
    [
        ("x-moto-account-id".to_owned(), account.to_owned()),
        (
            "Authorization".to_owned(),
            format!(
                "AWS4-HMAC-SHA256 Credential=testing/20250101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
            ),
        ),
    ]
}

/// One AWS JSON 1.1 call (`X-Amz-Target: TARGET`) to moto in `account` and `region`: the
/// answer whatever its status, or why none came.
pub(super) fn json_post(
    endpoint: &str,
    account: &str,
    region: &str,
    service: &str,
    target: &str,
    input: &Value,
) -> Result<http::Response, EmulatorError> {
    let owned = headers(account, region, service);
    let mut headers: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    headers.push(("Content-Type", "application/x-amz-json-1.1"));
    headers.push(("X-Amz-Target", target));
    http::request(
        endpoint,
        "POST",
        "/",
        &headers,
        input.to_string().as_bytes(),
        Duration::from_secs(10),
    )
    .map_err(|e| failure(endpoint, format!("{target}: {e}")))
}

pub(super) fn failure(endpoint: &str, message: String) -> EmulatorError {
    EmulatorError::Http {
        endpoint: endpoint.to_owned(),
        message,
    }
}

/// Creates the S3 bucket `bucket` in `account` and `region` (a bucket the account already owns
/// is fine).
pub fn create_bucket(
    endpoint: &str,
    account: &str,
    region: &str,
    bucket: &str,
) -> Result<(), EmulatorError> {
    let body = if region == "us-east-1" {
        String::new()
    } else {
        format!(
            "<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        )
    };
    let owned = headers(account, region, "s3");
    let headers: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let path = format!("/{bucket}");
    let response = http::request(
        endpoint,
        "PUT",
        &path,
        &headers,
        body.as_bytes(),
        Duration::from_secs(10),
    )
    .map_err(|e| failure(endpoint, format!("s3:CreateBucket {bucket}: {e}")))?;
    if response.status == 200 || response.text().contains("BucketAlreadyOwnedByYou") {
        Ok(())
    } else {
        Err(failure(
            endpoint,
            format!(
                "s3:CreateBucket {bucket} answered HTTP {}: {}",
                response.status,
                response.excerpt()
            ),
        ))
    }
}

/// One CloudTrail call (`CreateTrail`, `StartLogging`, `StopLogging`, `PutEventSelectors`, ...)
/// in `account` and `region`, with its JSON input; returns its JSON output.
pub fn call(
    endpoint: &str,
    account: &str,
    region: &str,
    operation: &str,
    input: &Value,
) -> Result<Value, EmulatorError> {
    let target = format!("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{operation}");
    let response = json_post(endpoint, account, region, "cloudtrail", &target, input)?;
    if response.status != 200 {
        return Err(failure(
            endpoint,
            format!(
                "cloudtrail:{operation} answered HTTP {}: {}",
                response.status,
                response.excerpt()
            ),
        ));
    }
    if response.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&response.body).map_err(|e| {
        failure(
            endpoint,
            format!(
                "cloudtrail:{operation} answered no JSON ({e}): {}",
                response.excerpt()
            ),
        )
    })
}

/// What [`trail`] makes.
#[derive(Debug, Clone)]
pub struct TrailSpec<'a> {
    pub account: &'a str,
    /// The trail's home region.
    pub region: &'a str,
    pub name: &'a str,
    pub multi_region: bool,
    /// `PutEventSelectors`' `EventSelectors`. Moto keeps none for a new trail, where AWS logs
    /// all management events by default, so a trail that logs them says so here.
    pub event_selectors: Value,
    /// Started (`StartLogging`) once made.
    pub logging: bool,
}

impl<'a> TrailSpec<'a> {
    /// A multi-Region trail logging every management event, as AWS makes one by default.
    pub fn management_events(account: &'a str, region: &'a str) -> Self {
        Self {
            account,
            region,
            name: TRAIL,
            multi_region: true,
            event_selectors: json!([{"ReadWriteType": "All", "IncludeManagementEvents": true}]),
            logging: true,
        }
    }
}

/// Makes a trail as `spec` says, with a bucket of its own for its logs.
pub fn trail(endpoint: &str, spec: &TrailSpec<'_>) -> Result<(), EmulatorError> {
    let TrailSpec {
        account, region, ..
    } = *spec;
    let bucket = format!("{}-{account}-{region}", spec.name.to_lowercase());
    create_bucket(endpoint, account, region, &bucket)?;
    call(
        endpoint,
        account,
        region,
        "CreateTrail",
        &json!({
            "Name": spec.name,
            "S3BucketName": bucket,
            "IsMultiRegionTrail": spec.multi_region,
        }),
    )?;
    call(
        endpoint,
        account,
        region,
        "PutEventSelectors",
        &json!({"TrailName": spec.name, "EventSelectors": spec.event_selectors}),
    )?;
    if spec.logging {
        call(
            endpoint,
            account,
            region,
            "StartLogging",
            &json!({"Name": spec.name}),
        )?;
    }
    Ok(())
}

/// Gives `account` the trail a real account would have: [`TRAIL`], multi-Region, logging every
/// management event, made in `region`.
pub fn provision_trail(endpoint: &str, account: &str, region: &str) -> Result<(), EmulatorError> {
    trail(endpoint, &TrailSpec::management_events(account, region))
}
