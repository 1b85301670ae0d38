//! `kmsctl apply [PLAN | TARGET]`: carry out a plan's changes, in dependency order.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use kmsctl_core::{Plan, Target};
use kmsctl_engine::apply::{Appliers, Argument, Settled, classify, latest_plan};
use kmsctl_engine::lock::TargetLock;
use kmsctl_engine::plan::Loaded;
use kmsctl_engine::target::{Planned, connect, default_plan_path};

use super::Context;
use super::plan::report_refusal;
use crate::cli::ApplyArgs;
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::progress::Progress;
use crate::render::plan as render_plan;

pub async fn run(ctx: &Context, args: &ApplyArgs) -> Result<Exit> {
    if let Some(plan) = &args.plan {
        return apply_saved(ctx, plan).await;
    }
    match args.plan_or_target.as_deref().map(classify) {
        None => {
            let path = latest_plan(ctx)?;
            apply_saved(ctx, &path).await
        }
        Some(Argument::Plan(path)) => apply_saved(ctx, &path).await,
        Some(Argument::Target(target)) => apply_target(ctx, &target, args.auto_approve).await,
    }
}

/// Takes the target's lock; says so when a previous run left it behind.
pub fn lock_for(ctx: &Context, target: &Target) -> Result<TargetLock> {
    let lock = kmsctl_engine::apply::lock_for(ctx, target)?;
    note_stale(ctx, &target.label(), &lock);
    Ok(lock)
}

fn note_stale(ctx: &Context, label: &str, lock: &TargetLock) {
    if let Some(holder) = &lock.stale {
        eprintln!(
            "{} the previous apply of {label} ({holder}) ended without releasing its lock: its changes may be half done; this run picks up from what is live.",
            ctx.err_style.yellow("Note:"),
        );
    }
}

/// Applies a saved plan only if the engine confirms it is exactly what the files and AWS
/// produce now (see `kmsctl_engine::apply::recheck_saved`).
async fn apply_saved(ctx: &Context, path: &Path) -> Result<Exit> {
    let saved = kmsctl_engine::apply::read_saved(ctx, path)?;
    let shown = ctx.project.display(path);
    println!(
        "Checking the saved plan {} for {} (made {}) against the files and AWS.",
        shown.display(),
        saved.label,
        saved.plan.created_at
    );
    let rechecked = kmsctl_engine::apply::recheck_saved(ctx, &saved).await?;
    note_stale(ctx, &saved.label, &rechecked.lock);
    let plan = match rechecked.planned {
        Planned::Plan(plan) => plan,
        Planned::Refused(found) => return Ok(report_refusal(ctx, &saved.label, &found)),
    };
    let options = render_plan::Options {
        style: ctx.style,
        verbose: ctx.verbose,
    };
    print!("{}", render_plan::render(&plan, &options));
    let session = connect(ctx, &plan.target).await?;
    let appliers = Appliers::for_target(ctx, &rechecked.loaded, &session);
    let exit = execute(ctx, &plan, &appliers).await;
    if exit == Exit::Ok {
        let _ = std::fs::remove_file(path);
        settle(ctx, &rechecked.loaded, &plan).await;
    }
    Ok(exit)
}

async fn apply_target(ctx: &Context, target: &str, auto_approve: bool) -> Result<Exit> {
    let loaded = Loaded::load(ctx, target)?;
    let target = loaded.target();
    let label = target.label();
    let _lock = lock_for(ctx, &target)?;
    let plan = match loaded.plan(ctx).await? {
        Planned::Plan(plan) => plan,
        Planned::Refused(found) => return Ok(report_refusal(ctx, &label, &found)),
    };
    let options = render_plan::Options {
        style: ctx.style,
        verbose: ctx.verbose,
    };
    print!("{}", render_plan::render(&plan, &options));
    if !plan.has_changes() {
        return Ok(Exit::Ok);
    }
    if !auto_approve && !confirm(&label)? {
        println!("Apply cancelled; nothing was changed.");
        return Ok(Exit::Ok);
    }
    let session = connect(ctx, &plan.target).await?;
    let appliers = Appliers::for_target(ctx, &loaded, &session);
    let exit = execute(ctx, &plan, &appliers).await;
    if exit == Exit::Ok {
        // A plan saved earlier for this target no longer describes what is live.
        let _ = std::fs::remove_file(default_plan_path(ctx, &plan.target));
        settle(ctx, &loaded, &plan).await;
    }
    Ok(exit)
}

