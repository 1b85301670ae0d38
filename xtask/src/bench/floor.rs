//! The floor: the least time any client needs for kmsctl's requests.
//!
//! Without quotas it is measured: a minimal client (std threads, one keep-alive connection each, hand-written
//! HTTP/1.1 POSTs) sends the same operations, as many of each as kmsctl sent, through the same proxy at the
//! same concurrency, on the seeded key ids. The `Authorization` header only looks like SigV4 (the emulator
//! does not check signatures): its scope names the service so that the proxy and the emulator classify the
//! request, and its access key id is an assumed role's so that the emulator finds the bench account.
//!
//! Under quotas it is analytic: max over operations of (requests / quota per second).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use xtask::http::{self, Connection};

use super::proxy::Counts;
use super::scenario::Scenario;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Credentials of the bench account: the access key id of an assumed role is all the emulator looks at.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
}

/// `20250102T030405Z` and `20250102` for `time`.
fn amz_date(time: SystemTime) -> (String, String) {
    let (year, month, day, hour, minute, second) = super::utc(time);
    let date = format!("{year:04}{month:02}{day:02}");
    let stamp = format!("{date}T{hour:02}{minute:02}{second:02}Z");
    (stamp, date)
}

/// Headers that look like a SigV4-signed request for `service`.
fn signed_headers(credentials: &Credentials, service: &str) -> Vec<(&'static str, String)> {
    let (stamp, date) = amz_date(SystemTime::now());
    vec![
        ("X-Amz-Date", stamp),
        (
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{date}/us-east-1/{service}/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
                credentials.access_key_id,
                "0".repeat(64)
            ),
        ),
    ]
}

/// `sts:AssumeRole` on `role_arn` (query protocol), straight at the emulator.
pub fn assume_role(endpoint: &str, role_arn: &str) -> Result<Credentials, String> {
    let anonymous = Credentials {
        access_key_id: "testing".into(),
    };
    let body = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleSessionName=bench-floor&RoleArn={}",
        url_encode(role_arn)
    );
    let mut headers = signed_headers(&anonymous, "sts");
    headers.push((
        "Content-Type",
        "application/x-www-form-urlencoded; charset=utf-8".into(),
    ));
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let response = http::request(endpoint, "POST", "/", &headers, body.as_bytes(), TIMEOUT)
        .map_err(|e| format!("POST {endpoint}/: {e}"))?;
    let text = response.text();
    let access_key_id = text
        .split_once("<AccessKeyId>")
        .and_then(|(_, rest)| rest.split_once("</AccessKeyId>"))
        .map(|(id, _)| id.trim().to_string())
        .filter(|_| response.status == 200)
        .ok_or_else(|| {
            format!(
                "sts:AssumeRole answered HTTP {}: {}",
                response.status,
                response.excerpt()
            )
        })?;
    Ok(Credentials { access_key_id })
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// One AWS JSON-protocol call on `connection`: (HTTP status, body).
fn call(
    connection: &mut Connection,
    credentials: &Credentials,
    operation: &str,
    body: &str,
) -> Result<(u16, String), String> {
    let (service, action) = operation
        .split_once(':')
        .ok_or_else(|| format!("`{operation}` is not service:Operation"))?;
    let target = match service {
        "kms" => format!("TrentService.{action}"),
        "tagging" => format!("ResourceGroupsTaggingAPI_20170126.{action}"),
        other => return Err(format!("the floor client cannot call {other}:{action}")),
    };
    let mut headers = signed_headers(credentials, service);
    headers.push(("X-Amz-Target", target));
    headers.push(("Content-Type", "application/x-amz-json-1.1".into()));
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let response = connection
        .send("POST", "/", &headers, body.as_bytes())
        .map_err(|e| format!("{operation}: {e}"))?;
    Ok((response.status, response.text()))
}

