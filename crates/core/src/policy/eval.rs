//! AWS's policy evaluation for a KMS request, offline: SCPs along the principal's account path,
//! RCPs on the key's account, the key policy, and identity policies where the key policy
//! delegates to the account. Explicit deny first; then every gate must allow.
//!
//! Assumptions, as AWS sets organizations up by default: every level of the organization keeps
//! `FullAWSAccess` / `RCPFullAWSAccess` attached, so SCPs and RCPs restrict only by Deny. SCPs
//! never apply to the management account.

use std::collections::BTreeMap;

use super::lint::Operator;
use super::model::{PolicyDocument, Principals, Statement};
use super::wildcard::{action_matches, glob};

/// Who calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// `arn:aws:iam::111111111111:role/app` (a role session is named by its role's ARN), or a
    /// service principal such as `rds.amazonaws.com`.
    pub arn: String,
    pub account: String,
    pub org_id: Option<String>,
    /// `o-.../r-.../ou-.../` of the principal's account.
    pub org_paths: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub is_service: bool,
}

/// One request: a principal calling an action on a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub principal: Principal,
    pub action: String,
    /// The key's ARN.
    pub resource: String,
    pub resource_account: String,
    pub resource_tags: BTreeMap<String, String>,
    /// Further context keys (lowercased) and their values: `aws:MultiFactorAuthPresent`,
    /// `aws:SourceIp`, `kms:ViaService`...
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// The values of a condition key in this request; `None` when the request lacks it.
    pub fn values(&self, key: &str) -> Option<Vec<String>> {
        let key = key.to_lowercase();
        if let Some(values) = self.context.get(&key) {
            return Some(values.clone());
        }
        let p = &self.principal;
        let one = |v: &str| Some(vec![v.to_owned()]);
        match key.as_str() {
            "aws:principalarn" if !p.is_service => one(&p.arn),
            "aws:principalaccount" if !p.is_service => one(&p.account),
            "aws:principalorgid" => p.org_id.as_deref().and_then(one),
            "aws:principalorgpaths" if !p.org_paths.is_empty() => Some(p.org_paths.clone()),
            "aws:principalisawsservice" => one(if p.is_service { "true" } else { "false" }),
            "aws:principalservicename" if p.is_service => one(&p.arn),
            "aws:resourceaccount" => one(&self.resource_account),
            "aws:securetransport" => one("true"),
            _ => {
                if let Some(tag) = key.strip_prefix("aws:principaltag/") {
                    return p
                        .tags
                        .iter()
                        .find(|(k, _)| k.to_lowercase() == tag)
                        .and_then(|(_, v)| one(v));
                }
                if let Some(tag) = key.strip_prefix("aws:resourcetag/") {
                    return self
                        .resource_tags
                        .iter()
                        .find(|(k, _)| k.to_lowercase() == tag)
                        .and_then(|(_, v)| one(v));
                }
                None
            }
        }
    }
}

impl Request {
    /// Every context key this request has, lowercased, with its values: the ones derived from
    /// the principal and the resource, and the explicit ones (which win).
    pub fn context_values(&self) -> BTreeMap<String, Vec<String>> {
        let mut keys: Vec<String> = [
            "aws:PrincipalArn",
            "aws:PrincipalAccount",
            "aws:PrincipalOrgID",
            "aws:PrincipalOrgPaths",
            "aws:PrincipalIsAWSService",
            "aws:PrincipalServiceName",
            "aws:ResourceAccount",
            "aws:SecureTransport",
        ]
        .iter()
        .map(|k| k.to_lowercase())
        .collect();
        keys.extend(
            self.principal
                .tags
                .keys()
                .map(|t| format!("aws:principaltag/{}", t.to_lowercase())),
        );
        keys.extend(
            self.resource_tags
                .keys()
                .map(|t| format!("aws:resourcetag/{}", t.to_lowercase())),
        );
        keys.extend(self.context.keys().cloned());
        keys.into_iter()
            .filter_map(|key| self.values(&key).map(|values| (key, values)))
            .collect()
    }

