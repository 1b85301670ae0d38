//! `kmsctl lint FILE... [--type key|scp|rcp|identity] [--format human|json|sarif]`: the catalog-backed
//! policy lint on any policy file, offline. Exit 0 without errors (warnings included), 3 with an
//! error, 1 when a file cannot be read.

use std::path::Path;

use kmsctl_core::policy::lint::{POLICY_FILE, PolicyKind, lint_text};
use kmsctl_core::project_files::FileError;
use kmsctl_core::{Finding, Location, Severity};

use crate::cli::{LintArgs, LintFormat, PolicyTypeArg};
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render::findings;
use crate::render::style::Style;

/// Stand-ins for `{{ ... }}` placeholders, so templated policies lint as they would render.
fn sample(placeholder: &str) -> &'static str {
    let name = placeholder.trim();
    if name.starts_with("ou_path") {
        return "o-exampleorg/r-exam/ou-exam-examples/";
    }
    match name {
        "account_id" => "111122223333",
        "partition" => "aws",
        "region" => "us-east-1",
        "org_id" => "o-exampleorg",
        "deployer_role_arn" => "arn:aws:iam::111122223333:role/kmsctl-deployer",
        _ if name.ends_with("org_path") => "o-exampleorg/r-exam/ou-exam-examples/",
        // Declared variables: a stand-in in the format their name says, so it passes the
        // value checks a real value would.
        _ if name.ends_with("account_id") || name.ends_with("account") => "111122223333",
        _ if name.ends_with("org_id") => "o-exampleorg",
        _ if name.ends_with("_arn") => "arn:aws:iam::111122223333:role/example",
        _ => "example",
    }
}

