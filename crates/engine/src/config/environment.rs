//! An environment folder: every `*.toml` is read and merged. `[[key]]` entries concatenate;
//! any other field or table may appear in one file only. Unknown fields are errors.

use std::collections::BTreeMap;
use std::path::Path;

use kmsctl_core::environment::{EnvironmentSettings, OrganizationPlace, Rules};
use kmsctl_core::limits::{
    MAX_PENDING_WINDOW_DAYS, MAX_ROTATION_PERIOD_DAYS, MIN_PENDING_WINDOW_DAYS,
    MIN_ROTATION_PERIOD_DAYS, PENDING_WINDOW_DAYS, ROTATION_PERIOD_DAYS,
};
use kmsctl_core::source::SourceFile;
use kmsctl_hsm::config::HsmDecl;
use kmsctl_keys::KeyDecl;
use kmsctl_monitor::config::{AlertsDecl, ConfigRecorderDecl, ConfigRuleDecl, MonitorDecl};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::project::Project;

/// One TOML file of an environment, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentFile {
    name: Option<Spanned<String>>,
    account_id: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    assume_role_arn: Option<Spanned<String>>,
    variables: Option<Spanned<BTreeMap<Spanned<String>, String>>>,
    tags: Option<Spanned<BTreeMap<String, String>>>,
    rules: Option<Spanned<Rules>>,
    #[serde(default)]
    key: Vec<Spanned<KeyDecl>>,
    #[serde(default)]
    config_rule: Vec<Spanned<ConfigRuleDecl>>,
    alerts: Option<Spanned<AlertsDecl>>,
    config_recorder: Option<Spanned<ConfigRecorderDecl>>,
    hsm: Option<Spanned<HsmDecl>>,
    /// Boundary tests (`expect.toml` by convention).
    #[serde(default)]
    expect: Vec<Spanned<crate::config::expect::ExpectDecl>>,
}

/// An environment as loaded: its settings, its files and the keys they declare.
#[derive(Debug)]
pub struct LoadedEnvironment {
    pub settings: EnvironmentSettings,
    /// The folder, relative to the project root.
    pub path: String,
    pub files: Vec<SourceFile>,
    /// Where `[rules]` is declared, if it is.
    pub rules_location: Option<kmsctl_core::Location>,
    /// Where `account_id` is set: account-wide findings point there.
    pub account_location: kmsctl_core::Location,
    /// Where each of `[variables]` is set.
    pub variable_locations: BTreeMap<String, kmsctl_core::Location>,
    /// Each `[[key]]` with the index of its file in `files`.
    pub keys: Vec<(usize, Spanned<KeyDecl>)>,
    /// `[[config_rule]]`, `[alerts]` and `[config_recorder]`.
    pub monitor: MonitorDecl,
    /// `[hsm.cluster]` and `[hsm.key_store]`.
    pub hsm: Option<(SourceFile, Spanned<HsmDecl>)>,
    /// Secrets written into the files: refused, their values already blanked out of `files`.
    pub secrets: Vec<kmsctl_core::Finding>,
    /// Each `[[expect]]` with the index of its file in `files`.
    pub expectations: Vec<(usize, Spanned<crate::config::expect::ExpectDecl>)>,
}

impl LoadedEnvironment {
    /// Each `[[key]]` with the file that declares it, as the keys domain takes them.
    pub fn declared_keys(&self) -> Vec<kmsctl_keys::desired::DeclaredKey<'_>> {
        self.keys
            .iter()
            .map(|(file, decl)| kmsctl_keys::desired::DeclaredKey {
                file: &self.files[*file],
                decl,
            })
            .collect()
    }
}

/// A field set in one file, remembered to report a second definition.
struct Seen<T> {
    value: Spanned<T>,
    file: usize,
}

fn take<T>(
    slot: &mut Option<Seen<T>>,
    value: Option<Spanned<T>>,
    file: usize,
    files: &[SourceFile],
    name: &str,
) -> Result<()> {
    let Some(value) = value else { return Ok(()) };
    if let Some(first) = slot {
        let first_file = &files[first.file];
        let here = &files[file];
        return Err(Error::in_source(
            &here.path,
            &here.text,
            value.span(),
            format!(
                "{name} is also declared in {}:{}",
                first_file.path.display(),
                first_file.line_of(first.value.span().start)
            ),
            "second definition",
        )
        .help(format!(
            "{name} may appear in one file of the environment only: remove one of the two"
        )));
    }
    *slot = Some(Seen { value, file });
    Ok(())
}

