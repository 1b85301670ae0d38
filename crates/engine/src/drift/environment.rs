//! Drift of one environment: the plan's changes (drift), the guards the live keys break
//! (violations), and customer managed keys no environment manages (unmanaged).

use std::collections::BTreeMap;

use kmsctl_core::domain::Domain;
use kmsctl_core::drift::{
    CheckedResource, ControlMap, DriftFinding, Kind, SourceRef, TargetReport, TargetStatus,
};
use kmsctl_core::{Action, Control, Finding, ResourceChange, Rule};
use kmsctl_keys::guards::REQUIRED_TAGS;
use kmsctl_keys::{key, key_policy, rotation};
use kmsctl_monitor::kinds::{CONFIG_RULE, EVENTS_RULE};
use serde_json::{Value, json};

use super::source_ref;
use crate::Context;
use crate::error::{Error, Result};
use crate::plan::{EnvClients, make_observed, target_of};
use crate::prepare::{CUSTOM_KEY_STORE_UNKNOWN, Prepared};
use crate::rules;
use crate::target::{Planned, connect, now};

pub const DRIFT_TAGS: Rule = Rule::drift(
    "drift-tags",
    Some(Control::TagAccess),
    "a managed key's tags differ from the files",
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

pub async fn check(
    ctx: &Context,
    prepared: &Prepared,
    controls: &ControlMap,
) -> Result<TargetReport> {
    let target = target_of(prepared);
    let offline: Vec<&Finding> = prepared.findings.iter().filter(|f| f.is_error()).collect();
    if !offline.is_empty() {
        return Err(Error::new(format!(
            "the files of {} fail {} guard(s) (first: {} at {}); run kmsctl validate {}",
            target.label(),
            offline.len(),
            offline[0].rule,
            offline[0].location,
            target.label()
        )));
    }
    let session = connect(ctx, &target).await?;
    let clients = EnvClients::new(ctx, &session, prepared.hsm.is_some());
    let observed_at = now();
    let (planned, observation) = make_observed(ctx, prepared, &clients).await?;
    let mut findings = Vec::new();
    match &planned {
        Planned::Plan(plan) => findings.extend(plan.changes.iter().map(|c| drift_of(c, controls))),
        // What only the live state reveals (an alias on a foreign key, no Config recorder):
        // the files are right and AWS breaks them.
        Planned::Refused(found) => {
            findings.extend(found.iter().filter(|f| f.is_error()).map(|f| DriftFinding {
                kind: Kind::Violation,
                rule: f.rule.clone(),
                resource: f.rule.clone(),
                message: f.message.clone(),
                control: f.control.map(|c| controls.of(c)),
                source: Some(source_ref(&f.location)),
                evidence: BTreeMap::new(),
            }))
        }
    }
    let mut resources = Vec::new();
    if let Some(observation) = &observation {
        let settings = &prepared.env.settings;
        let desired = kmsctl_keys::DesiredKeys {
            environment: &settings.name,
            rules: &settings.rules,
            keys: &prepared.keys,
        };
        for violation in kmsctl_keys::Keys::violations(&desired, observation) {
            findings.push(DriftFinding {
                kind: Kind::Violation,
                rule: violation.rule.id.to_owned(),
                resource: violation.address,
                message: violation.message,
                control: violation.rule.control.map(|c| controls.of(c)),
                source: Some(
                    violation
                        .declared
                        .map_or_else(|| account_source(prepared), |at| source_ref(&at)),
                ),
                evidence: violation.evidence,
            });
        }
        let unmanaged =
            kmsctl_keys::drift::unmanaged_keys(&clients.keys, observation, ctx.parallelism)
                .await
                .map_err(|e| Error::new(format!("reading {} failed: {e}", target.label())))?;
        for key in unmanaged {
            findings.push(DriftFinding {
                kind: Kind::Unmanaged,
                rule: UNMANAGED_KEY.id.into(),
                resource: key.arn.clone(),
                message: format!(
                    "customer managed key {}{} in account {} is not managed by kmsctl ({})",
                    key.key_id,
                    if key.aliases.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", key.aliases.join(", "))
                    },
                    settings.account_id,
                    key.state
                ),
                control: UNMANAGED_KEY.control.map(|c| controls.of(c)),
                source: Some(account_source(prepared)),
                evidence: BTreeMap::from([
                    ("key_id".to_owned(), json!(key.key_id)),
                    ("state".to_owned(), json!(key.state)),
                    ("description".to_owned(), json!(key.description)),
                    ("aliases".to_owned(), json!(key.aliases)),
                ]),
            });
        }
        resources = checked_resources(prepared, observation, controls);
    }
    Ok(TargetReport {
        target: target.label(),
        account_id: target.account_id,
        region: target.region,
        status: TargetStatus::Checked,
        error: None,
        observed_at,
        resources,
        findings,
    })
}

