//! The commands of a team sharing a backend (`kmsctl.toml`'s `[backend]`): `apply --plan-id`,
//! `approve` and `unlock`.

use kmsctl_backend::approvals::{self, Approval, Found, Recorded, Signer};
use kmsctl_backend::lock::{self as remote_lock, LockRecord};
use kmsctl_backend::store::Deleted;
use kmsctl_backend::store::Store;
use kmsctl_core::{Identity, Plan, Target, plan_file};
use kmsctl_engine::apply::Saved;
use kmsctl_engine::plan::Loaded;
use kmsctl_engine::team::{self, Backend, Source};

use super::Context;
use crate::cli::{ApproveArgs, UnlockArgs};
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render::plan as render_plan;

/// A plan stored in the backend under `id`, checked for what needs no AWS call: its content
/// matches its id, this kmsctl made it, for the target the files of this clone define.
struct Stored {
    id: String,
    saved: Saved,
}

async fn load_stored(backend: &Backend, target: &Target, id: &str) -> Result<Stored> {
    let label = target.label();
    let bytes = kmsctl_backend::plans::load(&backend.store, &label, id)
        .await
        .map_err(|e| {
            UserError::new(e.to_string()).help(format!(
                "the id is what kmsctl plan {label} printed when it stored the plan (12 or more of its first characters)"
            ))
        })?;
    let id = kmsctl_backend::sha256_hex(&bytes);
    let shown = format!("plan {id} ({})", backend.store.describe());
    let plan = plan_file::decode(std::path::Path::new(&shown), &bytes)
        .map_err(|e| UserError::new(e.to_string()))?;
    let saved = kmsctl_engine::apply::saved(plan, &shown)?;
    if saved.label != label {
        return Err(UserError::new(format!(
            "plan {id} is a plan of {}, not of {label}: nothing was changed",
            saved.label
        ))
        .help(format!(
            "name its own target: kmsctl apply {} --plan-id {id}",
            saved.label
        )));
    }
    Ok(Stored { id, saved })
}

/// Who stored a plan, as the backend's planner records say (never the plan file itself).
async fn planners(store: &Store, stored: &Stored) -> Result<Vec<Identity>> {
    let found = approvals::list_as(store, Signer::Planner, &stored.saved.label, &stored.id)
        .await
        .map_err(|e| UserError::new(format!("cannot read who stored the plan: {e}")))?;
    Ok(found
        .into_iter()
        .filter_map(|found| match found {
            Found::Valid(record) => Some(record.approver),
            Found::Invalid { .. } => None,
        })
        .collect())
}

