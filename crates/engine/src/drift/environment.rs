//! Drift of one environment: the plan's changes (drift), what only the live state reveals when it
//! refuses the plan, and each domain's evidence (violations, unmanaged keys, what was checked).

use std::collections::BTreeMap;

use kmsctl_core::Finding;
use kmsctl_core::drift::{ControlMap, DriftFinding, Kind, TargetReport};

use super::{report, source_ref};
use crate::Context;
use crate::error::{Error, Result};
use crate::plan::{EnvClients, make_with_evidence, target_of};
use crate::prepare::Prepared;
use crate::target::{Planned, connect, now};

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
    let (planned, evidence) = make_with_evidence(ctx, prepared, &clients, true).await?;
    let (changes, refused): (&[_], Vec<DriftFinding>) = match &planned {
        Planned::Plan(plan) => (&plan.changes, Vec::new()),
        // What only the live state reveals (an alias on a foreign key, no Config recorder):
        // the files are right and AWS breaks them.
        Planned::Refused(found) => (
            &[],
            found
                .iter()
                .filter(|f| f.is_error())
                .map(|f| DriftFinding {
                    kind: Kind::Violation,
                    rule: f.rule.clone(),
                    resource: f.rule.clone(),
                    key: f.key.clone(),
                    message: f.message.clone(),
                    control: f.control.map(|c| controls.of(c)),
                    source: Some(source_ref(&f.location)),
                    evidence: BTreeMap::new(),
                })
                .collect(),
        ),
    };
    let mut report = report(target, observed_at, changes, evidence, controls);
    report.findings.splice(0..0, refused);
    Ok(report)
}
