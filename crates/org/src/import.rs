//! `kmsctl import organization`: the SCPs and RCPs made by hand (no `kmsctl:managed` tag, not
//! AWS's own) that no file declares, written for review: each policy's content as a file under
//! `policies/org/` (its name is the file stem, as kmsctl names policies), with the organization
//! id and OU paths written as `{{ org_id }}` and `{{ ou_path '...' }}`; and the organization.toml
//! lines that attach them where they are attached and adopt them (`adopt = true`). A pure
//! function of what was read.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::config::{OrganizationFile, PolicyType};
use crate::observe::{ObservedOrg, ObservedPolicy};

/// What import writes.
#[derive(Debug, Default, PartialEq)]
pub struct ImportedOrg {
    /// Lines to merge into organization.toml.
    pub fragment: String,
    /// (path relative to the project root, text).
    pub policies: Vec<(PathBuf, String)>,
    pub imported: usize,
    pub notes: Vec<String>,
}

fn declared(org: &OrganizationFile, name: &str) -> bool {
    PolicyType::ALL.into_iter().any(|kind| {
        org.attachments(kind)
            .values()
            .flatten()
            .any(|n| n.get_ref() == name)
    }) || org.policy_settings(name).is_some()
}

/// The policy's content with the organization's ids as templates: each OU's org path (longest
/// first, so a nested OU is not taken for its parent) and the organization id.
fn templated(content: &str, observed: &ObservedOrg) -> String {
    let mut text = serde_json::from_str::<serde_json::Value>(content)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| content.to_owned());
    let tree = &observed.tree;
    let mut paths: Vec<(String, String)> = tree
        .ous
        .iter()
        .filter_map(|ou| {
            let path = tree.path_of(&ou.id);
            let names: Vec<String> = path.split('/').skip(1).map(str::to_owned).collect();
            tree.org_path(&names).ok().map(|ids| (ids, path))
        })
        .collect();
    paths.push((
        format!("{}/{}/", tree.org_id, tree.root_id),
        "root".to_owned(),
    ));
    paths.sort_by_key(|(ids, _)| std::cmp::Reverse(ids.len()));
    for (ids, path) in paths {
        text = text.replace(&ids, &format!("{{{{ ou_path '{path}' }}}}"));
    }
    text = text.replace(&tree.org_id, "{{ org_id }}");
    text.push('\n');
    text
}

/// The target as organization.toml writes it: `root`, an OU path by names, or an account id.
fn target_name(observed: &ObservedOrg, id: &str) -> String {
    if id == observed.tree.root_id {
        "root".to_owned()
    } else if observed.tree.ous.iter().any(|ou| ou.id == id) {
        observed.tree.path_of(id)
    } else {
        id.to_owned()
    }
}

fn valid_stem(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub fn entries(
    observed: &ObservedOrg,
    org: &OrganizationFile,
    free: &dyn Fn(&std::path::Path) -> bool,
) -> ImportedOrg {
    let mut out = ImportedOrg::default();
    let mut attachments: BTreeMap<(PolicyType, String), Vec<String>> = BTreeMap::new();
    let mut settings = String::new();
    let mut candidates: Vec<&ObservedPolicy> = observed
        .policies
        .iter()
        .filter(|p| !p.is_managed() && !p.aws_managed && !declared(org, &p.name))
        .collect();
    candidates.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    for policy in candidates {
        if !valid_stem(&policy.name) {
            out.notes.push(format!(
                "{} {} ({}): its name is not a file name kmsctl can use (letters, digits, '_', '-'); rename it in AWS to import it",
                policy.kind.api_name(),
                policy.name,
                policy.id
            ));
            continue;
        }
        let file = PathBuf::from("policies/org")
            .join(policy.kind.folder())
            .join(format!("{}.json", policy.name));
        if !free(&file) {
            out.notes.push(format!(
                "{} {}: {} exists already and is not overwritten; declare the policy by hand",
                policy.kind.api_name(),
                policy.name,
                file.display()
            ));
            continue;
        }
        out.policies
            .push((file, templated(&policy.content, observed)));
        let mut targets: Vec<String> = policy
            .targets
            .iter()
            .map(|id| target_name(observed, id))
            .collect();
        targets.sort();
        if targets.is_empty() {
            out.notes.push(format!(
                "{} {} is attached nowhere: it is written, and organization.toml must attach it for kmsctl to adopt it",
                policy.kind.api_name(),
                policy.name
            ));
        }
        for target in targets {
            attachments
                .entry((policy.kind, target))
                .or_default()
                .push(policy.name.clone());
        }
        let _ = writeln!(settings, "\n[policy.{}]", quoted(&policy.name));
        let _ = writeln!(settings, "adopt = true");
        let _ = writeln!(settings, "description = {}", quoted(&policy.description));
        out.imported += 1;
    }
    if out.imported == 0 {
        return out;
    }
    let _ = writeln!(
        out.fragment,
        "# Written by `kmsctl import organization`: SCPs and RCPs made by hand that no file declared.\n\
         # kmsctl reads only organization.toml: merge these lines into it (add the names to a target's\n\
         # existing list), review the policy files, then `kmsctl validate organization` and\n\
         # `kmsctl plan organization`: the plan adopts each policy (tags it as managed)."
    );
    for kind in PolicyType::ALL {
        let of_kind: Vec<(&String, &Vec<String>)> = attachments
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, target), names)| (target, names))
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let table = match kind {
            PolicyType::ServiceControlPolicy => "service_control_policies",
            PolicyType::ResourceControlPolicy => "resource_control_policies",
        };
        let _ = writeln!(out.fragment, "\n[{table}]");
        for (target, names) in of_kind {
            let names: Vec<String> = names.iter().map(|n| quoted(n)).collect();
            let _ = writeln!(out.fragment, "{} = [{}]", quoted(target), names.join(", "));
        }
    }
    out.fragment.push_str(&settings);
    out
}

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}
