//! AWS's policy evaluation for a KMS request, offline: SCPs along the principal's account path,
//! RCPs on the key's account, the key policy, and identity policies where the key policy
//! delegates to the account. Explicit deny first; then every gate must allow.
//!
//! Assumptions, as AWS sets organizations up by default: every level of the organization keeps
//! `FullAWSAccess` / `RCPFullAWSAccess` attached, so SCPs and RCPs restrict only by Deny. SCPs
//! never apply to the management account.

use std::collections::BTreeMap;

use super::model::{PolicyDocument, Principals, Statement};
use super::wildcard::{action_matches, glob};

mod conditions;
mod explain;
mod session;

pub use conditions::{false_conditions, key_conditions_hold};
pub use explain::{FalseCondition, Source, Unmet};
pub use session::Session;

/// Who calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// `arn:aws:iam::111111111111:role/app`, a role session
    /// (`arn:aws:sts::111111111111:assumed-role/app/alice`: see [`Session`]), or a service
    /// principal such as `rds.amazonaws.com`.
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
            "aws:principalarn" if !p.is_service => one(&p.principal_arn()),
            "aws:username" => p.username().and_then(one),
            "aws:userid" => p.userid().and_then(one),
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
            "aws:username",
            "aws:userid",
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
    /// The policy's name (its file).
    pub policy: String,
    pub source: Source,
    /// The Sid, or `statement N` for a statement without one.
    pub statement: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub deciding: Vec<Decider>,
    pub why: String,
    /// For an implicit deny: the Allow statements that name the action, the resource and the
    /// principal but do not apply, each with its conditions that are false.
    pub unmet: Vec<Unmet>,
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

