//! `kmsctl import env/NAME`: the account's customer managed keys that kmsctl does not manage,
//! written as `[[key]]` entries with `adopt = true` for the user to review, and their
//! non-default key policies as files with the account and region templated. Reading is
//! [`unmanaged`]; writing the entries is [`entries`], a pure function of what was read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, OriginType};
use kmsctl_aws::{KmsClients, map_bounded};
use kmsctl_core::environment::EnvironmentSettings;
use kmsctl_core::policy;

use crate::observe::{ObserveError, ObservedKey};

/// What the account holds that kmsctl does not manage.
#[derive(Debug, Default)]
pub struct Unmanaged {
    pub keys: Vec<ObservedKey>,
    /// Keys that could not be read (id, AWS's words): named, never guessed at.
    pub unreadable: Vec<(String, String)>,
}

/// Reads every customer managed key of the account without kmsctl's tags: ListKeys and
/// ListAliases, then DescribeKey, ListResourceTags, GetKeyPolicy and GetKeyRotationStatus for
/// each. `wanted`: aliases (`alias/x` or `x`) or key ids to keep to; empty for all.
pub async fn unmanaged(
    clients: &KmsClients,
    wanted: &[String],
    parallelism: usize,
) -> Result<Unmanaged, ObserveError> {
    let (keys, aliases) = futures::try_join!(
        crate::list::list_keys(&clients.list),
        crate::list::list_aliases(&clients.list)
    )?;
    let mut aliases_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for alias in &aliases {
        if let (Some(name), Some(target)) = (alias.alias_name(), alias.target_key_id()) {
            aliases_of
                .entry(target.to_owned())
                .or_default()
                .push(name.to_owned());
        }
    }
    let wanted: BTreeSet<String> = wanted.iter().map(|w| wanted_name(w)).collect();
    let ids: Vec<String> = keys
        .iter()
        .filter_map(|k| k.key_id())
        .filter(|id| {
            let names = aliases_of.get(*id).map(Vec::as_slice).unwrap_or_default();
            // AWS managed keys carry only alias/aws/* aliases: skipped without a call.
            let aws_managed =
                !names.is_empty() && names.iter().all(|n| n.starts_with("alias/aws/"));
            !aws_managed
                && (wanted.is_empty()
                    || wanted.contains(*id)
                    || names.iter().any(|n| wanted.contains(n)))
        })
        .map(str::to_owned)
        .collect();
    let read = map_bounded(ids, parallelism, |key_id| {
        let aliases = aliases_of.get(&key_id).cloned().unwrap_or_default();
        async move { crate::observe::describe(clients, key_id, None, aliases).await }
    })
    .await?;
    let mut found = Unmanaged::default();
    for (key_id, result) in read {
        match result {
            Ok(Some(key)) if !key.is_managed() => found.keys.push(key),
            Ok(_) => {}
            Err(reason) => found.unreadable.push((key_id, reason)),
        }
    }
    found
        .keys
        .sort_by(|a, b| (&a.aliases, &a.key_id).cmp(&(&b.aliases, &b.key_id)));
    Ok(found)
}

/// What `--key` names, as ListKeys and ListAliases write it: `alias/x` (also from `x` or an
/// alias ARN), or a key id (also from a key ARN).
fn wanted_name(written: &str) -> String {
    if let Some((_, resource)) = written
        .strip_prefix("arn:")
        .and_then(|a| a.rsplit_once(':'))
    {
        return resource.strip_prefix("key/").unwrap_or(resource).to_owned();
    }
    let key_id = written.len() == 36 && written.chars().filter(|c| *c == '-').count() == 4;
    if written.starts_with("alias/") || key_id || written.starts_with("mrk-") {
        written.to_owned()
    } else {
        format!("alias/{written}")
    }
}

/// What import writes: one TOML file of `[[key]]` entries, the policy files, and what it
/// noticed (keys it cannot manage, names to fill in).
#[derive(Debug, Default, PartialEq)]
pub struct Imported {
    pub toml: String,
    /// (file name under `policies/kms/`, text).
    pub policies: Vec<(String, String)>,
    pub imported: usize,
    pub notes: Vec<String>,
}

