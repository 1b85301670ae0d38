//! `kmsctl drift [TARGET...]`: whether the live AWS state still matches git and the controls,
//! for scheduled CI. Every target is checked (concurrently, bounded); one target's failure is
//! reported without hiding the others'. Findings are drift, violations or unmanaged resources,
//! each with its control and the file and line that declare the resource.

mod environment;
mod organization;

pub use environment::{DRIFT_KEY_STATE, DRIFT_TAGS, UNMANAGED_KEY};
pub use organization::UNMANAGED_ORG_POLICY;

use std::path::PathBuf;

use futures::stream::{self, StreamExt};
use kmsctl_core::drift::{ControlMap, DriftReport, Kind, SourceRef, TargetReport, TargetStatus};

use super::Context;
use super::plan::{Loaded, now};
use crate::cli::{ComplianceArgs, ComplianceFormat, DriftArgs, ReportFormat};
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render::drift as render;

/// Targets checked at once: each runs its own bounded reads.
const CONCURRENT_TARGETS: usize = 4;

/// With no target: the organization (if the project has one) and every environment folder.
pub fn default_targets(ctx: &Context) -> Vec<String> {
    let mut targets = Vec::new();
    if ctx.project.has_organization() {
        targets.push(super::organization::TARGET.to_owned());
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
    let controls = ControlMap::for_project(&ctx.project.files).map_err(|e| {
        UserError::new(e.to_string()).help("fix or remove compliance/controls.toml")
    })?;
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

pub async fn run(ctx: &Context, args: &DriftArgs) -> Result<Exit> {
    let targets = if args.targets.is_empty() {
        default_targets(ctx)
    } else {
        args.targets.clone()
    };
    if targets.is_empty() {
        return Err(UserError::new(
            "there is nothing to check: no organization/organization.toml and no environments/",
        )
        .help("run kmsctl drift from the project root, or name targets: kmsctl drift env/prod"));
    }
    let report = check(ctx, &targets).await?;
    write_outputs(ctx, &args.pairs, &report)?;
    Ok(exit_code(&report, args.fail_on_unmanaged))
}

/// Writes each format to its output; formats without one go to standard output (one at most).
pub fn write_outputs(
    ctx: &Context,
    pairs: &[(ReportFormat, Option<PathBuf>)],
    report: &DriftReport,
) -> Result<()> {
    let pairs = if pairs.is_empty() {
        vec![(ReportFormat::Human, None)]
    } else {
        pairs.to_vec()
    };
    if pairs.iter().filter(|(_, output)| output.is_none()).count() > 1 {
        return Err(UserError::new("several formats would go to standard output")
            .help("give each --format but one its own --output FILE: --format sarif --output drift.sarif"));
    }
    for (format, output) in &pairs {
        let text = render::render(*format, report, &ctx.project.root, ctx.style)
            .map_err(|e| UserError::new(format!("rendering {format:?}: {e}")))?;
        match output {
            Some(path) => std::fs::write(path, text)
                .map_err(|e| UserError::new(format!("cannot write {}: {e}", path.display())))?,
            None => print!("{text}"),
        }
    }
    Ok(())
}

/// 3 violation (wins), 2 drift, 1 a target could not be checked, 4 unmanaged only (with the
/// flag), else 0.
pub fn exit_code(report: &DriftReport, fail_on_unmanaged: bool) -> Exit {
    let summary = report.summary;
    if summary.violations > 0 {
        Exit::Refused
    } else if summary.drift > 0 {
        Exit::Changes
    } else if summary.errors > 0 {
        Exit::Error
    } else if summary.unmanaged > 0 && fail_on_unmanaged {
        Exit::Unmanaged
    } else {
        Exit::Ok
    }
}

/// `kmsctl report`: the compliance view of the same checks.
pub async fn report(ctx: &Context, args: &ComplianceArgs) -> Result<Exit> {
    let targets = if args.targets.is_empty() {
        default_targets(ctx)
    } else {
        args.targets.clone()
    };
    let controls = ControlMap::for_project(&ctx.project.files).map_err(|e| {
        UserError::new(e.to_string()).help("fix or remove compliance/controls.toml")
    })?;
    let report = check(ctx, &targets).await?;
    let text = match args.format {
        ComplianceFormat::Markdown => crate::render::compliance::markdown(&report, &controls),
        ComplianceFormat::Html => crate::render::compliance::html(&report, &controls),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| UserError::new(format!("cannot write {}: {e}", path.display())))?,
        None => print!("{text}"),
    }
    Ok(if report.summary.errors > 0 {
        Exit::Error
    } else {
        Exit::Ok
    })
}
