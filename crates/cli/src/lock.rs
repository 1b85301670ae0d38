//! One apply per target at a time: an exclusive lock on `.kmsctl/TARGET.lock`, released when
//! the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::{Result, UserError};

#[derive(Debug)]
pub struct TargetLock {
    _file: File,
}

pub fn acquire(path: &Path, label: &str) -> Result<TargetLock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| UserError::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| UserError::new(format!("cannot open the lock {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(UserError::new(format!(
                "another kmsctl is applying {label} ({}): lock {} is held",
                holder.trim(),
                path.display()
            ))
            .help("wait for it to finish; the lock is released when that process ends"));
        }
        Err(TryLockError::Error(e)) => {
            return Err(UserError::new(format!(
                "cannot lock {}: {e}",
                path.display()
            )));
        }
    }
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "pid {}", std::process::id());
    Ok(TargetLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".kmsctl/env-dev.lock");
        let first = acquire(&path, "env/dev").expect("first");
        let err = acquire(&path, "env/dev").expect_err("held");
        assert!(
            err.message.contains("another kmsctl is applying env/dev"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains(&format!("pid {}", std::process::id())),
            "{}",
            err.message
        );
        drop(first);
        // Another test thread may fork (insta runs cargo) while it holds a copy of the
        // descriptor until exec: give such a window a moment to close.
        let reacquired = (0..100).any(|_| {
            let ok = acquire(&path, "env/dev").is_ok();
            if !ok {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            ok
        });
        assert!(
            reacquired,
            "the lock is released when its holder is dropped"
        );
    }
}