/// The environment's default alias shape: `alias/{env}-{function}-{team}-{purpose}`.
fn names_from_alias(env: &str, alias: &str) -> Option<(String, String, String)> {
    let rest = alias
        .strip_prefix("alias/")?
        .strip_prefix(env)?
        .strip_prefix('-')?;
    let mut parts = rest.splitn(3, '-');
    let (function, team, purpose) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    (valid(function) && valid(team) && valid(purpose))
        .then(|| (function.to_owned(), team.to_owned(), purpose.to_owned()))
}

/// TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The policy text with the account and region as templates, so the file is the project's.
fn templated(text: &str, env: &EnvironmentSettings) -> String {
    let pretty = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned());
    let mut out = pretty.replace(&env.account_id, "{{ account_id }}");
    if !env.region.is_empty() {
        out = out.replace(&format!(":{}:", env.region), ":{{ region }}:");
        out = out.replace(&format!(".{}.", env.region), ".{{ region }}.");
    }
    out.push('\n');
    out
}

/// Whether `text` means the same as AWS's default key policy for the environment's account
/// (what kmsctl applies to a key declared without `policy`).
fn is_default_policy(text: &str, env: &EnvironmentSettings) -> bool {
    let default = crate::desired::default_policy_text(env);
    match (policy::parse(text), policy::parse(&default)) {
        (Ok(live), Ok(default)) => policy::semantically_equal(&live, &default),
        _ => false,
    }
}

/// The `[[key]]` entries for `keys`. `declared`: the aliases and key ids the environment
/// already declares (their keys are skipped). `free`: whether a policy file name is unused.
pub fn entries(
    env: &EnvironmentSettings,
    keys: &[ObservedKey],
    declared: &BTreeSet<String>,
    free: &dyn Fn(&str) -> bool,
) -> Imported {
    let mut out = Imported::default();
    let _ = writeln!(
        out.toml,
        "# Written by `kmsctl import env/{}`: keys of account {} that kmsctl did not manage.\n\
         # Review every entry, then `kmsctl validate env/{0}` and `kmsctl plan env/{0}`: the plan\n\
         # adopts each key (tags it, creates any missing alias) and creates none.",
        env.name, env.account_id
    );
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for key in keys {
        if declared.contains(&key.key_id) || key.aliases.iter().any(|a| declared.contains(a)) {
            out.notes
                .push(format!("{} is declared already: left as it is", shown(key)));
            continue;
        }
        if key.policy.is_none() {
            out.notes.push(format!(
                "{}: its key policy could not be read, so it is not imported (an entry without it would replace the policy with the default one)",
                shown(key)
            ));
            continue;
        }
        if key.origin.get() != Some(&OriginType::AwsKms) {
            out.notes.push(format!(
                "{} has origin {}: kmsctl adopts only keys whose key material AWS KMS made (AWS_KMS)",
                shown(key),
                key.origin
            ));
            continue;
        }
        write_entry(env, key, &mut taken, free, &mut out);
        out.imported += 1;
    }
    out
}

fn shown(key: &ObservedKey) -> String {
    match key.aliases.first() {
        Some(alias) => format!("{} ({alias})", key.key_id),
        None => key.key_id.clone(),
    }
}

