//! `kmsctl plan TARGET`: observe, diff, render, save.

use std::path::Path;

use kmsctl_core::{Finding, Severity, plan_file};
use kmsctl_engine::plan::Loaded;
use kmsctl_engine::target::{Planned, default_plan_path};

use super::Context;
use crate::cli::{PlanArgs, PlanFormat};
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render::{findings, plan as render_plan};

/// Prints the findings of a refused plan and says that nothing was changed.
pub fn report_refusal(ctx: &Context, label: &str, found: &[Finding]) -> Exit {
    eprint!("{}", findings::render(found, ctx.err_style));
    eprintln!(
        "{} {label}: {} error(s) found by the guards; nothing was planned or changed.",
        ctx.err_style.red(&ctx.err_style.bold("Refused.")),
        findings::count(found, Severity::Error)
    );
    Exit::Refused
}

fn remove_if_present(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "could not remove the previous plan");
    }
}

pub async fn run(ctx: &Context, args: &PlanArgs) -> Result<Exit> {
    let loaded = Loaded::load(ctx, &args.target)?;
    let target = loaded.target();
    let planned = loaded.plan(ctx).await?;
    let default_path = default_plan_path(ctx, &target);
    let plan = match planned {
        Planned::Plan(plan) => plan,
        Planned::Refused(found) => {
            remove_if_present(&default_path);
            if let Some(out) = &args.out {
                remove_if_present(out);
            }
            return Ok(report_refusal(ctx, &target.label(), &found));
        }
    };
    let path = match &args.out {
        Some(out) => out.clone(),
        None => {
            ctx.project.ensure_state_dir()?;
            default_path
        }
    };
    plan_file::save(&plan, &path).map_err(|e| UserError::new(e.to_string()))?;
    match args.format {
        PlanFormat::Json => {
            let mut value =
                serde_json::to_value(&*plan).map_err(|e| UserError::new(e.to_string()))?;
            if let Some(map) = value.as_object_mut() {
                map.insert(
                    "summary".into(),
                    serde_json::to_value(plan.summary()).unwrap_or_default(),
                );
                let destructive: Vec<serde_json::Value> = plan
                    .destructive()
                    .into_iter()
                    .map(|(verb, address)| {
                        serde_json::json!({"action": verb, "address": address.to_string()})
                    })
                    .collect();
                map.insert("destructive".into(), destructive.into());
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        }
        PlanFormat::Human => {
            let options = render_plan::Options {
                style: ctx.style,
                verbose: ctx.verbose,
            };
            print!("{}", render_plan::render(&plan, &options));
            let shown = ctx.project.display(&path);
            if plan.has_changes() {
                println!(
                    "\nSaved the plan to {}. Apply it with: kmsctl apply {}",
                    shown.display(),
                    shown.display()
                );
            }
        }
    }
    Ok(match (args.detailed_exitcode, plan.has_changes()) {
        (true, true) => Exit::Changes,
        _ => Exit::Ok,
    })
}
