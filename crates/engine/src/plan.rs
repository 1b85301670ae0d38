//! `kmsctl plan TARGET`: observe, diff, render, save.

use kmsctl_aws::Session;
use kmsctl_core::{Finding, Target};

use crate::Context;
use crate::error::{Error, Result};
use crate::links;
use crate::parts::{Evidence, Parts};
use crate::prepare::{Prepared, prepare};
use crate::target::{Planned, connect};
use kmsctl_core::domain::{Domain, DomainPlan};
use kmsctl_hsm::Hsm;
use kmsctl_keys::{DesiredKeys, Keys};
use kmsctl_monitor::Monitor;

pub fn target_of(prepared: &Prepared) -> Target {
    let settings = &prepared.env.settings;
    Target {
        kind: "environment".into(),
        name: settings.name.clone(),
        path: prepared.env.path.clone(),
        account_id: settings.account_id.clone(),
        region: settings.region.clone(),
        assume_role_arn: settings.assume_role_arn.clone(),
    }
}

/// Observes the target and diffs it against the prepared configuration: keys and monitoring
/// in one plan.
pub async fn make(ctx: &Context, prepared: &Prepared) -> Result<Planned> {
    // The offline guards refuse before any AWS call: a refused configuration reaches nothing.
    if prepared.findings.iter().any(Finding::is_error) {
        return Ok(Planned::Refused(prepared.findings.clone()));
    }
    let target = target_of(prepared);
    let session = connect(ctx, &target).await?;
    make_with(
        ctx,
        prepared,
        &EnvClients::new(ctx, &session, prepared.hsm.is_some()),
    )
    .await
}

/// The clients an environment's plan and apply use.
pub struct EnvClients {
    pub keys: kmsctl_keys::KmsClients,
    pub monitor: kmsctl_monitor::Clients,
    /// Only for environments with an `hsm.toml`.
    pub hsm: Option<kmsctl_hsm::Clients>,
}

impl EnvClients {
    pub fn new(ctx: &Context, session: &Session, hsm: bool) -> Self {
        Self {
            keys: kmsctl_keys::clients(session),
            monitor: kmsctl_monitor::clients(session),
            hsm: hsm.then(|| kmsctl_hsm::clients(session, waits(ctx))),
        }
    }

    pub fn hsm(&self) -> Result<&kmsctl_hsm::Clients> {
        self.hsm
            .as_ref()
            .ok_or_else(|| Error::new("this environment declares no CloudHSM (hsm.toml)"))
    }
}

/// How apply waits on CloudHSM and KMS: polls every 15 s, reports each poll, gives up after
/// `wait_timeout`.
pub fn waits(ctx: &Context) -> kmsctl_hsm::Waits {
    kmsctl_hsm::Waits {
        timeout: ctx.wait_timeout,
        progress: ctx.on_wait.clone(),
        ..kmsctl_hsm::Waits::default()
    }
}

/// [`make`] with the clients given: the library entry point tests drive with stubbed clients.
pub async fn make_with(
    ctx: &Context,
    prepared: &Prepared,
    clients: &EnvClients,
) -> Result<Planned> {
    Ok(make_with_evidence(ctx, prepared, clients, false).await?.0)
}

