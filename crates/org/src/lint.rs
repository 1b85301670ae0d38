//! The catalog-backed policy lint (`kmsctl_core::policy::lint`) over every SCP and RCP the
//! organization uploads, as rendered (real or stand-in org paths in place of `{{ ou_path }}`):
//! unknown actions and condition keys, operators of the wrong type, `aws:PrincipalOrgPaths`
//! values that are not org paths (the seed's `/root/prod/*` never matches), SCP and RCP rules.

use kmsctl_core::Finding;
use kmsctl_core::policy::{self, lint::PolicyKind};

use crate::config::PolicyType;
use crate::guards::RenderedPolicy;

pub fn warnings(rendered: &[RenderedPolicy]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rendered_policy in rendered {
        let Ok(document) = policy::parse(&rendered_policy.minified) else {
            continue;
        };
        let kind = match rendered_policy.kind {
            PolicyType::ServiceControlPolicy => PolicyKind::Scp,
            PolicyType::ResourceControlPolicy => PolicyKind::Rcp,
        };
        findings.extend(
            policy::lint::lint(
                &document,
                &rendered_policy.minified,
                kind,
                &rendered_policy.file,
            )
            .into_iter()
            // The size is checked on the exact upload (org-policy-size), with both counts.
            .filter(|f| f.rule != policy::guards::POLICY_SIZE.id)
            .map(|mut f| {
                // Lines of the minified upload say nothing: the JSON pointer locates it.
                f.location.line = None;
                f.message = format!("policy {}: {}", rendered_policy.name, f.message);
                f
            }),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scp(content: &str) -> RenderedPolicy {
        RenderedPolicy {
            kind: PolicyType::ServiceControlPolicy,
            name: "boundary".into(),
            file: "policies/org/service_control_policy/boundary.json".into(),
            minified: content.into(),
            written_size: content.len(),
        }
    }

    fn rules(content: &str) -> Vec<String> {
        warnings(&[scp(content)])
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn the_seeds_boundary_is_flagged_and_the_fixed_one_is_clean() {
        let seed = r#"{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalOrgPaths":"/root/dev/*"}}}]}"#;
        assert_eq!(
            rules(seed),
            [
                "orgpaths-value",
                "plain-operator-multi-valued",
                "negated-operator-absent-key"
            ]
        );
        let fixed = r#"{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"ForAllValues:StringNotLike":{"aws:PrincipalOrgPaths":"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}}]}"#;
        assert_eq!(rules(fixed), Vec::<String>::new());
    }

    #[test]
    fn operators_of_the_wrong_type() {
        let wrong = r#"{"Version":"2012-10-17","Statement":[{"Sid":"W","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*","Condition":{"StringLike":{"kms:ScheduleKeyDeletionPendingWindowInDays":"30"},"StringEquals":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
        assert_eq!(rules(wrong), ["operator-type-text", "operator-type-text"]);
        let right = r#"{"Version":"2012-10-17","Statement":[{"Sid":"W","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*","Condition":{"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":"30"},"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"},"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}}]}"#;
        assert_eq!(rules(right), Vec::<String>::new());
    }
}
