//! Lint warnings for organization policies: `aws:PrincipalOrgPaths` values that are not org
//! paths (the seed's `/root/prod/*` never matches), and operators of the wrong family for a
//! few well-known condition keys. The full catalog-backed lint comes with the policy engine.

use kmsctl_core::policy::{self, Statement};
use kmsctl_core::{Finding, Location};

use crate::validate::RenderedPolicy;

/// Known keys: the operator families they take, and whether they are multi-valued.
const KEYS: &[(&str, &[&str], bool)] = &[
    ("aws:principalorgpaths", &["String"], true),
    ("aws:principalorgid", &["String"], false),
    ("aws:multifactorauthpresent", &["Bool"], false),
    ("aws:principalisawsservice", &["Bool"], false),
    ("aws:principalarn", &["Arn", "String"], false),
    (
        "kms:schedulekeydeletionpendingwindowindays",
        &["Numeric"],
        false,
    ),
    ("kms:rotationperiodindays", &["Numeric"], false),
];

/// `ForAnyValue:StringNotLikeIfExists` → (`ForAnyValue`, `String`).
fn family(operator: &str) -> (Option<&str>, &str) {
    let (set, rest) = match operator.split_once(':') {
        Some((set, rest)) => (Some(set), rest),
        None => (None, operator),
    };
    let rest = rest.strip_suffix("IfExists").unwrap_or(rest);
    let family = [
        "String",
        "Numeric",
        "Date",
        "Bool",
        "Arn",
        "IpAddress",
        "BinaryEquals",
        "Null",
    ]
    .into_iter()
    .find(|f| rest.starts_with(f))
    .unwrap_or(rest);
    (set, family)
}

/// An `aws:PrincipalOrgPaths` value: `o-…/r-…/` then OU ids, each ending in `/`, wildcards allowed.
fn is_org_path(value: &str) -> bool {
    if value == "*" {
        return true;
    }
    let mut parts = value.split('/');
    let org = parts.next().unwrap_or_default();
    org.starts_with("o-") || org.starts_with('*')
}

pub fn warnings(rendered: &[RenderedPolicy]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for policy in rendered {
        let Ok(document) = policy::parse(&policy.minified) else {
            continue;
        };
        for statement in &document.statements {
            check(policy, statement, &mut findings);
        }
    }
    findings
}

fn check(policy: &RenderedPolicy, statement: &Statement, findings: &mut Vec<Finding>) {
    let label = statement
        .sid
        .clone()
        .unwrap_or_else(|| format!("#{}", statement.index + 1));
    let at = || Location::file(policy.file.clone()).with_pointer(statement.pointer.clone());
    for (operator, keys) in &statement.condition {
        let (set, operator_family) = family(operator);
        for (key, values) in keys {
            let lower = key.to_ascii_lowercase();
            if lower == "aws:principalorgpaths" {
                for value in values.iter().filter(|v| !is_org_path(v)) {
                    findings.push(Finding::warning(
                        "org-orgpaths-value",
                        at(),
                        format!("policy {} statement {label}: {value:?} is not an org path; aws:PrincipalOrgPaths values look like o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", policy.name),
                        "write {{ ou_path 'root/NAME' }}, which kmsctl resolves to the OU's real path",
                    ));
                }
            }
            let Some((_, families, multi)) = KEYS.iter().find(|(k, _, _)| *k == lower) else {
                continue;
            };
            if operator_family != "Null" && !families.contains(&operator_family) {
                findings.push(Finding::warning(
                    "org-operator-family",
                    at(),
                    format!("policy {} statement {label}: {operator} on {key}, which takes {} operators", policy.name, families.join("/")),
                    format!("use a {} operator", families[0]),
                ));
            }
            if *multi && set.is_none() && operator_family != "Null" {
                findings.push(Finding::warning(
                    "org-operator-family",
                    at(),
                    format!("policy {} statement {label}: {key} is multi-valued; {operator} without ForAnyValue:/ForAllValues: does not mean what it seems", policy.name),
                    format!("write ForAnyValue:{operator} (or ForAllValues: in a Deny that must match every value)"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyType;

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
    fn the_seeds_boundary_is_flagged_twice_and_the_fixed_one_not_at_all() {
        let seed = r#"{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalOrgPaths":"/root/dev/*"}}}]}"#;
        assert_eq!(rules(seed), ["org-orgpaths-value", "org-operator-family"]);
        let fixed = r#"{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"ForAllValues:StringNotLike":{"aws:PrincipalOrgPaths":"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}}}]}"#;
        assert_eq!(rules(fixed), Vec::<String>::new());
    }

    #[test]
    fn operators_of_the_wrong_family() {
        let wrong = r#"{"Version":"2012-10-17","Statement":[{"Sid":"W","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*","Condition":{"StringLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":"30"},"StringEquals":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
        assert_eq!(rules(wrong), ["org-operator-family", "org-operator-family"]);
        let right = r#"{"Version":"2012-10-17","Statement":[{"Sid":"W","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*","Condition":{"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":"30"},"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"},"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}}]}"#;
        assert_eq!(rules(right), Vec::<String>::new());
    }
}
