//! `kmsctl apply [PLAN | TARGET]`: carry out a plan's changes, in dependency order.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use kmsctl_core::{Outputs, Plan, Target, plan_file};
use kmsctl_keys::Scope;

use super::Context;
use super::plan::{Loaded, Planned, connect, default_plan_path, report_refusal};
use crate::cli::ApplyArgs;
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::lock;
use crate::progress::Progress;
use crate::render::plan as render_plan;

pub async fn run(ctx: &Context, args: &ApplyArgs) -> Result<Exit> {
    match &args.plan_or_target {
        None => {
            let path = latest_plan(ctx)?;
            apply_saved(ctx, &path).await
        }
        Some(arg) if Path::new(arg).is_file() => apply_saved(ctx, Path::new(arg)).await,
        Some(target) => apply_target(ctx, target, args.auto_approve).await,
    }
}

/// The most recently saved plan under `.kmsctl/`.
fn latest_plan(ctx: &Context) -> Result<PathBuf> {
    let dir = ctx.project.state_dir();
    let entries = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok());
    entries
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".plan.json"))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, path)| path)
        .ok_or_else(|| {
            UserError::new("there is no saved plan to apply")
                .help("make one first: kmsctl plan env/NAME")
        })
}

pub fn lock_for(ctx: &Context, target: &Target) -> Result<lock::TargetLock> {
    let path = ctx
        .project
        .state_dir()
        .join(format!("{}.lock", target.file_stem()));
    let lock = lock::acquire(&path, &target.label())?;
    if let Some(holder) = &lock.stale {
        eprintln!(
            "{} the previous apply of {} ({holder}) ended without releasing its lock: its changes may be half done; this run picks up from what is live.",
            ctx.err_style.yellow("Note:"),
            target.label()
        );
    }
    Ok(lock)
}

async fn apply_saved(ctx: &Context, path: &Path) -> Result<Exit> {
    let plan = plan_file::load(path).map_err(|e| UserError::new(e.to_string()))?;
    let label = plan.target.label();
    println!(
        "Applying the saved plan {} for {label} (made {}).",
        ctx.project.display(path).display(),
        plan.created_at
    );
    let _lock = lock_for(ctx, &plan.target)?;
    let session = connect(ctx, &plan.target).await?;
    let appliers = Appliers::for_target(ctx, &plan.target, &session);
    check_not_stale(ctx, &plan, &appliers).await?;
    let exit = execute(ctx, &plan, &appliers).await;
    if exit == Exit::Ok {
        let _ = std::fs::remove_file(path);
    }
    Ok(exit)
}

/// Observes again what the plan touches and refuses if anything moved since it was made.
async fn check_not_stale(ctx: &Context, plan: &Plan, appliers: &Appliers) -> Result<()> {
    let moved = match appliers {
        Appliers::Environment(clients) => {
            let mut moved = moved_keys(ctx, plan, &clients.keys).await?;
            moved.extend(moved_monitoring(ctx, plan, &clients.monitor).await?);
            if let Some(hsm) = &clients.hsm {
                moved.extend(moved_hsm(plan, hsm).await?);
            }
            moved
        }
        Appliers::Organization(client) => {
            let now = super::organization::current_fingerprint(ctx, client).await?;
            plan.observed
                .iter()
                .filter(|o| o.fingerprint.as_deref() != Some(now.as_str()))
                .map(|o| o.address.to_string())
                .collect()
        }
    };
    if moved.is_empty() {
        return Ok(());
    }
    Err(UserError::new(format!(
        "the plan is stale: {} changed in AWS since the plan was made ({}); nothing was changed",
        moved.join(", "),
        plan.created_at
    ))
    .help(format!(
        "make a new plan: kmsctl plan {}",
        plan.target.label()
    )))
}

