//! Every file kmsctl reads from a project goes through here: `plan` runs on pull requests whose
//! files anyone may have written, so a file is read only when it resolves, after symlinks, to a
//! regular file inside the project root and is under a size cap, checked before reading. A refused
//! file is named by its path; its content is never read, so never shown.
//!
//! The reader also remembers a digest of every file it read: a saved plan records them, and
//! `apply` refuses a plan whose files changed since it was made.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// How large a file of a kind may be, checked on its size before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub bytes: u64,
    /// "a configuration file", for messages.
    pub what: &'static str,
}

/// TOML files: environments, the organization, expectations. The largest shipped is 9 KiB.
pub const CONFIG: Cap = Cap {
    bytes: 1 << 20,
    what: "a configuration file",
};
/// Policy templates (key policies, SCPs, RCPs, identity policies): AWS's largest policy is a
/// 32 KiB key policy; templating rarely grows a file, and whitespace rarely doubles it.
pub const POLICY: Cap = Cap {
    bytes: 256 << 10,
    what: "a policy file",
};
/// A PEM certificate (the CloudHSM trust anchor).
pub const CERTIFICATE: Cap = Cap {
    bytes: 64 << 10,
    what: "a certificate",
};
/// A saved plan: a thousand keys' changes fit in a few MiB.
pub const PLAN: Cap = Cap {
    bytes: 64 << 20,
    what: "a plan file",
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("{path} does not exist")]
    Missing { path: PathBuf },
    #[error(
        "{path} leaves the project root (through '..', an absolute path or a symlink): kmsctl reads only files inside the project"
    )]
    Outside { path: PathBuf },
    #[error(
        "{path} is not a regular file (a folder, device, socket or pipe): kmsctl reads only regular files"
    )]
    NotRegular { path: PathBuf },
    #[error(
        "{path} is {size} bytes, more than the {cap} bytes allowed for {what}: it was not read"
    )]
    TooLarge {
        path: PathBuf,
        size: u64,
        cap: u64,
        what: &'static str,
    },
    #[error("{path} is not UTF-8 text")]
    NotText { path: PathBuf },
    #[error("cannot read {path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

impl FileError {
    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "create the file, or fix the name that points to it",
            Self::Outside { .. } => {
                "keep every file kmsctl reads inside the project, as a regular file (not a symlink to elsewhere)"
            }
            Self::NotRegular { .. } => "point to a regular file",
            Self::TooLarge { .. } => "the file is far larger than any valid one: check what it is",
            Self::NotText { .. } => "save the file as UTF-8",
            Self::Io { .. } => "check that the file is readable",
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Self::Missing { path }
            | Self::Outside { path }
            | Self::NotRegular { path }
            | Self::TooLarge { path, .. }
            | Self::NotText { path }
            | Self::Io { path, .. } => path,
        }
    }
}

/// The project's files, as one run reads them.
#[derive(Debug, Clone)]
pub struct ProjectFiles {
    root: PathBuf,
    /// Path relative to the root (with `/`) → SHA-256 of the bytes read.
    digests: Arc<Mutex<BTreeMap<String, String>>>,
}

impl ProjectFiles {
    /// `root` is canonicalised here: every check compares against it.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.canonicalize().unwrap_or_else(|_| root.to_owned()),
            digests: Arc::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path for messages: relative to the root where it lies inside.
    pub fn shown(&self, path: &Path) -> PathBuf {
        let absolute = self.root.join(path);
        absolute
            .strip_prefix(&self.root)
            .map(Path::to_owned)
            .unwrap_or(absolute)
    }

