//! A fault-injection HTTP proxy in front of the AWS emulator (a test component).
//!
//! The emulator (moto) never throttles, fails, slows down or loses an answer; AWS does. This proxy listens on
//! 127.0.0.1, forwards every HTTP/1.1 request to the emulator and passes the answer back, unless a [`Rule`]
//! says otherwise:
//!
//! - [`Fault::Latency`] delays the request (latency rules add up);
//! - [`Fault::Quota`] is a token bucket per operation; a request without a token is throttled;
//! - [`Fault::Throttle`], [`Fault::Status`], [`Fault::Reset`], [`Fault::DropResponse`]: the first of these
//!   that matches and fires decides the request's fate;
//! - [`Fault::ShufflePolicies`] rewrites the policy documents in `kms:GetKeyPolicy` and
//!   `organizations:DescribePolicy` answers (same document, other key order and whitespace).
//!
//! - [`Fault::Error`] answers the service's error with a given code and status, in its own protocol.
//!
//! ## Realistic AWS
//!
//! Real AWS is eventually consistent; the emulator is not. These rules are stateful (their state lives in
//! the proxy and starts afresh when the rules are replaced), each with its window in milliseconds:
//!
//! - [`Fault::Unseen`]: what a matching create made (a KMS key or alias, an Organizations policy or
//!   attachment, a new Config rule, an SNS topic or subscription, a new EventBridge rule or target) is
//!   invisible for `ms`: reads naming it answer the service's not-found error (KMS `NotFoundException`,
//!   Organizations `PolicyNotFoundException`, Config `NoSuchConfigRuleException`, SNS `NotFound`,
//!   EventBridge `ResourceNotFoundException`), list answers leave it out, and KMS writes naming a new key
//!   answer `NotFoundException`. Put-style creates (`config:PutConfigRule`, `events:PutRule`,
//!   `events:PutTargets`, `sns:CreateTopic`) count as creates when the proxy has not seen the name before.
//! - [`Fault::StaleReads`]: for `ms` after a matching successful write, reads naming the written resource
//!   (by `KeyId`, `PolicyId`, `TargetId`, `ConfigRuleName`, rule `Name`, `TopicArn`...) answer what the same
//!   read answered before the write, when the proxy saw one.
//! - [`Fault::TaggingLag`]: `tagging:GetResources` answers the tags of `ms` ago, and keeps listing for `ms`
//!   a resource that stopped being listed.
//! - [`Fault::NewPrincipals`]: for `ms` after the rules are set, KMS refuses key policies naming the given
//!   principals (`MalformedPolicyDocumentException`).
//! - [`Fault::PendingEnable`]: `organizations:EnablePolicyType` takes `ms` to complete: the root shows
//!   `PENDING_ENABLE` and `AttachPolicy` of that type answers `PolicyTypeNotEnabledException`.
//!
//! [`realistic`]`(window_ms)` turns the whole mode on for every service (`Unseen` and `StaleReads` with the
//! window, `TaggingLag` three times it, `PendingEnable` with it, and Organizations'
//! `ConcurrentModificationException` on 5% of its requests); the binary's `--realistic MS` starts with it.
//! [`lost_create_answers`] loses the first answer of each create that `Unseen` tracks. The resources of a
//! request are scoped by account (learned from the `sts:AssumeRole` answers that went through the proxy)
//! and region. What realistic rules did is counted in [`OpCounts`] (`unseen`, `stale`, `lagged`,
//! `pending`, `injected`).
//!
//! Operations are named `service:Operation` with the SigV4 signing name as service (`kms:CreateKey`,
//! `tagging:GetResources`, `sts:AssumeRole`; `unknown` for what cannot be told).
//!
//! Tests use it in-process through [`Proxy`]; the benchmark runs the `fault-proxy` binary and drives it over
//! HTTP through the control endpoint, on the same port and never forwarded:
//!
//! - `GET /__fault-proxy/counts` → `{"kms:ListKeys": {"received": 3, "forwarded": 1, "throttled": 2, ...}}`
//! - `POST /__fault-proxy/rules` with `{"rules": [{"operation": "kms:*", "fault": {"kind": "Throttle"},
//!   "probability": 0.1}]}` replaces the rules (and their `times` counters and quotas);
//! - `GET /__fault-proxy/rules` → the rules in force;
//! - `POST /__fault-proxy/reset-counts` zeroes the counts.