fn render_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push_str(sample(&rest[start + 2..start + end]));
                rest = &rest[start + end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn kind_of(path: &Path, explicit: Option<PolicyTypeArg>) -> PolicyKind {
    match explicit {
        Some(PolicyTypeArg::Key) => PolicyKind::Key,
        Some(PolicyTypeArg::Scp) => PolicyKind::Scp,
        Some(PolicyTypeArg::Rcp) => PolicyKind::Rcp,
        Some(PolicyTypeArg::Identity) => PolicyKind::Identity,
        None => {
            let shown = path.to_string_lossy();
            if shown.contains("service_control_policy") {
                PolicyKind::Scp
            } else if shown.contains("resource_control_policy") {
                PolicyKind::Rcp
            } else {
                PolicyKind::Key
            }
        }
    }
}

/// What linting one file found.
pub struct Linted {
    pub findings: Vec<Finding>,
    /// The type the file's shape suggests, when that is not the type it was linted as.
    /// How the shape shows it, and the `--type` to lint it as.
    pub looks_like: Option<(&'static str, &'static str)>,
    /// Inside a project: whose values rendered its templates, or why they could not.
    pub rendered_with: Option<std::result::Result<String, String>>,
    /// The file has `{{ }}` templates.
    pub templated: bool,
}

/// The policy type a document's shape suggests: statements without Principal are an SCP's or
/// an identity policy's; Deny statements all to Principal "*" an RCP's; others a resource
/// (key) policy's.
fn shape_of(text: &str) -> Option<PolicyKind> {
    let document = serde_json::from_str::<serde_json::Value>(text).ok()?;
    let statements: Vec<&serde_json::Value> = match document.get("Statement")? {
        serde_json::Value::Array(all) => all.iter().collect(),
        one @ serde_json::Value::Object(_) => vec![one],
        _ => return None,
    };
    if statements.is_empty() {
        return None;
    }
    fn principal(s: &serde_json::Value) -> Option<&serde_json::Value> {
        s.get("Principal").or_else(|| s.get("NotPrincipal"))
    }
    if statements.iter().all(|s| principal(s).is_none()) {
        return Some(PolicyKind::Scp);
    }
    let deny_to_everyone = |s: &&serde_json::Value| {
        s.get("Effect").and_then(|e| e.as_str()) == Some("Deny")
            && s.get("Principal").and_then(|p| p.as_str()) == Some("*")
    };
    if statements.iter().all(deny_to_everyone) {
        return Some(PolicyKind::Rcp);
    }
    statements
        .iter()
        .all(|s| principal(s).is_some())
        .then_some(PolicyKind::Key)
}

/// The hint's wording for a shape that is not `kind`.
fn other_type(text: &str, kind: PolicyKind) -> Option<(&'static str, &'static str)> {
    match (shape_of(text)?, kind) {
        (PolicyKind::Scp, PolicyKind::Key | PolicyKind::Rcp) => Some((
            "names no Principal in any statement, as an SCP does (or an identity policy: --type identity)",
            "scp",
        )),
        (PolicyKind::Rcp, PolicyKind::Scp | PolicyKind::Identity) => Some((
            "denies Principal \"*\" in every statement, as an RCP does",
            "rcp",
        )),
        (PolicyKind::Key, PolicyKind::Scp | PolicyKind::Identity) => Some((
            "names a Principal in every statement, as a key policy does",
            "key",
        )),
        _ => None,
    }
}

/// Lints one file: its findings, or why it could not be read.
pub fn lint_file(path: &Path, kind: PolicyKind) -> std::result::Result<Linted, FileError> {
    let text = kmsctl_core::project_files::read_text_outside_project(
        path,
        kmsctl_core::project_files::POLICY,
    )?;
    // Editors on Windows save JSON with a byte order mark; AWS's own examples sometimes carry one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // Inside a project, templates render with the project's values; elsewhere (or when they
    // cannot) with sample values.
    let (rendered, rendered_with) = match kmsctl_engine::lint_render::render(path, text) {
        Some(Ok(done)) => (done.text, Some(Ok(done.with))),
        Some(Err(why)) => (render_placeholders(text), Some(Err(why))),
        None => (render_placeholders(text), None),
    };
    let findings = lint_text(&rendered, kind, path);
    let looks_like = if findings.iter().any(Finding::is_error) {
        other_type(&rendered, kind)
    } else {
        None
    };
    Ok(Linted {
        findings,
        looks_like,
        rendered_with,
        templated: text.contains("{{"),
    })
}

/// Lints the files named, from any folder: a policy file needs no project around it.
pub fn run(err_style: Style, args: &LintArgs) -> Result<Exit> {
    let mut all = Vec::new();
    // A file that cannot be read is said and counted; the others are still linted.
    let mut unreadable = 0;
    let mut results = Vec::new();
    for file in &args.files {
        let kind = kind_of(file, args.r#type);
        match lint_file(file, kind) {
            Ok(linted) => {
                match &linted.rendered_with {
                    Some(Ok(with)) => eprintln!(
                        "{} {}: templates rendered with the values of {with}",
                        err_style.cyan("note:"),
                        file.display()
                    ),
                    Some(Err(why)) => eprintln!(
                        "{} {}: templates rendered with sample values: the project's values do not render it ({why})",
                        err_style.cyan("note:"),
                        file.display()
                    ),
                    None if linted.templated => eprintln!(
                        "{} {}: templates rendered with sample values (111122223333 for account ids, \"example\" for other variables); inside the project they render with its own",
                        err_style.cyan("note:"),
                        file.display()
                    ),
                    None => {}
                }
                if let Some((shape, kind)) = linted.looks_like {
                    eprintln!(
                        "{} {} {shape}: if it is one, run kmsctl lint --type {kind} {}",
                        err_style.cyan("hint:"),
                        file.display(),
                        file.display()
                    );
                }
                results.push(FileResult::of(file, &linted.findings));
                all.extend(linted.findings);
            }
            Err(error) => {
                unreadable += 1;
                if args.format != LintFormat::Human {
                    // Machine-readable output names every file it could not lint.
                    all.push(Finding::of(
                        &POLICY_FILE,
                        Location::file(file),
                        error.to_string(),
                        error.help(),
                    ));
                }
                results.push(FileResult {
                    file: file.display().to_string(),
                    verdict: "unreadable".to_owned(),
                });
                eprintln!(
                    "{} {error}\n  {} {}",
                    err_style.red("error:"),
                    err_style.cyan("help:"),
                    error.help()
                );
            }
        }
    }
    if unreadable == args.files.len() && args.format == LintFormat::Human {
        return Err(
            UserError::new(format!("no policy file could be read ({unreadable} named)"))
                .help("name policy files that exist, each under the size cap, in UTF-8"),
        );
    }
    match args.format {
        LintFormat::Human => {
            eprint!("{}", findings::render(&all, err_style));
            if args.files.len() > 1 {
                for result in &results {
                    println!("{}: {}", result.file, result.verdict);
                }
            }
            let unreadable = if unreadable > 0 {
                format!(", {unreadable} unreadable")
            } else {
                String::new()
            };
            println!(
                "{} file(s): {} error(s), {} warning(s){unreadable}.",
                args.files.len(),
                findings::count(&all, Severity::Error),
                findings::count(&all, Severity::Warning)
            );
        }
        LintFormat::Json => println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default()),
        LintFormat::Sarif => print!(
            "{}",
            crate::render::lint_sarif::render(&all).map_err(UserError::new)?
        ),
    }
    Ok(if unreadable > 0 {
        Exit::Error
    } else if all.iter().any(Finding::is_error) {
        Exit::Refused
    } else {
        Exit::Ok
    })
}

/// One line per file: `ok`, its counts, or `unreadable`.
struct FileResult {
    file: String,
    verdict: String,
}

impl FileResult {
    fn of(file: &Path, found: &[Finding]) -> Self {
        let errors = findings::count(found, Severity::Error);
        let warnings = findings::count(found, Severity::Warning);
        let verdict = match (errors, warnings) {
            (0, 0) => "ok".to_owned(),
            (0, w) => format!("ok, {w} warning(s)"),
            (e, w) => format!("{e} error(s), {w} warning(s)"),
        };
        Self {
            file: file.display().to_string(),
            verdict,
        }
    }
}
