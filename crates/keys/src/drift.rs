//! Checks of the live state for drift detection: guards the observed keys break even when the
//! files are right (violations), what was checked under each control, how a key's planned change
//! is filed, and customer managed keys kmsctl does not manage.

use std::collections::BTreeMap;

use kmsctl_aws::{AwsError, KmsClients, failed, map_bounded};
use kmsctl_core::domain::{Checked, DriftRule, Unmanaged, Violation};
use kmsctl_core::environment::Rules;
use kmsctl_core::{Action, Control, Location, ResourceChange, ResourceKind, Rule};
use serde_json::{Value, json};

use crate::DesiredKeys;
use crate::desired::{DesiredKey, TAG_MANAGED};
use crate::guards::{ENVIRONMENT_TAG, REQUIRED_TAGS, ROTATION_PERIOD, ROTATION_REQUIRED};
use crate::observe::{Observation, ObservedKey};
use crate::{key, key_policy, kinds, rotation};

pub const KEY_PENDING_DELETION: Rule = Rule::drift(
    "key-pending-deletion",
    Some(Control::DeletionProtection),
    "a live key is scheduled for deletion that no file asks for",
);

pub const DRIFT_KEY_STATE: Rule = Rule::drift(
    "drift-key-state",
    Some(Control::DeletionProtection),
    "a managed key's state (enabled, disabled, pending deletion, gone) differs from the files",
);
pub const UNMANAGED_KEY: Rule = Rule::drift(
    "unmanaged-key",
    Some(Control::TagAccess),
    "a customer managed key in an environment's account without kmsctl:managed",
);

/// The guards of control 3.1.1 (tags), 3.3.1 (rotation) and 3.4.1 (deletion) on every live key
/// this environment manages.
/// Each points at its declared key's line, or at the account's for a key no file declares.
pub fn violations(desired: &DesiredKeys<'_>, observation: &Observation) -> Vec<Violation> {
    let DesiredKeys {
        environment,
        rules,
        keys,
        ..
    } = *desired;
    let mut out = Vec::new();
    for live in observation.keys.values() {
        // Keys tagged for this environment, and the declared keys' live keys, whatever their tags say.
        let declared = keys.iter().position(|k| {
            live.managed_id() == Some(k.id.as_str())
                || live.aliases.iter().any(|a| k.all_aliases().any(|d| d == a))
        });
        if live.managed_environment() != Some(environment) && declared.is_none() {
            continue;
        }
        let name = declared.map_or_else(|| live.key_id.clone(), |i| keys[i].name.clone());
        let at = Some(declared.map_or_else(
            || desired.account_location.clone(),
            |i| keys[i].locations.key.clone(),
        ));
        let key_address = format!("{}.{name}", key::KIND);
        let evidence = |pairs: &[(&str, Value)]| -> BTreeMap<String, Value> {
            let mut map: BTreeMap<String, Value> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            map.insert("key_id".into(), json!(live.key_id));
            map
        };
        let env_tag = live.tags.get(&rules.environment_tag);
        if env_tag.map(String::as_str) != Some(environment) {
            out.push(Violation {
                address: key_address.clone(),
                rule: &ENVIRONMENT_TAG,
                message: format!(
                    "key {} of env/{environment} has {} = {}: the boundary policies would treat it as {}",
                    live.key_id,
                    rules.environment_tag,
                    env_tag.map_or("(missing)".to_owned(), |v| format!("{v:?}")),
                    env_tag.map_or("no environment's".to_owned(), |v| format!("{v}'s"))
                ),
                evidence: evidence(&[(rules.environment_tag.as_str(), json!(env_tag))]),
                declared: at.clone(),
                control: None,
                attributes: vec![format!("tags.{}", rules.environment_tag)],
            });
        }
        let missing: Vec<&str> = rules
            .required_tags
            .iter()
            .filter(|t| !live.tags.contains_key(*t))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            out.push(Violation {
                address: key_address.clone(),
                rule: &REQUIRED_TAGS,
                message: format!(
                    "key {} lacks the required tag(s) {}",
                    live.key_id,
                    missing.join(", ")
                ),
                evidence: evidence(&[("missing_tags", json!(missing))]),
                declared: at.clone(),
                control: None,
                attributes: missing.iter().map(|t| format!("tags.{t}")).collect(),
            });
        }
        check_rotation(live, rules, &name, &at, &mut out);
        let declared_deletion = declared
            .is_some_and(|i| keys[i].state == crate::config::DeclaredState::PendingDeletion);
        if live.pending_deletion() && !declared_deletion {
            out.push(Violation {
                address: key_address.clone(),
                rule: &KEY_PENDING_DELETION,
                message: format!(
                    "key {} is scheduled for deletion{} and no file asks for it",
                    live.key_id,
                    live.deletion_date
                        .as_deref()
                        .map(|d| format!(" on {d}"))
                        .unwrap_or_default()
                ),
                evidence: evidence(&[
                    ("state", json!(live.state)),
                    ("deletion_date", json!(live.deletion_date)),
                ]),
                declared: at.clone(),
                control: None,
                attributes: vec!["state".to_owned()],
            });
        }
    }
    out
}

