//! Catalog-backed lint for key policies, SCPs, RCPs and IAM identity policies: every rule has a
//! stable code, a severity, the file, line and JSON pointer, a message and a fix (the nearest
//! valid name for a typo). The grammar of each type is [`super::grammar`]; key policies also get
//! the guards of [`super::check_key_policy`].
//!
//! One module per concern: [`actions`], [`conditions`] (operators, keys and their types),
//! [`values`] (the formats of well-known keys' values), [`principals`], [`organization`] (what
//! SCPs and RCPs add) and [`semantic`] (what an expert reviewer flags in a valid policy).

use std::path::Path;

mod actions;
mod conditions;
mod operator;
mod organization;
mod placeholder;
mod principals;
mod semantic;
mod values;

use super::catalog::Catalog;
pub use super::grammar::{PolicyKind, SCP_PRINCIPAL};
use super::guards::POLICY_SIZE;
use super::model::{PolicyDocument, Statement};
use crate::finding::{Finding, Location};
use crate::limits::MAX_ORG_POLICY_CHARS;
use crate::rule::{Control, Rule};
pub use operator::Operator;
pub use placeholder::PLACEHOLDER;

pub const POLICY_FILE: Rule = Rule::error(
    "policy-file",
    None,
    "every file named can be read: it exists, is a regular file under the size cap, in UTF-8",
);
pub const POLICY_JSON: Rule = Rule::error(
    "policy-json",
    None,
    "one JSON object with Version and Statement",
);
pub const UNKNOWN_SERVICE: Rule = Rule::error(
    "unknown-service",
    None,
    "every action's service prefix exists (fix: the nearest name)",
);
pub const UNKNOWN_ACTION: Rule = Rule::error(
    "unknown-action",
    None,
    "every action pattern matches an action of its service (fix: the nearest name)",
);
pub const UNKNOWN_CONDITION_KEY: Rule = Rule::error(
    "unknown-condition-key",
    None,
    "every condition key exists: a global aws: key, a key of any service, or a federation key (fix: the nearest name)",
);
pub const INVALID_OPERATOR: Rule = Rule::error(
    "invalid-operator",
    None,
    "every condition operator is an IAM operator (fix: the nearest name)",
);
pub const OPERATOR_TYPE: Rule = Rule::error(
    "operator-type",
    None,
    "an operator of the condition key's type (no Numeric operator on a String key)",
);
pub const OPERATOR_TYPE_TEXT: Rule = Rule::warning(
    "operator-type-text",
    None,
    "no String operator on a Numeric, Date or Bool key (it compares the key's text: Access Analyzer's type mismatch)",
);
pub const CONDITION_VALUE: Rule = Rule::error(
    "condition-value",
    None,
    "values in the format of their key (account ids, org ids, service names, ARNs, dates, numbers, booleans, IP ranges)",
);
pub const SET_OPERATOR_SINGLE_VALUED: Rule = Rule::warning(
    "set-operator-single-valued",
    None,
    "ForAnyValue/ForAllValues only on multi-valued keys",
);
pub const PLAIN_OPERATOR_MULTI_VALUED: Rule = Rule::warning(
    "plain-operator-multi-valued",
    None,
    "no plain operator on a multi-valued key",
);
pub const NEGATED_OPERATOR_ABSENT_KEY: Rule = Rule::warning(
    "negated-operator-absent-key",
    None,
    "no negated operator without IfExists in a Deny on an aws: key requests may lack",
);
pub const VACUOUS_CONDITION: Rule = Rule::warning(
    "vacuous-condition",
    None,
    "no condition that is true (or false) whenever its key is absent: ForAllValues in an Allow, Bool on a key long-term credentials lack",
);
pub const ORGPATHS_VALUE: Rule = Rule::error(
    "orgpaths-value",
    Some(Control::EnvironmentBoundaries),
    "aws:PrincipalOrgPaths (and Resource/Source) values are org paths by id",
);
pub const POLICY_SID: Rule = Rule::error(
    "policy-sid",
    None,
    "SCP, RCP and identity policy Sids are letters and digits only",
);
pub const PRINCIPAL_FORM: Rule = Rule::error(
    "principal-form",
    None,
    "principals are \"*\", accounts, IAM or STS ARNs without wildcards, service principals, identity providers or canonical users",
);
pub const NOTPRINCIPAL_ALLOW: Rule = Rule::error(
    "notprincipal-allow",
    Some(Control::EnvironmentBoundaries),
    "no Allow with NotPrincipal (it grants everyone not listed, anonymous callers included)",
);
pub const KEY_POLICY_RESOURCE: Rule = Rule::error(
    "key-policy-resource",
    None,
    "a key policy's Resource is \"*\"",
);
pub const KEY_POLICY_FOREIGN_ACTION: Rule = Rule::warning(
    "key-policy-foreign-action",
    None,
    "a key policy names only kms: actions (it governs nothing else)",
);
pub const CREATE_GRANT_UNSCOPED: Rule = Rule::warning(
    "create-grant-unscoped",
    Some(Control::AdministrativeIsolation),
    "kms:CreateGrant is allowed only with kms:GrantIsForAWSResource or limits on the grant",
);
pub const RCP_ALLOW: Rule = Rule::error("rcp-allow", None, "an RCP only denies");
pub const RCP_PRINCIPAL: Rule = Rule::error("rcp-principal", None, "an RCP's Principal is \"*\"");
pub const RCP_SERVICE: Rule = Rule::error(
    "rcp-service",
    None,
    "an RCP names only services RCPs support",
);

