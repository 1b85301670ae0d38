//! The fault-injection proxy (`crates/fault-proxy`): started in front of the emulator for the time of the
//! bench, and controlled through `/__fault-proxy/...` on its own port.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use xtask::http;

const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);
const LISTENING: &str = "fault-proxy listening on ";

/// What the proxy does to a matching request (the shapes of `crates/fault-proxy/src/rules.rs`).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Delays the request.
    Latency { ms: u64 },
    /// A token bucket: requests over it are answered with a throttling error.
    Quota { per_second: f64, burst: u64 },
    /// Forwards the request (the change happens), then closes the connection without answering.
    DropResponse,
    /// Answers the service's error `code` with HTTP `status`, without forwarding.
    Error {
        code: String,
        status: u16,
        message: Option<String>,
    },
    /// Realistic AWS: what a create made stays invisible for `ms`.
    Unseen { ms: u64 },
    /// Realistic AWS: reads of a resource answer as before a write for `ms` after it.
    StaleReads { ms: u64 },
    /// Realistic AWS: `tagging:GetResources` answers the tags of `ms` ago.
    TaggingLag { ms: u64 },
    /// Realistic AWS: `organizations:EnablePolicyType` takes `ms` to complete.
    PendingEnable { ms: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `service:Operation`, `service:*`, or `*`.
    pub operation: String,
    pub fault: Fault,
    /// The chance that the rule fires on a matching request.
    pub probability: f64,
    /// At most this many injections; `None`: no limit.
    pub times: Option<u64>,
}

impl Rule {
    /// A rule that applies to every matching request, for ever.
    pub fn always(operation: &str, fault: Fault) -> Self {
        Self {
            operation: operation.to_string(),
            fault,
            probability: 1.0,
            times: None,
        }
    }

    /// A rule that applies to the first `times` matching requests.
    pub fn times(operation: &str, fault: Fault, times: u64) -> Self {
        Self {
            times: Some(times),
            ..Self::always(operation, fault)
        }
    }

    /// A rule that applies to a matching request with `probability`.
    pub fn with_probability(operation: &str, fault: Fault, probability: f64) -> Self {
        Self {
            probability,
            ..Self::always(operation, fault)
        }
    }

    fn to_json(&self) -> Value {
        let fault = match &self.fault {
            Fault::Latency { ms } => json!({"kind": "Latency", "ms": ms}),
            Fault::Quota { per_second, burst } => {
                json!({"kind": "Quota", "per_second": per_second, "burst": burst})
            }
            Fault::DropResponse => json!({"kind": "DropResponse"}),
            Fault::Error {
                code,
                status,
                message,
            } => {
                let mut error = json!({"kind": "Error", "code": code, "status": status});
                if let Some(message) = message {
                    error["message"] = json!(message);
                }
                error
            }
            Fault::Unseen { ms } => json!({"kind": "Unseen", "ms": ms}),
            Fault::StaleReads { ms } => json!({"kind": "StaleReads", "ms": ms}),
            Fault::TaggingLag { ms } => json!({"kind": "TaggingLag", "ms": ms}),
            Fault::PendingEnable { ms } => json!({"kind": "PendingEnable", "ms": ms}),
        };
        json!({
            "operation": self.operation,
            "fault": fault,
            "probability": self.probability,
            "times": self.times,
        })
    }
}

/// `{"rules":[...]}`
pub fn rules_json(rules: &[Rule]) -> String {
    let rules: Vec<Value> = rules.iter().map(Rule::to_json).collect();
    json!({ "rules": rules }).to_string()
}

/// What the proxy saw of one operation (its other counters are ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OpCounts {
    pub received: u64,
    pub forwarded: u64,
    pub throttled: u64,
    /// Answers read from the emulator and not passed on (`DropResponse`).
    pub dropped: u64,
    /// Errors injected without forwarding (`Error`).
    pub injected: u64,
    /// Not-found answers and shortened lists of `Unseen`.
    pub unseen: u64,
    /// Answers from before a write (`StaleReads`).
    pub stale: u64,
    /// `tagging:GetResources` answers of `TaggingLag`.
    pub lagged: u64,
    /// Answers of `PendingEnable`.
    pub pending: u64,
}