fn check_rotation(
    live: &ObservedKey,
    rules: &Rules,
    name: &str,
    at: &Option<Location>,
    out: &mut Vec<Violation>,
) {
    if !rules.require_rotation || !live.rotatable() || live.pending_deletion() {
        return;
    }
    let address = format!("{}.{name}", rotation::KIND);
    let evidence = BTreeMap::from([
        ("key_id".to_owned(), json!(live.key_id)),
        ("rotation_enabled".to_owned(), json!(live.rotation_enabled)),
        (
            "rotation_period_in_days".to_owned(),
            json!(live.rotation_period_days),
        ),
    ]);
    if live.rotation_enabled == Some(false) {
        out.push(Violation {
            address,
            rule: &ROTATION_REQUIRED,
            message: format!(
                "automatic rotation is off on key {}, and the environment requires it",
                live.key_id
            ),
            evidence,
            declared: at.clone(),
            control: None,
            // The rotation resource is the rotation: all of its drift is this violation.
            attributes: vec![],
        });
    } else if let Some(period) = live
        .rotation_period_days
        .filter(|p| *p > rules.max_rotation_period_days)
    {
        out.push(Violation {
            address,
            rule: &ROTATION_PERIOD,
            message: format!(
                "key {} rotates every {period} days, more than the environment's maximum of {}",
                live.key_id, rules.max_rotation_period_days
            ),
            evidence,
            declared: at.clone(),
            control: None,
            // The rotation resource is the rotation: all of its drift is this violation.
            attributes: vec![],
        });
    }
}

/// A customer managed key without kmsctl's tags.
#[derive(Debug, Clone, PartialEq)]
pub struct UnmanagedKey {
    pub key_id: String,
    pub arn: String,
    pub state: String,
    pub description: String,
    pub aliases: Vec<String>,
    /// AWS's words when the key could not be read (its policy does not let the deployer
    /// describe it or read its tags): whether kmsctl manages it is unknown.
    pub unreadable: Option<String>,
}

/// Refusals that say the deployer may not read the key: one such key is a finding, not the end
/// of the run.
fn refused(error: &AwsError) -> bool {
    matches!(error.code(), Some("AccessDeniedException" | "AccessDenied"))
}

/// Customer managed keys of the account that kmsctl does not manage (AWS managed keys excluded).
/// The keys the observation holds are known; the others are described and their tags read
/// (consistently: the tagging API may lag behind a key tagged seconds ago).
pub async fn unmanaged_keys(
    clients: &KmsClients,
    observation: &Observation,
    parallelism: usize,
) -> Result<Vec<UnmanagedKey>, AwsError> {
    let listed = crate::list::list_keys(&clients.list).await?;
    let aliases = crate::list::list_aliases(&clients.list).await?;
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for alias in &aliases {
        if let (Some(name), Some(target)) = (alias.alias_name(), alias.target_key_id()) {
            by_key
                .entry(target.to_owned())
                .or_default()
                .push(name.to_owned());
        }
    }
    let mut unknown = Vec::new();
    for entry in &listed {
        let Some(id) = entry.key_id() else { continue };
        match observation.keys.get(id) {
            Some(live) if live.is_managed() => {}
            Some(live) => unknown.push((id.to_owned(), Some(live.clone()))),
            None => unknown.push((id.to_owned(), None)),
        }
    }
    let found = map_bounded(unknown, parallelism, |(id, _)| async move {
        let unreadable = |error: AwsError| UnmanagedKey {
            arn: String::new(),
            state: "unreadable".to_owned(),
            description: String::new(),
            key_id: id.clone(),
            aliases: vec![],
            unreadable: Some(error.to_string()),
        };
        let described = match clients
            .describe_key
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .map_err(failed("kms:DescribeKey"))
        {
            Ok(described) => described,
            // A key deleted since it was listed is no finding.
            Err(error) if error.code() == Some("NotFoundException") => return Ok(None),
            Err(error) if refused(&error) => return Ok(Some(unreadable(error))),
            Err(error) => return Err(error),
        };
        let Some(metadata) = described.key_metadata() else {
            return Ok(None);
        };
        if metadata.key_manager().is_some_and(|m| m.as_str() == "AWS") {
            return Ok(None);
        }
        let tags = match crate::list::list_resource_tags(&clients.list_resource_tags, &id).await {
            Ok(tags) => tags,
            Err(error) if refused(&error) => {
                return Ok(Some(UnmanagedKey {
                    arn: metadata.arn().unwrap_or_default().to_owned(),
                    ..unreadable(error)
                }));
            }
            Err(error) => return Err(error),
        };
        if tags
            .iter()
            .any(|t| t.tag_key() == TAG_MANAGED && t.tag_value() == "true")
        {
            return Ok(None);
        }
        Ok(Some(UnmanagedKey {
            arn: metadata.arn().unwrap_or_default().to_owned(),
            state: metadata
                .key_state()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            description: metadata.description().unwrap_or_default().to_owned(),
            key_id: id,
            aliases: vec![],
            unreadable: None,
        }))
    })
    .await?;
    Ok(found
        .into_iter()
        .flatten()
        .map(|mut k| {
            k.aliases = by_key.remove(&k.key_id).unwrap_or_default();
            k
        })
        .collect())
}

