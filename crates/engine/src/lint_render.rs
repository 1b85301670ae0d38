//! `kmsctl lint FILE` inside a project: the file's `{{ }}` templates rendered with the project's
//! own values, as `validate` renders them — an organization policy with organization.toml's
//! variables and `[tree]` (`{{ ou_path 'root/prod' }}` becomes the real org path), a key policy
//! with the variables of the environment whose files name it (else the first environment).

use std::path::{Path, PathBuf};

use kmsctl_core::source::SourceFile;

use crate::project::{ORGANIZATION_FILE, Project};

/// A file's text rendered with a project's values.
pub struct Rendered {
    pub text: String,
    /// Whose values: `organization/organization.toml`, `environments/prod`.
    pub with: String,
}

/// The project around `file`, if any: the nearest folder up that holds `environments/` or
/// `organization/`.
fn project_of(file: &Path) -> Option<(Project, PathBuf)> {
    let absolute = file.canonicalize().ok()?;
    let root = absolute
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("environments").is_dir() || dir.join("organization").is_dir())?;
    let relative = absolute.strip_prefix(root).ok()?.to_owned();
    Some((Project::at(root), relative))
}

/// `text` (the file's content) rendered with the values of the project around `file`.
/// `None` outside a project, in a project without an environment that loads, or when the file
/// has no template; `Some(Err)` says why the
/// project's values could not render it (lint then uses sample values).
pub fn render(file: &Path, text: &str) -> Option<Result<Rendered, String>> {
    if !text.contains("{{") {
        return None;
    }
    let (project, relative) = project_of(file)?;
    let shown = relative.to_string_lossy();
    if shown.contains("control_policy") || shown.starts_with("organization") {
        Some(organization(&project, text))
    } else {
        environment(&project, &relative, text).transpose()
    }
}

fn organization(project: &Project, text: &str) -> Result<Rendered, String> {
    let relative = Path::new(ORGANIZATION_FILE);
    let source = project
        .files
        .read(relative, kmsctl_core::project_files::CONFIG)
        .map_err(|e| e.to_string())?;
    let (source, _) = kmsctl_core::secrets::redact(&source);
    let org: kmsctl_org::config::OrganizationFile =
        toml::from_str(&source).map_err(|e| format!("{ORGANIZATION_FILE}: {}", e.message()))?;
    let file = SourceFile::new(relative, source.clone());
    let tree = org
        .tree
        .as_ref()
        .and_then(|declared| kmsctl_org::declared_tree::build(&file, declared).ok());
    // As `validate` renders them: the [tree]'s ids, else its stand-ins.
    let resolve = |names: &[String]| match &tree {
        Some(tree) => tree.org_path(names).map_err(|e| e.to_string()),
        None => kmsctl_org::guards::stand_in_path(names),
    };
    let mut variables = org.template_variables();
    let org_id = tree
        .as_ref()
        .map_or(kmsctl_org::guards::STAND_IN_ORG, |t| t.org_id.as_str());
    variables
        .entry("org_id".into())
        .or_insert_with(|| org_id.into());
    let text =
        kmsctl_org::template::render(text, &variables, &resolve).map_err(|e| e.to_string())?;
    Ok(Rendered {
        text,
        with: ORGANIZATION_FILE.to_owned(),
    })
}

/// `Ok(None)` when the project has no environment that loads: sample values then.
fn environment(project: &Project, relative: &Path, text: &str) -> Result<Option<Rendered>, String> {
    let dir = project.root.join("environments");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        return Ok(None);
    };
    let mut folders: Vec<PathBuf> = listing
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    // Keys name their policy relative to policies/kms/: `policy = "prod-payment-policy.json"`.
    let name = relative
        .strip_prefix("policies/kms")
        .unwrap_or(relative)
        .to_string_lossy()
        .into_owned();
    let names_it = |text: &str| {
        text.lines().any(|line| {
            line.split_once('=').is_some_and(|(key, value)| {
                key.trim() == "policy"
                    && value
                        .split('#')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .trim_matches('"')
                        == name
            })
        })
    };
    let mut first = None;
    for folder in folders {
        let Ok(env) = crate::config::load_environment(project, &folder) else {
            continue;
        };
        if env.files.iter().any(|f| names_it(&f.text)) {
            return render_with(&env, text).map(Some);
        }
        first.get_or_insert(env);
    }
    match first {
        Some(env) => render_with(&env, text).map(Some),
        None => Ok(None),
    }
}

fn render_with(env: &crate::config::LoadedEnvironment, text: &str) -> Result<Rendered, String> {
    let ou_paths = env.settings.organization.as_ref().map(|o| &o.ou_paths);
    let text = kmsctl_keys::ou_path::render(text, ou_paths)
        .map_err(|(line, message, _)| format!("line {line}: {message}"))?;
    let text =
        kmsctl_core::template::render_json_strings(&text, &env.settings.template_variables())
            .map_err(|e| e.to_string())?;
    Ok(Rendered {
        text,
        with: env.path.clone(),
    })
}
