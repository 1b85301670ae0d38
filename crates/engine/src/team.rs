//! Team state shared through S3: `kmsctl.toml`'s `[backend]`, who runs kmsctl, and dual control.
//!
//! Without `kmsctl.toml` (or without its `[backend]`) nothing changes: locks and plans stay in
//! the checkout's `.kmsctl/`.

use std::collections::BTreeSet;
use std::path::Path;

use kmsctl_backend::approvals::Found;
use kmsctl_backend::config::BackendConfig;
use kmsctl_backend::store::Store;
use kmsctl_core::approval::{ApprovalKind, Sensitive};
use kmsctl_core::{Identity, Plan};
use serde::Deserialize;

use crate::Context;
use crate::error::{Error, Result};

/// The project file: it marks the project's root and holds the settings of the whole project.
pub const PROJECT_FILE: &str = "kmsctl.toml";

/// `kmsctl.toml` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// Locks, saved plans and approvals in S3, shared by every clone of the project.
    pub backend: Option<BackendConfig>,
}

/// Reads `kmsctl.toml`; its absence is the empty file.
pub fn project_file(ctx: &Context) -> Result<ProjectFile> {
    let relative = Path::new(PROJECT_FILE);
    if std::fs::symlink_metadata(ctx.project.root.join(relative)).is_err() {
        return Ok(ProjectFile::default());
    }
    let text = ctx
        .project
        .files
        .read(relative, kmsctl_core::project_files::CONFIG)
        .map_err(|e| Error::new(e.to_string()))?;
    let text = crate::config::organization::without_secrets(relative, &text)?;
    let file: ProjectFile = toml::from_str(&text).map_err(|e| {
        Error::in_toml(relative, &text, &e).help("every field is in \"kmsctl.toml\" in README.md")
    })?;
    if let Some(backend) = &file.backend {
        backend.validate().map_err(|why| {
            Error::new(format!("{PROJECT_FILE}: [backend] {why}"))
                .help("see \"kmsctl.toml\" in README.md")
        })?;
    }
    Ok(file)
}

/// The backend, connected, when `kmsctl.toml` sets one. `region` is the target's: the backend's
/// own `region` wins.
pub async fn backend(ctx: &Context, region: &str) -> Result<Option<Backend>> {
    let Some(config) = project_file(ctx)?.backend else {
        return Ok(None);
    };
    let store = kmsctl_backend::store::connect(&config, region, ctx.max_attempts)
        .await
        .map_err(|e| {
            Error::new(format!("cannot reach the backend: {e}"))
                .help("check kmsctl.toml's [backend] and the AWS credentials")
        })?;
    Ok(Some(Backend { store, config }))
}

/// The backend a command needs: an error naming kmsctl.toml when there is none.
pub async fn require_backend(ctx: &Context, region: &str, command: &str) -> Result<Backend> {
    backend(ctx, region).await?.ok_or_else(|| {
        Error::new(format!(
            "{command} needs a backend, and {PROJECT_FILE} sets none"
        ))
        .help(format!(
            "add to {PROJECT_FILE} in the project root:\n[backend]\ns3_bucket = \"BUCKET\""
        ))
    })
}

pub struct Backend {
    pub store: Store,
    pub config: BackendConfig,
}

/// Who runs kmsctl (the credentials' own identity, before any role kmsctl assumes).
pub async fn whoami(ctx: &Context, region: &str) -> Result<Identity> {
    kmsctl_aws::caller_identity(region, ctx.max_attempts)
        .await
        .map_err(|e| {
            Error::new(format!("cannot tell who you are: {e}"))
                .help("check the AWS credentials (AWS_PROFILE, environment variables, SSO)")
        })
}

/// `[approvals] required_for` of organization.toml (empty without the file or the table).
pub fn required(ctx: &Context) -> Result<BTreeSet<ApprovalKind>> {
    if !ctx.project.has_organization() {
        return Ok(BTreeSet::new());
    }
    let (_, org) = crate::config::organization::load(ctx)?;
    Ok(org.approvals.kinds())
}

/// The changes of `plan` that need an approval under `required`.
pub fn needing_approval<'a>(
    plan: &'a Plan,
    required: &BTreeSet<ApprovalKind>,
) -> Vec<&'a Sensitive> {
    plan.sensitive
        .iter()
        .filter(|s| required.contains(&s.kind))
        .collect()
}

/// The person behind an identity: a role session's name (which the role's trust policy pins to
/// the person, as IAM Identity Center does: one person in two roles is still one person), an IAM
/// user's or a federated user's name; else the whole ARN. Lowercased: IAM names are not
/// case-sensitive.
pub fn person(identity: &Identity) -> String {
    let resource = identity.arn.splitn(6, ':').nth(5).unwrap_or_default();
    let name = if let Some(rest) = resource.strip_prefix("assumed-role/") {
        rest.split_once('/').map(|(_, session)| session)
    } else if let Some(rest) = resource.strip_prefix("user/") {
        rest.rsplit('/').next()
    } else {
        resource.strip_prefix("federated-user/")
    };
    name.filter(|n| !n.is_empty())
        .map_or_else(|| identity.arn.clone(), str::to_lowercase)
}

