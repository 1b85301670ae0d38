//! The proxy in front of a real emulator, driven by the real AWS SDK for Rust.
//!
//! Every test works in an AWS account of its own (the emulator isolates state per account after
//! `sts:AssumeRole`), so they run in parallel on the one emulator of this test process. The role is
//! assumed through the proxy itself, which also exercises the query-protocol operation names
//! (`sts:AssumeRole`).

#![allow(clippy::unwrap_used)]

mod common;

use common::{count, upstream};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use fault_proxy::{Fault, OpCounts, Proxy, Rule};
use serde_json::Value;

fn fresh_account() -> String {
    xtask::emulator::fresh_account()
}

fn standard_retries(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(10))
}

/// A KMS client in `account`, reaching AWS at `endpoint` (the proxy or the emulator itself).
async fn kms(endpoint: &str, account: &str, retry: RetryConfig) -> Client {
    Client::new(&common::sdk_config(endpoint, account, retry).await)
}

#[tokio::test]
async fn passes_requests_through_and_counts_them_per_operation() {
    let upstream = upstream();
    let proxy = Proxy::start(&upstream, vec![], 1).unwrap();
    let account = fresh_account();
    let direct = kms(&upstream, &account, RetryConfig::disabled()).await;
    let via = kms(&proxy.endpoint(), &account, RetryConfig::disabled()).await;

    let key = direct.create_key().send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    let listed = via.list_keys().send().await.unwrap();
    let ids: Vec<&str> = listed.keys().iter().filter_map(|k| k.key_id()).collect();
    assert_eq!(ids, [key_id.as_str()]);
    via.describe_key().key_id(&key_id).send().await.unwrap();
    via.describe_key().key_id(&key_id).send().await.unwrap();

    let counts = proxy.counts();
    assert_eq!(
        counts["kms:ListKeys"],
        OpCounts {
            received: 1,
            forwarded: 1,
            ..OpCounts::default()
        }
    );
    assert_eq!(counts["kms:DescribeKey"].received, 2);
    assert_eq!(counts["kms:DescribeKey"].forwarded, 2);
    assert_eq!(
        counts["sts:AssumeRole"].forwarded, 1,
        "the role was assumed through the proxy (query protocol, Action in the body): {counts:?}"
    );
    assert_eq!(counts.len(), 3, "{counts:?}");

    proxy.reset_counts();
    assert!(proxy.counts().is_empty());
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_and_is_a_throttling_error_without_retries() {
    let upstream = upstream();
    let proxy = Proxy::start(
        &upstream,
        vec![Rule::times("kms:ListKeys", Fault::Throttle, 2)],
        2,
    )
    .unwrap();
    let account = fresh_account();

    let retrying = kms(&proxy.endpoint(), &account, standard_retries(3)).await;
    retrying.list_keys().send().await.unwrap();
    let c = count(&proxy, "kms:ListKeys");
    assert_eq!((c.received, c.throttled, c.forwarded), (3, 2, 1), "{c:?}");

    proxy.set_rules(vec![Rule::times("kms:ListKeys", Fault::Throttle, 2)]);
    let once = kms(&proxy.endpoint(), &account, standard_retries(1)).await;
    let err = once.list_keys().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"), "{err:?}");
    assert_eq!(err.message(), Some("Rate exceeded"));
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    assert_eq!(count(&proxy, "kms:ListKeys").throttled, 3);

    // A throttle on another operation does not touch this one.
    proxy.set_rules(vec![Rule::always("kms:CreateKey", Fault::Throttle)]);
    once.list_keys().send().await.unwrap();
}

#[tokio::test]
async fn a_dropped_response_fails_the_call_but_the_change_happened() {
    let upstream = upstream();
    let proxy = Proxy::start(
        &upstream,
        vec![Rule::times("kms:CreateKey", Fault::DropResponse, 1)],
        3,
    )
    .unwrap();
    let account = fresh_account();
    let via = kms(&proxy.endpoint(), &account, RetryConfig::disabled()).await;
    let direct = kms(&upstream, &account, RetryConfig::disabled()).await;

    let err = via
        .create_key()
        .description("lost answer")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "the connection closed without an answer: {err:?}"
    );
    let keys = direct.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 1, "the key was created all the same");
    let c = count(&proxy, "kms:CreateKey");
    assert_eq!((c.received, c.forwarded, c.dropped), (1, 1, 1), "{c:?}");

    // `times` is spent: the next one goes through.
    via.create_key().send().await.unwrap();
    assert_eq!(direct.list_keys().send().await.unwrap().keys().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_throttles_what_exceeds_the_token_bucket() {
    let upstream = upstream();
    let proxy = Proxy::start(&upstream, vec![], 4).unwrap();
    let account = fresh_account();
    let via = kms(&proxy.endpoint(), &account, RetryConfig::disabled()).await;
    let key_id = via
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    proxy.set_rules(vec![Rule::always(
        "kms:DescribeKey",
        Fault::Quota {
            per_second: 5.0,
            burst: 5,
        },
    )]);

    let started = Instant::now();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let via = via.clone();
            let key_id = key_id.clone();
            tokio::spawn(async move { via.describe_key().key_id(key_id).send().await })
        })
        .collect();
    let mut ok = 0;
    let mut throttled = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) if e.code() == Some("ThrottlingException") => throttled += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    let elapsed = started.elapsed();
    // 5 from the burst, plus one token per 200 ms that the burst of calls took to arrive.
    let refills = (elapsed.as_secs_f64() * 5.0).floor() as u64;
    assert_eq!(ok + throttled, 20);
    assert!(
        (5..=5 + refills).contains(&ok) && throttled >= 15 - refills,
        "{ok} passed, {throttled} throttled in {elapsed:?}"
    );
    let c = count(&proxy, "kms:DescribeKey");
    assert_eq!((c.received, c.throttled, c.forwarded), (20, throttled, ok));

    // The bucket refills.
    tokio::time::sleep(Duration::from_millis(450)).await;
    via.describe_key().key_id(&key_id).send().await.unwrap();
}