/// A planned change as a drift finding: what differs, observed against declared.
pub fn drift_of(change: &ResourceChange, controls: &ControlMap) -> DriftFinding {
    let kind = change.address.kind.as_str();
    let tags_only = !change.attributes.is_empty()
        && change.attributes.iter().all(|a| a.name.starts_with("tags"));
    let deletion = matches!(
        change.action,
        Action::ScheduleDeletion | Action::CancelDeletion
    ) || change.attributes.iter().any(|a| a.name == "state");
    let (rule, control) = if tags_only {
        (DRIFT_TAGS.id.to_owned(), DRIFT_TAGS.control)
    } else if kind == key::KIND && deletion {
        (DRIFT_KEY_STATE.id.to_owned(), DRIFT_KEY_STATE.control)
    } else {
        (rules::drift_rule_id(kind), rules::kind_control(kind))
    };
    let differences: Vec<String> = change
        .attributes
        .iter()
        .filter(|a| !a.known_after_apply)
        .map(|a| {
            let show =
                |v: &Option<Value>| v.as_ref().map_or("(none)".to_owned(), |v| v.to_string());
            format!("{}: {} → {}", a.name, show(&a.before), show(&a.after))
        })
        .collect();
    let evidence = change
        .attributes
        .iter()
        .filter(|a| !a.known_after_apply)
        .map(|a| {
            (
                a.name.clone(),
                json!({"observed": a.before, "declared": a.after}),
            )
        })
        .collect();
    DriftFinding {
        kind: Kind::Drift,
        rule,
        resource: change.address.to_string(),
        message: format!(
            "{} differs from the files: it {}{}",
            change.address,
            change.action.describe(),
            if differences.is_empty() {
                String::new()
            } else {
                format!(" ({})", differences.join("; "))
            }
        ),
        control: control.map(|c| controls.of(c)),
        source: change.source.as_ref().map(source_ref),
        evidence,
    }
}

/// The line declaring the environment's account: where an account-wide finding points.
pub fn account_source(prepared: &Prepared) -> SourceRef {
    source_ref(&prepared.env.account_location)
}

/// Every declared key, per control it falls under, with what was observed.
fn checked_resources(
    prepared: &Prepared,
    observation: &kmsctl_keys::Observation,
    controls: &ControlMap,
) -> Vec<CheckedResource> {
    let rules = &prepared.env.settings.rules;
    let mut out = Vec::new();
    for key in &prepared.keys {
        let live = kmsctl_keys::matching::find(observation, &key.id, &key.alias).key();
        let source = Some(source_ref(&key.locations.key));
        // A resource is checked under each control it falls under.
        let mut push =
            |resource: String, control: Option<Control>, evidence: BTreeMap<String, Value>| {
                if let Some(control) = control {
                    out.push(CheckedResource {
                        resource,
                        control: controls.of(control),
                        source: source.clone(),
                        evidence,
                    });
                }
            };
        let observed =
            |f: &dyn Fn(&kmsctl_keys::observe::ObservedKey) -> Value| live.map_or(Value::Null, f);
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
                rules::kind_control(rotation::KIND),
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
                rules::kind_control(rotation::KIND),
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
            rules::kind_control(key_policy::KIND),
            BTreeMap::from([("statements".to_owned(), json!(key.policy.statements))]),
        );
        if key.custom_key_store.is_some() {
            push(
                format!("{}.{}", key::KIND, key.name),
                CUSTOM_KEY_STORE_UNKNOWN.control,
                BTreeMap::from([("origin".to_owned(), observed(&|k| json!(k.origin)))]),
            );
        }
    }
    let monitor = &prepared.monitor;
    if let Some(control) = rules::kind_control(CONFIG_RULE) {
        for rule in &monitor.rules {
            out.push(CheckedResource {
                resource: format!("{CONFIG_RULE}.{}", rule.name),
                control: controls.of(control),
                source: Some(source_ref(&rule.location)),
                evidence: BTreeMap::from([("identifier".to_owned(), json!(rule.identifier))]),
            });
        }
    }
    if let (Some(alerts), Some(control)) = (&monitor.alerts, rules::kind_control(EVENTS_RULE)) {
        for rule in &alerts.rules {
            out.push(CheckedResource {
                resource: format!("{EVENTS_RULE}.{}", rule.name),
                control: controls.of(control),
                source: Some(source_ref(&alerts.location)),
                evidence: BTreeMap::from([("severity".to_owned(), json!(rule.severity.name()))]),
            });
        }
    }
    out
}
