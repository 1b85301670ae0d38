//! At most 5 policies of a type directly attached to each root, OU and account, counting the
//! AWS-managed `FullAWSAccess` / `RCPFullAWSAccess` and anything attached by hand. AWS refuses
//! the sixth at apply time, half way through; kmsctl refuses the plan.

use std::collections::BTreeSet;

use kmsctl_core::limits::MAX_ORG_POLICIES_PER_TARGET;

/// What one target would carry of one policy type after apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub attached: BTreeSet<String>,
}

impl Budget {
    /// `declared`: the policies the file attaches there; `kept`: policies attached now that
    /// kmsctl does not manage (and so leaves attached), AWS-managed ones included.
    pub fn after_apply(declared: &[String], kept: &[String]) -> Self {
        Self {
            attached: declared.iter().chain(kept).cloned().collect(),
        }
    }

    pub fn over(&self) -> bool {
        self.attached.len() > MAX_ORG_POLICIES_PER_TARGET
    }

    pub fn describe(&self) -> String {
        format!(
            "{} policies would be attached ({}); AWS allows {MAX_ORG_POLICIES_PER_TARGET} per target",
            self.attached.len(),
            self.attached.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn full_aws_access_and_hand_attached_policies_count() {
        let declared = names(&[
            "mfa_critical_api",
            "waiting_period",
            "automatic_key_rotation",
            "environment_boundaries",
        ]);
        assert!(!Budget::after_apply(&declared, &names(&["FullAWSAccess"])).over());
        let budget = Budget::after_apply(&declared, &names(&["FullAWSAccess", "hand-made"]));
        assert!(budget.over());
        assert!(
            budget
                .describe()
                .starts_with("6 policies would be attached"),
            "{}",
            budget.describe()
        );
    }

    #[test]
    fn a_policy_both_declared_and_attached_counts_once() {
        let declared = names(&["a", "b", "c", "d", "FullAWSAccess"]);
        assert!(!Budget::after_apply(&declared, &names(&["FullAWSAccess"])).over());
    }
}
