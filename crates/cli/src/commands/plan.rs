//! `kmsctl plan TARGET`: observe, diff, render, save.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kmsctl_aws::{AwsSettings, Session};
use kmsctl_core::plan::PLAN_FORMAT_VERSION;
use kmsctl_core::{Finding, Observed, Plan, Severity, Target, plan_file};

use super::Context;
use super::prepare::{Prepared, prepare};
use crate::cli::{PlanArgs, PlanFormat};
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render::{findings, plan as render_plan};

/// The outcome of planning: a plan, or the guard errors that refused it.
pub enum Planned {
    Plan(Box<Plan>),
    Refused(Vec<Finding>),
}

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

pub fn default_plan_path(ctx: &Context, target: &Target) -> PathBuf {
    ctx.project
        .state_dir()
        .join(format!("{}.plan.json", target.file_stem()))
}

pub async fn connect(ctx: &Context, target: &Target) -> Result<Session> {
    let settings = AwsSettings {
        region: target.region.clone(),
        assume_role_arn: target.assume_role_arn.clone(),
        max_attempts: ctx.max_attempts,
    };
    let session = kmsctl_aws::connect(&settings).await.map_err(|e| {
        UserError::new(e.to_string()).help("check the AWS credentials (AWS_PROFILE, environment variables, SSO) and assume_role_arn")
    })?;
    session
        .require_account(&target.label(), &target.account_id)
        .map_err(|e| UserError::new(e.to_string()))?;
    Ok(session)
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
            .ok_or_else(|| UserError::new("this environment declares no CloudHSM (hsm.toml)"))
    }
}

/// How apply waits on CloudHSM and KMS: polls every 15 s, prints each, gives up after
/// `--wait-timeout`.
pub fn waits(ctx: &Context) -> kmsctl_hsm::Waits {
    let style = ctx.err_style;
    kmsctl_hsm::Waits {
        timeout: ctx.wait_timeout,
        progress: std::sync::Arc::new(move |message| {
            eprintln!("  {} {message}", style.cyan("waiting:"));
        }),
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
                .map_err(|e| UserError::new(format!("reading {} failed: {e}", target.label())))?;
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
        keys.map_err(|e| UserError::new(format!("reading {} failed: {e}", target.label())))?;
    let monitor =
        monitor.map_err(|e| UserError::new(format!("reading {} failed: {e}", target.label())))?;
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
        serde_json::to_value(&scope).map_err(|e| UserError::new(e.to_string()))?,
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
            serde_json::to_value(&hsm_scope).map_err(|e| UserError::new(e.to_string()))?,
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
                serde_json::to_value(&monitor.scope).map_err(|e| UserError::new(e.to_string()))?,
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
                key.custom_key_store_id = Some(kmsctl_core::Ref::Known(id.clone()));
                keys.push(key);
            }
            Some(kmsctl_hsm::StoreReadiness::InPlan(reference)) => {
                let mut key = key.clone();
                key.custom_key_store_id = Some(kmsctl_core::Ref::After(reference.clone()));
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

/// A plan made now by this kmsctl; callers add what they observed and noted.
pub fn new_plan(target: Target, changes: Vec<kmsctl_core::ResourceChange>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        kmsctl_version: env!("CARGO_PKG_VERSION").into(),
        created_at: now(),
        target,
        changes,
        scope: Default::default(),
        observed: vec![],
        notes: vec![],
        warnings: vec![],
        inputs: Default::default(),
    }
}

/// The current time, RFC 3339.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

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
        if target == super::organization::TARGET {
            let (file, org) = super::organization::load(ctx)?;
            return Ok(Self::Organization(file, Box::new(org)));
        }
        Ok(Self::Environment(Box::new(prepare(ctx, target)?)))
    }

    pub fn target(&self) -> Target {
        match self {
            Self::Environment(prepared) => target_of(prepared),
            Self::Organization(_, org) => super::organization::target(org),
        }
    }

    /// Observes the target and diffs it against the files. The plan records every file it was
    /// made from, by digest.
    pub async fn plan(&self, ctx: &Context) -> Result<Planned> {
        let planned = match self {
            Self::Environment(prepared) => make(ctx, prepared).await?,
            Self::Organization(file, org) => super::organization::make(ctx, file, org).await?,
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
