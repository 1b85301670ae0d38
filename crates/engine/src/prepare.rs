//! Everything offline: load the environment, resolve the keys, run the guards.

use kmsctl_core::{Control, Finding, Rule};
use kmsctl_keys::desired;
use kmsctl_keys::{DesiredKey, guards};

use crate::Context;
use crate::config::{LoadedEnvironment, load_environment};
use crate::error::{Error, Result};

pub const CUSTOM_KEY_STORE_UNKNOWN: Rule = Rule::error(
    "custom-key-store-unknown",
    Some(Control::Hsm),
    "a key's custom_key_store is the environment's [hsm.key_store]",
);
pub const RULES_FLOOR: Rule = Rule::error(
    "rules-floor",
    None,
    "an environment's [rules] are no looser than the organization's (or the defaults)",
);
/// Like `orgpaths-value`: a boundary condition on a path that does not exist never matches.
pub const ORG_PATH_UNKNOWN: Rule = Rule::error(
    "org-path-unknown",
    Some(Control::EnvironmentBoundaries),
    "a variable holding an org path is one of [tree]'s paths",
);

pub struct Prepared {
    pub env: LoadedEnvironment,
    pub keys: Vec<DesiredKey>,
    /// The monitoring the files declare, resolved.
    pub monitor: kmsctl_monitor::DesiredMonitor,
    /// The key that encrypts the alert topic, when `topic_key` names one.
    pub topic_key: Option<kmsctl_monitor::topic_key::TopicKey>,
    /// The CloudHSM cluster and key store `hsm.toml` declares.
    pub hsm: Option<kmsctl_hsm::DesiredHsm>,
    /// Errors refuse the plan; warnings are shown.
    pub findings: Vec<Finding>,
    /// How many of the environment's `[[expect]]` boundary tests hold.
    pub expectations_held: usize,
}

pub fn prepare(ctx: &Context, target: &str) -> Result<Prepared> {
    let dir = ctx.project.environment_dir(target)?;
    let env = load_environment(&ctx.project, &dir)?;
    let keys = desired::build(&ctx.project.files, &env.settings, &env.declared_keys())
        .map_err(Error::from)?;
    let mut findings = guards::check(&env.settings.name, &env.settings.rules, &keys);
    findings.extend(organization_floors(ctx, &env)?);
    findings.extend(kmsctl_monitor::guards::check(&env.monitor));
    findings.extend(env.secrets.iter().cloned());
    let env_dir = ctx.project.root.join(&env.path);
    let hsm = env.hsm.as_ref().map(|(file, decl)| {
        findings.extend(kmsctl_hsm::guards::check(
            &ctx.project.files,
            file,
            decl,
            &env_dir,
        ));
        kmsctl_hsm::desired::build(&ctx.project.files, &env.settings.name, &env_dir, file, decl)
    });
    findings.extend(check_key_stores(&keys, hsm.as_ref()));
    let topic_key = match resolve_topic_key(&env, &keys) {
        Ok(key) => key,
        Err(finding) => {
            findings.push(*finding);
            None
        }
    };
    let settings = &env.settings;
    let monitor = kmsctl_monitor::build(
        &env.monitor,
        &kmsctl_monitor::desired::Context {
            environment: &settings.name,
            account_id: &settings.account_id,
            region: &settings.region,
            tags: &settings.tags,
            topic_key: topic_key.as_ref().map(|k| k.kms_master_key_id.clone()),
        },
    );
    let expectations = check_expectations(ctx, &env, &keys);
    findings.extend(expectations.findings);
    if let Some(tree) = organization_tree(ctx) {
        crate::org_path_hint::rewrite(&mut findings, &tree, crate::organization::DECLARED_TREE);
    }
    Ok(Prepared {
        env,
        keys,
        monitor,
        topic_key,
        hsm,
        findings,
        expectations_held: expectations.held,
    })
}

/// The environment's boundary tests, answered from the files (the organization's included).
fn check_expectations(
    ctx: &Context,
    env: &LoadedEnvironment,
    keys: &[DesiredKey],
) -> crate::simulate::expect::Checked {
    use crate::simulate::{World, expect, world::EnvView};
    let mut checked = expect::Checked::default();
    if env.expectations.is_empty() {
        return checked;
    }
    let mut world = World::new(ctx).with_environment(EnvView {
        name: env.settings.name.clone(),
        account: env.settings.account_id.clone(),
        region: env.settings.region.clone(),
        keys: keys.to_vec(),
    });
    for (index, file) in env.files.iter().enumerate() {
        let decls: Vec<_> = env
            .expectations
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, decl)| decl)
            .collect();
        if decls.is_empty() {
            continue;
        }
        checked.extend(expect::check(&mut world, file, &decls));
    }
    checked
}

/// The organization's declared `[tree]`, for fixes that name the project's own OUs; `None`
/// without one (or when organization.toml does not load: `organization_floors` says why).
fn organization_tree(ctx: &Context) -> Option<kmsctl_org::ou_tree::OrgTree> {
    if !ctx.project.has_organization() {
        return None;
    }
    let (file, org) = crate::config::organization::load(ctx).ok()?;
    crate::organization::declared_tree(&file, &org)
}

