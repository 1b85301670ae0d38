//! What drift reports as checked for monitoring: each declared Config rule and alert rule, under
//! monitoring and alerting.

use std::collections::BTreeMap;

use kmsctl_core::ResourceKind;
use kmsctl_core::domain::Checked;
use serde_json::json;

use crate::DesiredMonitor;
use crate::kinds::{CONFIG_RULE, EVENTS_RULE, KINDS};

/// Each declared rule under its kind's control (a kind of no control is not reported).
pub fn checked(desired: &DesiredMonitor) -> Vec<Checked> {
    let control = |kind| ResourceKind::control_in(&KINDS, kind).map(|c| c.id().to_owned());
    let config_rules = control(CONFIG_RULE).into_iter().flat_map(|control| {
        desired.rules.iter().map(move |rule| Checked {
            resource: format!("{CONFIG_RULE}.{}", rule.name),
            control: control.clone(),
            declared: Some(rule.location.clone()),
            evidence: BTreeMap::from([("identifier".to_owned(), json!(rule.identifier))]),
        })
    });
    let alerts = control(EVENTS_RULE).zip(desired.alerts.as_ref());
    let alert_rules = alerts.into_iter().flat_map(|(control, alerts)| {
        alerts.rules.iter().map(move |rule| Checked {
            resource: format!("{EVENTS_RULE}.{}", rule.name),
            control: control.clone(),
            declared: Some(alerts.location.clone()),
            evidence: BTreeMap::from([("severity".to_owned(), json!(rule.severity.name()))]),
        })
    });
    config_rules.chain(alert_rules).collect()
}
