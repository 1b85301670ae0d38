//! The bench scenarios: which faults the proxy injects while the clients run.
//!
//! `0ms`, `25ms` and `quota` measure `kmsctl plan` of the seeded account ([`Scenario`]); `realistic` measures
//! an apply of N keys into an empty account, and the plan right after it, under the fault proxy's
//! realistic-AWS rules ([`realistic_rules`]) and without them (see `bench/realistic.rs`).

use super::proxy::{Fault, Rule};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// No faults: the emulator's own speed.
    NoFaults,
    /// 25 ms more on every request, like a far region.
    Latency25,
    /// AWS-like per-operation request quotas.
    Quota,
}

/// The per-second quotas of [`Scenario::Quota`] (burst = rate); other operations are unlimited.
pub const QUOTAS: &[(&str, f64)] = &[
    ("kms:DescribeKey", 100.0),
    ("kms:GetKeyPolicy", 30.0),
    ("kms:GetKeyRotationStatus", 100.0),
    ("kms:ListKeys", 100.0),
    ("kms:ListAliases", 100.0),
    ("kms:ListResourceTags", 100.0),
    ("tagging:GetResources", 100.0),
];

/// The name of the realistic measurement in `--scenarios`.
pub const REALISTIC: &str = "realistic";

/// The consistency window of the realistic measurement unless `--realistic-window` says otherwise.
pub const DEFAULT_WINDOW_MS: u64 = 3000;

/// What `--scenarios` selects: plan scenarios, in order, and whether the realistic measurement runs
/// (after them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub plan: Vec<Scenario>,
    pub realistic: bool,
}

impl Selection {
    /// Without `--scenarios`.
    pub fn default_list() -> Self {
        Self {
            plan: Scenario::ALL.to_vec(),
            realistic: false,
        }
    }
}

/// The fault proxy's realistic-AWS preset, `fault_proxy::realistic(window_ms)` (`crates/fault-proxy/src/
/// presets.rs`), spelled out for the proxy's control endpoint: creates unseen and reads stale for the
/// window, tags lagging three times it, policy types pending for it, and Organizations'
/// `ConcurrentModificationException` on 5% of its requests.
pub fn realistic_rules(window_ms: u64) -> Vec<Rule> {
    vec![
        Rule::always("*", Fault::Unseen { ms: window_ms }),
        Rule::always("*", Fault::StaleReads { ms: window_ms }),
        Rule::always(
            "*",
            Fault::TaggingLag {
                ms: window_ms.saturating_mul(3),
            },
        ),
        Rule::always("organizations:*", Fault::PendingEnable { ms: window_ms }),
        Rule::with_probability(
            "organizations:*",
            Fault::Error {
                code: "ConcurrentModificationException".into(),
                status: 400,
                message: Some(
                    "The target of the operation is currently being modified by a different \
                     request. Try again later."
                        .into(),
                ),
            },
            0.05,
        ),
    ]
}

/// The first `kms:CreateKey` answer is lost: the key is made, the client gets no answer.
pub fn lost_create_key() -> Rule {
    Rule::times("kms:CreateKey", Fault::DropResponse, 1)
}

impl Scenario {
    pub const ALL: [Self; 3] = [Self::NoFaults, Self::Latency25, Self::Quota];

    pub fn name(self) -> &'static str {
        match self {
            Self::NoFaults => "0ms",
            Self::Latency25 => "25ms",
            Self::Quota => "quota",
        }
    }

    /// `0ms,25ms,quota,realistic` (any order, no duplicates).
    pub fn parse_list(text: &str) -> Result<Selection, String> {
        let mut selection = Selection {
            plan: Vec::new(),
            realistic: false,
        };
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == REALISTIC {
                if selection.realistic {
                    return Err(format!("scenario `{name}` is given twice"));
                }
                selection.realistic = true;
                continue;
            }
            let scenario = Self::ALL
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| {
                    format!("unknown scenario `{name}` (known: 0ms, 25ms, quota, {REALISTIC})")
                })?;
            if selection.plan.contains(&scenario) {
                return Err(format!("scenario `{name}` is given twice"));
            }
            selection.plan.push(scenario);
        }
        if selection.plan.is_empty() && !selection.realistic {
            return Err("--scenarios names no scenario".into());
        }
        Ok(selection)
    }

    pub fn rules(self) -> Vec<Rule> {
        match self {
            Self::NoFaults => Vec::new(),
            Self::Latency25 => vec![Rule::always("*", Fault::Latency { ms: 25 })],
            Self::Quota => QUOTAS
                .iter()
                .map(|&(operation, per_second)| {
                    Rule::always(
                        operation,
                        Fault::Quota {
                            per_second,
                            burst: per_second.round() as u64,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The quota of `operation` in this scenario, if it has one.
    pub fn quota(self, operation: &str) -> Option<f64> {
        match self {
            Self::Quota => QUOTAS
                .iter()
                .find(|(name, _)| *name == operation)
                .map(|&(_, per_second)| per_second),
            Self::NoFaults | Self::Latency25 => None,
        }
    }

    /// Whether the floor is the analytic minimum under the quotas, rather than a measured client.
    pub fn has_analytic_floor(self) -> bool {
        self == Self::Quota
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(
            Scenario::parse_list("quota, 0ms"),
            Ok(Selection {
                plan: vec![Scenario::Quota, Scenario::NoFaults],
                realistic: false
            })
        );
        assert_eq!(
            Scenario::parse_list("realistic,25ms"),
            Ok(Selection {
                plan: vec![Scenario::Latency25],
                realistic: true
            })
        );
        assert_eq!(
            Scenario::parse_list("realistic"),
            Ok(Selection {
                plan: vec![],
                realistic: true
            })
        );
        assert!(Scenario::parse_list("0ms,0ms").is_err());
        assert!(Scenario::parse_list("realistic,realistic").is_err());
        assert!(Scenario::parse_list("1ms").is_err());
        assert!(Scenario::parse_list(",").is_err());
        assert_eq!(Selection::default_list().plan, Scenario::ALL);
    }

    #[test]
    fn realistic() {
        let rules = realistic_rules(3000);
        assert_eq!(rules.len(), 5);
        assert!(rules.contains(&Rule::always("*", Fault::Unseen { ms: 3000 })));
        assert!(rules.contains(&Rule::always("*", Fault::StaleReads { ms: 3000 })));
        assert!(rules.contains(&Rule::always("*", Fault::TaggingLag { ms: 9000 })));
        let error = rules
            .iter()
            .find(|r| matches!(r.fault, Fault::Error { .. }))
            .expect("an error rule");
        assert_eq!(
            (error.operation.as_str(), error.probability, error.times),
            ("organizations:*", 0.05, None)
        );
        assert_eq!(
            lost_create_key(),
            Rule {
                operation: "kms:CreateKey".into(),
                fault: Fault::DropResponse,
                probability: 1.0,
                times: Some(1)
            }
        );
    }

    #[test]
    fn quotas() {
        assert_eq!(Scenario::Quota.quota("kms:GetKeyPolicy"), Some(30.0));
        assert_eq!(Scenario::Quota.quota("kms:CreateKey"), None);
        assert_eq!(Scenario::Latency25.quota("kms:GetKeyPolicy"), None);
        assert_eq!(Scenario::Quota.rules().len(), QUOTAS.len());
        assert!(Scenario::NoFaults.rules().is_empty());
    }
}