#[tokio::test]
async fn shuffled_policies_are_the_same_document_in_another_text() {
    let upstream = upstream();
    let proxy = Proxy::start(
        &upstream,
        vec![Rule::always("*", Fault::ShufflePolicies)],
        5,
    )
    .unwrap();
    let account = fresh_account();
    let via = kms(&proxy.endpoint(), &account, RetryConfig::disabled()).await;
    let direct = kms(&upstream, &account, RetryConfig::disabled()).await;

    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "fault-proxy-test",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:role/app")},
             "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
        ]
    })
    .to_string();
    let key_id = direct
        .create_key()
        .policy(&policy)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();

    let as_put = direct
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_put.policy(),
        Some(policy.as_str()),
        "the emulator is faithful"
    );

    let mut texts = std::collections::HashSet::new();
    for _ in 0..4 {
        let got = via
            .get_key_policy()
            .key_id(&key_id)
            .policy_name("default")
            .send()
            .await
            .unwrap();
        let text = got.policy().unwrap();
        assert_ne!(text, policy);
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            serde_json::from_str::<Value>(&policy).unwrap()
        );
        assert_eq!(
            got.policy_name(),
            as_put.policy_name(),
            "the rest of the answer is kept"
        );
        texts.insert(text.to_string());
    }
    assert!(texts.len() > 1, "the text varies from call to call");

    // Answers without a policy are untouched.
    via.describe_key().key_id(&key_id).send().await.unwrap();
}