/// The plan and, with `drift`, every domain's drift evidence (`None` without `drift`, or when the
/// offline guards refuse the files: nothing was read).
///
/// The domains in the order their links need: CloudHSM first (whether the key store is
/// connected decides which of its keys this plan can create), then keys and monitoring at once;
/// the topic's key links monitoring to keys.
pub async fn make_with_evidence(
    ctx: &Context,
    prepared: &Prepared,
    clients: &EnvClients,
    drift: bool,
) -> Result<(Planned, Option<Evidence>)> {
    if prepared.findings.iter().any(Finding::is_error) {
        return Ok((Planned::Refused(prepared.findings.clone()), None));
    }
    let target = target_of(prepared);
    let failed =
        |e: &dyn std::fmt::Display| Error::new(format!("reading {} failed: {e}", target.label()));
    // Drift reports what is live; only a plan to apply is judged for dual control.
    let required = match drift {
        true => Default::default(),
        false => crate::team::required(ctx)?,
    };
    let mut parts = Parts::new(prepared.findings.clone())
        .with_evidence(drift)
        .judging(required);
    let hsm = match &prepared.hsm {
        Some(desired) => {
            let hsm = Hsm::plan(clients.hsm()?, desired, ctx.parallelism)
                .await
                .map_err(|e| failed(&e))?;
            Some(hsm)
        }
        None => None,
    };
    // Keys are copied only when some live in a key store (their store id is filled in).
    let in_store = prepared.keys.iter().any(|k| k.custom_key_store.is_some());
    let (store_keys, held_back) = if in_store {
        links::keys_for_store(prepared, hsm.as_ref().map(|part| &part.diff.store))
    } else {
        (Vec::new(), Vec::new())
    };
    let settings = &prepared.env.settings;
    let desired_keys = DesiredKeys {
        environment: &settings.name,
        account_id: &settings.account_id,
        account_location: &prepared.env.account_location,
        rules: &settings.rules,
        keys: if in_store {
            &store_keys
        } else {
            &prepared.keys
        },
    };
    let (keys, monitor) = tokio::join!(
        Keys::plan(&clients.keys, &desired_keys, ctx.parallelism),
        plan_monitor(ctx, &clients.monitor, prepared),
    );
    let keys = keys.map_err(|e| failed(&e))?;
    let monitor = monitor.map_err(|e| failed(&e))?;
    if let (Some(hsm), Some(desired)) = (hsm, &prepared.hsm) {
        parts.add::<Hsm>(desired, &hsm.scope, &hsm.observed, hsm.diff)?;
    }
    // Drift judges the live keys against every declared key, held back from this plan or not.
    let all_keys = DesiredKeys {
        keys: &prepared.keys,
        ..desired_keys
    };
    let key_changes_start = parts.changes.len();
    parts.add::<Keys>(&all_keys, &keys.scope, &keys.observed, keys.diff)?;
    parts
        .add_unmanaged::<Keys>(&clients.keys, &all_keys, &keys.observed, ctx.parallelism)
        .await
        .map_err(|e| failed(&e))?;
    parts.notes.extend(held_back);
    for (key_id, reason) in &keys.observed.unreadable {
        parts.notes.push(kmsctl_core::Note::new(
            kmsctl_core::NoteLevel::Verbose,
            None,
            format!("key {key_id} could not be read and was skipped: {reason}"),
        ));
    }
    match monitor {
        Some(monitor) => {
            let mut diff = kmsctl_core::domain::Diff::from(monitor.diff);
            if let Some(key) = &prepared.topic_key {
                links::after_topic_key(&mut diff.changes, &parts.changes[key_changes_start..], key);
            }
            parts.add::<Monitor>(&prepared.monitor, &monitor.scope, &monitor.observed, diff)?;
        }
        None => parts.notes.push(kmsctl_core::Note::new(
            kmsctl_core::NoteLevel::Verbose,
            None,
            "monitoring was not read: the environment declares none and the caller may not read AWS Config or EventBridge",
        )),
    }
    let evidence = parts.take_evidence();
    Ok((parts.into_planned(target), evidence))
}

/// Observes and diffs the environment's monitoring. With nothing declared it is still read, so
/// resources kmsctl made earlier are removed; if the caller may not read it then, there is
/// nothing of kmsctl's to find and the plan goes on without it (`None`).
async fn plan_monitor(
    ctx: &Context,
    clients: &kmsctl_monitor::Clients,
    prepared: &Prepared,
) -> std::result::Result<Option<DomainPlan<Monitor>>, kmsctl_aws::AwsError> {
    match Monitor::plan(clients, &prepared.monitor, ctx.parallelism).await {
        Ok(part) => Ok(Some(part)),
        Err(error) if !prepared.monitor.declares_anything() && is_access_denied(&error) => {
            tracing::debug!(%error, "monitoring not readable; none declared");
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

fn is_access_denied(error: &kmsctl_aws::AwsError) -> bool {
    error
        .code()
        .is_some_and(|code| code.contains("AccessDenied") || code == "UnauthorizedOperation")
}

/// A target's files, loaded and checked offline: an environment or the organization.
pub enum Loaded {
    Environment(Box<Prepared>),
    Organization(
        kmsctl_core::source::SourceFile,
        Box<kmsctl_org::config::OrganizationFile>,
    ),
}

impl Loaded {
    pub fn load(ctx: &Context, target: &str) -> Result<Self> {
        if target == crate::organization::TARGET {
            let (file, org) = crate::config::organization::load(ctx)?;
            return Ok(Self::Organization(file, Box::new(org)));
        }
        Ok(Self::Environment(Box::new(prepare(ctx, target)?)))
    }

    pub fn target(&self) -> Target {
        match self {
            Self::Environment(prepared) => target_of(prepared),
            Self::Organization(_, org) => crate::organization::target(org),
        }
    }

    /// Observes the target and diffs it against the files. The plan records every file it was
    /// made from, by digest.
    pub async fn plan(&self, ctx: &Context) -> Result<Planned> {
        // kmsctl.toml decides where the lock, the stored plan and its approvals live: a plan is
        // made from it too (a clone whose kmsctl.toml differs cannot apply it).
        crate::team::project_file(ctx)?;
        let planned = match self {
            Self::Environment(prepared) => make(ctx, prepared).await?,
            Self::Organization(file, org) => crate::organization::make(ctx, file, org).await?,
        };
        Ok(match planned {
            Planned::Plan(mut plan) => {
                plan.inputs = ctx.project.files.digests();
                Planned::Plan(plan)
            }
            refused => refused,
        })
    }
}