pub fn load_environment(project: &Project, dir: &Path) -> Result<LoadedEnvironment> {
    let display_dir = project.display(dir);
    let paths = project
        .files
        .list(dir, "toml")
        .map_err(|e| crate::project::file_error(&e))?;
    if paths.is_empty() {
        return Err(
            Error::new(format!("{} holds no .toml file", display_dir.display())).help(
                "an environment folder needs an environment.toml with name, account_id and region",
            ),
        );
    }

    let mut files = Vec::new();
    for path in &paths {
        let text = project.read(path, kmsctl_core::project_files::CONFIG)?;
        files.push(SourceFile::new(project.display(path), text));
    }
    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mut env = from_sources(folder, &display_dir, files)?;
    env.settings.organization = organization_place(project, &env.settings.account_id);
    Ok(env)
}

/// What organization.toml says about `account`: the deployer role, the organization's id and
/// the account's `aws:PrincipalOrgPaths`, for the key-policy lockout guard. `None` without an
/// organization.toml; what cannot be read or does not parse is left out (loading the
/// organization for the floors reports it). Read through the project's checks like every file.
fn organization_place(project: &Project, account: &str) -> Option<OrganizationPlace> {
    let relative = Path::new(crate::project::ORGANIZATION_FILE);
    let text = project
        .files
        .read(relative, kmsctl_core::project_files::CONFIG)
        .ok()?;
    let org: kmsctl_org::config::OrganizationFile = toml::from_str(&text).ok()?;
    let mut place = OrganizationPlace {
        deployer_role_arn: org.deployer_role_arn.as_ref().map(|r| r.get_ref().clone()),
        ..OrganizationPlace::default()
    };
    if let Some(declared) = &org.tree {
        place.org_id = Some(declared.org_id.get_ref().clone());
        let file = SourceFile::new(relative, text.clone());
        if let Ok(tree) = kmsctl_org::declared_tree::build(&file, declared) {
            if let Some(names) = declared.account_ou(account) {
                place.org_path = tree.org_path(&names).ok();
            }
            place
                .ou_paths
                .insert("root".to_owned(), tree.org_path(&[]).unwrap_or_default());
            for path in declared.ous.keys() {
                let names =
                    kmsctl_org::target::Target::ou_names(path.get_ref()).unwrap_or_default();
                if let Ok(resolved) = tree.org_path(&names) {
                    place.ou_paths.insert(path.get_ref().clone(), resolved);
                }
            }
        }
    }
    Some(place)
}