    /// Whether SCPs bear on this request: not for service principals, nor for the
    /// organization's management account.
    pub fn scps_apply(&self, management_account: Option<&str>) -> bool {
        !self.principal.is_service && management_account != Some(self.principal.account.as_str())
    }
}

/// A policy with the name the answer cites (its file).
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    pub name: String,
    pub document: PolicyDocument,
}

/// Every policy that can decide a request.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// SCPs along the principal's account path, root first: (level, policies).
    pub scps: Vec<(String, Vec<NamedPolicy>)>,
    /// RCPs along the key's account path.
    pub rcps: Vec<(String, Vec<NamedPolicy>)>,
    pub key_policy: Option<NamedPolicy>,
    pub identity: Vec<NamedPolicy>,
    pub management_account: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    ImplicitlyDenied,
    ExplicitlyDenied,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::ImplicitlyDenied => "implicitly denied",
            Self::ExplicitlyDenied => "explicitly denied",
        }
    }
}

/// A statement that decided (or would have decided) the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider {
    pub policy: String,
    pub statement: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub deciding: Vec<Decider>,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrincipalMatch {
    No,
    /// The statement names this principal (or everyone).
    Direct,
    /// The statement names the principal's account: IAM policies in it must allow too.
    Account,
}

fn label(st: &Statement) -> String {
    st.sid_name()
        .map_or_else(|| format!("statement {}", st.index), str::to_owned)
}

fn principal_match(principals: &Principals, p: &Principal) -> PrincipalMatch {
    let map = match principals {
        Principals::Wildcard => return PrincipalMatch::Direct,
        Principals::Map(map) => map,
    };
    let mut found = PrincipalMatch::No;
    for (kind, values) in map {
        for value in values {
            let matched = match kind.as_str() {
                "AWS" if value == "*" => PrincipalMatch::Direct,
                "AWS" if !p.is_service && value == &p.arn => PrincipalMatch::Direct,
                "AWS"
                    if !p.is_service
                        && (value == &p.account
                            || (value.ends_with(":root")
                                && value.split(':').nth(4) == Some(p.account.as_str()))) =>
                {
                    PrincipalMatch::Account
                }
                "Service" if p.is_service && value == &p.arn => PrincipalMatch::Direct,
                _ => PrincipalMatch::No,
            };
            if matched == PrincipalMatch::Direct {
                return matched;
            }
            if matched == PrincipalMatch::Account {
                found = matched;
            }
        }
    }
    found
}

/// Whether the statement applies to the request, and how it names the principal.
fn applies(
    st: &Statement,
    req: &Request,
    resource_policy: bool,
) -> (PrincipalMatch, Option<String>) {
    let action = match (&st.action, &st.not_action) {
        (Some(a), _) => a.iter().any(|p| action_matches(p, &req.action)),
        (None, Some(n)) => !n.iter().any(|p| action_matches(p, &req.action)),
        (None, None) => false,
    };
    if !action {
        return (PrincipalMatch::No, None);
    }
    let resource = match (&st.resource, &st.not_resource) {
        (Some(r), _) => r.iter().any(|p| glob(p, &req.resource)),
        (None, Some(n)) => !n.iter().any(|p| glob(p, &req.resource)),
        (None, None) => true,
    };
    if !resource {
        return (PrincipalMatch::No, None);
    }
    let principal = if resource_policy {
        match (&st.principal, &st.not_principal) {
            (Some(p), _) => principal_match(p, &req.principal),
            (None, Some(n)) => match principal_match(n, &req.principal) {
                PrincipalMatch::No => PrincipalMatch::Direct,
                _ => PrincipalMatch::No,
            },
            (None, None) => PrincipalMatch::No,
        }
    } else {
        PrincipalMatch::Direct
    };
    if principal == PrincipalMatch::No {
        return (PrincipalMatch::No, None);
    }
    match conditions_hold(st, req) {
        Ok(()) => (principal, None),
        Err(why) => (PrincipalMatch::No, Some(why)),
    }
}