/// The size error for policy text too large to be worth parsing, measured on its bytes before
/// anything parses it: a key policy over [`crate::limits::MAX_KEY_POLICY_BYTES`] (what AWS KMS
/// accepts), any other policy over [`super::MAX_POLICY_TEXT_BYTES`] (an SCP's or RCP's AWS
/// limit, 5,120 characters, is on the minified form, so it is checked after parsing).
pub fn check_size(raw: &str, kind: PolicyKind, file: &Path) -> Option<Finding> {
    match kind {
        PolicyKind::Key => super::guards::key_policy_size(raw.len(), file),
        PolicyKind::Scp | PolicyKind::Rcp | PolicyKind::Identity => {
            (raw.len() > super::MAX_POLICY_TEXT_BYTES).then(|| {
                Finding::of(
                    &POLICY_SIZE,
                    Location::at_line(file, 1).with_pointer(""),
                    format!(
                        "the policy is {} bytes as written; AWS accepts at most {MAX_ORG_POLICY_CHARS} \
                         characters (minified) for an SCP or RCP, 6,144 for a managed identity \
                         policy, and kmsctl does not parse more than {} bytes",
                        raw.len(),
                        super::MAX_POLICY_TEXT_BYTES
                    ),
                    "split it into two policies, or shorten action and resource lists with wildcards",
                )
            })
        }
    }
}

/// Lints policy text: its size first (without parsing), then its JSON, then the parsed policy.
pub fn lint_text(raw: &str, kind: PolicyKind, file: &Path) -> Vec<Finding> {
    if let Some(too_large) = check_size(raw, kind, file) {
        return vec![too_large];
    }
    match super::parse(raw) {
        Ok(doc) => lint(&doc, raw, kind, file),
        Err(error) => vec![Finding::of(
            &POLICY_JSON,
            Location::at_line(file, error.line),
            format!("not a policy document: {}", error.message),
            "fix the JSON: one object with Version and Statement",
        )],
    }
}

/// Lints one parsed policy. `raw` is its text as sent to AWS (for the size limits).
pub fn lint(doc: &PolicyDocument, raw: &str, kind: PolicyKind, file: &Path) -> Vec<Finding> {
    lint_for(doc, raw, kind, file, None)
}

/// [`lint`] for a key policy kmsctl applies as `deployer` (see
/// [`super::check_key_policy_for`]); `None` when the deployer is not known.
pub fn lint_for(
    doc: &PolicyDocument,
    raw: &str,
    kind: PolicyKind,
    file: &Path,
    deployer: Option<&super::Deployer>,
) -> Vec<Finding> {
    let at = |line: usize, pointer: &str| Location::at_line(file, line).with_pointer(pointer);
    let mut findings = match kind {
        PolicyKind::Key => super::check_key_policy_for(doc, raw.len(), file, deployer),
        PolicyKind::Scp | PolicyKind::Rcp | PolicyKind::Identity => {
            super::grammar::structure(doc, kind, file)
        }
    };
    if matches!(kind, PolicyKind::Scp | PolicyKind::Rcp) {
        organization::check(doc, raw, kind, &at, &mut findings);
    }
    let catalog = Catalog::get();
    for st in &doc.statements {
        // KMS accepts any Sid; IAM and Organizations only letters and digits.
        if kind != PolicyKind::Key
            && let Some(sid) = st.sid_name()
            && !sid.chars().all(|c| c.is_ascii_alphanumeric())
        {
            findings.push(Finding::of(
                &POLICY_SID,
                at(st.line_of("Sid"), &format!("{}/Sid", st.pointer)),
                format!("Sid {sid:?}: {}'s Sids may hold only letters and digits", kind.label()),
                "remove spaces and punctuation from the Sid (key policies allow them, IAM and organization policies do not)",
            ));
        }
        actions::check(st, kind, catalog, &at, &mut findings);
        conditions::check(st, catalog, &at, &mut findings);
        principals::check(st, kind, &at, &mut findings);
        semantic::check(st, kind, catalog, &at, &mut findings);
        if kind == PolicyKind::Key
            && let Some(resources) = &st.resource
            && resources.iter().any(|r| r != "*")
        {
            findings.push(Finding::of(
                &KEY_POLICY_RESOURCE,
                at(st.line_of("Resource"), &format!("{}/Resource", st.pointer)),
                format!("{}: a key policy's Resource is the key itself and must be \"*\", not {resources:?}", name(st)),
                "set \"Resource\": \"*\"",
            ));
        }
    }
    group(findings)
}

/// Identical findings (same rule, place and message) are said once.
fn group(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for finding in findings {
        if !out.contains(&finding) {
            out.push(finding);
        }
    }
    out
}

/// How findings name a statement: by Sid, else by its JSON pointer (as the grammar and guards do).
fn name(st: &Statement) -> String {
    st.sid_name().map_or_else(
        || format!("statement {}", st.pointer),
        |sid| format!("statement {sid:?}"),
    )
}

#[cfg(test)]
mod tests;
