//! What every target's plan shares: the AWS session for the target, a new plan, the clock.

use std::path::PathBuf;

use kmsctl_aws::{AwsSettings, Session};
use kmsctl_core::plan::PLAN_FORMAT_VERSION;
use kmsctl_core::{Finding, Plan, Target};

use crate::Context;
use crate::error::{Error, Result};

/// The outcome of planning: a plan, or the guard errors that refused it.
pub enum Planned {
    Plan(Box<Plan>),
    Refused(Vec<Finding>),
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
        propagation_timeout: ctx.propagation_timeout,
    };
    let mut session = kmsctl_aws::connect(&settings).await.map_err(|e| {
        Error::new(e.to_string()).help("check the AWS credentials (AWS_PROFILE, environment variables, SSO) and assume_role_arn")
    })?;
    session
        .require_account(&target.label(), &target.account_id)
        .map_err(|e| Error::new(e.to_string()))?;
    session.propagation.report = Some(ctx.on_wait.clone());
    Ok(session)
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
        sensitive: vec![],
        planned_by: None,
    }
}

/// The current time, RFC 3339.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}