/// Every condition of the statement holds; `Err` names the first that does not.
pub fn conditions_hold(st: &Statement, req: &Request) -> Result<(), String> {
    for (operator_text, keys) in &st.condition {
        let Some(operator) = Operator::parse(operator_text) else {
            return Err(format!("{operator_text} is not an operator"));
        };
        for (key, wanted) in keys {
            let wanted: Vec<String> = wanted.iter().map(|v| substitute(v, req)).collect();
            if !condition(&operator, req.values(key).as_deref(), &wanted) {
                return Err(format!(
                    "{operator_text} {key} {wanted:?} does not hold (the request has {:?})",
                    req.values(key)
                ));
            }
        }
    }
    Ok(())
}

/// Whether the statement's conditions on one key (under every operator that names it) hold for
/// the request; the conditions on other keys are not asked. For questions about a family of
/// requests that differ only in that key ("does some caller outside the organization meet
/// this?"): conditions on distinct keys are independent.
pub fn key_conditions_hold(st: &Statement, key: &str, req: &Request) -> bool {
    st.condition.iter().all(|(operator_text, keys)| {
        keys.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .all(|(k, wanted)| {
                let Some(operator) = Operator::parse(operator_text) else {
                    return false;
                };
                let wanted: Vec<String> = wanted.iter().map(|v| substitute(v, req)).collect();
                condition(&operator, req.values(k).as_deref(), &wanted)
            })
    })
}

/// The statement's conditions beside the request's values (`StringEquals
/// aws:ResourceTag/Environment prod (request: prod)`), to say why it applied.
fn conditions_shown(st: &Statement, req: &Request) -> String {
    if st.condition.is_empty() {
        return "no condition".to_owned();
    }
    let shown: Vec<String> = st
        .condition
        .iter()
        .flat_map(|(operator, keys)| {
            keys.iter().map(move |(key, wanted)| {
                let have = req
                    .values(key)
                    .map_or_else(|| "absent".to_owned(), |v| v.join(", "));
                format!(
                    "{operator} {key} {} (request: {have})",
                    wanted.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
        })
        .collect();
    shown.join("; ")
}

/// `; when …` for a statement with conditions, nothing without.
fn conditions_if_any(st: &Statement, req: &Request) -> String {
    if st.condition.is_empty() {
        String::new()
    } else {
        format!("; when {}", conditions_shown(st, req))
    }
}

/// Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, `${*}`, `${?}`, `${$}`.
fn substitute(value: &str, req: &Request) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + end];
        let replacement = match name {
            "*" => "*".to_owned(),
            "?" => "?".to_owned(),
            "$" => "$".to_owned(),
            key => req
                .values(key)
                .and_then(|v| v.first().cloned())
                .unwrap_or_else(|| format!("${{{key}}}")),
        };
        out.push_str(&replacement);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn condition(operator: &Operator<'_>, present: Option<&[String]>, wanted: &[String]) -> bool {
    if operator.base == "Null" {
        let absent = present.is_none_or(<[String]>::is_empty);
        return wanted
            .iter()
            .any(|w| w.eq_ignore_ascii_case(if absent { "true" } else { "false" }));
    }
    let Some(values) = present.filter(|v| !v.is_empty()) else {
        // AWS: a missing key does not match, except that negated operators then hold; IfExists
        // holds; ForAllValues holds vacuously; ForAnyValue does not.
        return operator.if_exists
            || operator.set == Some("ForAllValues")
            || (operator.set.is_none() && operator.negated());
    };
    let negated = operator.negated();
    // One request value against the policy's values: positive operators need any match;
    // negated ones need none.
    let one = |value: &str| {
        let any = wanted.iter().any(|w| compare(operator.base, value, w));
        if negated { !any } else { any }
    };
    match operator.set {
        Some("ForAllValues") => values.iter().all(|v| one(v)),
        Some(_) => values.iter().any(|v| one(v)),
        None if negated => values.iter().all(|v| one(v)),
        None => values.iter().any(|v| one(v)),
    }
}

/// The positive comparison of one value (`StringNotLike` compares as `StringLike`).
fn compare(base: &str, value: &str, wanted: &str) -> bool {
    let positive = base.replace("Not", "");
    match positive.as_str() {
        "StringEquals" => value == wanted,
        "StringEqualsIgnoreCase" => value.eq_ignore_ascii_case(wanted),
        "StringLike" => glob(wanted, value),
        "ArnEquals" | "ArnLike" => glob(wanted, value),
        "Bool" => value.eq_ignore_ascii_case(wanted),
        "BinaryEquals" => value == wanted,
        "IpAddress" => ip_in(value, wanted),
        numeric if numeric.starts_with("Numeric") => {
            match (value.parse::<f64>(), wanted.parse::<f64>()) {
                (Ok(v), Ok(w)) => order(numeric.trim_start_matches("Numeric"), v.partial_cmp(&w)),
                _ => false,
            }
        }
        date if date.starts_with("Date") => match (epoch(value), epoch(wanted)) {
            (Some(v), Some(w)) => order(date.trim_start_matches("Date"), v.partial_cmp(&w)),
            _ => false,
        },
        _ => false,
    }
}

fn order(op: &str, cmp: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (op, cmp),
        ("Equals", Some(Equal))
            | ("LessThan", Some(Less))
            | ("LessThanEquals", Some(Less | Equal))
            | ("GreaterThan", Some(Greater))
            | ("GreaterThanEquals", Some(Greater | Equal))
    )
}

fn epoch(text: &str) -> Option<f64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp() as f64)
}

