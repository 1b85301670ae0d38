//! The project root and the targets inside it.

use std::path::{Path, PathBuf};

use crate::error::{Result, UserError};

/// The project: `environments/`, `organization/`, `policies/` and `.kmsctl/` live in its root.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
}

impl Project {
    /// `--root`, or the nearest folder from the working directory up that holds `environments/`
    /// or `organization/`: every command run anywhere in the project sees the same files and lock.
    pub fn discover(explicit: Option<&Path>) -> Result<Self> {
        if let Some(root) = explicit {
            let root = root
                .canonicalize()
                .map_err(|e| UserError::new(format!("--root {}: {e}", root.display())))?;
            return Ok(Self { root });
        }
        let cwd = std::env::current_dir()
            .map_err(|e| UserError::new(format!("cannot read the working directory: {e}")))?;
        cwd.ancestors()
            .find(|dir| dir.join("environments").is_dir() || dir.join("organization").is_dir())
            .map(|root| Self { root: root.to_owned() })
            .ok_or_else(|| {
                UserError::new(format!("{} is not inside a kmsctl project", cwd.display()))
                    .help("run kmsctl inside a folder that holds environments/ or organization/, or pass --root DIR")
            })
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".kmsctl")
    }

    /// A path for messages: relative to the root when inside it.
    pub fn display(&self, path: &Path) -> PathBuf {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        canonical
            .strip_prefix(&self.root)
            .map(Path::to_owned)
            .unwrap_or(canonical)
    }

    /// `env/NAME` or a folder path → the environment folder.
    pub fn environment_dir(&self, target: &str) -> Result<PathBuf> {
        let dir = match target.strip_prefix("env/") {
            Some(name) if !name.is_empty() && !name.contains('/') => {
                self.root.join("environments").join(name)
            }
            _ if target == "organization" => {
                return Err(UserError::new(
                    "the organization target is not supported by this version of kmsctl",
                )
                .help("plan an environment: kmsctl plan env/NAME"));
            }
            _ => PathBuf::from(target),
        };
        if !dir.is_dir() {
            let known = self.environment_names();
            let help = if known.is_empty() {
                "create environments/NAME/environment.toml".to_owned()
            } else {
                format!(
                    "known environments: {}",
                    known
                        .iter()
                        .map(|n| format!("env/{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(UserError::new(format!(
                "target {target}: no such environment folder {}",
                dir.display()
            ))
            .help(help));
        }
        dir.canonicalize()
            .map_err(|e| UserError::new(format!("{}: {e}", dir.display())))
    }

    pub fn environment_names(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.root.join("environments")) else {
            return vec![];
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        names
    }
}
