//! Severities of CloudTrail KMS events. The seed's table is the default; `[alerts.severity]`
//! entries override it; alerts go out for events at or above `min_severity`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// The seed's CloudTrail monitoring table.
pub const SEED: &[(&str, Severity)] = &[
    ("CreateKey", Severity::Medium),
    ("DisableKey", Severity::High),
    ("ScheduleKeyDeletion", Severity::Critical),
    ("PutKeyPolicy", Severity::High),
    ("EnableKey", Severity::Medium),
    ("Decrypt", Severity::Low),
    ("Encrypt", Severity::Low),
];

/// The seed's table with the environment's overrides applied.
pub fn table(overrides: &BTreeMap<String, Severity>) -> BTreeMap<String, Severity> {
    let mut table: BTreeMap<String, Severity> =
        SEED.iter().map(|(e, s)| ((*e).to_owned(), *s)).collect();
    table.extend(overrides.iter().map(|(e, s)| (e.clone(), *s)));
    table
}

/// The event names of each severity at or above `min`: one EventBridge rule per entry.
pub fn levels(
    table: &BTreeMap<String, Severity>,
    min: Severity,
) -> BTreeMap<Severity, Vec<String>> {
    let mut levels: BTreeMap<Severity, Vec<String>> = BTreeMap::new();
    for (event, severity) in table.iter().filter(|(_, s)| **s >= min) {
        levels.entry(*severity).or_default().push(event.clone());
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_the_minimum() {
        let overrides = BTreeMap::from([
            ("EnableKey".to_owned(), Severity::High),
            ("RotateKeyOnDemand".to_owned(), Severity::Medium),
        ]);
        let table = table(&overrides);
        assert_eq!(table["EnableKey"], Severity::High);
        assert_eq!(table["ScheduleKeyDeletion"], Severity::Critical);
        let levels = levels(&table, Severity::High);
        assert_eq!(
            levels.keys().copied().collect::<Vec<_>>(),
            [Severity::High, Severity::Critical]
        );
        assert_eq!(
            levels[&Severity::High],
            ["DisableKey", "EnableKey", "PutKeyPolicy"]
        );
        assert_eq!(levels[&Severity::Critical], ["ScheduleKeyDeletion"]);
    }
}
