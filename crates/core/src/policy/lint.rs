//! Catalog-backed lint for key policies, SCPs and RCPs: every rule has a stable code, a
//! severity, the file, line and JSON pointer, a message and a fix (the nearest valid name for a
//! typo). Key policies also get the guards of [`super::check_key_policy`].

use std::collections::BTreeMap;
use std::path::Path;

use super::catalog::{Catalog, KeyType};
use super::guards::{POLICY_SIZE, POLICY_VERSION};
use super::model::{PolicyDocument, Principals, Statement};
use crate::finding::{Finding, Location};
use crate::limits::MAX_ORG_POLICY_CHARS;
use crate::rule::{Control, Rule};

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
    "every condition key exists (fix: the nearest name)",
);
pub const INVALID_OPERATOR: Rule = Rule::error(
    "invalid-operator",
    None,
    "every condition operator is an IAM operator",
);
pub const OPERATOR_TYPE: Rule = Rule::error(
    "operator-type",
    None,
    "an operator of the condition key's type (no Numeric operator on a String key)",
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
pub const ORGPATHS_VALUE: Rule = Rule::error(
    "orgpaths-value",
    Some(Control::EnvironmentBoundaries),
    "aws:PrincipalOrgPaths (and Resource/Source) values are org paths by id",
);
pub const POLICY_SID: Rule = Rule::error(
    "policy-sid",
    None,
    "SCP and RCP Sids are letters and digits only",
);
pub const PRINCIPAL_FORM: Rule = Rule::error(
    "principal-form",
    None,
    "principals are accounts, IAM or STS ARNs or service principals",
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
pub const SCP_PRINCIPAL: Rule = Rule::error("scp-principal", None, "an SCP takes no Principal");
pub const RCP_ALLOW: Rule = Rule::error("rcp-allow", None, "an RCP only denies");
pub const RCP_PRINCIPAL: Rule = Rule::error("rcp-principal", None, "an RCP's Principal is \"*\"");
pub const RCP_SERVICE: Rule = Rule::error(
    "rcp-service",
    None,
    "an RCP names only services RCPs support",
);

/// What kind of policy a file is: the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Key,
    Scp,
    Rcp,
}

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// `ForAnyValue:StringNotLikeIfExists` split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator<'a> {
    pub set: Option<&'a str>,
    pub base: &'a str,
    pub if_exists: bool,
}