fn ip_in(value: &str, cidr: &str) -> bool {
    let (network, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
    match (
        value.parse::<std::net::Ipv4Addr>(),
        network.parse::<std::net::Ipv4Addr>(),
        bits.parse::<u32>(),
    ) {
        (Ok(ip), Ok(net), Ok(bits)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            (u32::from(ip) & mask) == (u32::from(net) & mask)
        }
        _ => value == network,
    }
}

/// The labels of the policy's Deny statements that would deny this request if the policy
/// applied to it (for "attached where it restricts nobody" explanations).
pub fn denying_statements(
    policy: &NamedPolicy,
    req: &Request,
    resource_policy: bool,
) -> Vec<String> {
    denying(&policy.document, req, resource_policy)
        .into_iter()
        .map(label)
        .collect()
}

/// The document's Deny statements that apply to this request (action, resource, principal and
/// conditions), for findings that point at them. `resource_policy`: the document names its
/// principals (a key policy, an RCP); otherwise it applies to whoever it is attached to (an SCP).
pub fn denying<'a>(
    document: &'a PolicyDocument,
    req: &Request,
    resource_policy: bool,
) -> Vec<&'a Statement> {
    document
        .statements
        .iter()
        .filter(|s| s.is_deny() && applies(s, req, resource_policy).0 != PrincipalMatch::No)
        .collect()
}

