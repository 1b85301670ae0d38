//! `kmsctl lint FILE... [--type key|scp|rcp] [--format human|json|sarif]`: the catalog-backed
//! policy lint on any policy file, offline. Exit 0 without errors (warnings included), 3 with an
//! error, 1 when a file cannot be read.

use std::path::Path;

use kmsctl_core::policy::lint::{PolicyKind, lint_text};
use kmsctl_core::project_files::FileError;
use kmsctl_core::{Finding, Severity};

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
    /// No statement names a Principal: the shape of an SCP or an identity policy.
    pub names_no_principal: bool,
}

/// Whether the document has statements and none names a Principal or NotPrincipal.
fn names_no_principal(text: &str) -> bool {
    let Ok(document) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let statements: Vec<&serde_json::Value> = match document.get("Statement") {
        Some(serde_json::Value::Array(all)) => all.iter().collect(),
        Some(one @ serde_json::Value::Object(_)) => vec![one],
        _ => return false,
    };
    !statements.is_empty()
        && statements
            .iter()
            .all(|s| s.get("Principal").is_none() && s.get("NotPrincipal").is_none())
}

/// Lints one file: its findings, or why it could not be read.
pub fn lint_file(path: &Path, kind: PolicyKind) -> std::result::Result<Linted, FileError> {
    let text = kmsctl_core::project_files::read_text_outside_project(
        path,
        kmsctl_core::project_files::POLICY,
    )?;
    // Editors on Windows save JSON with a byte order mark; AWS's own examples sometimes carry one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let rendered = render_placeholders(text);
    Ok(Linted {
        findings: lint_text(&rendered, kind, path),
        names_no_principal: names_no_principal(&rendered),
    })
}

/// Lints the files named, from any folder: a policy file needs no project around it.
pub fn run(err_style: Style, args: &LintArgs) -> Result<Exit> {
    let mut all = Vec::new();
    // A file that cannot be read is said and counted; the others are still linted.
    let mut unreadable = 0;
    for file in &args.files {
        let kind = kind_of(file, args.r#type);
        match lint_file(file, kind) {
            Ok(linted) => {
                // Linted as a key policy only because nothing said otherwise.
                let guessed = args.r#type.is_none() && kind == PolicyKind::Key;
                if guessed
                    && linted.names_no_principal
                    && linted.findings.iter().any(Finding::is_error)
                {
                    eprintln!(
                        "{} {} names no Principal in any statement, as an SCP does: if it is one, run kmsctl lint --type scp {}",
                        err_style.cyan("hint:"),
                        file.display(),
                        file.display()
                    );
                }
                all.extend(linted.findings);
            }
            Err(error) => {
                unreadable += 1;
                eprintln!(
                    "{} {error}\n  {} {}",
                    err_style.red("error:"),
                    err_style.cyan("help:"),
                    error.help()
                );
            }
        }
    }
    if unreadable == args.files.len() {
        return Err(
            UserError::new(format!("no policy file could be read ({unreadable} named)"))
                .help("name policy files that exist, each under the size cap, in UTF-8"),
        );
    }
    match args.format {
        LintFormat::Human => {
            eprint!("{}", findings::render(&all, err_style));
            println!(
                "{} file(s): {} error(s), {} warning(s).",
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
