//! `kmsctl lint` over a corpus of real-world policies: `tests/corpus/policy/MANIFEST.toml` lists
//! AWS-published SCPs, RCPs, key policies and identity policies (each must lint without an error,
//! save a file AWS would refuse as published) and small known-bad policies modelled on public
//! validators' cases (each must be flagged by the rule the manifest names).
//!
//! Every file of a type is linted in one run, from a fresh folder that is no kmsctl project: the
//! files are copied there under their corpus paths, so the findings name them by those paths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kmsctl_tests::{kmsctl_bin, repo_root};

const TYPES: [&str; 4] = ["key", "scp", "rcp", "identity"];

fn corpus() -> PathBuf {
    repo_root().join("tests/corpus/policy")
}

/// One `[[policy]]` of the manifest.
#[derive(Debug)]
struct Entry {
    file: String,
    kind: String,
    expect: String,
    source: Option<String>,
    commit: Option<String>,
    path: Option<String>,
    note: Option<String>,
}

impl Entry {
    fn clean(&self) -> bool {
        self.expect == "clean"
    }
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus().join("MANIFEST.toml")).expect("MANIFEST.toml");
    let table: toml::Table = toml::from_str(&text).expect("MANIFEST.toml is TOML");
    let policies = table
        .get("policy")
        .and_then(toml::Value::as_array)
        .expect("MANIFEST.toml has [[policy]] entries");
    policies
        .iter()
        .enumerate()
        .map(|(i, policy)| {
            let field = |name: &str| {
                policy
                    .get(name)
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned)
            };
            let required = |name: &str| {
                field(name).unwrap_or_else(|| panic!("[[policy]] number {} has no {name}", i + 1))
            };
            Entry {
                file: required("file"),
                kind: required("type"),
                expect: required("expect"),
                source: field("source"),
                commit: field("commit"),
                path: field("path"),
                note: field("note"),
            }
        })
        .collect()
}

/// One finding of `lint --format json`.
#[derive(Debug)]
struct Finding {
    severity: String,
    rule: String,
    message: String,
    pointer: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}[{}] {}: {}",
            self.severity, self.rule, self.pointer, self.message
        )
    }
}

