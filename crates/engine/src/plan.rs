//! `kmsctl plan TARGET`: observe, diff, render, save.

use std::collections::BTreeMap;

use kmsctl_aws::Session;
use kmsctl_core::{Finding, Observed, Plan, Target};

use crate::Context;
use crate::prepare::{Prepared, prepare};
use crate::error::{Error, Result};
use crate::target::{Planned, connect, new_plan};

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
    /// Only for environments with an `hsm.toml`: the CloudHSM and EC2 clients are heavy to set up.
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
    Ok(make_observed(ctx, prepared, clients).await?.0)
}

/// The plan, and the keys as observed for it (drift detection checks them further).
pub async fn make_observed(
    ctx: &Context,
    prepared: &Prepared,
    clients: &EnvClients,
) -> Result<(Planned, Option<kmsctl_keys::Observation>)> {
    if prepared.findings.iter().any(Finding::is_error) {
        return Ok((Planned::Refused(prepared.findings.clone()), None));
    }
    let target = target_of(prepared);
    // The CloudHSM lifecycle first: whether the key store is connected decides which of its keys
    // this plan can create.
    let hsm = match &prepared.hsm {
        Some(desired) => {
            let scope = kmsctl_hsm::Scope::of(desired);
            let observed = kmsctl_hsm::observe(clients.hsm()?, &scope)
                .await
                .map_err(|e| Error::new(format!("reading {} failed: {e}", target.label())))?;
            let diff = kmsctl_hsm::diff(desired, &observed);
            Some((scope, observed, diff))
        }
        None => None,
    };
    // Keys are copied only when some live in a key store (their store id is filled in).
    let in_store = prepared.keys.iter().any(|k| k.custom_key_store.is_some());
    let (store_keys, held_back) = if in_store {
        keys_for_store(prepared, hsm.as_ref().map(|(_, _, d)| &d.store))
    } else {
        (Vec::new(), Vec::new())
    };
    let desired_keys: &[kmsctl_keys::DesiredKey] = if in_store {
        &store_keys
    } else {
        &prepared.keys
    };
    let (keys, monitor) = tokio::join!(
        kmsctl_keys::plan(&clients.keys, &target.name, desired_keys, ctx.parallelism),
        plan_monitor(ctx, &clients.monitor, prepared),
    );
    let (scope, observation, diff) =
        keys.map_err(|e| Error::new(format!("reading {} failed: {e}", target.label())))?;
    let monitor =
        monitor.map_err(|e| Error::new(format!("reading {} failed: {e}", target.label())))?;
    let mut all_findings = prepared.findings.clone();
    if let Some((_, _, hsm_diff)) = &hsm {
        all_findings.extend(hsm_diff.findings.iter().cloned());
    }
    all_findings.extend(diff.findings);
    if let Some(monitor) = &monitor {
        all_findings.extend(monitor.diff.findings.iter().cloned());
    }
    if all_findings.iter().any(Finding::is_error) {
        return Ok((Planned::Refused(all_findings), Some(observation)));
    }
    let touched = diff.changes.iter().map(|c| &c.address).collect();
    let prints = kmsctl_keys::fingerprints(&scope, &observation, &touched);
    let mut observed: Vec<Observed> = diff
        .changes
        .iter()
        .map(|change| Observed {
            address: change.address.clone(),
            fingerprint: prints.get(&change.address).cloned().flatten(),
        })
        .collect();
    let mut notes = diff.notes;
    notes.extend(held_back);
    for (key_id, reason) in &observation.unreadable {
        notes.push(kmsctl_core::Note::new(
            kmsctl_core::NoteLevel::Verbose,
            None,
            format!("key {key_id} could not be read and was skipped: {reason}"),
        ));
    }
    let mut changes = Vec::new();
    let mut scopes = BTreeMap::from([(
        kmsctl_keys::DOMAIN.to_owned(),
        serde_json::to_value(&scope).map_err(|e| Error::new(e.to_string()))?,
    )]);
    if let Some((hsm_scope, hsm_observed, hsm_diff)) = hsm {
        let prints = hsm_observed.fingerprints(&hsm_scope);
        observed.extend(hsm_diff.changes.iter().map(|change| Observed {
            address: change.address.clone(),
            fingerprint: prints.get(&change.address).cloned(),
        }));
        changes.extend(hsm_diff.changes);
        notes.extend(hsm_diff.notes);
        scopes.insert(
            kmsctl_hsm::DOMAIN.to_owned(),
            serde_json::to_value(&hsm_scope).map_err(|e| Error::new(e.to_string()))?,
        );
    }
    changes.extend(diff.changes);
    match monitor {
        Some(monitor) => {
            let prints = monitor.observed.fingerprints();
            let mut monitor_changes = monitor.diff.changes;
            if let Some(key) = &prepared.topic_key {
                after_topic_key(&mut monitor_changes, &changes, key);
            }
            observed.extend(monitor_changes.iter().map(|change| Observed {
                address: change.address.clone(),
                fingerprint: prints.get(&change.address).cloned(),
            }));
            changes.extend(monitor_changes);
            notes.extend(monitor.diff.notes);
            scopes.insert(
                kmsctl_monitor::DOMAIN.to_owned(),
                serde_json::to_value(&monitor.scope).map_err(|e| Error::new(e.to_string()))?,
            );
        }
        None => notes.push(kmsctl_core::Note::new(
            kmsctl_core::NoteLevel::Verbose,
            None,
            "monitoring was not read: the environment declares none and the caller may not read AWS Config or EventBridge",
        )),
    }
    let plan = Planned::Plan(Box::new(Plan {
        scope: scopes,
        observed,
        notes,
        warnings: all_findings,
        ..new_plan(target, changes)
    }));
    Ok((plan, Some(observation)))
}