/// Parses and merges an environment's files, already read: `folder` is the folder's name (the
/// environment's name must equal it), `display_dir` the folder as messages show it.
pub fn from_sources(
    folder: &str,
    display_dir: &Path,
    files: Vec<SourceFile>,
) -> Result<LoadedEnvironment> {
    // Before anything parses or shows a file: blank out secret values, remember where they were.
    let mut secrets = Vec::new();
    let files: Vec<SourceFile> = files
        .into_iter()
        .map(|file| {
            let (text, found) = kmsctl_core::secrets::redact(&file.text);
            secrets.extend(found.into_iter().map(|s| {
                kmsctl_core::Finding::of(
                    &kmsctl_core::secrets::SECRET_IN_FILE,
                    kmsctl_core::Location::at_line(file.path.clone(), s.line),
                    format!("`{}` holds a secret in a file kmsctl reads (its value is not shown)", s.key),
                    "remove it and rotate that secret (it was written to a file): kmsctl reads secrets from environment variables only; for the key store's kmsuser password, name the variable: password_env = \"KMSCTL_HSM_PASSWORD\"",
                )
            }));
            SourceFile::new(file.path, text)
        })
        .collect();
    let mut parsed = Vec::new();
    for file in &files {
        let parsed_file: EnvironmentFile = toml::from_str(&file.text).map_err(|e| {
            let error = Error::in_toml(&file.path, &file.text, &e);
            // The secret's value is blanked out of the text shown; still say it is there.
            let held: Vec<String> = secrets
                .iter()
                .filter(|f| f.location.file == file.path)
                .map(|f| format!("line {}", f.location.line.unwrap_or(1)))
                .collect();
            if held.is_empty() {
                error.help("see the environment file reference in README.md")
            } else {
                error.help(format!(
                    "see the environment file reference in README.md; this file also holds a secret-like value ({}, not shown): remove it and rotate that secret, kmsctl reads secrets from environment variables only",
                    held.join(", ")
                ))
            }
        })?;
        parsed.push(parsed_file);
    }

    let (mut name, mut account_id, mut region, mut role) = (None, None, None, None);
    let (mut variables, mut tags, mut rules) = (None, None, None);
    let mut keys = Vec::new();
    let mut expectations = Vec::new();
    let mut monitor = MonitorDecl::default();
    let (mut alerts, mut recorder, mut hsm) = (None, None, None);
    for (index, file) in parsed.into_iter().enumerate() {
        take(&mut name, file.name, index, &files, "name")?;
        take(
            &mut account_id,
            file.account_id,
            index,
            &files,
            "account_id",
        )?;
        take(&mut region, file.region, index, &files, "region")?;
        take(
            &mut role,
            file.assume_role_arn,
            index,
            &files,
            "assume_role_arn",
        )?;
        take(&mut variables, file.variables, index, &files, "[variables]")?;
        take(&mut tags, file.tags, index, &files, "[tags]")?;
        take(&mut rules, file.rules, index, &files, "[rules]")?;
        keys.extend(file.key.into_iter().map(|key| (index, key)));
        expectations.extend(file.expect.into_iter().map(|e| (index, e)));
        monitor.rules.extend(
            file.config_rule
                .into_iter()
                .map(|rule| (files[index].clone(), rule)),
        );
        take(&mut alerts, file.alerts, index, &files, "[alerts]")?;
        take(
            &mut recorder,
            file.config_recorder,
            index,
            &files,
            "[config_recorder]",
        )?;
        take(&mut hsm, file.hsm, index, &files, "[hsm]")?;
    }

    let required = |field: &str| {
        Error::new(format!("{}: {field} is not set", display_dir.display())).help(format!(
            "add `{field} = \"...\"` to {}/environment.toml",
            display_dir.display()
        ))
    };
    let name = name.ok_or_else(|| required("name"))?;
    let account_id = account_id.ok_or_else(|| required("account_id"))?;
    let region = region.ok_or_else(|| required("region"))?;
    let at = |seen: &Seen<String>, message: String, help: String| {
        let file = &files[seen.file];
        Error::in_source(&file.path, &file.text, seen.value.span(), message, "here").help(help)
    };
    if name.value.get_ref() != folder {
        return Err(at(
            &name,
            format!(
                "name = {:?} must equal the folder name {folder:?}",
                name.value.get_ref()
            ),
            format!("set name = \"{folder}\" or rename the folder"),
        ));
    }
    let account = account_id.value.get_ref();
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(at(
            &account_id,
            format!("account_id = {account:?} is not a 12-digit AWS account id"),
            "an AWS account id is 12 digits, as a string: account_id = \"123456789012\"".into(),
        ));
    }
    let region_name = region.value.get_ref();
    if region_name.is_empty()
        || !region_name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(at(
            &region,
            format!("region = {region_name:?} is not an AWS region name"),
            "e.g. region = \"us-east-1\"".into(),
        ));
    }
    if let Some(role) = &role {
        let arn = role.value.get_ref();
        let parts: Vec<&str> = arn.split(':').collect();
        let valid = parts.len() == 6
            && parts[0] == "arn"
            && parts[2] == "iam"
            && parts[5].starts_with("role/");
        if !valid {
            return Err(at(
                role,
                format!("assume_role_arn = {arn:?} is not an IAM role ARN"),
                "e.g. arn:aws:iam::222222222222:role/kmsctl-deployer".into(),
            ));
        }
        if parts[4] != account {
            return Err(at(
                role,
                format!(
                    "assume_role_arn is in account {}, but account_id is {account}",
                    parts[4]
                ),
                "assume a role in the environment's own account".into(),
            ));
        }
    }
    if let Some(rules) = &rules {
        check_rules(rules, &files)?;
    }
    let rules_location = rules
        .as_ref()
        .map(|r| files[r.file].location(r.value.span()));
    let account_location = files[account_id.file].location(account_id.value.span());
    let mut variable_locations = BTreeMap::new();
    let variables: BTreeMap<String, String> = match variables {
        Some(seen) => {
            let file = &files[seen.file];
            seen.value
                .into_inner()
                .into_iter()
                .map(|(name, value)| {
                    variable_locations.insert(name.get_ref().clone(), file.location(name.span()));
                    (name.into_inner(), value)
                })
                .collect()
        }
        None => BTreeMap::new(),
    };
    let settings = EnvironmentSettings {
        name: name.value.into_inner(),
        account_id: account_id.value.into_inner(),
        region: region.value.into_inner(),
        assume_role_arn: role.map(|r| r.value.into_inner()),
        variables,
        tags: tags.map(|t| t.value.into_inner()).unwrap_or_default(),
        rules: rules.map(|r| r.value.into_inner()).unwrap_or_default(),
        organization: None,
    };
    monitor.alerts = alerts.map(|seen: Seen<AlertsDecl>| (files[seen.file].clone(), seen.value));
    monitor.recorder =
        recorder.map(|seen: Seen<ConfigRecorderDecl>| (files[seen.file].clone(), seen.value));
    let hsm = hsm.map(|seen: Seen<HsmDecl>| (files[seen.file].clone(), seen.value));
    Ok(LoadedEnvironment {
        settings,
        path: display_dir.display().to_string(),
        files,
        rules_location,
        account_location,
        variable_locations,
        keys,
        monitor,
        hsm,
        secrets,
        expectations,
    })
}