    /// Where `path` (absolute, or relative to the root) really is, refused unless it is inside
    /// the root. Folders too: an environment folder that is a symlink out of the project is
    /// refused like a file.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, FileError> {
        let absolute = self.root.join(path);
        let shown = self.shown(path);
        let canonical = match absolute.canonicalize() {
            Ok(canonical) => canonical,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(if lexically_inside(&self.root, &absolute) {
                    FileError::Missing { path: shown }
                } else {
                    FileError::Outside { path: shown }
                });
            }
            Err(error) => {
                return Err(FileError::Io {
                    path: shown,
                    reason: error.to_string(),
                });
            }
        };
        if !canonical.starts_with(&self.root) {
            return Err(FileError::Outside { path: shown });
        }
        Ok(canonical)
    }

    /// Reads a text file of the project, and remembers its digest.
    pub fn read(&self, path: &Path, cap: Cap) -> Result<String, FileError> {
        let canonical = self.resolve(path)?;
        let shown = self.shown(path);
        let bytes = read_regular(&canonical, &shown, cap)?;
        let relative = canonical
            .strip_prefix(&self.root)
            .unwrap_or(&canonical)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let digest = hex(&Sha256::digest(&bytes));
        if let Ok(mut digests) = self.digests.lock() {
            digests.insert(relative, digest);
        }
        String::from_utf8(bytes).map_err(|_| FileError::NotText { path: shown })
    }

    /// Every file read so far: path relative to the root → SHA-256 (hex).
    pub fn digests(&self) -> BTreeMap<String, String> {
        self.digests.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// The regular files directly in `dir` (inside the project) whose name ends with `.ext`,
    /// sorted. Entries that are symlinks are listed too: reading them applies every check.
    pub fn list(&self, dir: &Path, ext: &str) -> Result<Vec<PathBuf>, FileError> {
        let canonical = self.resolve(dir)?;
        let entries = std::fs::read_dir(&canonical).map_err(|e| FileError::Io {
            path: self.shown(dir),
            reason: e.to_string(),
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|x| x == ext))
            .filter(|path| !path.is_dir())
            .collect();
        paths.sort();
        Ok(paths)
    }
}

/// Reads a file given on the command line (`lint FILE`, `events test FILE`, a saved plan): it may
/// lie anywhere, but must be a regular file under the cap.
pub fn read_outside_project(path: &Path, cap: Cap) -> Result<Vec<u8>, FileError> {
    let canonical = path.canonicalize().map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => FileError::Missing {
            path: path.to_owned(),
        },
        _ => FileError::Io {
            path: path.to_owned(),
            reason: error.to_string(),
        },
    })?;
    read_regular(&canonical, path, cap)
}

/// [`read_outside_project`], as UTF-8 text.
pub fn read_text_outside_project(path: &Path, cap: Cap) -> Result<String, FileError> {
    let bytes = read_outside_project(path, cap)?;
    String::from_utf8(bytes).map_err(|_| FileError::NotText {
        path: path.to_owned(),
    })
}

/// `..` and absolute components judged without the file system: for paths that do not exist.
fn lexically_inside(root: &Path, path: &Path) -> bool {
    let mut depth: Vec<std::ffi::OsString> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                depth.pop();
            }
            std::path::Component::CurDir => {}
            other => depth.push(other.as_os_str().to_owned()),
        }
    }
    depth.iter().collect::<PathBuf>().starts_with(root)
}

