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
    let mut plan = match planned {
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
    // With a backend, the plan is stored by id and who stored it is recorded (dual control).
    // A pull request's read-only role may not reach or write the bucket: the local plan stands.
    let backend = match plan.has_changes() {
        true => kmsctl_engine::team::project_file(ctx)?.backend.is_some(),
        false => false,
    };
    let me = match backend {
        true => Some(kmsctl_engine::team::whoami(ctx, &target.region).await?),
        false => None,
    };
    plan.planned_by.clone_from(&me);
    plan_file::save(&plan, &path).map_err(|e| UserError::new(e.to_string()))?;
    let stored_id = match me {
        Some(me) => match store(ctx, &target, &path, me).await {
            Ok(stored) => Some(stored),
            Err(error) => {
                eprintln!(
                    "{} the plan is saved locally only; storing it in the backend failed: {}",
                    ctx.err_style.yellow("Warning:"),
                    error.message
                );
                None
            }
        },
        None => None,
    };
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
                if let Some((id, _)) = &stored_id {
                    map.insert("plan_id".into(), id.clone().into());
                }
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
            let needing = super::team::print_needing(ctx, &plan)?;
            match &stored_id {
                Some((id, at)) => {
                    let label = target.label();
                    println!(
                        "\nSaved the plan to {} and to {at} as plan {id}. Apply it from any clone with:\n  kmsctl apply {label} --plan-id {id}",
                        shown.display()
                    );
                    if needing > 0 {
                        println!(
                            "It needs an approval first, by someone other than you and who applies it:\n  kmsctl approve {label} --plan-id {id}"
                        );
                    }
                }
                None if plan.has_changes() => {
                    println!(
                        "\nSaved the plan to {}. Apply it with: kmsctl apply {}",
                        shown.display(),
                        shown.display()
                    );
                }
                None => {}
            }
        }
    }
    Ok(match (args.detailed_exitcode, plan.has_changes()) {
        (true, true) => Exit::Changes,
        _ => Exit::Ok,
    })
}

/// Stores the saved plan in the backend and records its planner there (under their own
/// credentials); returns its id and where it is.
async fn store(
    ctx: &Context,
    target: &kmsctl_core::Target,
    path: &Path,
    me: kmsctl_core::Identity,
) -> Result<(String, String)> {
    let label = target.label();
    let backend = kmsctl_engine::team::require_backend(ctx, &target.region, "plan").await?;
    let bytes =
        std::fs::read(path).map_err(|e| UserError::new(format!("{}: {e}", path.display())))?;
    let id = kmsctl_backend::plans::save(&backend.store, &label, &bytes)
        .await
        .map_err(|e| UserError::new(e.to_string()))?;
    let signing = kmsctl_engine::team::signing_store(ctx, &backend, &target.region).await?;
    let record = kmsctl_backend::Approval::new(&label, &id, me);
    kmsctl_backend::approvals::record_as(&signing, kmsctl_backend::Signer::Planner, &record)
        .await
        .map_err(|e| UserError::new(format!("recording you as its planner failed: {e}")))?;
    Ok((id, backend.store.describe()))
}
