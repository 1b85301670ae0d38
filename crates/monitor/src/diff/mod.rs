//! The monitoring part of a plan: a pure function of the desired and the observed monitoring.
//! Only resources tagged `kmsctl:managed = "true"` (and, where set, this environment's
//! `kmsctl:environment`) are ever updated or deleted; one that exists under a declared name
//! without the tags is adopted. The configuration recorder is never deleted: it serves the whole
//! region.

pub(crate) mod alerts;
pub mod cloudtrail;
mod config_rule;
mod recorder;

pub use cloudtrail::CLOUDTRAIL_MISSING;
pub use recorder::{CONFIG_RECORDER_MISSING, CONFIG_RECORDER_NAME, CONFIG_RECORDER_STOPPED};

use std::collections::BTreeMap;

use kmsctl_core::{
    Action, Address, AttributeChange, Finding, Location, Note, Operation, Ref, ResourceChange,
};

use crate::desired::DesiredMonitor;
use crate::observe::ObservedMonitor;
use crate::ops::MonitorOp;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorDiff {
    pub changes: Vec<ResourceChange>,
    /// Errors only the live account reveals (no configuration recorder, no trail delivering
    /// the alerts' events): they refuse the plan.
    pub findings: Vec<Finding>,
    pub notes: Vec<Note>,
}

pub fn diff(desired: &DesiredMonitor, observed: &ObservedMonitor) -> MonitorDiff {
    let mut out = MonitorDiff::default();
    recorder::diff(desired, observed, &mut out);
    // Apply runs independent changes side by side: the recorder, its delivery channel and its
    // start go in that order, and the rules after them (AWS Config refuses a rule, or a channel,
    // while no recorder is there).
    let recorder: Vec<Address> = out.changes.iter().map(|c| c.address.clone()).collect();
    for (index, change) in out.changes.iter_mut().enumerate().skip(1) {
        change.depends_on.push(recorder[index - 1].clone());
    }
    let rules_from = out.changes.len();
    config_rule::diff(desired, observed, &mut out);
    for change in &mut out.changes[rules_from..] {
        change.depends_on.extend(recorder.iter().cloned());
    }
    alerts::diff(desired, observed, &mut out);
    cloudtrail::diff(desired, observed, &mut out);
    out
}

pub(crate) fn change(
    address: Address,
    action: Action,
    attributes: Vec<AttributeChange>,
    operations: Vec<MonitorOp>,
    depends_on: Vec<Address>,
    source: Option<Location>,
) -> ResourceChange {
    ResourceChange {
        address,
        action,
        attributes,
        depends_on,
        operations: operations.iter().map(Operation::encode).collect(),
        source,
    }
}

/// An ARN known when the plan is made.
pub(crate) fn arn(arn: &str) -> Ref<String> {
    Ref::Known(arn.to_owned())
}

/// The declared tags the live resource lacks or holds with another value. Extra live tags are
/// left alone: other tools may own them.
pub(crate) fn missing_tags(
    wanted: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    wanted
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn tags_change(
    wanted: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Option<AttributeChange> {
    let missing = missing_tags(wanted, live);
    if missing.is_empty() {
        return None;
    }
    let before: BTreeMap<&String, Option<&String>> =
        missing.keys().map(|k| (k, live.get(k))).collect();
    Some(AttributeChange::new(
        "tags",
        Some(serde_json::json!(before)),
        Some(serde_json::json!(missing)),
    ))
}

#[cfg(test)]
mod tests;