impl OpCounts {
    /// The counters [`Counts::summary`] shows after the requests, by name.
    fn marks(&self) -> [(&'static str, u64); 7] {
        [
            ("throttled", self.throttled),
            ("dropped", self.dropped),
            ("injected", self.injected),
            ("unseen", self.unseen),
            ("stale", self.stale),
            ("lagged", self.lagged),
            ("pending", self.pending),
        ]
    }
}

/// Per operation (`service:Operation`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<String, OpCounts>);

impl Counts {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text)
            .map(Self)
            .map_err(|e| format!("invalid counts JSON: {e}"))
    }

    /// The operations that count as the client's work: all but STS (credentials).
    pub fn work(&self) -> impl Iterator<Item = (&str, &OpCounts)> {
        self.0
            .iter()
            .filter(|(operation, _)| !operation.starts_with("sts:"))
            .map(|(operation, counts)| (operation.as_str(), counts))
    }

    /// Requests received, STS excluded.
    pub fn requests(&self) -> u64 {
        self.work().map(|(_, c)| c.received).sum()
    }

    /// Requests throttled, STS excluded.
    pub fn throttled(&self) -> u64 {
        self.total(|c| c.throttled)
    }

    /// The sum of one counter over the operations, STS excluded.
    pub fn total(&self, counter: impl Fn(&OpCounts) -> u64) -> u64 {
        self.work().map(|(_, c)| counter(c)).sum()
    }

    /// `operation`'s counters (zero when the proxy did not see it).
    pub fn of(&self, operation: &str) -> OpCounts {
        self.0.get(operation).copied().unwrap_or_default()
    }

    /// `kms:DescribeKey 1000 (3 throttled), kms:ListKeys 1, ...`, most requested first; in parentheses
    /// what the faults did (throttled, dropped, injected, unseen, stale, lagged, pending).
    pub fn summary(&self) -> String {
        let mut ops: Vec<_> = self.work().collect();
        ops.sort_by(|a, b| b.1.received.cmp(&a.1.received).then(a.0.cmp(b.0)));
        ops.iter()
            .map(|(operation, c)| {
                let marks: Vec<String> = c
                    .marks()
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(name, n)| format!("{n} {name}"))
                    .collect();
                if marks.is_empty() {
                    format!("{operation} {}", c.received)
                } else {
                    format!("{operation} {} ({})", c.received, marks.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A running `fault-proxy`; it exits when this is dropped (or this process exits: its stdin closes).
pub struct Proxy {
    pub endpoint: String,
    child: Child,
}

impl Proxy {
    /// Starts `binary --upstream UPSTREAM --exit-on-stdin-close` on a port of its choice; its stderr goes
    /// to `log`.
    pub fn start(binary: &Path, upstream: &str, log: &Path) -> Result<Self, String> {
        let stderr =
            File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut child = Command::new(binary)
            .args(["--upstream", upstream, "--exit-on-stdin-close"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        // Reads the first line, then keeps draining stdout so that the proxy never blocks on it.
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = sender.send(lines.next());
            for _ in lines {}
        });
        let mut proxy = Self {
            endpoint: String::new(),
            child,
        };
        let line = match receiver.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(_) => {
                return Err(format!(
                    "{} exited without saying where it listens (log: {})",
                    binary.display(),
                    log.display()
                ));
            }
            Err(_) => {
                return Err(format!(
                    "{} did not say where it listens within {STARTUP_TIMEOUT:?} (log: {})",
                    binary.display(),
                    log.display()
                ));
            }
        };
        proxy.endpoint = line
            .trim()
            .strip_prefix(LISTENING)
            .map(|endpoint| endpoint.trim_end_matches('/').to_string())
            .ok_or_else(|| format!("unexpected first line from the proxy: {line:?}"))?;
        proxy.counts()?;
        Ok(proxy)
    }

    fn control(&self, method: &str, path: &str, body: &str) -> Result<http::Response, String> {
        let response = http::request(
            &self.endpoint,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
            CONTROL_TIMEOUT,
        )
        .map_err(|e| format!("fault-proxy control: {method} {}{path}: {e}", self.endpoint))?;
        if response.status == 200 {
            Ok(response)
        } else {
            Err(format!(
                "fault-proxy: {method} {path} answered HTTP {}: {}",
                response.status,
                response.excerpt()
            ))
        }
    }

    /// Replaces the rules (and their state); fails unless the proxy took all of them.
    pub fn set_rules(&self, rules: &[Rule]) -> Result<(), String> {
        let response = self.control("POST", "/__fault-proxy/rules", &rules_json(rules))?;
        let taken = serde_json::from_str::<Value>(&response.text())
            .ok()
            .and_then(|answer| answer["rules"].as_u64());
        match taken {
            Some(n) if n == rules.len() as u64 => Ok(()),
            _ => Err(format!(
                "fault-proxy: POST /__fault-proxy/rules with {} rule(s) answered {}",
                rules.len(),
                response.excerpt()
            )),
        }
    }

    pub fn reset_counts(&self) -> Result<(), String> {
        self.control("POST", "/__fault-proxy/reset-counts", "")
            .map(drop)
    }

    pub fn counts(&self) -> Result<Counts, String> {
        let response = self.control("GET", "/__fault-proxy/counts", "")?;
        Counts::parse(&response.text())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_as_json() {
        let rules = [
            Rule::always("*", Fault::Latency { ms: 25 }),
            Rule::always(
                "kms:DescribeKey",
                Fault::Quota {
                    per_second: 100.0,
                    burst: 100,
                },
            ),
        ];
        assert_eq!(
            rules_json(&rules),
            "{\"rules\":[{\"operation\":\"*\",\"fault\":{\"kind\":\"Latency\",\"ms\":25},\
             \"probability\":1.0,\"times\":null},{\"operation\":\"kms:DescribeKey\",\"fault\":\
             {\"kind\":\"Quota\",\"per_second\":100.0,\"burst\":100},\"probability\":1.0,\"times\":null}]}"
        );
        assert_eq!(rules_json(&[]), "{\"rules\":[]}");
    }

    #[test]
    fn realistic_rules_as_json() {
        let rules = [
            Rule::always("*", Fault::Unseen { ms: 3000 }),
            Rule::always("*", Fault::StaleReads { ms: 3000 }),
            Rule::always("*", Fault::TaggingLag { ms: 9000 }),
            Rule::always("organizations:*", Fault::PendingEnable { ms: 3000 }),
            Rule::with_probability(
                "organizations:*",
                Fault::Error {
                    code: "ConcurrentModificationException".into(),
                    status: 400,
                    message: Some("later".into()),
                },
                0.05,
            ),
            Rule::times("kms:CreateKey", Fault::DropResponse, 1),
        ];
        let json: Value = serde_json::from_str(&rules_json(&rules)).expect("JSON");
        let rules = json["rules"].as_array().expect("rules");
        assert_eq!(
            rules[0],
            json!({"operation": "*", "fault": {"kind": "Unseen", "ms": 3000}, "probability": 1.0,
                   "times": null})
        );
        assert_eq!(rules[1]["fault"], json!({"kind": "StaleReads", "ms": 3000}));
        assert_eq!(rules[2]["fault"], json!({"kind": "TaggingLag", "ms": 9000}));
        assert_eq!(
            rules[3]["fault"],
            json!({"kind": "PendingEnable", "ms": 3000})
        );
        assert_eq!(
            rules[4],
            json!({"operation": "organizations:*", "fault": {"kind": "Error",
                   "code": "ConcurrentModificationException", "status": 400, "message": "later"},
                   "probability": 0.05, "times": null})
        );
        assert_eq!(
            rules[5],
            json!({"operation": "kms:CreateKey", "fault": {"kind": "DropResponse"},
                   "probability": 1.0, "times": 1})
        );
        let no_message = Rule::always(
            "kms:*",
            Fault::Error {
                code: "X".into(),
                status: 500,
                message: None,
            },
        );
        assert!(!rules_json(&[no_message]).contains("message"));
    }

    #[test]
    fn counts() {
        let counts = Counts::parse(
            r#"{"kms:DescribeKey": {"received":10,"forwarded":8,"throttled":2,"status":0,"reset":0,"dropped":0},
                "sts:AssumeRole": {"received":1,"forwarded":1,"throttled":0},
                "kms:ListKeys": {"received":1,"forwarded":1,"throttled":0}}"#,
        )
        .expect("valid");
        assert_eq!(counts.requests(), 11);
        assert_eq!(counts.throttled(), 2);
        assert_eq!(
            counts.summary(),
            "kms:DescribeKey 10 (2 throttled), kms:ListKeys 1"
        );
        assert!(Counts::parse("[]").is_err());

        let realistic = Counts::parse(
            r#"{"kms:CreateKey": {"received":4,"forwarded":4,"throttled":0,"dropped":1},
                "kms:PutKeyPolicy": {"received":6,"forwarded":3,"unseen":3,"stale":0},
                "kms:GetKeyPolicy": {"received":6,"forwarded":6,"stale":2},
                "tagging:GetResources": {"received":2,"forwarded":2,"lagged":2,"delayed":0},
                "sts:AssumeRole": {"received":1,"forwarded":1,"unseen":9}}"#,
        )
        .expect("valid");
        assert_eq!(realistic.total(|c| c.unseen), 3, "STS excluded");
        assert_eq!(realistic.total(|c| c.stale), 2);
        assert_eq!(realistic.total(|c| c.lagged), 2);
        assert_eq!(realistic.of("kms:CreateKey").dropped, 1);
        assert_eq!(realistic.of("kms:ListKeys"), OpCounts::default());
        assert_eq!(
            realistic.summary(),
            "kms:GetKeyPolicy 6 (2 stale), kms:PutKeyPolicy 6 (3 unseen), kms:CreateKey 4 (1 dropped), \
             tagging:GetResources 2 (2 lagged)"
        );
    }
}
