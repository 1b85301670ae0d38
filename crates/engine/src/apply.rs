//! What `kmsctl apply` decides before it changes anything: what its argument names, whether a
//! saved plan is still exactly what the files and AWS produce, the target's lock, and which
//! domain applies each change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kmsctl_core::{Outputs, Plan, Target, plan_file};

use kmsctl_core::domain::Domain;
use kmsctl_hsm::Hsm;
use kmsctl_keys::Keys;
use kmsctl_monitor::Monitor;
use kmsctl_org::Organization;

use crate::Context;
use crate::error::{Error, Result};
use crate::lock;
use crate::plan::Loaded;
use crate::target::Planned;

/// What `kmsctl apply ARG` names.
#[derive(Debug, PartialEq, Eq)]
pub enum Argument {
    Plan(PathBuf),
    Target(String),
}

/// `env/NAME` and `organization` are always targets (a file of that name committed by someone
/// cannot turn them into a plan); a plan is a path ending in `.json`; anything else is an
/// environment folder.
pub fn classify(arg: &str) -> Argument {
    let is_target_name = arg == crate::organization::TARGET || arg.starts_with("env/");
    if !is_target_name && arg.ends_with(".json") {
        Argument::Plan(PathBuf::from(arg))
    } else {
        Argument::Target(arg.to_owned())
    }
}

/// The most recently saved plan under `.kmsctl/` (regular files only: a symlink there is not a plan).
pub fn latest_plan(ctx: &Context) -> Result<PathBuf> {
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
            Error::new("there is no saved plan to apply")
                .help("make one first: kmsctl plan env/NAME")
        })
}

/// The lock of a target: its name comes from the target the files define, never from a plan.
/// With a backend, a lease in S3 every clone sees; else a file of this checkout. A lock left by
/// a run that ended without releasing it is taken over (`Held::taken_over` says by whom).
pub async fn lock_for(ctx: &Context, target: &Target) -> Result<lock::Held> {
    if let Some(backend) = crate::team::backend(ctx, &target.region).await? {
        let me = crate::team::whoami(ctx, &target.region).await?;
        let lease = backend.config.lease();
        let held = kmsctl_backend::lock::acquire(&backend.store, &target.label(), &me, lease)
            .await
            .map_err(|e| match e {
                // Their messages say what to do.
                kmsctl_backend::LockError::Held { .. }
                | kmsctl_backend::LockError::Unreadable { .. }
                | kmsctl_backend::LockError::Contended { .. } => Error::new(e.to_string()),
                _ => Error::new(e.to_string())
                    .help("check kmsctl.toml's [backend] and your access to the bucket"),
            })?;
        return Ok(lock::Held::Remote(Box::new(held)));
    }
    let path = ctx
        .project
        .ensure_state_dir()?
        .join(format!("{}.lock", target.file_stem()));
    lock::acquire(&path, &target.label()).map(lock::Held::Local)
}

/// A saved plan, read and checked for what needs no AWS call: made by this kmsctl, for a target
/// kmsctl plans.
pub struct Saved {
    pub plan: Plan,
    /// The target as a user types it (`env/prod`, `organization`).
    pub label: String,
}

pub fn read_saved(ctx: &Context, path: &Path) -> Result<Saved> {
    let plan = plan_file::load(path).map_err(|e| Error::new(e.to_string()))?;
    let shown = ctx.project.display(path);
    saved(plan, &shown.display().to_string())
}

/// A plan read from anywhere (`shown` names where, for messages), checked as [`read_saved`]
/// checks a file.
pub fn saved(plan: Plan, shown: &str) -> Result<Saved> {
    if plan.kmsctl_version != env!("CARGO_PKG_VERSION") {
        return Err(Error::new(format!(
            "{shown} was made by kmsctl {}, this is kmsctl {}: nothing was changed",
            plan.kmsctl_version,
            env!("CARGO_PKG_VERSION")
        ))
        .help("make the plan again with this kmsctl"));
    }
    let label = target_label(&plan.target)?;
    Ok(Saved { plan, label })
}

/// A saved plan confirmed against the files and AWS: the plan recomputed now (the one to apply),
/// under the target's lock.
pub struct Rechecked {
    pub loaded: Loaded,
    pub planned: Planned,
    pub lock: lock::Held,
}

/// Applies a saved plan only if it is exactly what the current files and the live state
/// produce: the plan is recomputed by the code path of `plan`, and the saved file only confirms
/// what the operator reviewed. Nothing in it is trusted: its target names which files to read,
/// and account, region and role come from those files.
pub async fn recheck_saved(ctx: &Context, saved: &Saved) -> Result<Rechecked> {
    let loaded = Loaded::load(ctx, &saved.label)?;
    let target = loaded.target();
    same_target(&saved.plan.target, &target)?;
    let lock = lock_for(ctx, &target).await?;
    let checked = async {
        unchanged_inputs(&saved.plan, &ctx.project.files.digests())?;
        let planned = loaded.plan(ctx).await?;
        if let Planned::Plan(plan) = &planned {
            unchanged_inputs(&saved.plan, &plan.inputs)?;
            same_changes(&saved.plan, plan)?;
        }
        Ok(planned)
    }
    .await;
    match checked {
        Ok(planned) => Ok(Rechecked {
            loaded,
            planned,
            lock,
        }),
        Err(error) => {
            // A backend's lock outlives this process unless released: a refused plan must not
            // leave the target locked (and the next apply told of a half-done run) for a lease.
            if let Some(warning) = lock.release().await {
                tracing::warn!("{warning}");
            }
            Err(error)
        }
    }
}

