//! The project root and the targets inside it.

use std::path::{Path, PathBuf};

use kmsctl_core::project_files::{FileError, ProjectFiles};

use crate::error::{Error, Result};

/// The organization target, as a user names it.
pub const ORGANIZATION_TARGET: &str = "organization";
/// The organization's file, relative to the project root.
pub const ORGANIZATION_FILE: &str = "organization/organization.toml";
/// The organization's boundary tests.
pub const ORGANIZATION_EXPECT_FILE: &str = "organization/expect.toml";

/// The project: `environments/`, `organization/`, `policies/` and `.kmsctl/` live in its root.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// Every file read from the project goes through here (inside the root, regular, capped).
    pub files: ProjectFiles,
}

impl Project {
    /// `--root`, or the nearest folder from the working directory up that holds `kmsctl.toml`,
    /// `environments/` or `organization/`: every command run anywhere in the project sees the
    /// same files and lock.
    pub fn discover(explicit: Option<&Path>) -> Result<Self> {
        if let Some(root) = explicit {
            let root = root
                .canonicalize()
                .map_err(|e| Error::new(format!("--root {}: {e}", root.display())))?;
            return Ok(Self::at(&root));
        }
        let cwd = std::env::current_dir()
            .map_err(|e| Error::new(format!("cannot read the working directory: {e}")))?;
        cwd.ancestors()
            .find(|dir| {
                dir.join(crate::team::PROJECT_FILE).is_file()
                    || dir.join("environments").is_dir()
                    || dir.join("organization").is_dir()
            })
            .map(|root| Self::at(&root.canonicalize().unwrap_or_else(|_| root.to_owned())))
            .ok_or_else(|| {
                Error::new(format!("{} is not inside a kmsctl project", cwd.display()))
                    .help("run kmsctl inside a folder that holds kmsctl.toml, environments/ or organization/, or pass --root DIR")
            })
    }

    /// The project at `root` (already canonical).
    pub fn at(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            files: ProjectFiles::new(root),
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".kmsctl")
    }

    /// `.kmsctl/`, created private (0700) if missing; refused when it is a symlink or not a
    /// folder: plans and locks are never written where a link points.
    pub fn ensure_state_dir(&self) -> Result<PathBuf> {
        let dir = self.state_dir();
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => Err(Error::new(format!(
                "{} is a symlink: kmsctl writes plans and locks only into a real folder of the project",
                dir.display()
            ))
            .help("remove the symlink (rm .kmsctl); kmsctl creates the folder itself")),
            Ok(meta) if !meta.is_dir() => Err(Error::new(format!(
                "{} is not a folder",
                dir.display()
            ))
            .help("remove it; kmsctl creates the folder itself")),
            Ok(_) => Ok(dir),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut builder = std::fs::DirBuilder::new();
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                builder.create(&dir).map_err(|e| {
                    Error::new(format!("cannot create {}: {e}", dir.display()))
                })?;
                Ok(dir)
            }
            Err(error) => Err(Error::new(format!(
                "cannot read {}: {error}",
                dir.display()
            ))),
        }
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
                return Err(Error::new(
                    "the organization target is not supported by this version of kmsctl",
                )
                .help("plan an environment: kmsctl plan env/NAME"));
            }
            _ => PathBuf::from(target),
        };
        // A folder given by path must be inside the project too (symlinks resolved).
        let dir = match self
            .files
            .resolve(&std::env::current_dir().unwrap_or_default().join(&dir))
        {
            Ok(dir) => dir,
            Err(FileError::Missing { .. }) => dir,
            Err(error) => return Err(file_error(&error)),
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
            return Err(Error::new(format!(
                "target {target}: no such environment folder {}",
                dir.display()
            ))
            .help(help));
        }
        dir.canonicalize()
            .map_err(|e| Error::new(format!("{}: {e}", dir.display())))
    }

    /// Whether the project has an organization file. Anything at its path counts, a symlink
    /// included: reading it then refuses what it must, instead of the organization's floors
    /// silently falling away.
    pub fn has_organization(&self) -> bool {
        std::fs::symlink_metadata(self.root.join(ORGANIZATION_FILE)).is_ok()
    }

    /// Reads a file of the project (see [`ProjectFiles::read`]), as a user error.
    pub fn read(&self, path: &Path, cap: kmsctl_core::project_files::Cap) -> Result<String> {
        self.files.read(path, cap).map_err(|e| file_error(&e))
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

/// A refused or unreadable file, as the user sees it: the path and why, never the content.
pub fn file_error(error: &FileError) -> Error {
    Error::new(error.to_string()).help(error.help())
}