/// Opens without following a final symlink, checks the opened file (not the path: it could be
/// swapped in between) is regular and under the cap, and reads at most the cap.
fn read_regular(canonical: &Path, shown: &Path, cap: Cap) -> Result<Vec<u8>, FileError> {
    let io = |error: std::io::Error| FileError::Io {
        path: shown.to_owned(),
        reason: error.to_string(),
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO must not hang; O_NOFOLLOW: the resolved path was swapped
        // for a symlink since it was checked.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file: File = options.open(canonical).map_err(|error| {
        if is_final_symlink(&error) {
            FileError::Outside {
                path: shown.to_owned(),
            }
        } else {
            io(error)
        }
    })?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(FileError::NotRegular {
            path: shown.to_owned(),
        });
    }
    if metadata.len() > cap.bytes {
        return Err(FileError::TooLarge {
            path: shown.to_owned(),
            size: metadata.len(),
            cap: cap.bytes,
            what: cap.what,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // A file that grows while it is read stops at the cap.
    file.take(cap.bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > cap.bytes {
        return Err(FileError::TooLarge {
            path: shown.to_owned(),
            size: bytes.len() as u64,
            cap: cap.bytes,
            what: cap.what,
        });
    }
    Ok(bytes)
}

/// `O_NOFOLLOW` met a symlink.
#[cfg(unix)]
fn is_final_symlink(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_final_symlink(_: &std::io::Error) -> bool {
    false
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, ProjectFiles) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("policies")).expect("mkdir");
        std::fs::write(dir.path().join("policies/a.json"), "{}").expect("write");
        let files = ProjectFiles::new(dir.path());
        (dir, files)
    }

    #[test]
    fn reads_inside_and_remembers_the_digest() {
        let (_dir, files) = project();
        assert_eq!(
            files.read(Path::new("policies/a.json"), POLICY),
            Ok("{}".into())
        );
        let digests = files.digests();
        assert_eq!(
            digests.get("policies/a.json").map(String::as_str),
            Some("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        );
    }

    #[test]
    fn dot_dot_and_absolute_paths_outside_are_refused() {
        let (_dir, files) = project();
        for path in ["../outside.json", "/etc/hostname", "policies/../../x"] {
            let error = files.read(Path::new(path), POLICY).expect_err(path);
            assert!(
                matches!(error, FileError::Outside { .. }),
                "{path}: {error}"
            );
        }
        assert!(files.digests().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_and_devices_are_refused_unread() {
        let (dir, files) = project();
        let outside = tempfile::tempdir().expect("tempdir");
        let secret = outside.path().join("credentials");
        std::fs::write(&secret, "aws_secret_access_key = x").expect("write");
        std::os::unix::fs::symlink(&secret, dir.path().join("policies/link.json")).expect("link");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("policies/zero.json"))
            .expect("link");
        let error = files
            .read(Path::new("policies/link.json"), POLICY)
            .expect_err("outside");
        assert_eq!(
            error,
            FileError::Outside {
                path: "policies/link.json".into()
            }
        );
        assert!(!error.to_string().contains("aws_secret"));
        let error = files
            .read(Path::new("policies/zero.json"), POLICY)
            .expect_err("device");
        assert!(matches!(error, FileError::Outside { .. }), "{error}");
        // A symlink that stays inside is followed.
        std::os::unix::fs::symlink("a.json", dir.path().join("policies/inside.json"))
            .expect("link");
        assert_eq!(
            files.read(Path::new("policies/inside.json"), POLICY),
            Ok("{}".into())
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_given_directly_are_not_regular() {
        let error = read_outside_project(Path::new("/dev/zero"), CONFIG).expect_err("device");
        assert!(matches!(error, FileError::NotRegular { .. }), "{error}");
    }

    #[test]
    fn the_size_is_checked_before_reading() {
        let (dir, files) = project();
        let big = std::fs::File::create(dir.path().join("policies/big.json")).expect("create");
        big.set_len(18 << 20).expect("sparse 18 MiB");
        let error = files
            .read(Path::new("policies/big.json"), POLICY)
            .expect_err("too large");
        assert_eq!(
            error,
            FileError::TooLarge {
                path: "policies/big.json".into(),
                size: 18 << 20,
                cap: POLICY.bytes,
                what: "a policy file"
            }
        );
    }

    #[test]
    fn missing_files_and_binary_content() {
        let (dir, files) = project();
        assert!(matches!(
            files.read(Path::new("policies/none.json"), POLICY),
            Err(FileError::Missing { .. })
        ));
        std::fs::write(dir.path().join("policies/bin.json"), [0xff, 0xfe, 0x00]).expect("write");
        assert!(matches!(
            files.read(Path::new("policies/bin.json"), POLICY),
            Err(FileError::NotText { .. })
        ));
    }
}