mod answers;
mod counts;
mod op;
mod presets;
mod prng;
mod realism;
mod rules;
mod server;
mod shuffle;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::oneshot;

pub use counts::OpCounts;
pub use presets::{lost_create_answers, realistic};
pub use rules::{Fault, Rule};

use server::Shared;

/// A running proxy. It serves on a background thread with its own tokio runtime (so it works from plain
/// `#[test]`s and from `#[tokio::test]`s alike) and stops when dropped.
pub struct Proxy {
    endpoint: String,
    port: u16,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://HOST:PORT`) on an ephemeral port of 127.0.0.1. `seed` makes
    /// the probabilistic faults and the policy shuffling repeatable (for a given order of requests).
    pub fn start(upstream: &str, rules: Vec<Rule>, seed: u64) -> std::io::Result<Proxy> {
        Proxy::start_on_port(upstream, rules, seed, 0)
    }

    /// Like [`Proxy::start`], on the given port of 127.0.0.1 (0: an ephemeral one).
    pub fn start_on_port(
        upstream: &str,
        rules: Vec<Rule>,
        seed: u64,
        port: u16,
    ) -> std::io::Result<Proxy> {
        let shared = Arc::new(Shared::new(upstream, rules, seed)?);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let (shutdown, stop) = oneshot::channel();
        let (ready, started) = std::sync::mpsc::channel();
        let serving = Arc::clone(&shared);
        // The runtime is built and dropped on its own thread: dropping one inside another runtime panics.
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("fault-proxy-worker")
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                runtime.block_on(server::serve(listener, serving, stop));
                // Connections still open (idle keep-alives) are dropped with the runtime.
                runtime.shutdown_timeout(Duration::from_millis(500));
            })?;
        match started.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(std::io::Error::other(
                    "the proxy thread died while starting",
                ));
            }
        }
        Ok(Proxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`: where to point the SDK (`endpoint_url`, `AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Replaces the rules; the new rules start with fresh `times` counters and full quota buckets.
    pub fn set_rules(&self, rules: Vec<Rule>) {
        self.shared.set_rules(rules);
    }

    /// The rules in force.
    pub fn rules(&self) -> Vec<Rule> {
        self.shared.rule_set().rules()
    }

    /// What happened so far, per operation (`service:Operation`).
    pub fn counts(&self) -> BTreeMap<String, OpCounts> {
        self.shared.counts.snapshot()
    }

    /// Forgets the counts.
    pub fn reset_counts(&self) {
        self.shared.counts.clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Rules as JSON: `{"rules": [...]}` (what `POST /__fault-proxy/rules` takes) or a bare `[...]`.
pub fn parse_rules(json: &[u8]) -> Result<Vec<Rule>, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Document {
        Wrapped { rules: Vec<Rule> },
        Bare(Vec<Rule>),
    }
    Ok(match serde_json::from_slice(json)? {
        Document::Wrapped { rules } | Document::Bare(rules) => rules,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rules_documents() {
        let wrapped =
            parse_rules(br#"{"rules":[{"operation":"*","fault":{"kind":"Reset"}}]}"#).unwrap();
        assert_eq!(wrapped, vec![Rule::always("*", Fault::Reset)]);
        let bare = parse_rules(br#"[{"operation":"*","fault":{"kind":"Reset"}}]"#).unwrap();
        assert_eq!(bare, wrapped);
        assert!(parse_rules(br#"{"rules":[{"operation":"*","fault":{"kind":"Nope"}}]}"#).is_err());
    }

    #[test]
    fn start_and_stop() {
        let proxy = Proxy::start("http://127.0.0.1:9", vec![], 0).unwrap();
        assert!(proxy.endpoint().starts_with("http://127.0.0.1:"));
        assert_ne!(proxy.port(), 0);
        let port = proxy.port();
        drop(proxy);
        // The port is free again.
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert!(Proxy::start("ftp://x", vec![], 0).is_err());
    }
}
