//! What an expert KMS reviewer flags in a policy AWS would accept: a key policy naming other
//! services' actions (it governs only this key, so they do nothing), and `kms:CreateGrant`
//! allowed without limits (a grantee can give any KMS operation on the key to anyone, the
//! whole account included).

use super::{CREATE_GRANT_UNSCOPED, KEY_POLICY_FOREIGN_ACTION, actions, name};
use crate::finding::{Finding, Location};
use crate::policy::catalog::Catalog;
use crate::policy::grammar::PolicyKind;
use crate::policy::model::Statement;

/// Condition keys that limit what a grant can be or who can get one.
const GRANT_LIMITS: &[&str] = &[
    "kms:grantisforawsresource",
    "kms:grantoperations",
    "kms:granteeprincipal",
    "kms:retiringprincipal",
    "kms:viaservice",
];

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
    if st.is_allow()
        && let Some(("Action", list)) = actions::listed(st)
        // Named outright: `kms:*` and AWS's default `kms:Create*` are the administrators'
        // statement, reviewed as administration.
        && list.iter().any(|a| a.eq_ignore_ascii_case("kms:CreateGrant"))
        && !st.condition.values().flat_map(|keys| keys.keys()).any(|k| GRANT_LIMITS.contains(&k.to_lowercase().as_str()))
    {
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
