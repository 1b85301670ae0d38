//! The bench scenarios: which faults the proxy injects while the clients run.

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

impl Scenario {
    pub const ALL: [Self; 3] = [Self::NoFaults, Self::Latency25, Self::Quota];

    pub fn name(self) -> &'static str {
        match self {
            Self::NoFaults => "0ms",
            Self::Latency25 => "25ms",
            Self::Quota => "quota",
        }
    }

    /// `0ms,25ms,quota` (any order, no duplicates).
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        let mut scenarios = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let scenario = Self::ALL
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| format!("unknown scenario `{name}` (known: 0ms, 25ms, quota)"))?;
            if scenarios.contains(&scenario) {
                return Err(format!("scenario `{name}` is given twice"));
            }
            scenarios.push(scenario);
        }
        if scenarios.is_empty() {
            return Err("--scenarios names no scenario".into());
        }
        Ok(scenarios)
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
            Ok(vec![Scenario::Quota, Scenario::NoFaults])
        );
        assert!(Scenario::parse_list("0ms,0ms").is_err());
        assert!(Scenario::parse_list("1ms").is_err());
        assert!(Scenario::parse_list(",").is_err());
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