/// A key's `custom_key_store` must name the environment's `[hsm.key_store]`.
fn check_key_stores(keys: &[DesiredKey], hsm: Option<&kmsctl_hsm::DesiredHsm>) -> Vec<Finding> {
    let declared = hsm.and_then(|h| h.store.as_ref()).map(|s| s.name.as_str());
    keys.iter()
        .filter_map(|key| {
            let store = key.custom_key_store.as_deref()?;
            if Some(store) == declared {
                return None;
            }
            Some(Finding::of(
                &CUSTOM_KEY_STORE_UNKNOWN,
                key.locations
                    .custom_key_store
                    .clone()
                    .unwrap_or_else(|| key.locations.key.clone()),
                format!(
                    "key {}: custom_key_store = {store:?} is not this environment's key store",
                    key.id
                ),
                match declared {
                    Some(name) => format!(
                        "use custom_key_store = {name:?}, the [hsm.key_store] of this environment"
                    ),
                    None => "declare the store in hsm.toml ([hsm.cluster] and [hsm.key_store])"
                        .to_owned(),
                },
            ))
        })
        .collect()
}

/// `[alerts] topic_key`: one of this environment's keys, whose policy lets EventBridge use it.
fn resolve_topic_key(
    env: &LoadedEnvironment,
    keys: &[DesiredKey],
) -> std::result::Result<Option<kmsctl_monitor::topic_key::TopicKey>, Box<Finding>> {
    let Some((file, alerts)) = &env.monitor.alerts else {
        return Ok(None);
    };
    let candidates: Vec<kmsctl_monitor::topic_key::Candidate> = keys
        .iter()
        .map(|key| kmsctl_monitor::topic_key::Candidate {
            name: key.name.clone(),
            purpose: key.id.rsplit('/').next().unwrap_or_default().to_owned(),
            aliases: key.all_aliases().cloned().collect(),
            policy: key.policy.document(),
            policy_file: key.policy.file.clone(),
        })
        .collect();
    kmsctl_monitor::topic_key::resolve(alerts.get_ref(), &|span| file.location(span), &candidates)
}

/// Guards have floors: an environment's `[rules]` may tighten the organization's `[rules]`,
/// never loosen them; without an organization file the framework's defaults are the floor.
/// Loosening is possible only in organization.toml, which a different team reviews.
fn organization_floors(ctx: &Context, env: &LoadedEnvironment) -> Result<Vec<Finding>> {
    let (mut findings, floor, source) = if ctx.project.has_organization() {
        let (file, org) = crate::config::organization::load(ctx)?;
        let findings = org_path_variables(env, &file, &org);
        (
            findings,
            org.rules.floor(),
            format!("the organization's [rules] ({})", file.path.display()),
        )
    } else {
        (
            vec![],
            kmsctl_core::environment::Rules::default(),
            "the framework's defaults (there is no organization/organization.toml)".to_owned(),
        )
    };
    let at = env
        .rules_location
        .clone()
        .unwrap_or_else(|| kmsctl_core::Location::file(format!("{}/environment.toml", env.path)));
    findings.extend(env.settings.rules.loosened_from(&floor).into_iter().map(|loosened| {
        Finding::of(
            &RULES_FLOOR,
            at.clone(),
            format!("[rules] {}: looser than {source}", loosened.message),
            format!(
                "{}: environments may tighten the rules, never loosen them; only organization/organization.toml can",
                loosened.fix
            ),
        )
    }));
    Ok(findings)
}

/// A variable holding an `aws:PrincipalOrgPaths` value (`o-…/r-…/ou-…/`) must be a path of the
/// organization's `[tree]`: a key policy condition on a path that does not exist never matches,
/// so its boundary Deny hits every principal.
fn org_path_variables(
    env: &LoadedEnvironment,
    org_file: &kmsctl_core::source::SourceFile,
    org: &kmsctl_org::config::OrganizationFile,
) -> Vec<Finding> {
    let Some(declared) = &org.tree else {
        return vec![];
    };
    let Ok(tree) = kmsctl_org::declared_tree::build(org_file, declared) else {
        return vec![];
    };
    // (OU path by names, its aws:PrincipalOrgPaths value), the root's first.
    let known: Vec<(String, String)> = std::iter::once("root")
        .chain(declared.ous.keys().map(|p| p.get_ref().as_str()))
        .filter_map(|path| {
            let names = kmsctl_org::target::Target::ou_names(path)?;
            Some((path.to_owned(), tree.org_path(&names).ok()?))
        })
        .collect();
    let mut findings = Vec::new();
    for (name, value) in &env.settings.variables {
        let looks_like_org_path = value.starts_with("o-") && value.contains("/r-");
        if !looks_like_org_path || known.iter().any(|(_, path)| path == value) {
            continue;
        }
        let location = env
            .variable_locations
            .get(name)
            .cloned()
            .unwrap_or_else(|| {
                kmsctl_core::Location::file(format!("{}/environment.toml", env.path))
            });
        findings.push(Finding::of(
            &ORG_PATH_UNKNOWN,
            location,
            format!(
                "variable {name} = {value:?} is not an OU path of the organization ({}'s [tree]): a policy condition on it never matches",
                org_file.path.display()
            ),
            format!(
                "write one of: {}",
                known
                    .iter()
                    .map(|(names, path)| format!("{path:?} ({names})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    findings
}