/// The answer to one request.
pub fn evaluate(policies: &Policies, req: &Request) -> Decision {
    let mut denies = Vec::new();
    let mut check_denies = |level: &str, policy: &NamedPolicy, resource_policy: bool| {
        for st in policy.document.statements.iter().filter(|s| s.is_deny()) {
            if applies(st, req, resource_policy).0 != PrincipalMatch::No {
                denies.push(Decider {
                    policy: policy.name.clone(),
                    statement: label(st),
                    why: format!(
                        "{level} denies {}: {}",
                        req.action,
                        conditions_shown(st, req)
                    ),
                });
            }
        }
    };
    let scps_apply = req.scps_apply(policies.management_account.as_deref());
    if scps_apply {
        for (level, list) in &policies.scps {
            for policy in list {
                check_denies(&format!("SCP on {level}"), policy, false);
            }
        }
    }
    for (level, list) in &policies.rcps {
        for policy in list {
            check_denies(&format!("RCP on {level}"), policy, true);
        }
    }
    if let Some(key_policy) = &policies.key_policy {
        check_denies("the key policy", key_policy, true);
    }
    for identity in &policies.identity {
        check_denies("an identity policy", identity, false);
    }
    if !denies.is_empty() {
        return Decision {
            outcome: Outcome::ExplicitlyDenied,
            why: "an explicit Deny applies, and a Deny always wins".into(),
            deciding: denies,
        };
    }
    let same_account = req.principal.account == req.resource_account;
    let identity_allows: Vec<Decider> = policies
        .identity
        .iter()
        .flat_map(|p| {
            p.document
                .statements
                .iter()
                .filter(|s| s.is_allow() && applies(s, req, false).0 == PrincipalMatch::Direct)
                .map(|s| Decider {
                    policy: p.name.clone(),
                    statement: label(s),
                    why: format!("the identity policy allows {}", req.action),
                })
        })
        .collect();
    let Some(key_policy) = &policies.key_policy else {
        // An action on no key (kms:CreateKey, kms:ListKeys, kms:GenerateRandom): there is no
        // resource policy, so the identity policies alone decide.
        if identity_allows.is_empty() {
            return Decision {
                outcome: Outcome::ImplicitlyDenied,
                deciding: vec![],
                why: "the action is on no key, and no identity policy allows it".into(),
            };
        }
        return Decision {
            outcome: Outcome::Allowed,
            why: "the action is on no key (no key policy is asked), an identity policy allows it and no Deny applies".into(),
            deciding: identity_allows,
        };
    };
    let mut direct = Vec::new();
    let mut delegated = Vec::new();
    for st in key_policy
        .document
        .statements
        .iter()
        .filter(|s| s.is_allow())
    {
        let who = applies(st, req, true).0;
        let decider = Decider {
            policy: key_policy.name.clone(),
            statement: label(st),
            why: String::new(),
        };
        match who {
            PrincipalMatch::Direct => direct.push(Decider {
                why: format!(
                    "allows {} to this principal{}",
                    req.action,
                    conditions_if_any(st, req)
                ),
                ..decider
            }),
            PrincipalMatch::Account => delegated.push(Decider {
                why: format!(
                    "allows {} to account {}: IAM policies there decide{}",
                    req.action,
                    req.principal.account,
                    conditions_if_any(st, req)
                ),
                ..decider
            }),
            PrincipalMatch::No => {}
        }
    }
    if !direct.is_empty()
        && (same_account || req.principal.is_service || !identity_allows.is_empty())
    {
        return Decision {
            outcome: Outcome::Allowed,
            why: "the key policy allows it and no Deny applies".into(),
            deciding: direct,
        };
    }
    // The account's root user needs no IAM policy where the key policy names its account.
    let root_user = !req.principal.is_service
        && req.principal.arn.ends_with(":root")
        && req.principal.arn.split(':').nth(4) == Some(req.principal.account.as_str());
    if !delegated.is_empty() && root_user && same_account {
        return Decision {
            outcome: Outcome::Allowed,
            why: "the key policy allows the account, and its root user needs no IAM policy".into(),
            deciding: delegated,
        };
    }
    if !delegated.is_empty() && !identity_allows.is_empty() {
        let mut deciding = delegated;
        deciding.extend(identity_allows);
        return Decision {
            outcome: Outcome::Allowed,
            why: "the key policy delegates to the principal's account and an identity policy allows it".into(),
            deciding,
        };
    }
    let why = if !delegated.is_empty() {
        "the key policy delegates to the principal's account, and no identity policy given allows it".to_owned()
    } else if !direct.is_empty() {
        "the key policy allows this cross-account principal, but no identity policy in its account allows it".to_owned()
    } else {
        "no statement of the key policy allows this principal this action".to_owned()
    };
    Decision {
        outcome: Outcome::ImplicitlyDenied,
        deciding: [delegated, direct].concat(),
        why,
    }
}

#[cfg(test)]
mod tests;
