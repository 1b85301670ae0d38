//! `kmsctl drift [TARGET...]` and `kmsctl compliance`: the engine checks every target
//! (`kmsctl_engine::drift`); this renders the report, writes the files and picks the exit code.

use std::path::PathBuf;

use kmsctl_core::drift::{ControlMap, DriftReport};
use kmsctl_engine::drift::{check, default_targets};

use super::Context;
use crate::cli::{ComplianceArgs, ComplianceFormat, DriftArgs, ReportFormat};
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render::drift as render;

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
