//! Saving and loading plan files (`.kmsctl/env-prod.plan.json`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::plan::{PLAN_FORMAT_VERSION, Plan};
use crate::project_files;

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write plan file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a kmsctl plan file (line {line}, column {column}): {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path} has plan format version {found}, this kmsctl reads version {expected}: make the plan again with this kmsctl"
    )]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
}

/// Writes the plan atomically, never through a symlink: the plan goes to a new temporary file
/// (created exclusively, mode 0600) beside `path`, then is renamed over it, which replaces a
/// symlink at `path` instead of writing where it points. A reader never sees half a plan.
pub fn save(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    let write_err = |source| PlanFileError::Write {
        path: path.to_owned(),
        source,
    };
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent).map_err(write_err)?;
    let mut text =
        serde_json::to_string_pretty(plan).map_err(|e| write_err(std::io::Error::other(e)))?;
    text.push('\n');
    // Plans name accounts, roles and policies: readable by their owner only (tempfile's default).
    let mut file = tempfile::Builder::new()
        .prefix(".plan-")
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(write_err)?;
    file.write_all(text.as_bytes()).map_err(write_err)?;
    file.as_file().sync_all().map_err(write_err)?;
    file.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

/// Reads a saved plan: a regular file (a symlink is followed only to a regular file) no larger
/// than [`project_files::PLAN`], checked before reading.
pub fn load(path: &Path) -> Result<Plan, PlanFileError> {
    let bytes = project_files::read_outside_project(path, project_files::PLAN).map_err(|e| {
        PlanFileError::Read {
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        }
    })?;
    decode(path, &bytes)
}

/// Decodes a plan file's bytes: any bytes give a plan or an error, never a panic.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Plan, PlanFileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| PlanFileError::Parse {
        path: path.to_owned(),
        line: 1,
        column: 1,
        message: format!("not UTF-8 text ({e})"),
    })?;
    let header: serde_json::Value =
        serde_json::from_str(text).map_err(|e| parse_error(path, &e))?;
    let found = header
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if found != u64::from(PLAN_FORMAT_VERSION) {
        return Err(PlanFileError::Version {
            path: path.to_owned(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            expected: PLAN_FORMAT_VERSION,
        });
    }
    serde_json::from_str(text).map_err(|e| parse_error(path, &e))
}

fn parse_error(path: &Path, error: &serde_json::Error) -> PlanFileError {
    PlanFileError::Parse {
        path: path.to_owned(),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Target;

    fn plan() -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            kmsctl_version: "0.1.0".into(),
            created_at: "2026-11-28T20:00:00Z".into(),
            target: Target {
                kind: "environment".into(),
                name: "dev".into(),
                path: "environments/dev".into(),
                account_id: "111111111111".into(),
                region: "us-east-1".into(),
                assume_role_arn: None,
            },
            changes: vec![],
            scope: Default::default(),
            observed: vec![],
            notes: vec![],
            warnings: vec![],
            inputs: Default::default(),
            sensitive: vec![],
            planned_by: None,
        }
    }

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("kmsctl-planfile-{}", std::process::id()));
        let path = dir.join("env-dev.plan.json");
        save(&plan(), &path).expect("save");
        assert_eq!(load(&path).expect("load"), plan());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "plan files are private");
        }
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn other_format_version_is_refused() {
        let dir = std::env::temp_dir().join(format!("kmsctl-planfile-v-{}", std::process::id()));
        let path = dir.join("old.plan.json");
        let mut old = plan();
        old.format_version = 99;
        save(&old, &path).expect("save");
        assert!(matches!(
            load(&path),
            Err(PlanFileError::Version { found: 99, .. })
        ));
        fs::remove_dir_all(dir).ok();
    }
}
