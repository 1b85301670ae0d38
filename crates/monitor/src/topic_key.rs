//! `topic_key`: which of the environment's keys encrypts the alert topic, and whether its key
//! policy lets EventBridge use it. EventBridge publishes to an encrypted topic with
//! `kms:GenerateDataKey*` and `kms:Decrypt` as `events.amazonaws.com`; without both in the key
//! policy every alert is dropped silently, so the plan is refused.

use std::path::PathBuf;

use kmsctl_core::policy::{PolicyDocument, Principals, Statement, action_matches};
use kmsctl_core::{Control, Finding, Location, Rule};

use crate::config::AlertsDecl;

pub const ALERTS_TOPIC_KEY: Rule = Rule::error(
    "alerts-topic-key",
    Some(Control::Monitoring),
    "topic_key names exactly one key of the environment",
);
pub const ALERTS_TOPIC_KEY_POLICY: Rule = Rule::error(
    "alerts-topic-key-policy",
    Some(Control::Monitoring),
    "the topic key's policy lets events.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt",
);

/// One key of the environment, as `topic_key` may name it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The key's address name (`db-payments-encryption`), to order the plan.
    pub name: String,
    pub purpose: String,
    /// `alias/...`, the first being the key's main alias.
    pub aliases: Vec<String>,
    pub policy: PolicyDocument,
    pub policy_file: Option<PathBuf>,
}

/// The key `topic_key` names.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicKey {
    pub name: String,
    /// What the topic's `KmsMasterKeyId` is set to: the key's main alias.
    pub kms_master_key_id: String,
}

const EVENTS: &str = "events.amazonaws.com";
pub const REQUIRED_ACTIONS: [&str; 2] = ["kms:GenerateDataKey", "kms:Decrypt"];

/// Resolves `topic_key` (a purpose, an alias with or without `alias/`, or a key's name) and
/// checks the key's policy. `None` when no topic key is declared.
pub fn resolve(
    alerts: &AlertsDecl,
    at: &dyn Fn(std::ops::Range<usize>) -> Location,
    candidates: &[Candidate],
) -> Result<Option<TopicKey>, Box<Finding>> {
    let Some(wanted) = &alerts.topic_key else {
        return Ok(None);
    };
    let location = at(wanted.span());
    let name = wanted.get_ref();
    let alias = if name.starts_with("alias/") {
        name.clone()
    } else {
        format!("alias/{name}")
    };
    let by_alias: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.aliases.contains(&alias) || &c.name == name)
        .collect();
    let matching = if by_alias.is_empty() {
        candidates.iter().filter(|c| &c.purpose == name).collect()
    } else {
        by_alias
    };
    let key = match matching.as_slice() {
        [key] => *key,
        [] => {
            let known: Vec<&str> = candidates
                .iter()
                .filter_map(|c| c.aliases.first().map(String::as_str))
                .collect();
            return Err(Box::new(Finding::of(
                &ALERTS_TOPIC_KEY,
                location,
                format!("topic_key = {name:?} names no key of this environment"),
                if known.is_empty() {
                    "declare the key in a [[key]] entry, or remove topic_key".to_owned()
                } else {
                    format!("use a key's purpose or alias: {}", known.join(", "))
                },
            )));
        }
        several => {
            let aliases: Vec<&str> = several
                .iter()
                .filter_map(|c| c.aliases.first().map(String::as_str))
                .collect();
            return Err(Box::new(Finding::of(
                &ALERTS_TOPIC_KEY,
                location,
                format!(
                    "topic_key = {name:?} matches {} keys: {}",
                    several.len(),
                    aliases.join(", ")
                ),
                "name the key by its alias",
            )));
        }
    };
    let missing: Vec<&str> = REQUIRED_ACTIONS
        .iter()
        .copied()
        .filter(|action| !key.policy.statements.iter().any(|s| grants(s, action)))
        .collect();
    if !missing.is_empty() {
        let file = key
            .policy_file
            .as_ref()
            .map_or_else(|| "the key policy".to_owned(), |f| f.display().to_string());
        return Err(Box::new(Finding::of(
            &ALERTS_TOPIC_KEY_POLICY,
            location,
            format!(
                "topic_key {}: its key policy does not let EventBridge ({EVENTS}) use it for {}: alerts to the encrypted topic would be dropped",
                key.aliases
                    .first()
                    .map_or(key.name.as_str(), String::as_str),
                missing.join(" and ")
            ),
            format!(
                "add to {file} a statement: {{\"Sid\": \"AllowEventBridgeToEncryptAlerts\", \"Effect\": \"Allow\", \"Principal\": {{\"Service\": \"{EVENTS}\"}}, \"Action\": [\"kms:GenerateDataKey*\", \"kms:Decrypt\"], \"Resource\": \"*\"}}"
            ),
        )));
    }
    Ok(Some(TopicKey {
        name: key.name.clone(),
        kms_master_key_id: key.aliases.first().cloned().unwrap_or_default(),
    }))
}