/// `role_names_sessions`: whether a role's ARN names its sessions. It does in `Principal`; in
/// `NotPrincipal` AWS matches a session only by the session's own ARN (IAM user guide,
/// "NotPrincipal": list the assumed-role session ARN), so a role's ARN there exempts no session.
fn principal_match(
    principals: &Principals,
    p: &Principal,
    role_names_sessions: bool,
) -> PrincipalMatch {
    let map = match principals {
        Principals::Wildcard => return PrincipalMatch::Direct,
        Principals::Map(map) => map,
    };
    let mut found = PrincipalMatch::No;
    for (kind, values) in map {
        for value in values {
            let matched = match kind.as_str() {
                "AWS" if value == "*" => PrincipalMatch::Direct,
                "AWS" if role_names_sessions && p.named_by(value) => PrincipalMatch::Direct,
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

/// How a statement bears on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Applies {
    /// Its action, resource or principal is not the request's.
    No,
    /// It applies, naming the principal this way.
    Yes(PrincipalMatch),
    /// It names the action, resource and principal, but these conditions are false.
    Unmet(Vec<FalseCondition>),
}

impl Applies {
    /// How the statement names the principal when it applies; `No` when it does not.
    fn who(&self) -> PrincipalMatch {
        match self {
            Self::Yes(who) => *who,
            Self::No | Self::Unmet(_) => PrincipalMatch::No,
        }
    }
}

/// Whether the statement applies to the request, and how it names the principal.
fn applies(st: &Statement, req: &Request, resource_policy: bool) -> Applies {
    let action = match (&st.action, &st.not_action) {
        (Some(a), _) => a.iter().any(|p| action_matches(p, &req.action)),
        (None, Some(n)) => !n.iter().any(|p| action_matches(p, &req.action)),
        (None, None) => false,
    };
    let resource = match (&st.resource, &st.not_resource) {
        (Some(r), _) => r.iter().any(|p| glob(p, &req.resource)),
        (None, Some(n)) => !n.iter().any(|p| glob(p, &req.resource)),
        (None, None) => true,
    };
    if !action || !resource {
        return Applies::No;
    }
    let principal = if resource_policy {
        match (&st.principal, &st.not_principal) {
            (Some(p), _) => principal_match(p, &req.principal, true),
            (None, Some(n)) => match principal_match(n, &req.principal, false) {
                PrincipalMatch::No => PrincipalMatch::Direct,
                _ => PrincipalMatch::No,
            },
            (None, None) => PrincipalMatch::No,
        }
    } else {
        PrincipalMatch::Direct
    };
    if principal == PrincipalMatch::No {
        return Applies::No;
    }
    let failed = false_conditions(st, req);
    if failed.is_empty() {
        Applies::Yes(principal)
    } else {
        Applies::Unmet(failed)
    }
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
        .filter(|s| s.is_deny() && applies(s, req, resource_policy).who() != PrincipalMatch::No)
        .collect()
}

/// The Deny statements that apply to the request, every level's.
fn explicit_denies(policies: &Policies, req: &Request) -> Vec<Decider> {
    let mut denies = Vec::new();
    let mut check = |source: Source, policy: &NamedPolicy, resource_policy: bool| {
        for st in policy.document.statements.iter().filter(|s| s.is_deny()) {
            if applies(st, req, resource_policy).who() != PrincipalMatch::No {
                denies.push(Decider {
                    why: format!(
                        "{} denies {}: {}",
                        source.describe(&policy.name),
                        req.action,
                        conditions_shown(st, req)
                    ),
                    policy: policy.name.clone(),
                    source: source.clone(),
                    statement: label(st),
                });
            }
        }
    };
    if req.scps_apply(policies.management_account.as_deref()) {
        for (target, list) in &policies.scps {
            for policy in list {
                let target = target.clone();
                check(Source::Scp { target }, policy, false);
            }
        }
    }
    for (target, list) in &policies.rcps {
        for policy in list {
            let target = target.clone();
            check(Source::Rcp { target }, policy, true);
        }
    }
    if let Some(key_policy) = &policies.key_policy {
        check(Source::KeyPolicy, key_policy, true);
    }
    for identity in &policies.identity {
        check(Source::Identity, identity, false);
    }
    denies
}

/// A policy's Allow statements that apply, and those that name the request but whose
/// conditions are false.
fn allows(
    policy: &NamedPolicy,
    source: &Source,
    req: &Request,
    unmet: &mut Vec<Unmet>,
) -> Vec<(PrincipalMatch, Decider, String)> {
    let resource_policy = *source == Source::KeyPolicy;
    let mut found = Vec::new();
    for st in policy.document.statements.iter().filter(|s| s.is_allow()) {
        let decider = Decider {
            policy: policy.name.clone(),
            source: source.clone(),
            statement: label(st),
            why: String::new(),
        };
        match applies(st, req, resource_policy) {
            Applies::Yes(who) => found.push((who, decider, conditions_if_any(st, req))),
            Applies::Unmet(conditions) => unmet.push(Unmet {
                policy: policy.name.clone(),
                source: source.clone(),
                statement: label(st),
                conditions,
            }),
            Applies::No => {}
        }
    }
    found
}

/// The answer to one request.
pub fn evaluate(policies: &Policies, req: &Request) -> Decision {
    let denies = explicit_denies(policies, req);
    if !denies.is_empty() {
        let named: Vec<(String, String)> = denies
            .iter()
            .map(|d| (d.statement.clone(), d.source.describe(&d.policy)))
            .collect();
        return Decision {
            outcome: Outcome::ExplicitlyDenied,
            why: format!(
                "{}, and an explicit Deny always wins",
                explain::denied_by(&named)
            ),
            deciding: denies,
            unmet: Vec::new(),
        };
    }
    let same_account = req.principal.account == req.resource_account;
    let mut identity_unmet = Vec::new();
    let identity_allows: Vec<Decider> = policies
        .identity
        .iter()
        .flat_map(|p| allows(p, &Source::Identity, req, &mut identity_unmet))
        .map(|(_, decider, _)| Decider {
            why: format!("the identity policy allows {}", req.action),
            ..decider
        })
        .collect();
    let allowed = |why: &str, deciding: Vec<Decider>| Decision {
        outcome: Outcome::Allowed,
        deciding,
        why: why.to_owned(),
        unmet: Vec::new(),
    };
    let Some(key_policy) = &policies.key_policy else {
        // An action on no key (kms:CreateKey, kms:ListKeys, kms:GenerateRandom): there is no
        // resource policy, so the identity policies alone decide.
        if identity_allows.is_empty() {
            let why = because(
                "the action is on no key, and no identity policy allows it",
                identity_unmet.first(),
            );
            return implicit_deny(why, vec![], identity_unmet);
        }
        return allowed(
            "the action is on no key (no key policy is asked), an identity policy allows it and no Deny applies",
            identity_allows,
        );
    };
    let mut key_unmet = Vec::new();
    let mut direct = Vec::new();
    let mut delegated = Vec::new();
    for (who, decider, when) in allows(key_policy, &Source::KeyPolicy, req, &mut key_unmet) {
        match who {
            PrincipalMatch::Direct => direct.push(Decider {
                why: format!("allows {} to this principal{when}", req.action),
                ..decider
            }),
            PrincipalMatch::Account => delegated.push(Decider {
                why: format!(
                    "allows {} to account {}: IAM policies there decide{when}",
                    req.action, req.principal.account,
                ),
                ..decider
            }),
            PrincipalMatch::No => {}
        }
    }
    if !direct.is_empty()
        && (same_account || req.principal.is_service || !identity_allows.is_empty())
    {
        return allowed("the key policy allows it and no Deny applies", direct);
    }
    // The account's root user needs no IAM policy where the key policy names its account.
    let root_user = req.principal.userid().is_some();
    if !delegated.is_empty() && root_user && same_account {
        return allowed(
            "the key policy allows the account, and its root user needs no IAM policy",
            delegated,
        );
    }
    if !delegated.is_empty() && !identity_allows.is_empty() {
        let mut deciding = delegated;
        deciding.extend(identity_allows);
        return allowed(
            "the key policy delegates to the principal's account and an identity policy allows it",
            deciding,
        );
    }
    let why = if !delegated.is_empty() {
        "the key policy delegates to the principal's account, and no identity policy given allows it"
    } else if !direct.is_empty() {
        "the key policy allows this cross-account principal, but no identity policy in its account allows it"
    } else {
        "no statement of the key policy allows this principal this action"
    };
    let deciding = [delegated, direct].concat();
    let why = match (key_unmet.first(), identity_unmet.first()) {
        // The key policy named no one: its statements whose conditions are false say why.
        (Some(first), _) if deciding.is_empty() => first.explain(),
        _ if deciding.is_empty() => why.to_owned(),
        // It delegates, or allows across accounts: the identity policies' say why first.
        (key, identity) => because(why, identity.or(key)),
    };
    implicit_deny(why, deciding, [key_unmet, identity_unmet].concat())
}

/// `why`, and the statement that named the request but whose condition was false.
fn because(why: &str, unmet: Option<&Unmet>) -> String {
    unmet.map_or_else(|| why.to_owned(), |u| format!("{why}; {}", u.explain()))
}

fn implicit_deny(why: String, deciding: Vec<Decider>, unmet: Vec<Unmet>) -> Decision {
    Decision {
        outcome: Outcome::ImplicitlyDenied,
        deciding,
        why,
        unmet,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod why_tests;
