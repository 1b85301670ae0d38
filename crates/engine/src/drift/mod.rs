//! `kmsctl drift [TARGET...]`: whether the live AWS state still matches git and the controls,
//! for scheduled CI. Every target is checked (concurrently, bounded); one target's failure is
//! reported without hiding the others'. Findings are drift, violations or unmanaged resources,
//! each with its control and the file and line that declare the resource.

mod environment;
mod organization;

pub use environment::{DRIFT_KEY_STATE, DRIFT_TAGS, UNMANAGED_KEY};
pub use organization::UNMANAGED_ORG_POLICY;

use futures::stream::{self, StreamExt};
use kmsctl_core::drift::{ControlMap, DriftReport, Kind, SourceRef, TargetReport, TargetStatus};

use crate::Context;
use crate::error::{Error, Result};
use crate::plan::Loaded;
use crate::target::now;

/// Targets checked at once: each runs its own bounded reads.
const CONCURRENT_TARGETS: usize = 4;

/// With no target: the organization (if the project has one) and every environment folder.
pub fn default_targets(ctx: &Context) -> Vec<String> {
    let mut targets = Vec::new();
    if ctx.project.has_organization() {
        targets.push(crate::organization::TARGET.to_owned());
    }
    let mut environments: Vec<String> = std::fs::read_dir(ctx.project.root.join("environments"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(|n| format!("env/{n}")))
        .collect();
    environments.sort();
    targets.extend(environments);
    targets
}

/// Checks every target and builds the report.
pub async fn check(ctx: &Context, targets: &[String]) -> Result<DriftReport> {
    let controls = ControlMap::for_project(&ctx.project.files)
        .map_err(|e| Error::new(e.to_string()).help("fix or remove compliance/controls.toml"))?;
    let started = now();
    let mut reports: Vec<TargetReport> = stream::iter(targets.iter().cloned())
        .map(|target| {
            let controls = &controls;
            async move { check_target(ctx, &target, controls).await }
        })
        .buffered(CONCURRENT_TARGETS)
        .collect()
        .await;
    // An account shared by several environments: its unmanaged keys are reported once.
    let mut seen = std::collections::BTreeSet::new();
    for report in &mut reports {
        let account = (report.account_id.clone(), report.region.clone());
        report.findings.retain(|f| {
            f.kind != Kind::Unmanaged || seen.insert((account.clone(), f.resource.clone()))
        });
    }
    Ok(DriftReport::new(
        env!("CARGO_PKG_VERSION"),
        &started,
        reports,
    ))
}

async fn check_target(ctx: &Context, target: &str, controls: &ControlMap) -> TargetReport {
    let failed = |account: String, region: String, error: String| TargetReport {
        target: target.to_owned(),
        account_id: account,
        region,
        status: TargetStatus::Error,
        error: Some(error),
        observed_at: now(),
        resources: vec![],
        findings: vec![],
    };
    let loaded = match Loaded::load(ctx, target) {
        Ok(loaded) => loaded,
        Err(error) => return failed(String::new(), String::new(), error.message.clone()),
    };
    let label = loaded.target().label();
    let result = match &loaded {
        Loaded::Environment(prepared) => environment::check(ctx, prepared, controls).await,
        Loaded::Organization(file, org) => organization::check(ctx, file, org, controls).await,
    };
    let target_info = loaded.target();
    match result {
        Ok(mut report) => {
            report.target = label;
            report
        }
        Err(error) => {
            let mut report = failed(
                target_info.account_id,
                target_info.region,
                error.message.clone(),
            );
            report.target = label;
            report
        }
    }
}

/// A file and line as reports name them: relative to the project root, `/`-separated.
pub fn source_ref(location: &kmsctl_core::Location) -> SourceRef {
    SourceRef {
        file: location.file.to_string_lossy().replace('\\', "/"),
        line: location.line,
    }
}