/// The target a plan names, as a user would type it; only the two kinds kmsctl plans, and a
/// name that is one folder.
fn target_label(target: &Target) -> Result<String> {
    let forged = || {
        Error::new(format!(
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
        kind if kind == crate::organization::TARGET && target.name == kind => Ok(kind.to_owned()),
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
        Some((name, saved_value, files_value)) => Err(Error::new(format!(
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
    Err(Error::new(format!(
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
        return Err(Error::new(format!(
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
        return Err(Error::new(format!(
            "the plan is stale: {} changed in AWS since the plan was made ({}); nothing was changed",
            moved.join(", "),
            saved.created_at
        ))
        .help(format!("make a new plan: kmsctl plan {}", now.target.label())));
    }
    if saved.changes == now.changes && saved.observed == now.observed {
        return Ok(());
    }
    Err(Error::new(format!(
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
    Environment(Box<crate::plan::EnvClients>),
    Organization(kmsctl_org::Clients),
}

impl Appliers {
    pub fn for_target(ctx: &Context, loaded: &Loaded, session: &kmsctl_aws::Session) -> Self {
        match loaded {
            Loaded::Organization(..) => Self::Organization(kmsctl_org::client(session)),
            Loaded::Environment(prepared) => Self::Environment(Box::new(
                crate::plan::EnvClients::new(ctx, session, prepared.hsm.is_some()),
            )),
        }
    }

    /// How many changes apply makes at once: Organizations answers concurrent writes with
    /// ConcurrentModificationException, so its changes go one at a time.
    pub fn concurrency(&self, parallelism: usize) -> usize {
        match self {
            Self::Organization(_) => 1,
            Self::Environment(_) => parallelism.clamp(1, 16),
        }
    }

    /// Hands the change to the domain that owns its kind.
    pub async fn apply(
        &self,
        change: &kmsctl_core::ResourceChange,
        outputs: &Outputs,
    ) -> std::result::Result<BTreeMap<String, String>, String> {
        let kind = change.address.kind.as_str();
        match self {
            Self::Environment(clients) if Keys::owns(kind) => {
                apply_with::<Keys>(&clients.keys, change, outputs).await
            }
            Self::Environment(clients) if Monitor::owns(kind) => {
                apply_with::<Monitor>(&clients.monitor, change, outputs).await
            }
            Self::Environment(clients) if Hsm::owns(kind) => match &clients.hsm {
                Some(hsm) => apply_with::<Hsm>(hsm, change, outputs).await,
                None => Err(
                    "the plan holds CloudHSM changes, and the environment declares no hsm.toml"
                        .into(),
                ),
            },
            Self::Organization(client) if Organization::owns(kind) => {
                apply_with::<Organization>(client, change, outputs).await
            }
            _ => Err(format!(
                "no domain of this kmsctl applies {kind} resources to this target"
            )),
        }
    }
}

async fn apply_with<D: Domain>(
    clients: &D::Clients,
    change: &kmsctl_core::ResourceChange,
    outputs: &Outputs,
) -> std::result::Result<BTreeMap<String, String>, String> {
    D::apply_change(clients, change, outputs)
        .await
        .map_err(|e| e.to_string())
}

/// What the plan right after an apply shows of the changes it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// AWS shows every change: the next plan has none of them.
    Shown,
    /// After the propagation timeout, AWS still does not show these (addresses, or the
    /// findings that refuse the plan).
    NotYet(Vec<String>),
    /// The plan made to confirm failed (AWS's words): nothing is known.
    Unconfirmed(String),
}

/// Clean plans in a row that count as shown: reads reach different hosts, and one fresh answer
/// can be followed by a stale one (terraform-provider-aws waits for several in a row,
/// `ContinuousTargetOccurence`).
const CLEAN_IN_A_ROW: u32 = 2;

/// Waits until AWS shows what apply wrote: plans again (the code path of `plan`) until
/// [`CLEAN_IN_A_ROW`] plans in a row have none of the applied changes left, within the
/// propagation timeout. The confirming reads the operations declare (`Semantics::confirm`) are
/// the plan's own reads, made for every change at once: a write counts as shown only when the
/// next plan would not make it again. A plan that fails ends the wait at once.
pub async fn wait_settled(ctx: &Context, loaded: &Loaded, applied: &Plan) -> Settled {
    let addresses: std::collections::BTreeSet<&kmsctl_core::Address> =
        applied.changes.iter().map(|c| &c.address).collect();
    let propagation = kmsctl_aws::Propagation {
        timeout: ctx.propagation_timeout,
        report: Some(ctx.on_wait.clone()),
    };
    let last = std::sync::Mutex::new(Vec::new());
    let clean = std::sync::atomic::AtomicU32::new(0);
    let shown = propagation
        .wait_until("AWS to show every change applied", || async {
            let pending: Vec<String> = match loaded.plan(ctx).await? {
                Planned::Plan(plan) => plan
                    .changes
                    .iter()
                    .filter(|c| addresses.contains(&c.address))
                    .map(|c| c.address.to_string())
                    .collect(),
                Planned::Refused(findings) => findings
                    .iter()
                    .filter(|f| f.is_error())
                    .map(|f| format!("{} ({})", f.message, f.rule))
                    .collect(),
            };
            use std::sync::atomic::Ordering::SeqCst;
            let in_a_row = if pending.is_empty() {
                clean.fetch_add(1, SeqCst) + 1
            } else {
                clean.store(0, SeqCst);
                0
            };
            *last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = pending;
            Ok::<_, Error>((in_a_row >= CLEAN_IN_A_ROW).then_some(()))
        })
        .await;
    match shown {
        Ok(Some(())) => Settled::Shown,
        Ok(None) => Settled::NotYet(
            last.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ),
        Err(error) => Settled::Unconfirmed(error.to_string()),
    }
}