#[tokio::test]
async fn resets_and_error_statuses_reach_the_client_as_such() {
    let upstream = upstream();
    let proxy = Proxy::start(&upstream, vec![], 6).unwrap();
    let account = fresh_account();
    let once = kms(&proxy.endpoint(), &account, RetryConfig::disabled()).await;
    let retrying = kms(&proxy.endpoint(), &account, standard_retries(3)).await;
    once.list_keys().send().await.unwrap(); // assume the role before the faults

    proxy.set_rules(vec![Rule::always("kms:ListKeys", Fault::Reset)]);
    let err = once.list_keys().send().await.unwrap_err();
    match &err {
        SdkError::DispatchFailure(failure) => assert!(failure.is_io(), "{err:?}"),
        other => panic!("expected a connection failure, got {other:?}"),
    }
    let c = count(&proxy, "kms:ListKeys");
    assert_eq!((c.reset, c.forwarded), (1, 1), "{c:?}");

    proxy.set_rules(vec![Rule::times("kms:ListKeys", Fault::Reset, 1)]);
    retrying.list_keys().send().await.unwrap();
    assert_eq!(
        count(&proxy, "kms:ListKeys").reset,
        2,
        "retried after a reset"
    );

    proxy.set_rules(vec![Rule::always(
        "kms:ListKeys",
        Fault::Status { code: 503 },
    )]);
    let err = once.list_keys().send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 503);
    assert_eq!(err.code(), Some("ServiceUnavailableException"), "{err:?}");

    proxy.set_rules(vec![Rule::always(
        "kms:ListKeys",
        Fault::Status { code: 500 },
    )]);
    let err = once.list_keys().send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);
    assert_eq!(err.code(), Some("InternalFailure"), "{err:?}");

    proxy.set_rules(vec![Rule::times(
        "kms:ListKeys",
        Fault::Status { code: 503 },
        2,
    )]);
    retrying.list_keys().send().await.unwrap();
    let c = count(&proxy, "kms:ListKeys");
    assert_eq!(c.status, 4, "{c:?}");
}

#[tokio::test]
async fn latency_delays_the_request() {
    let upstream = upstream();
    let proxy = Proxy::start(&upstream, vec![], 7).unwrap();
    let account = fresh_account();
    let via = kms(&proxy.endpoint(), &account, RetryConfig::disabled()).await;
    via.list_keys().send().await.unwrap();
    proxy.set_rules(vec![
        Rule::always("kms:*", Fault::Latency { ms: 200 }),
        Rule::always("kms:ListKeys", Fault::Latency { ms: 150 }),
    ]);
    let started = Instant::now();
    via.list_keys().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(350));
    let c = count(&proxy, "kms:ListKeys");
    assert_eq!((c.delayed, c.latency_ms, c.forwarded), (1, 350, 2), "{c:?}");
}

/// One HTTP/1.1 exchange on a fresh connection: (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[tokio::test]
async fn the_control_endpoint_sets_rules_and_reads_counts() {
    let upstream = upstream();
    let proxy = Proxy::start(&upstream, vec![], 8).unwrap();
    let port = proxy.port();
    let account = fresh_account();
    let via = kms(&proxy.endpoint(), &account, RetryConfig::disabled()).await;

    let rules = r#"{"rules":[{"operation":"kms:ListKeys","fault":{"kind":"Throttle"},"times":1},
        {"operation":"kms:*","fault":{"kind":"Latency","ms":1},"probability":0.5}]}"#;
    let (status, body) = http(port, "POST", "/__fault-proxy/rules", rules);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        proxy.rules(),
        vec![
            Rule::times("kms:ListKeys", Fault::Throttle, 1),
            Rule::with_probability("kms:*", Fault::Latency { ms: 1 }, 0.5),
        ]
    );
    let (status, body) = http(port, "GET", "/__fault-proxy/rules", "");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["rules"][0]["fault"]["kind"],
        "Throttle"
    );

    let err = via.list_keys().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    via.list_keys().send().await.unwrap();

    let (status, body) = http(port, "GET", "/__fault-proxy/counts", "");
    assert_eq!(status, 200);
    let counts: std::collections::BTreeMap<String, OpCounts> = serde_json::from_str(&body).unwrap();
    assert_eq!(counts, proxy.counts());
    let list = counts["kms:ListKeys"];
    assert_eq!((list.received, list.throttled, list.forwarded), (2, 1, 1));
    assert!(
        !counts.keys().any(|op| op.contains("fault-proxy")),
        "control requests are not counted: {counts:?}"
    );

    assert_eq!(http(port, "POST", "/__fault-proxy/reset-counts", "").0, 200);
    assert_eq!(
        http(port, "GET", "/__fault-proxy/counts", ""),
        (200, "{}".into())
    );

    let (status, body) = http(
        port,
        "POST",
        "/__fault-proxy/rules",
        r#"{"rules":[{"kind":1}]}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(proxy.rules().len(), 2, "bad rules change nothing");
    assert_eq!(http(port, "GET", "/__fault-proxy/nothing", "").0, 404);

    assert_eq!(http(port, "POST", "/__fault-proxy/rules", "[]").0, 200);
    assert!(proxy.rules().is_empty());
}

