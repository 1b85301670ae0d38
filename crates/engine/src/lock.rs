//! One apply per target at a time: an exclusive lock on `.kmsctl/TARGET.lock`.
//!
//! The kernel releases the lock when its holder ends, however it ends, so a dead process never
//! blocks anyone. The file names its holder (pid, host, start time) while it is held and is
//! emptied on a clean release: content found when taking the lock means the previous holder
//! died mid-apply, which is worth telling (its changes may be half done).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct TargetLock {
    file: File,
    /// The holder line left by a process that died holding the lock, if any.
    pub stale: Option<String>,
}

impl Drop for TargetLock {
    fn drop(&mut self) {
        // A clean release leaves an empty file; the kernel drops the lock with the descriptor.
        let _ = self.file.set_len(0);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into())
}

fn open(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never through a symlink: the lock would truncate whatever file it points to.
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let file = options.open(path).map_err(|e| {
        Error::new(format!("cannot open the lock {}: {e}", path.display()))
            .help("the lock must be a regular file: remove what is at that path")
    })?;
    // A lock file left by someone else (or a hard link to another file) is not written into.
    let meta = file
        .metadata()
        .map_err(|e| Error::new(format!("cannot read the lock {}: {e}", path.display())))?;
    #[cfg(unix)]
    if std::os::unix::fs::MetadataExt::nlink(&meta) > 1 || !meta.is_file() {
        return Err(Error::new(format!(
            "the lock {} is not a private regular file (it is linked elsewhere)",
            path.display()
        ))
        .help("remove it; kmsctl creates its locks itself"));
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(file)
}

/// A target's lock as held by this run: the checkout's file, or the backend's lease in S3.
pub enum Held {
    Local(TargetLock),
    Remote(Box<kmsctl_backend::lock::RemoteLock>),
}

impl Held {
    /// A note when this run took the lock over from a run that ended without releasing it.
    pub fn taken_over(&self) -> Option<String> {
        match self {
            Self::Local(lock) => lock.stale.clone(),
            Self::Remote(lock) => lock.taken_over.as_ref().map(|record| {
                format!(
                    "{}, whose lease ran out at {}",
                    record.holder(),
                    record.expires_at
                )
            }),
        }
    }

    /// Why this run no longer holds the lock (the lease was taken over or removed by hand).
    pub fn lost(&self) -> Option<String> {
        match self {
            Self::Local(_) => None,
            Self::Remote(lock) => lock.lost(),
        }
    }

    /// Releases the lock; a warning when it could not be released as held.
    pub async fn release(self) -> Option<String> {
        match self {
            Self::Local(lock) => {
                drop(lock);
                None
            }
            Self::Remote(lock) => match lock.release().await {
                Ok(kmsctl_backend::Released::Yes) => None,
                Ok(kmsctl_backend::Released::Lost(why)) => Some(format!(
                    "this run no longer held its lock at the end ({why}): another run may have changed the target meanwhile"
                )),
                Err(error) => Some(format!("the lock could not be released: {error}")),
            },
        }
    }
}

pub fn acquire(path: &Path, label: &str) -> Result<TargetLock> {
    let mut file = open(path)?;
    let mut previous = String::new();
    match file.try_lock() {
        Ok(()) => {
            let _ = file.read_to_string(&mut previous);
        }
        Err(TryLockError::WouldBlock) => {
            let _ = file.read_to_string(&mut previous);
            let holder = previous.trim();
            let holder = if holder.is_empty() {
                "holder unknown"
            } else {
                holder
            };
            return Err(Error::new(format!(
                "another kmsctl is applying {label} ({holder}): lock {} is held",
                path.display()
            ))
            .help("wait for it to finish; the lock is released when that process ends"));
        }
        Err(TryLockError::Error(e)) => {
            return Err(Error::new(format!("cannot lock {}: {e}", path.display())));
        }
    }
    let started = crate::target::now();
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(
        file,
        "pid {} on {} since {started}",
        std::process::id(),
        hostname()
    );
    let _ = file.flush();
    let stale = Some(previous.trim().to_owned()).filter(|p| !p.is_empty());
    Ok(TargetLock { file, stale })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("env-dev.lock");
        let first = acquire(&path, "env/dev").expect("first");
        assert_eq!(first.stale, None);
        let err = acquire(&path, "env/dev").expect_err("held");
        assert!(
            err.message.contains("another kmsctl is applying env/dev"),
            "{}",
            err.message
        );
        let holder = format!("pid {} on {} since ", std::process::id(), hostname());
        assert!(err.message.contains(&holder), "{}", err.message);
        drop(first);
        // Another test thread may fork (insta runs cargo) while it holds a copy of the
        // descriptor until exec: give such a window a moment to close.
        let reacquired = (0..100).find_map(|_| {
            acquire(&path, "env/dev").ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(10));
                None
            })
        });
        let reacquired = reacquired.expect("the lock is released when its holder is dropped");
        assert_eq!(
            reacquired.stale, None,
            "a clean release leaves no holder behind"
        );
    }

    #[test]
    fn a_holder_that_died_is_reported_as_stale_and_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("env-dev.lock");
        std::fs::write(&path, "pid 999999 on ci-runner since 2026-11-28T20:00:00Z").expect("write");
        let lock = acquire(&path, "env/dev").expect("nobody holds it");
        assert_eq!(
            lock.stale.as_deref(),
            Some("pid 999999 on ci-runner since 2026-11-28T20:00:00Z")
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("env-dev.lock");
        let _lock = acquire(&path, "env/dev").expect("lock");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