/// Rules no key could satisfy are a mistake in the rules, not in every key.
fn check_rules(rules: &Seen<Rules>, files: &[SourceFile]) -> Result<()> {
    let value = rules.value.get_ref();
    let problem = if !PENDING_WINDOW_DAYS.contains(&value.min_deletion_window_days) {
        Some((
            format!(
                "min_deletion_window_days = {} is outside AWS's {MIN_PENDING_WINDOW_DAYS}–{MAX_PENDING_WINDOW_DAYS} days: no key could satisfy it",
                value.min_deletion_window_days
            ),
            format!(
                "set min_deletion_window_days between {MIN_PENDING_WINDOW_DAYS} and {MAX_PENDING_WINDOW_DAYS} ({MAX_PENDING_WINDOW_DAYS} enforces the longest window AWS allows)"
            ),
        ))
    } else if !ROTATION_PERIOD_DAYS.contains(&value.max_rotation_period_days) {
        Some((
            format!(
                "max_rotation_period_days = {} is outside AWS's {MIN_ROTATION_PERIOD_DAYS}–{MAX_ROTATION_PERIOD_DAYS} days: no key could satisfy it",
                value.max_rotation_period_days
            ),
            format!(
                "set max_rotation_period_days between {MIN_ROTATION_PERIOD_DAYS} and {MAX_ROTATION_PERIOD_DAYS}"
            ),
        ))
    } else if value.environment_tag.trim().is_empty() {
        Some((
            "environment_tag is empty".to_owned(),
            "name the tag that must equal the environment name, e.g. \"Environment\"".to_owned(),
        ))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some((message, help)) => {
            let file = &files[rules.file];
            Err(Error::in_source(
                &file.path,
                &file.text,
                rules.value.span(),
                format!("[rules]: {message}"),
                "these rules",
            )
            .help(help))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_and_each_variable_are_located_where_they_are_set() {
        let files = vec![
            SourceFile::new(
                "environments/dev/environment.toml",
                "name = \"dev\"\nregion = \"us-east-1\"\n# account_id = \"000000000000\" (old)\naccount_id = \"111111111111\"\n",
            ),
            SourceFile::new(
                "environments/dev/variables.toml",
                "[variables]\nteam = \"payments\"\n\n  dev_org_path = \"o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/\"\n",
            ),
        ];
        let env = from_sources("dev", Path::new("environments/dev"), files).expect("loads");
        assert_eq!(
            env.account_location.to_string(),
            "environments/dev/environment.toml:4"
        );
        let at = |name: &str| env.variable_locations.get(name).map(ToString::to_string);
        assert_eq!(
            at("team").as_deref(),
            Some("environments/dev/variables.toml:2")
        );
        assert_eq!(
            at("dev_org_path").as_deref(),
            Some("environments/dev/variables.toml:4")
        );
    }
}