/// A key's change of state (deletion scheduled or cancelled, enabled or disabled) is filed under
/// deletion protection, not under the key's description.
pub fn drift_rule(change: &ResourceChange) -> DriftRule {
    let state = matches!(
        change.action,
        Action::ScheduleDeletion | Action::CancelDeletion
    ) || change.attributes.iter().any(|a| a.name == "state");
    DriftRule {
        rule: (change.address.kind == key::KIND && state).then_some(&DRIFT_KEY_STATE),
        ..DriftRule::default()
    }
}

/// Every declared key, per control it falls under, with what was observed.
pub fn checked(rules: &Rules, keys: &[DesiredKey], observation: &Observation) -> Vec<Checked> {
    let control_of = |kind: &str| ResourceKind::control_in(&kinds::KINDS, kind);
    let mut out = Vec::new();
    for key in keys {
        let live = crate::matching::find_declared(observation, key).key();
        // A resource is checked under each control it falls under.
        let mut push =
            |resource: String, control: Option<Control>, evidence: BTreeMap<String, Value>| {
                if let Some(control) = control {
                    out.push(Checked {
                        resource,
                        control: control.id().to_owned(),
                        declared: Some(key.locations.key.clone()),
                        evidence,
                    });
                }
            };
        let observed = |f: &dyn Fn(&ObservedKey) -> Value| live.map_or(Value::Null, f);
        let tags: BTreeMap<String, Value> = rules
            .required_tags
            .iter()
            .map(|t| (format!("tags.{t}"), observed(&|k| json!(k.tags.get(t)))))
            .collect();
        push(
            format!("{}.{}", key::KIND, key.name),
            REQUIRED_TAGS.control,
            tags,
        );
        if key.rotation.is_some() {
            push(
                format!("{}.{}", rotation::KIND, key.name),
                control_of(rotation::KIND),
                BTreeMap::from([
                    (
                        "rotation_enabled".to_owned(),
                        observed(&|k| json!(k.rotation_enabled)),
                    ),
                    (
                        "rotation_period_in_days".to_owned(),
                        observed(&|k| json!(k.rotation_period_days)),
                    ),
                ]),
            );
        } else if let Some(days) = key.manual_rotation_days {
            push(
                format!("{}.{}", rotation::KIND, key.name),
                control_of(rotation::KIND),
                BTreeMap::from([
                    ("manual_rotation_days".to_owned(), json!(days)),
                    ("origin".to_owned(), observed(&|k| json!(k.origin))),
                ]),
            );
        }
        push(
            format!("{}.{}", key::KIND, key.name),
            DRIFT_KEY_STATE.control,
            BTreeMap::from([
                ("state".to_owned(), observed(&|k| json!(k.state))),
                (
                    "deletion_window_in_days".to_owned(),
                    json!(key.deletion_window_days),
                ),
            ]),
        );
        push(
            format!("{}.{}", key_policy::KIND, key.name),
            control_of(key_policy::KIND),
            BTreeMap::from([("statements".to_owned(), json!(key.policy.statements))]),
        );
        if key.custom_key_store.is_some() {
            push(
                format!("{}.{}", key::KIND, key.name),
                Some(Control::Hsm),
                BTreeMap::from([("origin".to_owned(), observed(&|k| json!(k.origin)))]),
            );
        }
    }
    out
}

/// An unmanaged key as a drift finding, pointing at the line declaring the account.
pub fn unmanaged(key: UnmanagedKey, account_id: &str, account: &Location) -> Unmanaged {
    if let Some(reason) = &key.unreadable {
        return Unmanaged {
            rule: &crate::matching::KEY_UNREADABLE,
            message: format!(
                "key {}{} in account {account_id} cannot be read by the deployer, so kmsctl cannot tell whether it manages it: {reason}",
                key.key_id,
                if key.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", key.aliases.join(", "))
                },
            ),
            declared: Some(account.clone()),
            evidence: BTreeMap::from([
                ("key_id".to_owned(), json!(key.key_id)),
                ("aws_error".to_owned(), json!(reason)),
                ("aliases".to_owned(), json!(key.aliases)),
            ]),
            resource: if key.arn.is_empty() {
                key.key_id
            } else {
                key.arn
            },
        };
    }
    Unmanaged {
        rule: &UNMANAGED_KEY,
        message: format!(
            "customer managed key {}{} in account {account_id} is not managed by kmsctl ({})",
            key.key_id,
            if key.aliases.is_empty() {
                String::new()
            } else {
                format!(" ({})", key.aliases.join(", "))
            },
            key.state
        ),
        declared: Some(account.clone()),
        evidence: BTreeMap::from([
            ("key_id".to_owned(), json!(key.key_id)),
            ("state".to_owned(), json!(key.state)),
            ("description".to_owned(), json!(key.description)),
            ("aliases".to_owned(), json!(key.aliases)),
        ]),
        resource: key.arn,
    }
}
