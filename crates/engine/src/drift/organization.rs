//! Drift of the organization: the plan's changes (drift) and the organization domain's evidence
//! (SCPs or RCPs attached to managed targets that no file declares, what was checked). Its
//! boundary tests that need an environment of the same run whose files do not load are left to
//! that environment's error.

use std::collections::BTreeSet;

use kmsctl_core::drift::{ControlMap, TargetReport};
use kmsctl_core::source::SourceFile;
use kmsctl_org::config::OrganizationFile;

use super::report;
use crate::Context;
use crate::error::{Error, Result};
use crate::organization::{make_with_evidence, target};
use crate::target::{Planned, now};

pub async fn check(
    ctx: &Context,
    file: &SourceFile,
    org: &OrganizationFile,
    controls: &ControlMap,
    environments: &BTreeSet<String>,
) -> Result<TargetReport> {
    let target = target(org);
    let observed_at = now();
    let (planned, evidence) = make_with_evidence(ctx, file, org, Some(environments)).await?;
    match &planned {
        Planned::Plan(plan) => Ok(report(
            target,
            observed_at,
            &plan.changes,
            evidence,
            controls,
        )),
        Planned::Refused(found) => {
            let first = found
                .iter()
                .find(|f| f.is_error())
                .map_or("refused".to_owned(), |f| {
                    format!("{}: {}", f.rule, f.message)
                });
            Err(Error::new(format!(
                "the organization cannot be checked: {first}"
            )))
        }
    }
}