/// The planned KMS resources whose live state moved since the plan.
async fn moved_keys(
    ctx: &Context,
    plan: &Plan,
    clients: &kmsctl_keys::KmsClients,
) -> Result<Vec<String>> {
    let scope: Scope = match plan.scope.get(kmsctl_keys::DOMAIN) {
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| UserError::new(format!("the plan's scope is unreadable: {e}")))?,
        None => Scope::default(),
    };
    let planned: Vec<&kmsctl_core::Observed> = plan
        .observed
        .iter()
        .filter(|o| kmsctl_keys::owns(&o.address.kind))
        .collect();
    if planned.is_empty() {
        return Ok(vec![]);
    }
    // Only what the plan touches, and every tag read consistently: the tagging API may lag.
    let names: BTreeSet<&str> = planned.iter().map(|o| o.address.name.as_str()).collect();
    let scope = scope.restricted_to(&names);
    let observation = kmsctl_keys::observe(
        clients,
        &scope,
        kmsctl_keys::Options::recheck(ctx.parallelism),
    )
    .await
    .map_err(|e| UserError::new(format!("reading {} failed: {e}", plan.target.label())))?;
    let touched = planned.iter().map(|o| &o.address).collect();
    let prints = kmsctl_keys::fingerprints(&scope, &observation, &touched);
    Ok(planned
        .iter()
        .filter(|o| prints.get(&o.address).cloned().flatten() != o.fingerprint)
        .map(|o| o.address.to_string())
        .collect())
}

/// The planned monitoring resources whose live state moved since the plan.
async fn moved_monitoring(
    ctx: &Context,
    plan: &Plan,
    clients: &kmsctl_monitor::Clients,
) -> Result<Vec<String>> {
    let planned: Vec<&kmsctl_core::Observed> = plan
        .observed
        .iter()
        .filter(|o| kmsctl_monitor::owns(&o.address.kind))
        .collect();
    let Some(scope) = plan.scope.get(kmsctl_monitor::DOMAIN) else {
        return Ok(vec![]);
    };
    if planned.is_empty() {
        return Ok(vec![]);
    }
    let scope: kmsctl_monitor::Scope = serde_json::from_value(scope.clone())
        .map_err(|e| UserError::new(format!("the plan's scope is unreadable: {e}")))?;
    let observed = kmsctl_monitor::observe(clients, &scope, ctx.parallelism)
        .await
        .map_err(|e| UserError::new(format!("reading {} failed: {e}", plan.target.label())))?;
    let prints = observed.fingerprints();
    Ok(planned
        .iter()
        .filter(|o| prints.get(&o.address) != o.fingerprint.as_ref())
        .map(|o| o.address.to_string())
        .collect())
}

/// The planned CloudHSM resources whose live state moved since the plan.
async fn moved_hsm(plan: &Plan, clients: &kmsctl_hsm::Clients) -> Result<Vec<String>> {
    let planned: Vec<&kmsctl_core::Observed> = plan
        .observed
        .iter()
        .filter(|o| kmsctl_hsm::owns(&o.address.kind))
        .collect();
    let Some(scope) = plan.scope.get(kmsctl_hsm::DOMAIN) else {
        return Ok(vec![]);
    };
    if planned.is_empty() {
        return Ok(vec![]);
    }
    let scope: kmsctl_hsm::Scope = serde_json::from_value(scope.clone())
        .map_err(|e| UserError::new(format!("the plan's scope is unreadable: {e}")))?;
    let observed = kmsctl_hsm::observe(clients, &scope)
        .await
        .map_err(|e| UserError::new(format!("reading {} failed: {e}", plan.target.label())))?;
    let prints = observed.fingerprints(&scope);
    Ok(planned
        .iter()
        .filter(|o| prints.get(&o.address) != o.fingerprint.as_ref())
        .map(|o| o.address.to_string())
        .collect())
}

/// Whether the environment a plan targets declares CloudHSM (its folder holds a `[hsm]` table).
fn target_has_hsm(ctx: &Context, target: &Target) -> bool {
    std::fs::read_dir(ctx.project.root.join(&target.path))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("[hsm.")))
}

/// The clients that carry out a target's changes.
pub enum Appliers {
    /// An environment: its keys, monitoring and CloudHSM.
    Environment(Box<super::plan::EnvClients>),
    Organization(kmsctl_org::Client),
}