/// Waits until AWS shows what was applied, so that the next plan is clean; says so when it
/// does not within the propagation timeout (the writes were made: this is not a failure).
async fn settle(ctx: &Context, loaded: &Loaded, plan: &Plan) {
    if plan.changes.is_empty() {
        return;
    }
    let started = Instant::now();
    match kmsctl_engine::apply::wait_settled(ctx, loaded, plan).await {
        Settled::Shown => {
            tracing::info!(waited = ?started.elapsed(), "AWS shows every change applied");
        }
        Settled::Unconfirmed(error) => eprintln!(
            "{} the changes were applied; the plan made to confirm that AWS shows them failed: {error}",
            ctx.err_style.yellow("Warning:"),
        ),
        Settled::NotYet(pending) => eprintln!(
            "{} after {}s AWS does not show all that was applied yet: {}. The writes were accepted; the next plan may show these again until AWS catches up (run it later, or raise --propagation-timeout).",
            ctx.err_style.yellow("Warning:"),
            started.elapsed().as_secs(),
            pending.join("; ")
        ),
    }
}

pub fn confirm(label: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(UserError::new(format!(
            "apply {label} needs confirmation, and standard input is not a terminal"
        ))
        .help(format!(
            "review the plan above, then run: kmsctl apply {label} --auto-approve"
        )));
    }
    eprint!("\nDo you want to perform these actions on {label}? Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| UserError::new(format!("cannot read the answer: {e}")))?;
    Ok(answer.trim() == "yes")
}

/// Applies every change in dependency order, independent changes side by side (at most the
/// appliers' concurrency; `kmsctl_engine::schedule`); at the first failure it starts nothing
/// more, lets the changes in flight finish, and says what was and was not applied. A rerun of
/// plan/apply picks up from there.
pub async fn execute(ctx: &Context, plan: &Plan, appliers: &Appliers) -> Exit {
    let label = plan.target.label();
    if plan.changes.is_empty() {
        println!("No changes. {label} matches its configuration.");
        return Exit::Ok;
    }
    let progress = Progress::new(plan.changes.len());
    let limit = appliers.concurrency(ctx.parallelism);
    let applied = kmsctl_engine::schedule::apply_changes(
        plan,
        limit,
        &progress,
        |change, known| async move { appliers.apply(change, &known).await },
    )
    .await;
    let applied = match applied {
        Ok(applied) => applied,
        Err(error) => {
            progress.finish();
            eprintln!(
                "{} the plan cannot be ordered: {error}; nothing was changed",
                ctx.err_style.red("Error:")
            );
            return Exit::Error;
        }
    };
    if !applied.failed.is_empty() {
        progress.finish();
        let style = ctx.err_style;
        let address = |i: &usize| plan.changes[*i].address.to_string();
        for (index, error) in &applied.failed {
            eprintln!(
                "\n{} {}: {error}",
                style.red(&style.bold("Error:")),
                address(index)
            );
        }
        let done: Vec<String> = applied.done.iter().map(address).collect();
        eprintln!(
            "\nApplied ({}): {}",
            done.len(),
            if done.is_empty() {
                "none".into()
            } else {
                done.join(", ")
            }
        );
        let left: Vec<String> = applied
            .failed
            .iter()
            .map(|(i, _)| i)
            .chain(&applied.not_started)
            .map(address)
            .collect();
        eprintln!("Not applied ({}): {}", left.len(), left.join(", "));
        eprintln!(
            "\nFix the cause, then run `kmsctl plan {label}` again: it picks up from what was applied."
        );
        return Exit::Error;
    }
    progress.finish();
    let summary = plan.summary();
    println!(
        "\n{} Resources: {} added, {} changed, {} destroyed{}.",
        ctx.style.green(&ctx.style.bold("Apply complete!")),
        summary.add,
        summary.change,
        summary.destroy,
        if summary.adopt > 0 {
            format!(", {} adopted", summary.adopt)
        } else {
            String::new()
        }
    );
    Exit::Ok
}
