//! Everything offline: load the environment, resolve the keys, run the guards.

use kmsctl_core::Finding;
use kmsctl_keys::desired::{self, DeclaredKey, DesiredError};
use kmsctl_keys::{DesiredKey, guards};

use super::Context;
use crate::config::{LoadedEnvironment, load_environment};
use crate::error::{Result, UserError};

pub struct Prepared {
    pub env: LoadedEnvironment,
    pub keys: Vec<DesiredKey>,
    /// Errors refuse the plan; warnings are shown.
    pub findings: Vec<Finding>,
}

pub fn prepare(ctx: &Context, target: &str) -> Result<Prepared> {
    let dir = ctx.project.environment_dir(target)?;
    let env = load_environment(&ctx.project, &dir)?;
    let declared: Vec<DeclaredKey<'_>> = env
        .keys
        .iter()
        .map(|(file, decl)| DeclaredKey {
            file: &env.files[*file],
            decl,
        })
        .collect();
    let keys =
        desired::build(&ctx.project.root, &env.settings, &declared).map_err(desired_error)?;
    let findings = guards::check(&env.settings.name, &env.settings.rules, &keys);
    Ok(Prepared {
        env,
        keys,
        findings,
    })
}

fn desired_error(error: DesiredError) -> UserError {
    UserError::new(error.to_string()).help(error.help)
}
