//! `kmsctl apply [PLAN | TARGET]`: carry out a plan's changes, in dependency order.

use std::path::Path;
use std::time::Instant;

use kmsctl_core::{Plan, Target};
use kmsctl_engine::apply::{Appliers, Argument, Settled, classify, latest_plan};
use kmsctl_engine::lock::Held;
use kmsctl_engine::plan::Loaded;
use kmsctl_engine::target::{Planned, connect, default_plan_path};
use kmsctl_engine::team::{self, Source};

use super::Context;
use super::plan::report_refusal;
use crate::cli::ApplyArgs;
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::progress::Progress;
use crate::render::plan as render_plan;

pub async fn run(ctx: &Context, args: &ApplyArgs) -> Result<Exit> {
    if let (Some(id), Some(target)) = (&args.plan_id, &args.plan_or_target) {
        return super::team::apply_stored(ctx, target, id).await;
    }
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
pub async fn lock_for(ctx: &Context, target: &Target) -> Result<Held> {
    let lock = kmsctl_engine::apply::lock_for(ctx, target).await?;
    note_stale(ctx, &target.label(), &lock);
    Ok(lock)
}

pub fn note_stale(ctx: &Context, label: &str, lock: &Held) {
    if let Some(holder) = lock.taken_over() {
        eprintln!(
            "{} the previous apply of {label} ({holder}) ended without releasing its lock: its changes may be half done; this run picks up from what is live.",
            ctx.err_style.yellow("Note:"),
        );
    }
}

/// Releases the lock at the end of a run; says so when it could not be released as held.
pub async fn release(ctx: &Context, lock: Held) {
    if let Some(warning) = lock.release().await {
        eprintln!("{} {warning}", ctx.err_style.yellow("Warning:"));
    }
}

/// Dual control on the plan about to be applied (recomputed, never as a file says).
pub fn approval_gate(
    ctx: &Context,
    plan: &Plan,
    source: &Source<'_>,
    applier: Option<&kmsctl_core::Identity>,
) -> Result<Option<kmsctl_core::Identity>> {
    let required = team::required(ctx)?;
    if team::needing_approval(plan, &required).is_empty() {
        return Ok(None);
    }
    let has_backend = team::project_file(ctx)?.backend.is_some();
    team::gate(plan, &required, has_backend, source, applier).map_err(|error| UserError {
        // Refused by dual control, like a guard: nothing was changed.
        exit: Exit::Refused,
        ..UserError::from(error)
    })
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
    let exit = apply_rechecked(ctx, &saved.label, rechecked, &Source::Local, None).await?;
    if exit == Exit::Ok {
        let _ = std::fs::remove_file(path);
    }
    Ok(exit)
}

/// Applies a saved plan the engine rechecked, under its lock, once dual control lets it.
pub async fn apply_rechecked(
    ctx: &Context,
    label: &str,
    rechecked: kmsctl_engine::apply::Rechecked,
    source: &Source<'_>,
    applier: Option<&kmsctl_core::Identity>,
) -> Result<Exit> {
    let kmsctl_engine::apply::Rechecked {
        loaded,
        planned,
        lock,
    } = rechecked;
    note_stale(ctx, label, &lock);
    let plan = match planned {
        Planned::Plan(plan) => plan,
        Planned::Refused(found) => {
            release(ctx, lock).await;
            return Ok(report_refusal(ctx, label, &found));
        }
    };
    let options = render_plan::Options {
        style: ctx.style,
        verbose: ctx.verbose,
    };
    print!("{}", render_plan::render(&plan, &options));
    let approved = match approval_gate(ctx, &plan, source, applier) {
        Ok(approved) => approved,
        Err(error) => {
            release(ctx, lock).await;
            return Err(error);
        }
    };
    if let Some(approver) = approved {
        println!("Approved by {} (dual control).", approver.arn);
    }
    let exit = match connect(ctx, &plan.target).await {
        Ok(session) => {
            let appliers = Appliers::for_target(ctx, &loaded, &session);
            execute(ctx, &plan, &appliers, Some(&lock)).await
        }
        Err(error) => {
            release(ctx, lock).await;
            return Err(error.into());
        }
    };
    if exit == Exit::Ok {
        settle(ctx, &loaded, &plan).await;
    }
    release(ctx, lock).await;
    Ok(exit)
}

async fn apply_target(ctx: &Context, target: &str, auto_approve: bool) -> Result<Exit> {
    let loaded = Loaded::load(ctx, target)?;
    let target = loaded.target();
    let label = target.label();
    let lock = lock_for(ctx, &target).await?;
    let exit = plan_and_apply(ctx, &loaded, &label, auto_approve, &lock).await;
    release(ctx, lock).await;
    exit
}

async fn plan_and_apply(
    ctx: &Context,
    loaded: &Loaded,
    label: &str,
    auto_approve: bool,
    lock: &Held,
) -> Result<Exit> {
    let plan = match loaded.plan(ctx).await? {
        Planned::Plan(plan) => plan,
        Planned::Refused(found) => return Ok(report_refusal(ctx, label, &found)),
    };
    let options = render_plan::Options {
        style: ctx.style,
        verbose: ctx.verbose,
    };
    print!("{}", render_plan::render(&plan, &options));
    if !plan.has_changes() {
        return Ok(Exit::Ok);
    }
    approval_gate(ctx, &plan, &Source::Local, None)?;
    if !auto_approve && !confirm(label).await? {
        println!("Apply cancelled; nothing was changed.");
        return Ok(Exit::Ok);
    }
    let session = connect(ctx, &plan.target).await?;
    let appliers = Appliers::for_target(ctx, loaded, &session);
    let exit = execute(ctx, &plan, &appliers, Some(lock)).await;
    if exit == Exit::Ok {
        // A plan saved earlier for this target no longer describes what is live.
        let _ = std::fs::remove_file(default_plan_path(ctx, &plan.target));
        settle(ctx, loaded, &plan).await;
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

/// Asks for "yes" before applying to `label`.
pub async fn confirm(label: &str) -> Result<bool> {
    let without_terminal = UserError::new(format!(
        "apply {label} needs confirmation, and standard input is not a terminal"
    ))
    .help(format!(
        "review the plan above, then run: kmsctl apply {label} --auto-approve"
    ));
    super::prompt::yes(
        &format!("Do you want to perform these actions on {label}?"),
        without_terminal,
    )
    .await
}

/// Applies every change in dependency order, independent changes side by side (at most the
/// appliers' concurrency; `kmsctl_engine::schedule`); at the first failure it starts nothing
/// more, lets the changes in flight finish, and says what was and was not applied. A rerun of
/// plan/apply picks up from there.
///
/// A change is started only while this run holds the target's lock: a lease lost (taken over
/// after it expired, or released by hand) starts nothing more.
pub async fn execute(ctx: &Context, plan: &Plan, appliers: &Appliers, lock: Option<&Held>) -> Exit {
    let label = plan.target.label();
    if plan.changes.is_empty() {
        println!("No changes. {label} matches its configuration.");
        return Exit::Ok;
    }
    let progress = Progress::new(plan.changes.len());
    let limit = appliers.concurrency(ctx.parallelism);
    let label = &label;
    let applied = kmsctl_engine::schedule::apply_changes(
        plan,
        limit,
        &progress,
        |change, known| async move {
            if let Some(why) = lock.and_then(Held::lost) {
                return Err(format!(
                    "not started: this run no longer holds the lock of {label} ({why})"
                ));
            }
            appliers.apply(change, &known).await
        },
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
