//! `organization/organization.toml`, read through the project's reader and parsed.

use std::path::Path;

use kmsctl_core::source::SourceFile;
use kmsctl_org::config::OrganizationFile;

use crate::Context;
use crate::error::{Error, Result};
use crate::project::ORGANIZATION_FILE as FILE;

/// Reads and parses organization.toml.
pub fn load(ctx: &Context) -> Result<(SourceFile, OrganizationFile)> {
    let relative = Path::new(FILE);
    let text = ctx
        .project
        .files
        .read(relative, kmsctl_core::project_files::CONFIG)
        .map_err(|e| {
            Error::new(e.to_string()).help(
                "the organization target is organization/organization.toml in the project root",
            )
        })?;
    let text = without_secrets(relative, &text)?;
    let org: OrganizationFile = toml::from_str(&text).map_err(|e| {
        Error::in_toml(relative, &text, &e).help(format!(
            "every field is in \"{}\" in README.md",
            kmsctl_org::config::REFERENCE
        ))
    })?;
    Ok((SourceFile::new(relative, text), org))
}

/// The text with secret-like values blanked out (nothing parses or shows it before), or an error
/// naming where a secret is: the organization's files hold none.
pub(crate) fn without_secrets(relative: &Path, text: &str) -> Result<String> {
    let (text, found) = kmsctl_core::secrets::redact(text);
    match found.first() {
        None => Ok(text),
        Some(first) => Err(Error::new(format!(
            "{}:{}: {} holds a secret in a file kmsctl reads (its value is not shown)",
            relative.display(),
            first.line,
            found
                .iter()
                .map(|s| format!("`{}` (line {})", s.key, s.line))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .help(
            "remove it and rotate that secret (it was written to a file): kmsctl reads secrets from environment variables only",
        )),
    }
}