fn names(people: &[Identity]) -> String {
    if people.is_empty() {
        return "nobody on record".to_owned();
    }
    people
        .iter()
        .map(|p| p.arn.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `kmsctl apply TARGET --plan-id ID`: the stored plan, with every check of a saved plan
/// (recomputed from the files and AWS, under the lock), then dual control.
pub async fn apply_stored(ctx: &Context, target: &str, id: &str) -> Result<Exit> {
    let loaded = Loaded::load(ctx, target)?;
    let target = loaded.target();
    let backend = team::require_backend(ctx, &target.region, "apply --plan-id").await?;
    let stored = load_stored(&backend, &target, id).await?;
    let signing = team::signing_store(ctx, &backend, &target.region).await?;
    println!(
        "Checking plan {} of {} (made {}, stored by {}) against the files and AWS.",
        stored.id,
        stored.saved.label,
        stored.saved.plan.created_at,
        names(&planners(&signing, &stored).await?)
    );
    let applier = team::whoami(ctx, &target.region).await?;
    let rechecked = kmsctl_engine::apply::recheck_saved(ctx, &stored.saved).await?;
    // Read under the lock, right before the gate.
    let signatures = async {
        let label = &stored.saved.label;
        let planners = approvals::list_as(&signing, Signer::Planner, label, &stored.id).await?;
        let approvals = approvals::list(&signing, label, &stored.id).await?;
        Ok::<_, kmsctl_backend::ApprovalError>((planners, approvals))
    }
    .await;
    let (planners, found) = match signatures {
        Ok(found) => found,
        Err(error) => {
            super::apply::release(ctx, rechecked.lock).await;
            return Err(UserError::new(format!(
                "cannot read the plan's planners and approvals: {error}"
            )));
        }
    };
    let source = Source::Stored {
        plan_id: &stored.id,
        planners: &planners,
        approvals: &found,
    };
    super::apply::apply_rechecked(ctx, &stored.saved.label, rechecked, &source, Some(&applier))
        .await
}

/// The changes of a plan that need an approval, for a person.
pub fn print_needing(ctx: &Context, plan: &Plan) -> Result<usize> {
    let required = team::required(ctx)?;
    let needing = team::needing_approval(plan, &required);
    if !needing.is_empty() {
        println!(
            "\n{} (organization.toml's [approvals]):",
            ctx.style.bold("Needs an approval")
        );
        for sensitive in &needing {
            println!(
                "  {} {}: {}",
                sensitive.address, sensitive.kind, sensitive.reason
            );
        }
    }
    Ok(needing.len())
}

/// `kmsctl approve TARGET --plan-id ID`: shows the stored plan, then records the caller's
/// approval of it (never the planner's own).
pub async fn approve(ctx: &Context, args: &ApproveArgs) -> Result<Exit> {
    let loaded = Loaded::load(ctx, &args.target)?;
    let target = loaded.target();
    let backend = team::require_backend(ctx, &target.region, "approve").await?;
    let stored = load_stored(&backend, &target, &args.plan_id).await?;
    let plan = &stored.saved.plan;
    let label = &stored.saved.label;
    let me = team::whoami(ctx, &target.region).await?;
    let signing = team::signing_store(ctx, &backend, &target.region).await?;
    let planned_by = planners(&signing, &stored).await?;
    println!(
        "Plan {} of {label} (account {}, region {}), made {}, stored by {}:",
        stored.id,
        plan.target.account_id,
        plan.target.region,
        plan.created_at,
        names(&planned_by)
    );
    let options = render_plan::Options {
        style: ctx.style,
        verbose: ctx.verbose,
    };
    print!("{}", render_plan::render(plan, &options));
    // The plan's own list is the planner's word: deletion and disabling are read again from its
    // calls, and a list that leaves one out belongs to an altered plan.
    let required = team::required(ctx)?;
    let left_out: Vec<String> = plan
        .changes
        .iter()
        .flat_map(kmsctl_core::approval::from_operations)
        .filter(|derived| required.contains(&derived.kind) && !plan.sensitive.contains(derived))
        .map(|s| format!("{} ({})", s.address, s.kind))
        .collect();
    if !left_out.is_empty() {
        return Err(UserError::new(format!(
            "plan {} does not list {} among its changes needing approval although its calls make them: it was altered; nothing was recorded",
            stored.id,
            left_out.join(", ")
        ))
        .help(format!("make the plan again: kmsctl plan {label}"))
        .refused());
    }
    if print_needing(ctx, plan)? == 0 {
        println!(
            "\nNothing in this plan needs an approval under organization.toml's [approvals]; yours is recorded all the same."
        );
    }
    println!(
        "Key policy widening and guardrail weakening are judged again when the plan is applied, on the plan recomputed from the files and AWS."
    );
    if planned_by.is_empty() {
        return Err(UserError::new(format!(
            "no record of who stored plan {} is in the backend, so an approval of it could be the planner's own: nothing was recorded",
            stored.id
        ))
        .help(format!("make and store the plan again: kmsctl plan {label}"))
        .refused());
    }
    if planned_by.iter().any(|p| team::same_person(p, &me)) {
        return Err(UserError::new(format!(
            "you ({}) stored plan {}: self-approval does not count; nothing was recorded",
            me.arn, stored.id
        ))
        .help("someone other than who planned it and who applies it approves it")
        .refused());
    }
    if !args.yes
        && !ask(
            &format!("Approve plan {} of {label} as {}?", stored.id, me.arn),
            "--yes",
        )
        .await?
    {
        println!("Not approved; nothing was recorded.");
        return Ok(Exit::Ok);
    }
    let approval = Approval::new(label, &stored.id, me.clone());
    let recorded = approvals::record(&signing, &approval)
        .await
        .map_err(|e| {
            UserError::new(format!("cannot record the approval: {e}")).help(
                "approvals/ is writable only under your own name (see \"Teams\" in README.md): check the bucket policy and your credentials",
            )
        })?;
    let already = matches!(recorded, Recorded::Already);
    println!(
        "\n{} plan {} of {label} as {}{}. Someone other than you and {} applies it with:\n  kmsctl apply {label} --plan-id {}",
        ctx.style.green(&ctx.style.bold("Approved")),
        stored.id,
        me.arn,
        if already { " (already recorded)" } else { "" },
        names(&planned_by),
        stored.id
    );
    Ok(Exit::Ok)
}

/// `kmsctl unlock TARGET`: shows the holder of the target's lock, asks, releases it.
pub async fn unlock(ctx: &Context, args: &UnlockArgs) -> Result<Exit> {
    let loaded = Loaded::load(ctx, &args.target)?;
    let target = loaded.target();
    let label = target.label();
    let Some(backend) = team::backend(ctx, &target.region).await? else {
        return Err(UserError::new(format!(
            "{label} has no lock to release by hand: without a backend in kmsctl.toml, a lock is held by a running kmsctl of this checkout and ends with it"
        )));
    };
    let current = remote_lock::current(&backend.store, &label)
        .await
        .map_err(|e| UserError::new(e.to_string()))?;
    let Some((record, etag)) = current else {
        println!("{label} is not locked ({}).", backend.store.describe());
        return Ok(Exit::Ok);
    };
    let holder = match &record {
        Ok(record) => describe_holder(record),
        Err(why) => format!("a lock whose content kmsctl cannot read ({why})"),
    };
    println!("The lock of {label} is held by {holder}.");
    if !args.force
        && !ask(
            "Release it? Only do so if that run is dead: its apply may be half done.",
            "--force",
        )
        .await?
    {
        println!("The lock was kept.");
        return Ok(Exit::Ok);
    }
    match remote_lock::unlock(&backend.store, &label, &etag)
        .await
        .map_err(|e| UserError::new(e.to_string()))?
    {
        Deleted::Yes => {
            println!("Released the lock of {label}.");
            Ok(Exit::Ok)
        }
        Deleted::Gone => {
            println!("The lock of {label} was released meanwhile.");
            Ok(Exit::Ok)
        }
        Deleted::Changed => Err(UserError::new(format!(
            "the lock of {label} changed while you were deciding (renewed or taken by another run): nothing was released"
        ))
        .help(format!("look again: kmsctl unlock {label}"))),
    }
}

fn describe_holder(record: &LockRecord) -> String {
    format!(
        "{} since {}; its lease {} {}",
        record.holder(),
        record.started_at,
        if record.expired() {
            "ran out at"
        } else {
            "runs until"
        },
        record.expires_at
    )
}

/// Asks `question`; without a terminal, `flag` answers it.
async fn ask(question: &str, flag: &str) -> Result<bool> {
    let without_terminal = UserError::new(format!(
        "{question} needs an answer, and standard input is not a terminal"
    ))
    .help(format!("answer on a terminal, or pass {flag}"));
    super::prompt::yes(question, without_terminal).await
}