/// Lints `files` (corpus paths, all of type `kind`) in one run of kmsctl from a fresh folder.
/// The findings by corpus path (every file has an entry), or why the run did not lint them.
fn lint(kind: &str, files: &[&str]) -> Result<BTreeMap<String, Vec<Finding>>, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in files {
        let to = dir.path().join(file);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(corpus().join(file), &to).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    let output = Command::new(kmsctl_bin())
        .args(["lint", "--type", kind, "--format", "json"])
        .args(files)
        .current_dir(dir.path())
        .env_remove("KMSCTL_ROOT")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("kmsctl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap_or(-1);
    if code != 0 && code != 3 {
        return Err(format!(
            "`kmsctl lint --type {kind} --format json` over {} file(s) exited {code} (0 or 3 \
             expected)\n--- stderr\n{stderr}--- stdout\n{stdout}",
            files.len()
        ));
    }
    let json: serde_json::Value = serde_json::from_str(&stdout).map_err(|e| {
        format!("`kmsctl lint --type {kind} --format json` printed no JSON ({e}):\n{stdout}")
    })?;
    let list = json
        .as_array()
        .ok_or_else(|| format!("`kmsctl lint --type {kind}` JSON is not a list:\n{stdout}"))?;
    let mut by_file: BTreeMap<String, Vec<Finding>> = files
        .iter()
        .map(|f| ((*f).to_owned(), Vec::new()))
        .collect();
    for item in list {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let named = text(&item["location"]["file"]);
        let named = named.trim_start_matches("./").replace('\\', "/");
        let finding = Finding {
            severity: text(&item["severity"]),
            rule: text(&item["rule"]),
            message: text(&item["message"]),
            pointer: text(&item["location"]["pointer"]),
        };
        match by_file.get_mut(&named) {
            Some(findings) => findings.push(finding),
            None => {
                return Err(format!(
                    "`kmsctl lint --type {kind}` names a file it was not given ({named:?}): \
                     {finding}"
                ));
            }
        }
    }
    Ok(by_file)
}

/// The manifest's entries matching `keep`, grouped by type.
fn by_type(keep: impl Fn(&Entry) -> bool) -> BTreeMap<String, Vec<Entry>> {
    let mut groups: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for entry in manifest().into_iter().filter(|e| keep(e)) {
        groups.entry(entry.kind.clone()).or_default().push(entry);
    }
    groups
}

#[test]
fn every_aws_published_policy_lints_without_an_error() {
    let groups = by_type(Entry::clean);
    assert!(
        groups.values().map(Vec::len).sum::<usize>() >= 60,
        "the corpus holds too few clean policies"
    );
    let mut failed_runs = Vec::new();
    let mut offending: Vec<String> = Vec::new();
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut files_linted = 0;
    for (kind, entries) in &groups {
        let files: Vec<&str> = entries.iter().map(|e| e.file.as_str()).collect();
        match lint(kind, &files) {
            Err(why) => failed_runs.push(why),
            Ok(by_file) => {
                files_linted += files.len();
                for (file, findings) in by_file {
                    let errors: Vec<&Finding> =
                        findings.iter().filter(|f| f.severity == "error").collect();
                    if errors.is_empty() {
                        continue;
                    }
                    let mut said = format!("{file} ({kind}):");
                    for error in errors {
                        *per_rule.entry(error.rule.clone()).or_default() += 1;
                        said.push_str(&format!("\n    {error}"));
                    }
                    offending.push(said);
                }
            }
        }
    }
    assert!(
        failed_runs.is_empty() && offending.is_empty(),
        "AWS-published policies must lint without errors.\n\n{} run(s) did not lint:\n{}\n\n\
         {} of {files_linted} linted file(s) have errors; errors by rule: {per_rule:?}\n{}",
        failed_runs.len(),
        failed_runs.join("\n"),
        offending.len(),
        offending.join("\n"),
    );
}

#[test]
fn every_known_bad_policy_is_flagged_by_its_rule() {
    let groups = by_type(|e| !e.clean());
    assert!(
        groups.values().map(Vec::len).sum::<usize>() >= 20,
        "the corpus holds too few known-bad policies"
    );
    let mut failed_runs = Vec::new();
    let mut missed = Vec::new();
    for (kind, entries) in &groups {
        let files: Vec<&str> = entries.iter().map(|e| e.file.as_str()).collect();
        match lint(kind, &files) {
            Err(why) => failed_runs.push(why),
            Ok(by_file) => {
                for entry in entries {
                    let findings = &by_file[&entry.file];
                    // An AWS-published policy kept with the error AWS itself would answer (a
                    // statement example that locks everyone out, an example over the size
                    // limit) must have no other error.
                    let expected: Vec<&str> = entry.expect.split(',').map(str::trim).collect();
                    let others: Vec<&Finding> = findings
                        .iter()
                        .filter(|f| {
                            entry.file.starts_with("aws/")
                                && f.severity == "error"
                                && !expected.contains(&f.rule.as_str())
                        })
                        .collect();
                    if expected
                        .iter()
                        .all(|rule| findings.iter().any(|f| f.rule == *rule))
                        && others.is_empty()
                    {
                        continue;
                    }
                    let got: BTreeSet<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
                    missed.push(format!(
                        "{} ({kind}): expected rule(s) {}; found {got:?}{}",
                        entry.file,
                        entry.expect,
                        others
                            .iter()
                            .map(|f| format!("\n    unexpected: {f}"))
                            .collect::<String>()
                    ));
                }
            }
        }
    }
    assert!(
        failed_runs.is_empty() && missed.is_empty(),
        "every known-bad policy must be flagged by the rule its manifest entry names.\n\n\
         {} run(s) did not lint:\n{}\n\n{} not flagged:\n{}",
        failed_runs.len(),
        failed_runs.join("\n"),
        missed.len(),
        missed.join("\n"),
    );
}

fn files_under(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, root, out);
        } else {
            let relative = path.strip_prefix(root).expect("under the corpus");
            out.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn the_manifest_lists_exactly_the_corpus_files_and_says_where_each_is_from() {
    let root = corpus();
    let mut present = BTreeSet::new();
    files_under(&root, &root, &mut present);
    present.remove("MANIFEST.toml");

    let entries = manifest();
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for entry in &entries {
        let file = &entry.file;
        if !listed.insert(file.clone()) {
            problems.push(format!("{file}: listed twice"));
        }
        if !TYPES.contains(&entry.kind.as_str()) {
            problems.push(format!(
                "{file}: type {:?} is none of {TYPES:?}",
                entry.kind
            ));
        }
        let aws = format!("aws/{}/", entry.kind);
        let bad = format!("bad/{}/", entry.kind);
        if file.starts_with(&aws) {
            if !entry.clean() && entry.note.as_deref().is_none_or(str::is_empty) {
                problems.push(format!(
                    "{file}: AWS-published, so expect = \"clean\" (or a note on why AWS would \
                     refuse it as published)"
                ));
            }
            let from_git = entry
                .source
                .as_deref()
                .is_some_and(|s| s.starts_with("https://github.com/"))
                && entry
                    .commit
                    .as_deref()
                    .is_some_and(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
                && entry.path.as_deref().is_some_and(|p| !p.is_empty());
            if !from_git {
                problems.push(format!(
                    "{file}: needs source (a GitHub repository), commit (40 hex digits) and path"
                ));
            }
        } else if file.starts_with(&bad) {
            if entry.clean() || entry.expect.is_empty() {
                problems.push(format!("{file}: known-bad, so expect names a rule code"));
            }
            if entry.source.as_deref().is_none_or(str::is_empty) {
                problems.push(format!(
                    "{file}: needs source (the validator case it follows)"
                ));
            }
        } else {
            problems.push(format!("{file}: not under {aws} or {bad}"));
        }
    }
    for file in present.difference(&listed) {
        problems.push(format!("{file}: in the corpus but not in MANIFEST.toml"));
    }
    for file in listed.difference(&present) {
        problems.push(format!("{file}: in MANIFEST.toml but not in the corpus"));
    }
    assert!(
        problems.is_empty(),
        "tests/corpus/policy/MANIFEST.toml:\n{}",
        problems.join("\n")
    );
}
