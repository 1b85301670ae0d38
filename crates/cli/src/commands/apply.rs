//! `kmsctl apply [PLAN | TARGET]`: carry out a plan's changes, in dependency order.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use kmsctl_core::{Outputs, Plan, Target, plan_file};

use super::Context;
use super::plan::{Loaded, Planned, connect, default_plan_path, report_refusal};
use crate::cli::ApplyArgs;
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::lock;
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

/// What `kmsctl apply ARG` names.
#[derive(Debug, PartialEq, Eq)]
enum Argument {
    Plan(PathBuf),
    Target(String),
}

/// `env/NAME` and `organization` are always targets (a file of that name committed by someone
/// cannot turn them into a plan); a plan is a path ending in `.json`; anything else is an
/// environment folder.
fn classify(arg: &str) -> Argument {
    let is_target_name = arg == super::organization::TARGET || arg.starts_with("env/");
    if !is_target_name && arg.ends_with(".json") {
        Argument::Plan(PathBuf::from(arg))
    } else {
        Argument::Target(arg.to_owned())
    }
}

/// The most recently saved plan under `.kmsctl/` (regular files only: a symlink there is not a plan).
fn latest_plan(ctx: &Context) -> Result<PathBuf> {
    let dir = ctx.project.state_dir();
    let entries = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok());
    entries
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
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

