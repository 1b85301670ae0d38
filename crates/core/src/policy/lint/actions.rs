//! Every action names a service of the catalog and matches one of its actions; an RCP names
//! only services RCPs support.

use std::collections::BTreeMap;

use super::{RCP_SERVICE, UNKNOWN_ACTION, UNKNOWN_SERVICE, name};
use crate::finding::{Finding, Location};
use crate::policy::catalog::Catalog;
use crate::policy::grammar::PolicyKind;
use crate::policy::model::Statement;

/// The statement's actions and the element that holds them (`Action` or `NotAction`).
pub(super) fn listed(
    st: &Statement,
) -> Option<(&'static str, &std::collections::BTreeSet<String>)> {
    match (&st.action, &st.not_action) {
        (Some(list), _) => Some(("Action", list)),
        (None, Some(list)) => Some(("NotAction", list)),
        (None, None) => None,
    }
}

pub(super) fn check(
    st: &Statement,
    kind: PolicyKind,
    catalog: &Catalog,
    at: &impl Fn(usize, &str) -> Location,
    out: &mut Vec<Finding>,
) {
    let Some((field, list)) = listed(st) else {
        return;
    };
    let location = at(st.line_of(field), &format!("{}/{field}", st.pointer));
    // An unknown service prefix is one finding per statement, naming its actions (a statement
    // listing 13 macie:* actions gets one line, not 13 identical ones).
    let mut unknown_services: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut unsupported_by_rcp: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for action in list {
        if action == "*" {
            continue;
        }
        let Some((service, pattern)) = action.split_once(':') else {
            out.push(Finding::of(
                &UNKNOWN_ACTION,
                location.clone(),
                format!("{}: {action:?} is not SERVICE:ACTION", name(st)),
                "write actions as service:Action, e.g. kms:Decrypt",
            ));
            continue;
        };
        match catalog.matching_actions(service, pattern) {
            None => unknown_services.entry(service).or_default().push(action),
            Some(found) if found.is_empty() => out.push(Finding::of(
                &UNKNOWN_ACTION,
                location.clone(),
                format!("{}: {action} matches no action of {service}", name(st)),
                catalog.nearest_action(service, pattern).map_or(
                    format!(
                        "see the actions of {service} in AWS's service authorization reference"
                    ),
                    |n| format!("did you mean {service}:{n}?"),
                ),
            )),
            Some(_) => {}
        }
        if kind == PolicyKind::Rcp && catalog.has_service(service) && !catalog.rcp_supports(service)
        {
            unsupported_by_rcp
                .entry(service.to_lowercase())
                .or_default()
                .push(action);
        }
    }
    for (service, named) in unknown_services {
        if super::placeholder::is_placeholder(service) {
            out.push(super::placeholder::finding(
                location.clone(),
                &name(st),
                &named.join(", "),
                "an action",
            ));
            continue;
        }
        let first_pattern = named
            .first()
            .and_then(|a| a.split_once(':'))
            .map_or("*", |(_, p)| p);
        out.push(Finding::of(
            &UNKNOWN_SERVICE,
            location.clone(),
            format!(
                "{}: {service:?} is not an AWS service prefix ({})",
                name(st),
                named.join(", ")
            ),
            catalog.nearest_service(service).map_or(
                "use a service prefix from AWS's service authorization reference".to_owned(),
                |n| format!("did you mean {n}:{first_pattern}?"),
            ),
        ));
    }
    for (service, named) in unsupported_by_rcp {
        out.push(Finding::of(
            &RCP_SERVICE,
            location.clone(),
            format!("{}: RCPs do not support {service} ({})", name(st), named.join(", ")),
            "keep RCP statements to the services RCPs support (S3, STS, KMS, SQS, Secrets Manager, ...)",
        ));
    }
}
