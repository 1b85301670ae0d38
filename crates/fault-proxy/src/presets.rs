//! Ready-made rule sets.

use crate::realism::TRACKED_CREATES;
use crate::rules::{Fault, Rule};

/// Organizations' message for `ConcurrentModificationException`.
const CONCURRENT_MODIFICATION: &str = "The target of the operation is currently being modified by a different request. Try again later.";

/// Realistic AWS for every service, with `window_ms` as the consistency window:
///
/// - `Unseen` (`window_ms`) on every create the proxy tracks;
/// - `StaleReads` (`window_ms`) after every write;
/// - `TaggingLag` (3 × `window_ms`) on `tagging:GetResources`;
/// - `PendingEnable` (`window_ms`) on `organizations:EnablePolicyType`;
/// - `ConcurrentModificationException` (HTTP 400) on 5% of all Organizations requests, reads and writes.
pub fn realistic(window_ms: u64) -> Vec<Rule> {
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
                code: "ConcurrentModificationException".to_string(),
                status: 400,
                message: Some(CONCURRENT_MODIFICATION.to_string()),
            },
            0.05,
        ),
    ]
}

/// The first answer of each create the proxy tracks (`kms:CreateKey`, `kms:CreateAlias`,
/// `organizations:CreatePolicy`, `organizations:AttachPolicy`, `config:PutConfigRule`, `sns:CreateTopic`,
/// `sns:Subscribe`, `events:PutRule`, `events:PutTargets`) is lost: the create happens, the client gets
/// no answer (`DropResponse`, `times` 1 each).
pub fn lost_create_answers() -> Vec<Rule> {
    TRACKED_CREATES
        .iter()
        .map(|op| Rule::times(*op, Fault::DropResponse, 1))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        let rules = realistic(1000);
        assert!(rules.contains(&Rule::always("*", Fault::Unseen { ms: 1000 })));
        assert!(rules.contains(&Rule::always("*", Fault::TaggingLag { ms: 3000 })));
        let error = rules
            .iter()
            .find(|r| matches!(r.fault, Fault::Error { .. }))
            .unwrap();
        assert_eq!(
            (error.operation.as_str(), error.probability),
            ("organizations:*", 0.05)
        );
        // Serialisable like any rules.
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(crate::parse_rules(json.as_bytes()).unwrap(), rules);

        let lost = lost_create_answers();
        assert_eq!(lost.len(), 9);
        assert!(lost.contains(&Rule::times("sns:Subscribe", Fault::DropResponse, 1)));
        assert!(lost.iter().all(|r| r.times == Some(1)));
    }
}
