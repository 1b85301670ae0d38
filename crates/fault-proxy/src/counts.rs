//! What happened to the requests of each operation.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// Counters of one operation (`service:Operation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    /// Requests that reached the proxy.
    pub received: u64,
    /// Requests sent on to the upstream that answered (including those whose answer was then dropped).
    pub forwarded: u64,
    /// Throttling answers injected (`Throttle` rules and `Quota` without a token).
    pub throttled: u64,
    /// Error statuses injected (`Status` rules).
    pub status: u64,
    /// Connections reset instead of forwarding (`Reset` rules).
    pub reset: u64,
    /// Answers read from the upstream and not passed on (`DropResponse` rules).
    pub dropped: u64,
    /// Requests delayed by `Latency` rules.
    #[serde(default)]
    pub delayed: u64,
    /// Total latency injected, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Errors injected without forwarding by `Error` rules and `NewPrincipals` refusals.
    #[serde(default)]
    pub injected: u64,
    /// Requests answered not-found, or list answers that left something out, because of `Unseen`.
    #[serde(default)]
    pub unseen: u64,
    /// Reads answered from before a write (`StaleReads`).
    #[serde(default)]
    pub stale: u64,
    /// `tagging:GetResources` answers changed by `TaggingLag`.
    #[serde(default)]
    pub lagged: u64,
    /// Answers showing `PENDING_ENABLE`, and attachments refused, because of `PendingEnable`.
    #[serde(default)]
    pub pending: u64,
}

impl OpCounts {
    /// Adds the counters of `other` to these.
    pub(crate) fn add_realism(&mut self, other: &OpCounts) {
        self.injected += other.injected;
        self.unseen += other.unseen;
        self.stale += other.stale;
        self.lagged += other.lagged;
        self.pending += other.pending;
    }

    /// Whether any realism counter is set.
    pub(crate) fn has_realism(&self) -> bool {
        self.injected + self.unseen + self.stale + self.lagged + self.pending > 0
    }
}

#[derive(Default)]
pub(crate) struct Counters(Mutex<BTreeMap<String, OpCounts>>);

impl Counters {
    pub fn update(&self, op: &str, change: impl FnOnce(&mut OpCounts)) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get_mut(op) {
            Some(counts) => change(counts),
            None => change(map.entry(op.to_string()).or_default()),
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, OpCounts> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
