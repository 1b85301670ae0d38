//! Whether a managed SCP would stop kmsctl itself: a Deny on an action kmsctl calls that nothing
//! exempts the deployer role from. The seed's MFA policy is the classic case: an assumed role has
//! no MFA, so every `PutKeyPolicy` kmsctl makes would be denied.

use kmsctl_core::policy::{self, Statement};
use kmsctl_core::{Finding, Location};

use crate::config::PolicyType;
use crate::validate::RenderedPolicy;

/// What kmsctl calls when it plans and applies environments.
pub const KMSCTL_ACTIONS: &[&str] = &[
    "kms:CreateKey",
    "kms:PutKeyPolicy",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:UpdateKeyDescription",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:ListKeys",
    "kms:ListAliases",
];

/// Condition keys a deployer role session never satisfies: a Deny conditioned only on them
/// denies the deployer.
const UNSATISFIABLE_FOR_A_ROLE: &[&str] = &["aws:multifactorauthpresent", "aws:multifactorauthage"];

fn covered(statement: &Statement) -> Vec<&'static str> {
    KMSCTL_ACTIONS
        .iter()
        .copied()
        .filter(|action| match (&statement.action, &statement.not_action) {
            (Some(patterns), _) => patterns.iter().any(|p| policy::action_matches(p, action)),
            (None, Some(excluded)) => !excluded.iter().any(|p| policy::action_matches(p, action)),
            (None, None) => false,
        })
        .collect()
}

/// A condition on `aws:PrincipalArn` with a negated operator whose values match the deployer.
fn exempts(statement: &Statement, deployer: &str) -> bool {
    statement.condition.iter().any(|(operator, keys)| {
        operator.contains("Not")
            && keys.iter().any(|(key, values)| {
                key.eq_ignore_ascii_case("aws:PrincipalArn")
                    && values
                        .iter()
                        .any(|v| v == deployer || policy::action_matches(v, deployer))
            })
    })
}

fn denies_a_role_session(statement: &Statement) -> bool {
    statement
        .condition
        .values()
        .flat_map(|keys| keys.keys())
        .all(|key| UNSATISFIABLE_FOR_A_ROLE.contains(&key.to_ascii_lowercase().as_str()))
}

/// Warnings for the SCPs that would deny the deployer role an action kmsctl needs.
pub fn warnings(rendered: &[RenderedPolicy], deployer_role_arn: Option<&str>) -> Vec<Finding> {
    let deployer = deployer_role_arn.unwrap_or("arn:aws:iam::*:role/kmsctl-deployer");
    let mut findings = Vec::new();
    for policy in rendered
        .iter()
        .filter(|p| p.kind == PolicyType::ServiceControlPolicy)
    {
        let Ok(document) = policy::parse(&policy.minified) else {
            continue;
        };
        for statement in document.statements.iter().filter(|s| s.is_deny()) {
            let actions = covered(statement);
            if actions.is_empty()
                || exempts(statement, deployer)
                || !denies_a_role_session(statement)
            {
                continue;
            }
            let label = statement
                .sid
                .clone()
                .unwrap_or_else(|| format!("#{}", statement.index + 1));
            findings.push(Finding::warning(
                "org-deployer-denied",
                Location::file(policy.file.clone()),
                format!(
                    "SCP {} statement {label} denies the deployer role {deployer} {}: kmsctl could not apply environments",
                    policy.name,
                    actions.join(", ")
                ),
                format!("exempt the deployer: add \"ArnNotLike\": {{\"aws:PrincipalArn\": \"{deployer}\"}} to the statement's Condition"),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scp(content: &str) -> RenderedPolicy {
        RenderedPolicy {
            kind: PolicyType::ServiceControlPolicy,
            name: "mfa".into(),
            file: "policies/org/service_control_policy/mfa.json".into(),
            minified: content.into(),
            written_size: content.len(),
        }
    }

    const DEPLOYER: &str = "arn:aws:iam::*:role/kmsctl-deployer";

    #[test]
    fn the_seeds_mfa_policy_denies_the_deployer_and_the_shipped_one_does_not() {
        let seed = r#"{"Version":"2012-10-17","Statement":[{"Sid":"RequireMFA","Effect":"Deny","Action":["kms:PutKeyPolicy","kms:CreateKey"],"Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
        let found = warnings(&[scp(seed)], Some(DEPLOYER));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("kms:CreateKey, kms:PutKeyPolicy"),
            "{}",
            found[0].message
        );
        let exempted = seed.replace(
            r#""BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}"#,
            r#""BoolIfExists":{"aws:MultiFactorAuthPresent":"false"},"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/kmsctl-deployer"}"#,
        );
        assert!(warnings(&[scp(&exempted)], Some(DEPLOYER)).is_empty());
    }

    #[test]
    fn conditions_a_deployer_can_meet_are_not_reported() {
        // kmsctl sends the required tags and a 30-day window: these denies do not hit it.
        let tags = r#"{"Version":"2012-10-17","Statement":[{"Sid":"T","Effect":"Deny","Action":"kms:CreateKey","Resource":"*","Condition":{"Null":{"aws:RequestTag/Project":"true"}}}]}"#;
        assert!(warnings(&[scp(tags)], Some(DEPLOYER)).is_empty());
        let unconditional = r#"{"Version":"2012-10-17","Statement":[{"Sid":"U","Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#;
        assert_eq!(warnings(&[scp(unconditional)], Some(DEPLOYER)).len(), 1);
    }
}