impl Appliers {
    fn for_target(ctx: &Context, target: &Target, session: &kmsctl_aws::Session) -> Self {
        if target.kind == super::organization::TARGET {
            Self::Organization(kmsctl_org::client(session))
        } else {
            let hsm = target_has_hsm(ctx, target);
            Self::Environment(Box::new(super::plan::EnvClients::new(ctx, session, hsm)))
        }
    }

    async fn apply(
        &self,
        change: &kmsctl_core::ResourceChange,
        outputs: &Outputs,
    ) -> std::result::Result<std::collections::BTreeMap<String, String>, String> {
        match self {
            Self::Environment(clients) if kmsctl_keys::owns(&change.address.kind) => {
                kmsctl_keys::apply_change(&clients.keys, change, outputs)
                    .await
                    .map_err(|e| e.to_string())
            }
            Self::Environment(clients) if kmsctl_monitor::owns(&change.address.kind) => {
                kmsctl_monitor::apply_change(&clients.monitor, change, outputs)
                    .await
                    .map_err(|e| e.to_string())
            }
            Self::Environment(clients) if kmsctl_hsm::owns(&change.address.kind) => {
                match &clients.hsm {
                    Some(hsm) => kmsctl_hsm::apply_change(hsm, change, outputs)
                        .await
                        .map_err(|e| e.to_string()),
                    None => Err(
                        "the plan holds CloudHSM changes, and the environment declares no hsm.toml"
                            .into(),
                    ),
                }
            }
            Self::Organization(client) if kmsctl_org::owns(&change.address.kind) => {
                kmsctl_org::ops::apply_change(client, change, outputs)
                    .await
                    .map_err(|e| e.to_string())
            }
            _ => Err(format!(
                "no domain of this kmsctl applies {} resources to this target",
                change.address.kind
            )),
        }
    }
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
    let appliers = Appliers::for_target(ctx, &plan.target, &session);
    let exit = execute(ctx, &plan, &appliers).await;
    if exit == Exit::Ok {
        // A plan saved earlier for this target no longer describes what is live.
        let _ = std::fs::remove_file(default_plan_path(ctx, &plan.target));
    }
    Ok(exit)
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

/// Applies every change in dependency order; stops at the first failure and says what was and
/// was not applied. A rerun of plan/apply picks up from there.
pub async fn execute(ctx: &Context, plan: &Plan, appliers: &Appliers) -> Exit {
    let label = plan.target.label();
    let order = match plan.apply_order() {
        Ok(order) => order,
        Err(error) => {
            eprintln!(
                "{} the plan cannot be ordered: {error}; nothing was changed",
                ctx.err_style.red("Error:")
            );
            return Exit::Error;
        }
    };
    if order.is_empty() {
        println!("No changes. {label} matches its configuration.");
        return Exit::Ok;
    }
    let progress = Progress::new(order.len());
    let mut outputs = Outputs::new();
    let mut applied = Vec::new();
    for (position, &index) in order.iter().enumerate() {
        let change = &plan.changes[index];
        progress.start(change);
        let started = Instant::now();
        let result = appliers.apply(change, &outputs).await;
        match result {
            Ok(produced) => {
                progress.done(change, started.elapsed(), &produced);
                outputs.insert(change.address.clone(), produced);
                applied.push(change.address.to_string());
            }
            Err(error) => {
                progress.finish();
                let style = ctx.err_style;
                eprintln!(
                    "\n{} {}: {error}",
                    style.red(&style.bold("Error:")),
                    change.address
                );
                eprintln!(
                    "\nApplied ({}): {}",
                    applied.len(),
                    if applied.is_empty() {
                        "none".into()
                    } else {
                        applied.join(", ")
                    }
                );
                let left: Vec<String> = order[position..]
                    .iter()
                    .map(|&i| plan.changes[i].address.to_string())
                    .collect();
                eprintln!("Not applied ({}): {}", left.len(), left.join(", "));
                eprintln!(
                    "\nFix the cause, then run `kmsctl plan {label}` again: it picks up from what was applied."
                );
                return Exit::Error;
            }
        }
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