/// The keys to plan: those in the CloudHSM key store get its id (or the reference to the change
/// that connects it); while the store cannot take keys, its keys are held back with a note.
fn keys_for_store(
    prepared: &Prepared,
    store: Option<&kmsctl_hsm::StoreReadiness>,
) -> (Vec<kmsctl_keys::DesiredKey>, Vec<kmsctl_core::Note>) {
    let mut keys = Vec::new();
    let mut held = Vec::new();
    for key in &prepared.keys {
        if key.custom_key_store.is_none() {
            keys.push(key.clone());
            continue;
        }
        match store {
            Some(kmsctl_hsm::StoreReadiness::Connected(id)) => {
                let mut key = key.clone();
                key.custom_key_store_id = Some(serde_json::Value::from(id.clone()));
                keys.push(key);
            }
            Some(kmsctl_hsm::StoreReadiness::InPlan(reference)) => {
                let mut key = key.clone();
                key.custom_key_store_id = Some(reference.clone());
                keys.push(key);
            }
            Some(kmsctl_hsm::StoreReadiness::NotReady(reason)) => held.push(reason.as_str()),
            None => held.push("no key store is declared"),
        }
    }
    let held_keys: Vec<&str> = prepared
        .keys
        .iter()
        .filter(|k| k.custom_key_store.is_some() && !keys.iter().any(|kept| kept.id == k.id))
        .map(|k| k.alias.as_str())
        .collect();
    let notes = held
        .first()
        .map(|reason| {
            kmsctl_core::Note::new(
                kmsctl_core::NoteLevel::Info,
                None,
                format!(
                    "not planned yet: {} in the key store ({reason}); they follow once the store is connected",
                    held_keys.join(", ")
                ),
            )
        })
        .into_iter()
        .collect();
    (keys, notes)
}

/// The monitoring part of a plan.
pub struct MonitorPlan {
    pub scope: kmsctl_monitor::Scope,
    pub observed: kmsctl_monitor::ObservedMonitor,
    pub diff: kmsctl_monitor::MonitorDiff,
}

/// Observes and diffs the environment's monitoring. With nothing declared it is still read, so
/// resources kmsctl made earlier are removed; if the caller may not read it then, there is
/// nothing of kmsctl's to find and the plan goes on without it (`None`).
async fn plan_monitor(
    ctx: &Context,
    clients: &kmsctl_monitor::Clients,
    prepared: &Prepared,
) -> std::result::Result<Option<MonitorPlan>, kmsctl_aws::AwsError> {
    let scope = kmsctl_monitor::Scope::of(&prepared.monitor);
    let observed = match kmsctl_monitor::observe(clients, &scope, ctx.parallelism).await {
        Ok(observed) => observed,
        Err(error) if !prepared.monitor.declares_anything() && is_access_denied(&error) => {
            tracing::debug!(%error, "monitoring not readable; none declared");
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let diff = kmsctl_monitor::diff(&prepared.monitor, &observed);
    Ok(Some(MonitorPlan {
        scope,
        observed,
        diff,
    }))
}

fn is_access_denied(error: &kmsctl_aws::AwsError) -> bool {
    error
        .code()
        .is_some_and(|code| code.contains("AccessDenied") || code == "UnauthorizedOperation")
}

/// The topic is encrypted with a key of this plan: it is created or changed after that key, its
/// alias and its policy are in place.
fn after_topic_key(
    monitor_changes: &mut [kmsctl_core::ResourceChange],
    key_changes: &[kmsctl_core::ResourceChange],
    key: &kmsctl_monitor::topic_key::TopicKey,
) {
    let key_addresses: Vec<kmsctl_core::Address> = key_changes
        .iter()
        .filter(|c| c.address.name == key.name || c.address.name == key.kms_master_key_id)
        .map(|c| c.address.clone())
        .collect();
    for change in monitor_changes
        .iter_mut()
        .filter(|c| c.address.kind == kmsctl_monitor::kinds::SNS_TOPIC)
    {
        change.depends_on.extend(key_addresses.iter().cloned());
    }
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