/// The ids of every key of the account, straight from the emulator (it answers in one page).
pub fn list_key_ids(endpoint: &str, credentials: &Credentials) -> Result<Vec<String>, String> {
    let mut connection = Connection::new(endpoint, TIMEOUT).map_err(|e| e.to_string())?;
    let (status, body) = call(&mut connection, credentials, "kms:ListKeys", "{}")?;
    if status != 200 {
        return Err(format!("kms:ListKeys answered HTTP {status}: {body}"));
    }
    let json: Value = serde_json::from_str(&body).map_err(|e| format!("kms:ListKeys: {e}"))?;
    Ok(json["Keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|key| key["KeyId"].as_str())
        .map(str::to_string)
        .collect())
}

/// The request body of `operation` on `key_id`.
fn body(operation: &str, key_id: &str) -> String {
    let body = match operation {
        "kms:ListKeys" | "kms:ListAliases" => json!({}),
        "kms:GetKeyPolicy" => json!({"KeyId": key_id, "PolicyName": "default"}),
        "tagging:GetResources" => json!({"ResourceTypeFilters": ["kms:key"]}),
        _ => json!({"KeyId": key_id}),
    };
    body.to_string()
}

/// `count` requests of each operation, interleaved, each on the next key id in turn.
fn requests(mix: &[(String, u64)]) -> Vec<&str> {
    let longest = mix.iter().map(|(_, count)| *count).max().unwrap_or(0);
    let mut requests = Vec::new();
    for round in 0..longest {
        for (operation, count) in mix {
            if round < *count {
                requests.push(operation.as_str());
            }
        }
    }
    requests
}

/// A measured floor run.
#[derive(Debug, Clone, Copy)]
pub struct FloorRun {
    pub wall: Duration,
    pub requests: u64,
}

/// Sends `mix` (operation, requests) to `endpoint` from `concurrency` threads; fails if any request does.
pub fn measure(
    endpoint: &str,
    credentials: &Credentials,
    key_ids: &[String],
    mix: &[(String, u64)],
    concurrency: usize,
) -> Result<FloorRun, String> {
    if key_ids.is_empty() {
        return Err("the floor needs key ids, and the account has none".into());
    }
    let requests = requests(mix);
    let bodies: Vec<String> = requests
        .iter()
        .enumerate()
        .map(|(i, operation)| body(operation, &key_ids[i % key_ids.len()]))
        .collect();
    let next = AtomicUsize::new(0);
    let failures = AtomicU64::new(0);
    let first_failure = Mutex::new(None::<String>);
    let started = Instant::now();
    thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let mut connection = match Connection::new(endpoint, TIMEOUT) {
                    Ok(connection) => connection,
                    Err(e) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = first_failure.lock() {
                            first.get_or_insert(e.to_string());
                        }
                        return;
                    }
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(operation) = requests.get(i) else {
                        break;
                    };
                    let failure = match call(&mut connection, credentials, operation, &bodies[i]) {
                        Ok((200, _)) => continue,
                        Ok((status, body)) => format!("{operation} answered HTTP {status}: {body}"),
                        Err(e) => e,
                    };
                    failures.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut first) = first_failure.lock() {
                        first.get_or_insert(failure);
                    }
                }
            });
        }
    });
    let wall = started.elapsed();
    let failures = failures.into_inner();
    if failures > 0 {
        let first = first_failure
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_default();
        return Err(format!(
            "the floor client had {failures} failed requests; the first: {first}"
        ));
    }
    Ok(FloorRun {
        wall,
        requests: requests.len() as u64,
    })
}

/// The operations and request counts of a client run, for the floor to replay: the KMS and
/// tagging requests, which grow with the keys. The handful a plan makes once (AWS Config,
/// EventBridge and SNS reads of the environment's monitoring) stay out of the floor.
pub fn mix_of(counts: &Counts) -> Vec<(String, u64)> {
    counts
        .work()
        .filter(|(_, c)| c.received > 0)
        .filter(|(operation, _)| {
            let operation = operation.to_string();
            operation.starts_with("kms:") || operation.starts_with("tagging:")
        })
        .map(|(operation, c)| (operation.to_string(), c.received))
        .collect()
}

/// The least time the requests of `counts` take under `scenario`'s quotas: max over operations of
/// requests / quota. Operations without a quota do not count.
pub fn analytic(counts: &Counts, scenario: Scenario) -> Duration {
    let seconds = counts
        .work()
        .filter_map(|(operation, c)| {
            scenario
                .quota(operation)
                .map(|per_second| c.received as f64 / per_second)
        })
        .fold(0.0, f64::max);
    Duration::from_secs_f64(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::proxy::OpCounts;

    #[test]
    fn dates() {
        let time = std::time::UNIX_EPOCH + Duration::from_secs(1_735_787_045);
        assert_eq!(
            amz_date(time),
            ("20250102T030405Z".to_string(), "20250102".to_string())
        );
    }

    #[test]
    fn request_mix_and_bodies() {
        let mix = vec![
            ("kms:ListKeys".to_string(), 1),
            ("kms:DescribeKey".to_string(), 3),
        ];
        assert_eq!(
            requests(&mix),
            [
                "kms:ListKeys",
                "kms:DescribeKey",
                "kms:DescribeKey",
                "kms:DescribeKey"
            ]
        );
        assert_eq!(body("kms:DescribeKey", "k"), "{\"KeyId\":\"k\"}");
        assert_eq!(body("kms:ListKeys", "k"), "{}");
        assert_eq!(
            body("kms:GetKeyPolicy", "k\""),
            "{\"KeyId\":\"k\\\"\",\"PolicyName\":\"default\"}"
        );
        assert_eq!(
            url_encode("arn:aws:iam::1:role/x"),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx"
        );
    }

    #[test]
    fn analytic_floor() {
        let count = |received| OpCounts {
            received,
            ..OpCounts::default()
        };
        let counts = Counts(
            [
                ("kms:GetKeyPolicy".to_string(), count(1500)),
                ("kms:DescribeKey".to_string(), count(1000)),
                ("kms:CreateKey".to_string(), count(100_000)),
                ("sts:AssumeRole".to_string(), count(100_000)),
            ]
            .into(),
        );
        assert_eq!(analytic(&counts, Scenario::Quota), Duration::from_secs(50));
        assert_eq!(analytic(&counts, Scenario::NoFaults), Duration::ZERO);
    }
}
