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

/// What the proxy does to a matching request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Delays the request.
    Latency { ms: u64 },
    /// A token bucket: requests over it are answered with a throttling error.
    Quota { per_second: f64, burst: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `service:Operation`, or `*`.
    pub operation: String,
    pub fault: Fault,
}

impl Rule {
    /// A rule that applies to every matching request, for ever.
    pub fn always(operation: &str, fault: Fault) -> Self {
        Self {
            operation: operation.to_string(),
            fault,
        }
    }

    fn to_json(&self) -> Value {
        let fault = match self.fault {
            Fault::Latency { ms } => json!({"kind": "Latency", "ms": ms}),
            Fault::Quota { per_second, burst } => {
                json!({"kind": "Quota", "per_second": per_second, "burst": burst})
            }
        };
        json!({"operation": self.operation, "fault": fault, "probability": 1.0, "times": null})
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
        self.work().map(|(_, c)| c.throttled).sum()
    }

    /// `kms:DescribeKey 1000, kms:ListKeys 1, ...`, most requested first.
    pub fn summary(&self) -> String {
        let mut ops: Vec<_> = self.work().collect();
        ops.sort_by(|a, b| b.1.received.cmp(&a.1.received).then(a.0.cmp(b.0)));
        ops.iter()
            .map(|(operation, c)| {
                if c.throttled > 0 {
                    format!("{operation} {} ({} throttled)", c.received, c.throttled)
                } else {
                    format!("{operation} {}", c.received)
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

    pub fn set_rules(&self, rules: &[Rule]) -> Result<(), String> {
        self.control("POST", "/__fault-proxy/rules", &rules_json(rules))
            .map(drop)
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
    }
}
