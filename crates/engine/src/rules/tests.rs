use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kmsctl_core::Severities;

use super::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Rule ids and kinds' drift rule ids, with their control and severity as the README writes them.
fn registry_as_documented() -> BTreeMap<String, (String, &'static str)> {
    let control = |c: Option<Control>| c.map_or("—", Control::id).to_owned();
    let mut documented: BTreeMap<String, (String, &str)> = all()
        .map(|rule| {
            let severity = match rule.severity {
                Severities::Error => "error",
                Severities::Warning => "warning",
                Severities::ErrorOrWarning => "error or warning",
                Severities::DriftOnly => "drift",
            };
            (rule.id.to_owned(), (control(rule.control), severity))
        })
        .collect();
    for kind in kinds() {
        documented.insert(drift_rule_id(kind.name), (control(kind.control), "drift"));
    }
    documented
}

/// A row of one of README.md's rule tables (those whose first column is `rule`).
#[derive(Debug)]
struct Row {
    ids: Vec<String>,
    columns: BTreeMap<String, String>,
}

/// Cells of a Markdown table row, split on `|` but not on `\|`.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    out.push(cell);
    out.into_iter().map(|c| c.trim().to_owned()).collect()
}

fn readme_rule_rows() -> Vec<Row> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in readme.lines() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let cells = cells(line);
        match &header {
            None if cells.first().map(String::as_str) == Some("rule") => header = Some(cells),
            None => {}
            Some(_) if cells.iter().all(|c| c.chars().all(|c| c == '-')) => {}
            Some(names) => rows.push(Row {
                ids: cells[0]
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect(),
                columns: names.iter().cloned().zip(cells).skip(1).collect(),
            }),
        }
    }
    rows
}

#[test]
fn rule_ids_are_unique_and_drift_rule_ids_are_not_taken() {
    let mut seen = BTreeSet::new();
    for rule in all() {
        assert!(
            seen.insert(rule.id.to_owned()),
            "rule {} is registered twice",
            rule.id
        );
    }
    for kind in kinds() {
        let id = drift_rule_id(kind.name);
        assert!(
            seen.insert(id.clone()),
            "{id} is a rule, or the drift of two kinds ({})",
            kind.name
        );
    }
}

#[test]
fn the_readme_lists_every_rule_with_its_control_and_severity_and_no_other() {
    let registry = registry_as_documented();
    let rows = readme_rule_rows();
    assert!(rows.len() > 10, "README.md's rule tables were not found");
    let mut listed = BTreeSet::new();
    for row in &rows {
        assert!(
            !row.ids.is_empty(),
            "a rule table row names no rule: {row:?}"
        );
        for id in &row.ids {
            // A rule may be in several tables (policy-version: environments and lint).
            listed.insert(id.clone());
            let Some((control, severity)) = registry.get(id) else {
                panic!("README.md lists {id}, which is no rule of the registry");
            };
            if let Some(written) = row.columns.get("control") {
                assert_eq!(written, control, "README.md's control of {id}");
            }
            if let Some(written) = row.columns.get("severity") {
                assert_eq!(written, severity, "README.md's severity of {id}");
            }
        }
    }
    let missing: Vec<&String> = registry.keys().filter(|id| !listed.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "README.md's rule tables lack {missing:?}"
    );
}

/// The id of every rule constructor call (`Rule::error`, `Rule::warning`, ...) written in the
/// workspace's sources, with its file.
fn declared_rule_ids() -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo_root().join("crates"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for constructor in ["error", "warning", "error_or_warning", "drift"] {
            let call = format!("Rule::{constructor}(");
            for (at, _) in text.match_indices(&call) {
                let rest = text[at + call.len()..].trim_start();
                if let Some(id) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                    found.push((id.to_owned(), file.clone()));
                }
            }
        }
    }
    found
}

#[test]
fn every_rule_declared_in_the_sources_is_registered() {
    let declared = declared_rule_ids();
    assert!(
        declared.len() > 50,
        "no rule declarations found: {declared:?}"
    );
    let registered: BTreeSet<&str> = all().map(|r| r.id).collect();
    for (id, file) in &declared {
        assert!(
            registered.contains(id.as_str()),
            "{} declares rule {id}, which its crate's RULES does not list",
            file.display()
        );
    }
    assert_eq!(declared.len(), registered.len(), "a rule is declared twice");
}

#[test]
fn kinds_name_their_control() {
    assert_eq!(kind_control("kms_key_rotation"), Some(Control::Rotation));
    assert_eq!(kind_control("events_target"), Some(Control::Monitoring));
    assert_eq!(kind_control("kms_custom_key_store"), Some(Control::Hsm));
    assert_eq!(
        kind_control("org_attachment"),
        Some(Control::EnvironmentBoundaries)
    );
    assert_eq!(kind_control("kms_alias"), None);
    assert_eq!(drift_rule_id("kms_key_policy"), "drift-kms-key-policy");
}