impl<'a> Operator<'a> {
    pub fn parse(text: &'a str) -> Option<Self> {
        let (set, rest) = match text.split_once(':') {
            Some((set, rest)) if set == "ForAnyValue" || set == "ForAllValues" => (Some(set), rest),
            Some(_) => return None,
            None => (None, text),
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        OPERATORS.contains(&base).then_some(Self {
            set,
            base,
            if_exists,
        })
    }

    pub fn negated(&self) -> bool {
        self.base.contains("Not")
    }

    /// The key type the operator compares as; `None` for `Null`.
    pub fn family(&self) -> Option<KeyType> {
        let b = self.base;
        Some(if b.starts_with("String") {
            KeyType::String
        } else if b.starts_with("Numeric") {
            KeyType::Numeric
        } else if b.starts_with("Date") {
            KeyType::Date
        } else if b == "Bool" {
            KeyType::Bool
        } else if b.starts_with("Binary") {
            KeyType::Binary
        } else if b.contains("IpAddress") {
            KeyType::IpAddress
        } else if b.starts_with("Arn") {
            KeyType::Arn
        } else {
            return None;
        })
    }
}

/// The size error for policy text too large to be worth parsing, measured on its bytes before
/// anything parses it: a key policy over [`crate::limits::MAX_KEY_POLICY_BYTES`] (what AWS KMS accepts),
/// an SCP or RCP over [`super::MAX_POLICY_TEXT_BYTES`] (its AWS limit, 5,120 characters, is on the
/// minified form, so it is checked after parsing).
pub fn check_size(raw: &str, kind: PolicyKind, file: &Path) -> Option<Finding> {
    match kind {
        PolicyKind::Key => super::guards::key_policy_size(raw.len(), file),
        PolicyKind::Scp | PolicyKind::Rcp => (raw.len() > super::MAX_POLICY_TEXT_BYTES).then(|| {
            Finding::of(
                &POLICY_SIZE,
                Location::at_line(file, 1).with_pointer(""),
                format!(
                    "the policy is {} bytes as written; AWS accepts at most {MAX_ORG_POLICY_CHARS} \
                     characters (minified) for an SCP or RCP, and kmsctl does not parse more than {} \
                     bytes",
                    raw.len(),
                    super::MAX_POLICY_TEXT_BYTES
                ),
                "split it into two policies, or shorten action and resource lists with wildcards",
            )
        }),
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
        PolicyKind::Scp | PolicyKind::Rcp => organization_policy(doc, raw, kind, &at),
    };
    let catalog = Catalog::get();
    for st in &doc.statements {
        actions(st, kind, catalog, &at, &mut findings);
        conditions(st, catalog, &at, &mut findings);
        principals(st, kind, &at, &mut findings);
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
    findings
}

fn name(st: &Statement) -> String {
    st.sid_name().map_or_else(
        || format!("statement {}", st.index),
        |sid| format!("statement {sid:?}"),
    )
}

fn organization_policy(
    doc: &PolicyDocument,
    raw: &str,
    kind: PolicyKind,
    at: &impl Fn(usize, &str) -> Location,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if doc.version.as_deref() != Some(super::POLICY_LANGUAGE_VERSION) {
        findings.push(Finding::of(
            &POLICY_VERSION,
            at(doc.line_of("Version"), "/Version"),
            format!(
                "the policy Version is {:?}, not \"2012-10-17\"",
                doc.version
            ),
            "set \"Version\": \"2012-10-17\"",
        ));
    }
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
    let label = if kind == PolicyKind::Scp {
        "an SCP"
    } else {
        "an RCP"
    };
    for st in &doc.statements {
        if let Some(sid) = st.sid_name()
            && !sid.chars().all(|c| c.is_ascii_alphanumeric())
        {
            findings.push(Finding::of(
                &POLICY_SID,
                at(st.line_of("Sid"), &format!("{}/Sid", st.pointer)),
                format!("Sid {sid:?}: {label}'s Sids may hold only letters and digits"),
                "remove spaces and punctuation from the Sid (key policies allow them, organization policies do not)",
            ));
        }
        match kind {
            PolicyKind::Scp if st.principal.is_some() || st.not_principal.is_some() => findings.push(Finding::of(
                &SCP_PRINCIPAL,
                at(st.line, &st.pointer),
                format!("{}: an SCP applies to the principals of the accounts below it and takes no Principal", name(st)),
                "remove Principal/NotPrincipal; scope the statement with conditions (aws:PrincipalArn) instead",
            )),
            PolicyKind::Rcp => {
                if st.is_allow() {
                    findings.push(Finding::of(
                        &RCP_ALLOW,
                        at(st.line_of("Effect"), &format!("{}/Effect", st.pointer)),
                        format!("{}: RCPs only deny; an Allow grants nothing (only AWS's RCPFullAWSAccess allows)", name(st)),
                        "make it a Deny with the conditions that describe what to block",
                    ));
                }
                if !st.principal.as_ref().is_some_and(|p| matches!(p, Principals::Wildcard)) {
                    findings.push(Finding::of(
                        &RCP_PRINCIPAL,
                        at(st.line_of("Principal"), &format!("{}/Principal", st.pointer)),
                        format!("{}: an RCP's Principal must be \"*\"", name(st)),
                        "set \"Principal\": \"*\" and narrow with conditions such as aws:PrincipalOrgID",
                    ));
                }
            }
            _ => {}
        }
    }
    findings
}

fn actions(
    st: &Statement,
    kind: PolicyKind,
    catalog: &Catalog,
    at: &impl Fn(usize, &str) -> Location,
    out: &mut Vec<Finding>,
) {
    let (field, list) = match (&st.action, &st.not_action) {
        (Some(list), _) => ("Action", list),
        (None, Some(list)) => ("NotAction", list),
        (None, None) => return,
    };
    let location = at(st.line_of(field), &format!("{}/{field}", st.pointer));
    // An unknown service prefix is one finding per statement, naming its actions (a statement
    // listing 13 macie:* actions gets one line, not 13 identical ones).
    let mut unknown_services: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for action in list {
        if action == "*" {
            continue;
        }
        let Some((service, pattern)) = action.split_once(':') else {
            out.push(Finding::of(
                &UNKNOWN_ACTION,
                location.clone(),
                format!("{}: {action:?} is not SERVICE:ACTION", name(st)),
                "write actions as service:Action, e.g. kms:Decrypt",
            ));
            continue;
        };
        match catalog.matching_actions(service, pattern) {
            None => unknown_services.entry(service).or_default().push(action),
            Some(found) if found.is_empty() => out.push(Finding::of(
                &UNKNOWN_ACTION,
                location.clone(),
                format!("{}: {action} matches no action of {service}", name(st)),
                catalog.nearest_action(service, pattern).map_or(
                    format!(
                        "see the actions of {service} in AWS's service authorization reference"
                    ),
                    |n| format!("did you mean {service}:{n}?"),
                ),
            )),
            Some(_) => {}
        }
        if kind == PolicyKind::Rcp && !catalog.rcp_supports(service) {
            out.push(Finding::of(
                &RCP_SERVICE,
                location.clone(),
                format!("{}: RCPs do not support {service}", name(st)),
                "keep RCP statements to the services RCPs support (S3, STS, KMS, SQS, Secrets Manager, ...)",
            ));
        }
    }
    for (service, named) in unknown_services {
        let first_pattern = named
            .first()
            .and_then(|a| a.split_once(':'))
            .map_or("*", |(_, p)| p);
        out.push(Finding::of(
            &UNKNOWN_SERVICE,
            location.clone(),
            format!(
                "{}: {service:?} is not an AWS service prefix ({})",
                name(st),
                named.join(", ")
            ),
            catalog.nearest_service(service).map_or(
                "use a service prefix from AWS's service authorization reference".to_owned(),
                |n| format!("did you mean {n}:{first_pattern}?"),
            ),
        ));
    }
}

fn conditions(
    st: &Statement,
    catalog: &Catalog,
    at: &impl Fn(usize, &str) -> Location,
    out: &mut Vec<Finding>,
) {
    for (operator_text, keys) in &st.condition {
        let location = at(
            st.line_of("Condition"),
            &format!("{}/Condition/{operator_text}", st.pointer),
        );
        let Some(operator) = Operator::parse(operator_text) else {
            out.push(Finding::of(
                &INVALID_OPERATOR,
                location,
                format!("{}: {operator_text:?} is not a condition operator", name(st)),
                "use an IAM condition operator (StringEquals, ArnLike, NumericLessThan, Bool, IpAddress, Null, ...), optionally with ForAnyValue:/ForAllValues: and IfExists",
            ));
            continue;
        };
        for (key_text, values) in keys {
            // Org paths, also under a misspelt key that means one (its values are wrong twice).
            let meant = catalog.key(key_text).map_or_else(
                || {
                    catalog
                        .nearest_key(key_text)
                        .unwrap_or_default()
                        .to_lowercase()
                },
                |k| k.name.to_lowercase(),
            );
            if [
                "aws:principalorgpaths",
                "aws:resourceorgpaths",
                "aws:sourceorgpaths",
            ]
            .contains(&meant.as_str())
            {
                for value in values.iter().filter(|v| !is_org_path(v)) {
                    out.push(Finding::of(
                        &ORGPATHS_VALUE,
                        location.clone(),
                        format!("{}: {key_text} value {value:?} is not an organization path: it never matches", name(st)),
                        "org paths are ids, not OU names: o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ (end with /* to include OUs below); organization.toml policies can write {{ ou_path 'root/dev' }}",
                    ));
                }
            }
            let Some(key) = catalog.key(key_text) else {
                let absent = if st.is_deny() && operator.negated() && !operator.if_exists {
                    " No request carries it, so this negated condition is true for every request: the Deny hits everyone."
                } else {
                    " No request carries it, so the condition never matches as intended."
                };
                out.push(Finding::of(
                    &UNKNOWN_CONDITION_KEY,
                    location.clone(),
                    format!("{}: {key_text} is not a condition key.{absent}", name(st)),
                    catalog.nearest_key(key_text).map_or(
                        "use a global aws: key or a key of the action's service".to_owned(),
                        |n| format!("did you mean {n}?"),
                    ),
                ));
                continue;
            };
            if let Some(family) = operator.family() {
                let compatible = family == key.kind
                    || (family == KeyType::String && key.kind == KeyType::Arn)
                    || (family == KeyType::Arn && key.kind == KeyType::String);
                if !compatible {
                    out.push(Finding::of(
                        &OPERATOR_TYPE,
                        location.clone(),
                        format!("{}: {operator_text} compares {key_text} as {family:?}, but it holds a {:?} value: the condition never matches", name(st), key.kind),
                        format!("use a {:?} operator for {key_text}", key.kind),
                    ));
                }
            }
            match (operator.set, key.multi_valued) {
                (Some(set), false) => out.push(Finding::of(
                    &SET_OPERATOR_SINGLE_VALUED,
                    location.clone(),
                    format!("{}: {set} on {key_text}, a single-valued key", name(st)),
                    format!("drop {set}: — set operators are for multi-valued keys; on single-valued ones they can match unexpectedly (ForAllValues is true when the key is absent)"),
                )),
                (None, true) if operator.base != "Null" => out.push(Finding::of(
                    &PLAIN_OPERATOR_MULTI_VALUED,
                    location.clone(),
                    format!("{}: {operator_text} on {key_text}, a multi-valued key", name(st)),
                    format!("use ForAnyValue:{operator_text} (any value matches) or ForAllValues:{operator_text} (every value matches)"),
                )),
                _ => {}
            }
            if st.is_deny()
                && operator.negated()
                && !operator.if_exists
                && operator.set.is_none()
                && !key.always_present
                && key.name.starts_with("aws:")
            {
                out.push(Finding::of(
                    &NEGATED_OPERATOR_ABSENT_KEY,
                    location.clone(),
                    format!(
                        "{}: {operator_text} on {key_text} in a Deny is true for every request without that key (AWS services, callers outside an organization...)",
                        name(st)
                    ),
                    format!("if requests without the key must not be denied, write {}IfExists", operator.base),
                ));
            }
        }
    }
}

/// `o-xxxxxxxxxx/r-xxxx/ou-xxxx-xxxxxxxx/...` or a prefix of it, `*` wildcards and policy
/// variables allowed.
fn is_org_path(value: &str) -> bool {
    if value == "*" || value.starts_with("${") {
        return true;
    }
    let mut parts = value.split('/');
    let first = parts.next().unwrap_or_default();
    (first.starts_with("o-") || first == "o-*" || first == "*")
        && parts.all(|p| {
            p.is_empty()
                || p == "*"
                || p.starts_with("r-")
                || p.starts_with("ou-")
                || p.ends_with('*')
        })
}

fn principals(
    st: &Statement,
    kind: PolicyKind,
    at: &impl Fn(usize, &str) -> Location,
    out: &mut Vec<Finding>,
) {
    if st.not_principal.is_some() && st.is_allow() {
        out.push(Finding::of(
            &NOTPRINCIPAL_ALLOW,
            at(st.line_of("NotPrincipal"), &format!("{}/NotPrincipal", st.pointer)),
            format!("{}: Allow with NotPrincipal grants the action to everyone not listed, anonymous callers included", name(st)),
            "name the principals to allow with Principal instead",
        ));
    }
    if kind != PolicyKind::Key {
        return;
    }
    let Some(Principals::Map(map)) = &st.principal else {
        return;
    };
    let location = at(
        st.line_of("Principal"),
        &format!("{}/Principal", st.pointer),
    );
    for (principal_type, values) in map {
        for value in values {
            let valid = match principal_type.as_str() {
                "AWS" => value == "*" || is_account(value) || is_principal_arn(value),
                "Service" => {
                    value.ends_with(".amazonaws.com") || value.ends_with(".amazonaws.com.cn")
                }
                "Federated" => value.starts_with("arn:") || value.contains('.'),
                "CanonicalUser" => {
                    value.len() == 64 && value.chars().all(|c| c.is_ascii_hexdigit())
                }
                _ => false,
            };
            if !valid {
                out.push(Finding::of(
                    &PRINCIPAL_FORM,
                    location.clone(),
                    format!("{}: {principal_type} principal {value:?} is not a valid principal", name(st)),
                    "use an account id, arn:PARTITION:iam::ACCOUNT:root|role/NAME|user/NAME, or a service principal such as rds.amazonaws.com",
                ));
            }
        }
    }
}

fn is_account(value: &str) -> bool {
    value.len() == 12 && value.chars().all(|c| c.is_ascii_digit())
}

/// `arn:PARTITION:iam::ACCOUNT:root|user/...|role/...` or `arn:PARTITION:sts::ACCOUNT:assumed-role/...`.
fn is_principal_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    arn == "arn"
        && partition.starts_with("aws")
        && region.is_empty()
        && (is_account(account) || account.contains("${") || account == "*")
        && match service {
            "iam" => {
                resource == "root"
                    || ["user/", "role/", "group/", "federated-user/"]
                        .iter()
                        .any(|p| resource.starts_with(p))
            }
            "sts" => {
                resource.starts_with("assumed-role/") || resource.starts_with("federated-user/")
            }
            _ => false,
        }
}

#[cfg(test)]
mod tests;