/// An Allow statement that lets the EventBridge service principal make `action`.
fn grants(statement: &Statement, action: &str) -> bool {
    let principal = match &statement.principal {
        Some(Principals::Wildcard) => true,
        Some(Principals::Map(map)) => {
            map.get("Service").is_some_and(|s| s.contains(EVENTS))
                || map.get("AWS").is_some_and(|s| s.contains("*"))
        }
        None => false,
    };
    let acts = statement
        .action
        .as_ref()
        .is_some_and(|actions| actions.iter().any(|p| action_matches(p, action)));
    statement.is_allow() && principal && acts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(policy: &str) -> Candidate {
        Candidate {
            name: "alerts-security-alerts".into(),
            purpose: "alerts".into(),
            aliases: vec!["alias/prod-alerts-security-alerts".into()],
            policy: kmsctl_core::policy::parse(policy).expect("policy"),
            policy_file: Some("policies/kms/alerts.json".into()),
        }
    }

    fn alerts(topic_key: &str) -> AlertsDecl {
        toml::from_str(&format!("topic = \"t\"\ntopic_key = \"{topic_key}\"")).expect("alerts")
    }

    fn at(_: std::ops::Range<usize>) -> Location {
        Location::at_line("monitor.toml", 3)
    }

    const GOOD: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":["kms:GenerateDataKey*","kms:Decrypt"],"Resource":"*"}]}"#;
    const ONLY_DECRYPT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*"}]}"#;

    #[test]
    fn a_key_named_by_purpose_or_alias_with_a_policy_for_eventbridge() {
        for name in [
            "alerts",
            "prod-alerts-security-alerts",
            "alias/prod-alerts-security-alerts",
        ] {
            let key = resolve(&alerts(name), &at, &[candidate(GOOD)]).expect("resolves");
            assert_eq!(
                key.map(|k| k.kms_master_key_id).as_deref(),
                Some("alias/prod-alerts-security-alerts")
            );
        }
    }

    #[test]
    fn a_policy_without_generate_data_key_refuses_with_the_statement_to_add() {
        let finding =
            resolve(&alerts("alerts"), &at, &[candidate(ONLY_DECRYPT)]).expect_err("refused");
        assert_eq!(finding.rule, "alerts-topic-key-policy");
        assert!(
            finding.message.contains("kms:GenerateDataKey"),
            "{}",
            finding.message
        );
        assert!(
            !finding.message.contains("kms:Decrypt"),
            "{}",
            finding.message
        );
        assert!(
            finding.fix.contains("policies/kms/alerts.json"),
            "{}",
            finding.fix
        );
    }

    #[test]
    fn an_unknown_key_lists_the_aliases() {
        let finding = resolve(&alerts("nope"), &at, &[candidate(GOOD)]).expect_err("refused");
        assert_eq!(finding.rule, "alerts-topic-key");
        assert!(finding.fix.contains("alias/prod-alerts-security-alerts"));
    }
}
