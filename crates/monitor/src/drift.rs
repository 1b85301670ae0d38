//! What drift reports as checked for monitoring: each declared Config rule and alert rule, under
//! monitoring and alerting.

use std::collections::BTreeMap;

use kmsctl_core::Control;
use kmsctl_core::domain::Checked;
use serde_json::json;

use crate::DesiredMonitor;
use crate::kinds::{CONFIG_RULE, EVENTS_RULE};

pub fn checked(desired: &DesiredMonitor) -> Vec<Checked> {
    let control = Control::Monitoring.id();
    let config_rules = desired.rules.iter().map(|rule| Checked {
        resource: format!("{CONFIG_RULE}.{}", rule.name),
        control: control.to_owned(),
        declared: Some(rule.location.clone()),
        evidence: BTreeMap::from([("identifier".to_owned(), json!(rule.identifier))]),
    });
    let alert_rules = desired.alerts.iter().flat_map(|alerts| {
        alerts.rules.iter().map(|rule| Checked {
            resource: format!("{EVENTS_RULE}.{}", rule.name),
            control: control.to_owned(),
            declared: Some(alerts.location.clone()),
            evidence: BTreeMap::from([("severity".to_owned(), json!(rule.severity.name()))]),
        })
    });
    config_rules.chain(alert_rules).collect()
}
