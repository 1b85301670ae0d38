//! Installing moto into the project's virtual environment.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::EmulatorError;
use super::error::tail;

/// The pinned version of the PyPI package `moto[server]`.
pub const MOTO_VERSION: &str = "5.2.5";

/// `<root>/.venv/bin/moto_server`
pub fn moto_server_path(root: &Path) -> PathBuf {
    root.join(".venv").join("bin").join("moto_server")
}

/// `<root>/.venv/.kmsctl-moto-<MOTO_VERSION>`: written once the pinned moto is installed.
pub fn installed_marker(root: &Path) -> PathBuf {
    root.join(".venv")
        .join(format!(".kmsctl-moto-{MOTO_VERSION}"))
}

/// `<root>/target/emulator-install.lock`: held while installing.
pub fn install_lock_path(root: &Path) -> PathBuf {
    super::target_dir(root).join("emulator-install.lock")
}

fn is_installed(root: &Path) -> bool {
    moto_server_path(root).is_file() && installed_marker(root).is_file()
}

/// Makes sure `<root>/.venv` holds `moto[server]==MOTO_VERSION` and returns the path of its `moto_server`.
///
/// Fast when already installed (two file checks). Otherwise, under an exclusive lock on
/// [`install_lock_path`] (so concurrent callers, e.g. several test binaries, install once), it runs
/// `python3 -m venv .venv` (when `.venv/bin/pip` is missing) and
/// `.venv/bin/pip install --disable-pip-version-check -q 'moto[server]==MOTO_VERSION'`, then writes
/// [`installed_marker`]. It needs `python3` with the `venv` module (Debian: package `python3-venv`) and access
/// to PyPI.
pub fn ensure_installed(root: &Path) -> Result<PathBuf, EmulatorError> {
    let moto_server = moto_server_path(root);
    if is_installed(root) {
        return Ok(moto_server);
    }

    let lock_path = install_lock_path(root);
    if let Some(dir) = lock_path.parent() {
        fs::create_dir_all(dir)
            .map_err(|e| EmulatorError::io(format!("cannot create {}", dir.display()), e))?;
    }
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| EmulatorError::io(format!("cannot open {}", lock_path.display()), e))?;
    lock.lock()
        .map_err(|e| EmulatorError::io(format!("cannot lock {}", lock_path.display()), e))?;

    // Another process may have installed it while this one waited for the lock.
    if is_installed(root) {
        return Ok(moto_server);
    }

    let venv = root.join(".venv");
    if !venv.join("bin").join("pip").is_file() {
        run(
            Command::new("python3")
                .args(["-m", "venv", ".venv"])
                .current_dir(root),
            "python3 -m venv .venv",
            Some(
                "python3 and its venv module are needed (Debian/Ubuntu: apt-get install -y python3-venv)",
            ),
        )?;
    }
    let requirement = format!("moto[server]=={MOTO_VERSION}");
    run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--disable-pip-version-check", "-q", &requirement])
            .current_dir(root),
        &format!(".venv/bin/pip install --disable-pip-version-check -q '{requirement}'"),
        Some("pip needs access to PyPI (or a configured index/proxy)"),
    )?;
    if !moto_server.is_file() {
        return Err(EmulatorError::NotInstalled { moto_server });
    }
    let marker = installed_marker(root);
    fs::write(&marker, format!("moto[server]=={MOTO_VERSION}\n"))
        .map_err(|e| EmulatorError::io(format!("cannot write {}", marker.display()), e))?;
    drop(lock);
    Ok(moto_server)
}

fn run(
    command: &mut Command,
    display: &str,
    hint: Option<&'static str>,
) -> Result<Output, EmulatorError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EmulatorError::Command {
            command: display.to_string(),
            status: format!("cannot run it: {e}"),
            output_tail: String::new(),
            hint,
        })?;
    if output.status.success() {
        return Ok(output);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut output_tail = tail(&stderr, 25);
    if output_tail.trim().is_empty() {
        output_tail = tail(&stdout, 25);
    }
    Err(EmulatorError::Command {
        command: display.to_string(),
        status: output.status.to_string(),
        output_tail,
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let root = Path::new("/r");
        assert_eq!(
            moto_server_path(root),
            Path::new("/r/.venv/bin/moto_server")
        );
        assert_eq!(
            installed_marker(root),
            Path::new("/r/.venv/.kmsctl-moto-5.2.5")
        );
        assert_eq!(
            install_lock_path(root),
            Path::new("/r/target/emulator-install.lock")
        );
    }

    #[test]
    fn failing_commands_report_their_stderr_tail() {
        let error = run(
            Command::new("sh").args(["-c", "echo out; echo one >&2; echo two >&2; exit 3"]),
            "the thing",
            None,
        )
        .expect_err("exit 3");
        assert_eq!(
            error.to_string(),
            "`the thing` failed (exit status: 3)\n--- last lines of its output ---\none\ntwo"
        );
        let error = run(
            &mut Command::new("/nonexistent/xtask-test"),
            "nothing",
            Some("hint"),
        )
        .expect_err("missing program");
        assert!(
            error
                .to_string()
                .starts_with("`nothing` failed (cannot run it: "),
            "{error}"
        );
    }
}