fn write_entry(
    env: &EnvironmentSettings,
    key: &ObservedKey,
    taken: &mut BTreeSet<String>,
    free: &dyn Fn(&str) -> bool,
    out: &mut Imported,
) {
    // Sorted: the output does not depend on the order AWS lists aliases in.
    let mut aliases = key.aliases.clone();
    aliases.sort();
    let fitting = aliases
        .iter()
        .find_map(|a| names_from_alias(&env.name, a).map(|names| (a.clone(), names)));
    let toml = &mut out.toml;
    let _ = writeln!(toml, "\n# {} · {}", key.key_id, key.arn);
    let (function, team, purpose) = match &fitting {
        Some((_, names)) => names.clone(),
        None => {
            let _ = writeln!(
                toml,
                "# TODO(import): no alias of the form alias/{}-FUNCTION-TEAM-PURPOSE names this key:\n\
                 # replace the three names below (they become its kmsctl:id tag).",
                env.name
            );
            let short: String = key.key_id.chars().take(8).collect();
            (
                "fill-in".to_owned(),
                "fill-in".to_owned(),
                format!("key-{short}"),
            )
        }
    };
    let name = format!("{function}-{team}-{purpose}");
    let _ = writeln!(toml, "[[key]]");
    let _ = writeln!(toml, "adopt = true");
    let _ = writeln!(toml, "function = {}", quoted(&function));
    let _ = writeln!(toml, "team = {}", quoted(&team));
    let _ = writeln!(toml, "purpose = {}", quoted(&purpose));
    let primary = fitting.as_ref().map(|(a, _)| a.clone());
    match (&primary, aliases.first()) {
        (Some(_), _) => {}
        (None, Some(first)) => {
            let _ = writeln!(toml, "alias = {}", quoted(first));
        }
        // No alias: adopted by its id; the plan gives it the default alias.
        (None, None) => {
            let _ = writeln!(toml, "key_id = {}", quoted(&key.key_id));
        }
    }
    let primary = primary.or_else(|| aliases.first().cloned());
    let extra: Vec<String> = aliases
        .iter()
        .filter(|a| Some(*a) != primary.as_ref())
        .map(|a| quoted(a))
        .collect();
    if !extra.is_empty() {
        let _ = writeln!(toml, "aliases = [{}]", extra.join(", "));
    }
    // Also when empty: without it kmsctl would write its own description.
    let _ = writeln!(toml, "description = {}", quoted(&key.description));
    if let Some(spec) = key.spec.get().filter(|s| **s != KeySpec::SymmetricDefault) {
        let _ = writeln!(toml, "spec = {}", quoted(spec.as_str()));
    }
    if let Some(usage) = key
        .usage
        .get()
        .filter(|u| **u != KeyUsageType::EncryptDecrypt)
    {
        let _ = writeln!(toml, "usage = {}", quoted(usage.as_str()));
    }
    if key.multi_region {
        let _ = writeln!(toml, "multi_region = true");
    }
    if let Some(enabled) = key.rotation_enabled {
        let _ = writeln!(toml, "enable_key_rotation = {enabled}");
        // Written even at AWS's default of 365: a lower ceiling in [rules] then shows in validate
        // instead of the plan changing it silently.
        if let Some(days) = key.rotation_period_days.filter(|_| enabled) {
            let _ = writeln!(toml, "rotation_period_in_days = {days}");
        }
    }
    match key.state.get() {
        Some(KeyState::Disabled) => {
            let _ = writeln!(toml, "state = \"disabled\"");
        }
        Some(KeyState::PendingDeletion) => {
            let _ = writeln!(toml, "state = \"pending_deletion\"");
            out.notes.push(format!(
                "{} is scheduled for deletion ({}): adopting it keeps it so; declare state = \"enabled\" to cancel the deletion",
                shown(key),
                key.deletion_date.as_deref().unwrap_or("date unknown")
            ));
        }
        _ => {}
    }
    if let Some(text) = key.policy.as_deref().filter(|t| !is_default_policy(t, env)) {
        let base = format!("{}-{name}-policy", env.name);
        let file = (1..)
            .map(|n| {
                if n == 1 {
                    format!("{base}.json")
                } else {
                    format!("{base}-{n}.json")
                }
            })
            .find(|f| free(f) && !taken.contains(f))
            .unwrap_or_default();
        taken.insert(file.clone());
        let _ = writeln!(toml, "policy = {}", quoted(&file));
        out.policies.push((file, templated(text, env)));
    }
    // Tags the environment's [tags] gives every key with the same value are not repeated: a
    // later change there reaches imported keys too.
    let tags: Vec<(&String, &String)> = key
        .tags
        .iter()
        .filter(|(k, v)| !k.starts_with("kmsctl:") && env.tags.get(*k) != Some(*v))
        .collect();
    let added: Vec<&str> = env
        .tags
        .iter()
        .filter(|(k, v)| key.tags.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    if !added.is_empty() {
        out.notes.push(format!(
            "{}: the adoption also sets the environment's tag(s) {} ([tags] in environment.toml)",
            shown(key),
            added.join(", ")
        ));
    }
    if !tags.is_empty() {
        let _ = writeln!(toml, "\n[key.tags]");
        for (k, v) in tags {
            let _ = writeln!(toml, "{} = {}", quoted(k), quoted(v));
        }
    }
}

#[cfg(test)]
mod tests;
