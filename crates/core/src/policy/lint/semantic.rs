//! What an expert KMS reviewer flags in a policy AWS would accept: a key policy naming other
//! services' actions (it governs only this key, so they do nothing), and `kms:CreateGrant`
//! allowed without limits (a grantee can give any KMS operation on the key to anyone, the
//! whole account included).

use super::operator::Operator;
use super::{CREATE_GRANT_UNSCOPED, KEY_POLICY_FOREIGN_ACTION, actions, name};
use crate::finding::{Finding, Location};
use crate::policy::catalog::Catalog;
use crate::policy::grammar::PolicyKind;
use crate::policy::model::Statement;
use crate::policy::wildcard::action_matches;

/// Condition keys that limit what a grant can be or who can get one.
const GRANT_LIMITS: &[&str] = &[
    "kms:grantoperations",
    "kms:granteeprincipal",
    "kms:retiringprincipal",
    "kms:viaservice",
];

/// Administration: `*`, `kms:*` and AWS's default administrators' `kms:Create*` are reviewed
/// as such, not as a grant to use the key.
const ADMINISTRATION: &[&str] = &["*", "kms:*", "kms:create*"];

/// Whether the statement's actions take in `kms:CreateGrant` other than as administration.
fn allows_create_grant(st: &Statement) -> bool {
    match actions::listed(st) {
        Some(("Action", list)) => list.iter().any(|a| {
            !ADMINISTRATION.contains(&a.to_lowercase().as_str())
                && action_matches(a, "kms:CreateGrant")
        }),
        Some((_, not_listed)) => !not_listed
            .iter()
            .any(|a| action_matches(a, "kms:CreateGrant")),
        None => false,
    }
}

/// Whether a positive condition limits the grants: `kms:GrantIsForAWSResource` true, or an
/// equality or match on the grant's operations, grantee, retiring principal or service.
fn grant_limited(st: &Statement) -> bool {
    st.condition.iter().any(|(operator, keys)| {
        let Some(operator) = Operator::parse(operator) else {
            return false;
        };
        if operator.negated() || operator.if_exists || operator.base == "Null" {
            return false;
        }
        keys.iter().any(|(key, values)| {
            let key = key.to_lowercase();
            if key == "kms:grantisforawsresource" {
                return values.iter().all(|v| v.eq_ignore_ascii_case("true"));
            }
            GRANT_LIMITS.contains(&key.as_str())
        })
    })
}

pub(super) fn check(
    st: &Statement,
    kind: PolicyKind,
    catalog: &Catalog,
    at: &impl Fn(usize, &str) -> Location,
    out: &mut Vec<Finding>,
) {
    if kind != PolicyKind::Key {
        return;
    }
    if let Some(list) = &st.action {
        let foreign: Vec<&str> = list
            .iter()
            .filter(|a| {
                a.split_once(':').is_some_and(|(service, _)| {
                    !service.eq_ignore_ascii_case("kms") && catalog.has_service(service)
                })
            })
            .map(String::as_str)
            .collect();
        if !foreign.is_empty() {
            out.push(Finding::of(
                &KEY_POLICY_FOREIGN_ACTION,
                at(st.line_of("Action"), &format!("{}/Action", st.pointer)),
                format!(
                    "{}: a key policy governs only this key, so {} grants or denies nothing",
                    name(st),
                    foreign.join(", ")
                ),
                "remove them; grant other services' actions in IAM policies or those services' resource policies",
            ));
        }
    }
    if st.is_allow() && allows_create_grant(st) && !grant_limited(st) {
        out.push(Finding::of(
            &CREATE_GRANT_UNSCOPED,
            at(st.line_of("Action"), &format!("{}/Action", st.pointer)),
            format!(
                "{}: allows kms:CreateGrant with no condition on the grant: the grantee can give any operation it may use on this key to any principal, the whole account included",
                name(st)
            ),
            "add \"Bool\": {\"kms:GrantIsForAWSResource\": \"true\"} (grants only for AWS services integrated with KMS), or limit kms:GrantOperations and kms:GranteePrincipal",
        ));
    }
}