#[test]
fn the_binary_prints_its_endpoint_serves_and_exits_when_stdin_closes() {
    let upstream = upstream();
    let dir = std::env::temp_dir().join(format!("fault-proxy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules_file = dir.join("rules.json");
    std::fs::write(
        &rules_file,
        r#"[{"operation":"*","fault":{"kind":"Status","code":500}}]"#,
    )
    .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args([
            "--upstream",
            &upstream,
            "--seed",
            "9",
            "--exit-on-stdin-close",
            "--rules",
        ])
        .arg(&rules_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim_end()
        .strip_prefix("fault-proxy listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let port: u16 = endpoint
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();

    let (status, body) = http(port, "GET", "/__fault-proxy/rules", "");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["rules"][0]["fault"]["code"],
        500
    );
    // Forwarded (no rule): the emulator's own API answers through the proxy.
    assert_eq!(http(port, "POST", "/__fault-proxy/rules", "[]").0, 200);
    let (status, _) = http(port, "GET", "/moto-api/", "");
    assert_eq!(status, 200);
    let (_, counts) = http(port, "GET", "/__fault-proxy/counts", "");
    assert_eq!(
        serde_json::from_str::<Value>(&counts).unwrap()["unknown:unknown"]["forwarded"],
        1
    );

    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running after stdin closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Not a check: measures the proxy's overhead. `cargo test -p kmsctl-fault-proxy --test proxy -- --ignored
/// --nocapture overhead`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn overhead_list_keys_at_concurrency_16() {
    let upstream = upstream();
    let proxy = Proxy::start(&upstream, vec![], 10).unwrap();
    let account = fresh_account();
    let requests: usize = std::env::var("FAULT_PROXY_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    for (name, endpoint) in [
        ("direct", upstream.clone()),
        ("proxy", proxy.endpoint()),
        ("direct", upstream.clone()),
        ("proxy", proxy.endpoint()),
    ] {
        let client = kms(&endpoint, &account, RetryConfig::disabled()).await;
        client.list_keys().send().await.unwrap();
        let next = std::sync::Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..16)
            .map(|_| {
                let client = client.clone();
                let next = std::sync::Arc::clone(&next);
                tokio::spawn(async move {
                    while next.fetch_add(1, Ordering::Relaxed) < requests as u64 {
                        client.list_keys().send().await.unwrap();
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        let elapsed = started.elapsed();
        println!(
            "{name:>6}: {requests} ListKeys in {elapsed:.2?}: {:.0} requests/s",
            requests as f64 / elapsed.as_secs_f64()
        );
    }
}

/// A signed-looking KMS request, raw.
fn raw_kms_request(operation: &str) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: TrentService.{operation}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/kms/aws4_request, \
         SignedHeaders=host;x-amz-target, Signature=0\r\nContent-Length: 2\r\n\r\n{{}}"
    )
}

#[test]
fn on_the_wire_a_reset_is_a_tcp_reset_and_a_dropped_answer_a_clean_close() {
    let upstream = upstream();
    let proxy = Proxy::start(
        &upstream,
        vec![
            Rule::always("kms:ListKeys", Fault::Reset),
            Rule::always("kms:ListAliases", Fault::DropResponse),
        ],
        11,
    )
    .unwrap();

    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
    stream
        .write_all(raw_kms_request("ListKeys").as_bytes())
        .unwrap();
    let mut buf = [0u8; 64];
    let err = stream.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);

    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
    stream
        .write_all(raw_kms_request("ListAliases").as_bytes())
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    assert!(answer.is_empty(), "nothing sent back");
    let c = count(&proxy, "kms:ListAliases");
    assert_eq!((c.forwarded, c.dropped), (1, 1), "{c:?}");

    // Keep-alive: several requests on one connection, answered in order.
    proxy.set_rules(vec![]);
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..3 {
        stream
            .write_all(raw_kms_request("ListKeys").as_bytes())
            .unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
            assert!(
                !line.to_ascii_lowercase().starts_with("connection: close"),
                "the upstream's connection header is not passed on"
            );
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert!(serde_json::from_slice::<Value>(&body).unwrap()["Keys"].is_array());
    }
    assert_eq!(count(&proxy, "kms:ListKeys").forwarded, 3);
}