/// The lock of a target: its name comes from the target the files define, never from a plan.
pub fn lock_for(ctx: &Context, target: &Target) -> Result<lock::TargetLock> {
    let path = ctx
        .project
        .ensure_state_dir()?
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

/// Applies a saved plan only if it is exactly what the current files and the live state
/// produce: the plan is recomputed by the code path of `plan`, and the saved file only confirms
/// what the operator reviewed. Nothing in it is trusted: its target names which files to read,
/// and account, region and role come from those files.
async fn apply_saved(ctx: &Context, path: &Path) -> Result<Exit> {
    let saved = plan_file::load(path).map_err(|e| UserError::new(e.to_string()))?;
    let shown = ctx.project.display(path);
    if saved.kmsctl_version != env!("CARGO_PKG_VERSION") {
        return Err(UserError::new(format!(
            "{} was made by kmsctl {}, this is kmsctl {}: nothing was changed",
            shown.display(),
            saved.kmsctl_version,
            env!("CARGO_PKG_VERSION")
        ))
        .help("make the plan again with this kmsctl"));
    }
    let label = target_label(&saved.target)?;
    println!(
        "Checking the saved plan {} for {label} (made {}) against the files and AWS.",
        shown.display(),
        saved.created_at
    );
    let loaded = Loaded::load(ctx, &label)?;
    let target = loaded.target();
    same_target(&saved.target, &target)?;
    let _lock = lock_for(ctx, &target)?;
    unchanged_inputs(&saved, &ctx.project.files.digests())?;
    let plan = match loaded.plan(ctx).await? {
        Planned::Plan(plan) => plan,
        Planned::Refused(found) => return Ok(report_refusal(ctx, &label, &found)),
    };
    unchanged_inputs(&saved, &plan.inputs)?;
    same_changes(&saved, &plan)?;
    let options = render_plan::Options {
        style: ctx.style,
        verbose: ctx.verbose,
    };
    print!("{}", render_plan::render(&plan, &options));
    let session = connect(ctx, &plan.target).await?;
    let appliers = Appliers::for_target(ctx, &loaded, &session);
    let exit = execute(ctx, &plan, &appliers).await;
    if exit == Exit::Ok {
        let _ = std::fs::remove_file(path);
    }
    Ok(exit)
}

/// The target a plan names, as a user would type it; only the two kinds kmsctl plans, and a
/// name that is one folder.
fn target_label(target: &Target) -> Result<String> {
    let forged = || {
        UserError::new(format!(
            "the plan names a target kmsctl does not make plans for ({} {:?}): nothing was changed",
            target.kind, target.name
        ))
        .help("apply only plans made by kmsctl plan")
    };
    match target.kind.as_str() {
        "environment" => {
            let name = target.name.as_str();
            let one_folder = !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains(['/', '\\', '\0']);
            if one_folder {
                Ok(format!("env/{name}"))
            } else {
                Err(forged())
            }
        }
        kind if kind == super::organization::TARGET && target.name == kind => Ok(kind.to_owned()),
        _ => Err(forged()),
    }
}

/// Account, region, role and folder come from the files; a plan that says otherwise is refused.
fn same_target(saved: &Target, files: &Target) -> Result<()> {
    let fields = [
        ("account_id", &saved.account_id, &files.account_id),
        ("region", &saved.region, &files.region),
        ("path", &saved.path, &files.path),
    ];
    let role = (
        "assume_role_arn",
        saved.assume_role_arn.clone().unwrap_or_default(),
        files.assume_role_arn.clone().unwrap_or_default(),
    );
    let differs = fields
        .iter()
        .map(|(name, saved, files)| (*name, saved.as_str(), files.as_str()))
        .chain(std::iter::once((role.0, role.1.as_str(), role.2.as_str())))
        .find(|(_, saved, files)| saved != files);
    match differs {
        None => Ok(()),
        Some((name, saved_value, files_value)) => Err(UserError::new(format!(
            "the plan says {name} = {saved_value:?}, the files of {} say {files_value:?}: nothing was changed",
            files.label()
        ))
        .help(format!(
            "a saved plan cannot choose where it applies; make a new plan: kmsctl plan {}",
            files.label()
        ))),
    }
}

/// Refuses when a file the plan was made from changed, appeared or went away.
fn unchanged_inputs(saved: &Plan, now: &BTreeMap<String, String>) -> Result<()> {
    // Before planning, only the files read so far are compared; after, all of them.
    let changed: Vec<&str> = saved
        .inputs
        .iter()
        .filter(|(file, digest)| now.get(*file).is_some_and(|d| d != *digest))
        .map(|(file, _)| file.as_str())
        .chain(
            now.keys()
                .filter(|file| !saved.inputs.contains_key(*file))
                .map(String::as_str),
        )
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(UserError::new(format!(
        "the files changed since this plan was made ({}): nothing was changed",
        changed.join(", ")
    ))
    .help(format!(
        "review the change, then make a new plan: kmsctl plan {}",
        saved.target.label()
    )))
}

/// The recomputed plan must hold exactly the saved changes, observed in the same state.
fn same_changes(saved: &Plan, now: &Plan) -> Result<()> {
    let gone = saved
        .inputs
        .keys()
        .find(|file| !now.inputs.contains_key(*file));
    if let Some(file) = gone {
        return Err(UserError::new(format!(
            "the files changed since this plan was made ({file} is no longer read): nothing was changed"
        ))
        .help(format!("make a new plan: kmsctl plan {}", now.target.label())));
    }
    let moved: Vec<String> = now
        .observed
        .iter()
        .filter(|o| {
            saved
                .observed
                .iter()
                .find(|s| s.address == o.address)
                .is_some_and(|s| s.fingerprint != o.fingerprint)
        })
        .map(|o| o.address.to_string())
        .collect();
    if !moved.is_empty() {
        return Err(UserError::new(format!(
            "the plan is stale: {} changed in AWS since the plan was made ({}); nothing was changed",
            moved.join(", "),
            saved.created_at
        ))
        .help(format!("make a new plan: kmsctl plan {}", now.target.label())));
    }
    if saved.changes == now.changes && saved.observed == now.observed {
        return Ok(());
    }
    Err(UserError::new(format!(
        "the saved plan is not what the files and AWS give now: {}; nothing was changed",
        first_difference(saved, now)
    ))
    .help(format!(
        "a saved plan must be exactly what kmsctl plan makes; make a new one: kmsctl plan {}",
        now.target.label()
    )))
}

/// The first difference between the saved and the recomputed plan, for a person.
fn first_difference(saved: &Plan, now: &Plan) -> String {
    let describe = |change: &kmsctl_core::ResourceChange| {
        format!("{} ({:?})", change.address, change.action).to_lowercase()
    };
    for index in 0..saved.changes.len().max(now.changes.len()) {
        match (saved.changes.get(index), now.changes.get(index)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) if a.address != b.address || a.action != b.action => {
                return format!(
                    "change {} is {} in the saved plan, {} now",
                    index + 1,
                    describe(a),
                    describe(b)
                );
            }
            (Some(a), Some(b)) => {
                let part = if a.operations != b.operations {
                    "its API calls differ"
                } else if a.attributes != b.attributes {
                    "its attributes differ"
                } else if a.depends_on != b.depends_on {
                    "its dependencies differ"
                } else {
                    "its source location differs"
                };
                return format!("change {} ({}): {part}", index + 1, describe(a));
            }
            (Some(a), None) => {
                return format!(
                    "the saved plan has {} that the files and AWS do not call for",
                    describe(a)
                );
            }
            (None, Some(b)) => {
                return format!("the saved plan lacks {}", describe(b));
            }
            (None, None) => break,
        }
    }
    "the resources it observed differ".to_owned()
}

/// The clients that carry out a target's changes.
pub enum Appliers {
    /// An environment: its keys, monitoring and CloudHSM.
    Environment(Box<super::plan::EnvClients>),
    Organization(kmsctl_org::Client),
}

impl Appliers {
    fn for_target(ctx: &Context, loaded: &Loaded, session: &kmsctl_aws::Session) -> Self {
        match loaded {
            Loaded::Organization(..) => Self::Organization(kmsctl_org::client(session)),
            Loaded::Environment(prepared) => Self::Environment(Box::new(
                super::plan::EnvClients::new(ctx, session, prepared.hsm.is_some()),
            )),
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
    let appliers = Appliers::for_target(ctx, &loaded, &session);
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
