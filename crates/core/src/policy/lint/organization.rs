//! What SCPs and RCPs add to the grammar: their size limit on the minified text, and an RCP's
//! Deny-only statements to Principal "*".

use super::{RCP_ALLOW, RCP_PRINCIPAL, name};
use crate::finding::{Finding, Location};
use crate::limits::MAX_ORG_POLICY_CHARS;
use crate::policy::grammar::PolicyKind;
use crate::policy::guards::POLICY_SIZE;
use crate::policy::model::{PolicyDocument, Principals};

pub(super) fn check(
    doc: &PolicyDocument,
    raw: &str,
    kind: PolicyKind,
    at: &impl Fn(usize, &str) -> Location,
    findings: &mut Vec<Finding>,
) {
    let minified = serde_json::from_str::<serde_json::Value>(raw)
        .map(|v| v.to_string())
        .unwrap_or_default();
    if minified.chars().count() > MAX_ORG_POLICY_CHARS {
        findings.push(Finding::of(
            &POLICY_SIZE,
            at(1, ""),
            format!(
                "the policy is {} characters minified; AWS accepts at most {MAX_ORG_POLICY_CHARS} for an SCP or RCP",
                minified.chars().count()
            ),
            "split it into two policies, or shorten action and resource lists with wildcards",
        ));
    }
    for st in &doc.statements {
        if kind != PolicyKind::Rcp {
            continue;
        }
        if st.is_allow() {
            findings.push(Finding::of(
                &RCP_ALLOW,
                at(st.line_of("Effect"), &format!("{}/Effect", st.pointer)),
                format!("{}: RCPs only deny; an Allow grants nothing (only AWS's RCPFullAWSAccess allows)", name(st)),
                "make it a Deny with the conditions that describe what to block",
            ));
        }
        // A missing Principal is the grammar's `policy-statement`.
        if let Some(principal) = &st.principal
            && !matches!(principal, Principals::Wildcard)
        {
            findings.push(Finding::of(
                &RCP_PRINCIPAL,
                at(
                    st.line_of("Principal"),
                    &format!("{}/Principal", st.pointer),
                ),
                format!("{}: an RCP's Principal must be \"*\"", name(st)),
                "set \"Principal\": \"*\" and narrow with conditions such as aws:PrincipalOrgID",
            ));
        }
    }
}
