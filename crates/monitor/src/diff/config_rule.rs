//! `config_rule`: AWS Config managed rules, created, updated (identifier, parameters, scope,
//! frequency, description), tagged, and deleted when a managed one leaves the files.

use kmsctl_core::{Action, Address, AttributeChange};
use serde_json::json;

use super::{MonitorDiff, arn, change, missing_tags, tags_change};
use crate::desired::{DesiredMonitor, DesiredRule};
use crate::kinds::CONFIG_RULE;
use crate::observe::{ObservedMonitor, ObservedRule, managed_by};
use crate::ops::MonitorOp;

/// PutConfigRule with the declaration; an undeclared description keeps the live rule's (the
/// call replaces the whole rule).
fn put(
    rule: &DesiredRule,
    live: Option<&ObservedRule>,
    tags: Option<&std::collections::BTreeMap<String, String>>,
) -> MonitorOp {
    MonitorOp::PutConfigRule {
        name: rule.name.clone(),
        identifier: rule.identifier.clone(),
        parameters: rule.parameters.clone(),
        frequency: rule.frequency.clone(),
        resource_types: rule.resource_types.clone(),
        description: rule
            .description
            .clone()
            .or_else(|| live.and_then(|l| l.description.clone())),
        tags: tags.cloned().unwrap_or_default(),
    }
}

fn sorted(values: &[String]) -> Vec<String> {
    let mut values = values.to_vec();
    values.sort();
    values
}

/// The fields that differ between the live rule and the declaration.
fn rule_changes(live: &ObservedRule, wanted: &DesiredRule) -> Vec<AttributeChange> {
    let mut attributes = Vec::new();
    if live.owner != "AWS" || live.identifier.as_deref() != Some(wanted.identifier.as_str()) {
        attributes.push(AttributeChange::new(
            "identifier",
            live.identifier.clone().map(Into::into),
            Some(wanted.identifier.clone().into()),
        ));
    }
    if live.parameters != wanted.parameters {
        attributes.push(AttributeChange::new(
            "parameters",
            Some(json!(live.parameters)),
            Some(json!(wanted.parameters)),
        ));
    }
    // Not declared: AWS's default for the rule (24 hours for periodic rules) is accepted.
    if wanted.frequency.is_some() && live.frequency != wanted.frequency {
        attributes.push(AttributeChange::new(
            "maximum_execution_frequency",
            live.frequency.clone().map(Into::into),
            wanted.frequency.clone().map(Into::into),
        ));
    }
    if sorted(&live.resource_types) != sorted(&wanted.resource_types) {
        attributes.push(AttributeChange::new(
            "resource_types",
            Some(json!(live.resource_types)),
            Some(json!(wanted.resource_types)),
        ));
    }
    // Not declared: the live description, whatever it is, is left alone.
    if wanted.description.is_some() && live.description != wanted.description {
        attributes.push(AttributeChange::new(
            "description",
            live.description.clone().map(Into::into),
            wanted.description.clone().map(Into::into),
        ));
    }
    attributes
}

pub(super) fn diff(desired: &DesiredMonitor, observed: &ObservedMonitor, out: &mut MonitorDiff) {
    for wanted in &desired.rules {
        let address = Address::new(CONFIG_RULE, wanted.name.clone());
        let source = Some(wanted.location.clone());
        let Some(live) = observed.rule(&wanted.name) else {
            let mut attributes = vec![AttributeChange::added(
                "identifier",
                wanted.identifier.clone(),
            )];
            if !wanted.parameters.is_empty() {
                attributes.push(AttributeChange::added(
                    "parameters",
                    json!(wanted.parameters),
                ));
            }
            if let Some(frequency) = &wanted.frequency {
                attributes.push(AttributeChange::added(
                    "maximum_execution_frequency",
                    frequency.clone(),
                ));
            }
            if !wanted.resource_types.is_empty() {
                attributes.push(AttributeChange::added(
                    "resource_types",
                    json!(wanted.resource_types),
                ));
            }
            if let Some(description) = &wanted.description {
                attributes.push(AttributeChange::added("description", description.clone()));
            }
            out.changes.push(change(
                address,
                Action::Create,
                attributes,
                vec![put(wanted, None, Some(&desired.tags))],
                vec![],
                source,
            ));
            continue;
        };
        let adopt = !managed_by(&live.tags, &desired.environment);
        let mut attributes = rule_changes(live, wanted);
        let mut operations = Vec::new();
        if !attributes.is_empty() {
            // Tags given to PutConfigRule only count at creation: TagResource below sets them.
            operations.push(put(wanted, Some(live), None));
        }
        if let Some(tags) = tags_change(&desired.tags, &live.tags) {
            attributes.push(tags);
            operations.push(MonitorOp::TagConfigResource {
                arn: arn(&live.arn),
                tags: missing_tags(&desired.tags, &live.tags),
            });
        }
        if !operations.is_empty() {
            let action = if adopt { Action::Adopt } else { Action::Update };
            out.changes.push(change(
                address,
                action,
                attributes,
                operations,
                vec![],
                source,
            ));
        }
    }
    for live in &observed.rules {
        if !managed_by(&live.tags, &desired.environment)
            || desired.rules.iter().any(|r| r.name == live.name)
        {
            continue;
        }
        out.changes.push(change(
            Address::new(CONFIG_RULE, live.name.clone()),
            Action::Delete,
            vec![AttributeChange::new(
                "identifier",
                live.identifier.clone().map(Into::into),
                None,
            )],
            vec![MonitorOp::DeleteConfigRule {
                name: live.name.clone(),
            }],
            vec![],
            None,
        ));
    }
}