/// One person, whatever the form of its name: the same ARN, the same unique id, or the same
/// person behind two roles or accounts ([`person`]). Two people who share a name are taken for
/// one: the gate then refuses, it never lets one through.
pub fn same_person(a: &Identity, b: &Identity) -> bool {
    a.arn == b.arn || (!a.user_id.is_empty() && a.user_id == b.user_id) || person(a) == person(b)
}

/// The store approvals and planner records are written to and read from: the backend's bucket
/// with the caller's own credentials, never through `assume_role_arn`, so that the bucket policy
/// can pin each object to its writer's `aws:userid`.
pub async fn signing_store(ctx: &Context, backend: &Backend, region: &str) -> Result<Store> {
    if backend.config.assume_role_arn.is_none() {
        return Ok(backend.store.clone());
    }
    let own = BackendConfig {
        assume_role_arn: None,
        ..backend.config.clone()
    };
    kmsctl_backend::store::connect(&own, region, ctx.max_attempts)
        .await
        .map_err(|e| {
            Error::new(format!(
                "cannot reach the backend with your own credentials (approvals and planner records are never written through assume_role_arn): {e}"
            ))
            .help("grant your own principal access to the bucket's approvals/ and planners/ (see \"Teams\" in README.md)")
        })
}

/// How a plan came to apply, for the approval gate.
pub enum Source<'a> {
    /// Planned and applied in one run, or from a plan file of this checkout.
    Local,
    /// `apply --plan-id`: the plan stored under this id, and who made it.
    Stored {
        plan_id: &'a str,
        /// Who stored it (`planners/`), as S3 vouches for it: never what the plan file says.
        planners: &'a [Found],
        approvals: &'a [Found],
    },
}

/// Dual control: a plan whose changes need approval is applied only by id, with an approval
/// recorded for that id by someone who neither planned nor applies it. Judged on the plan
/// recomputed from the files and AWS (never on what a plan file says of itself).
pub fn gate(
    plan: &Plan,
    required: &BTreeSet<ApprovalKind>,
    has_backend: bool,
    source: &Source<'_>,
    applier: Option<&Identity>,
) -> Result<Option<Identity>> {
    let needing = needing_approval(plan, required);
    if needing.is_empty() {
        return Ok(None);
    }
    let label = plan.target.label();
    let listed = needing
        .iter()
        .map(|s| format!("{} ({}: {})", s.address, s.kind, s.reason))
        .collect::<Vec<_>>()
        .join("; ");
    let refused = |why: String| Error::new(format!("{why}: {listed}; nothing was changed"));
    if !has_backend {
        return Err(refused(format!(
            "{}'s [approvals] requires an approval for changes of this plan of {label}, and {PROJECT_FILE} sets no backend to record it",
            crate::project::ORGANIZATION_FILE
        ))
        .help(format!(
            "set [backend] with s3_bucket in {PROJECT_FILE} (approvals are recorded in S3; README \"Teams\"), or take the kind out of [approvals] required_for in {} (a change its owners review)",
            crate::project::ORGANIZATION_FILE
        )));
    }
    let (plan_id, planners, approvals) = match source {
        Source::Local => {
            return Err(refused(format!(
                "this plan of {label} needs an approval (organization.toml's [approvals])"
            ))
            .help(format!(
                "kmsctl plan {label} saves it to the backend and prints its id; someone else runs kmsctl approve {label} --plan-id ID; then: kmsctl apply {label} --plan-id ID"
            )));
        }
        Source::Stored {
            plan_id,
            planners,
            approvals,
        } => (*plan_id, *planners, *approvals),
    };
    let Some(applier) = applier else {
        return Err(Error::new("cannot tell who applies: nothing was changed"));
    };
    let planners: Vec<&Identity> = planners
        .iter()
        .filter_map(|found| match found {
            Found::Valid(record) => Some(&record.approver),
            Found::Invalid { .. } => None,
        })
        .collect();
    if planners.is_empty() {
        return Err(refused(format!(
            "plan {plan_id} of {label} needs an approval, and no record of who stored it (planners/) is in the backend"
        ))
        .help(format!("make and store the plan again: kmsctl plan {label}")));
    }
    let mut not_counted = Vec::new();
    for found in approvals {
        match found {
            Found::Valid(approval) => {
                let by = &approval.approver;
                if planners.iter().any(|p| same_person(p, by)) {
                    not_counted.push(format!(
                        "{} ({}) planned it (self-approval)",
                        by.arn, by.user_id
                    ));
                } else if same_person(applier, by) {
                    not_counted.push(format!(
                        "{} ({}) is who applies it (the approver must be someone else)",
                        by.arn, by.user_id
                    ));
                } else {
                    return Ok(Some(by.clone()));
                }
            }
            Found::Invalid { key, why } => not_counted.push(format!("{key}: {why}")),
        }
    }
    let found = if not_counted.is_empty() {
        "no approval is recorded for it".to_owned()
    } else {
        format!("no approval counts ({})", not_counted.join("; "))
    };
    Err(refused(format!(
        "plan {plan_id} of {label} needs an approval, and {found}"
    ))
    .help(format!(
        "someone other than who planned it ({}) and who applies it ({}) runs: kmsctl approve {label} --plan-id {plan_id}",
        planners
            .iter()
            .map(|p| p.arn.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        applier.arn
    )))
}

#[cfg(test)]
mod tests;
