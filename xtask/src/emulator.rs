//! The local AWS emulator: `moto_server` from the PyPI package `moto[server]`, pinned to [`MOTO_VERSION`].
//!
//! - [`ensure_installed`] installs it into `<root>/.venv` (idempotent, safe to call concurrently).
//! - [`Emulator::start`] starts one on a free port of 127.0.0.1, either [`Lifetime::Detached`] (survives the
//!   calling process, recorded in `<root>/target/emulator.json`, see [`EmulatorState`]) or
//!   [`Lifetime::TiedToThisProcess`] (dies with the calling process, even when the [`Emulator`] value is never
//!   dropped, as in a `static`).
//! - [`shared_for_tests`] is the one emulator of a test process.
//! - [`reset`] wipes all of an emulator's state; [`env_vars`] and [`ENV_VARS_TO_REMOVE`] point an AWS SDK or
//!   the `kmsctl` binary at it.
//! - [`cloudtrail`] gives an account the CloudTrail trail kmsctl's alerts need.
//! - [`organizations`] makes an organization with OUs, to try `kmsctl plan organization` on.
//!
//! Everything here is Unix-only (it relies on `sh` and `kill`).

pub mod cloudtrail;
mod env;
mod error;
mod install;
pub mod organizations;
mod process;
mod state;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::http;

pub use env::{ENV_VARS_TO_REMOVE, configure_command, env_vars, env_vars_to_remove};
pub use error::EmulatorError;
pub use install::{
    MOTO_VERSION, ensure_installed, install_lock_path, installed_marker, moto_server_path,
};
pub use process::{
    Emulator, Lifetime, StartOptions, pid_is_emulator, start_or_reuse_detached, stop_detached,
};
pub use state::EmulatorState;

/// The workspace root: the parent of this crate's directory.
pub fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// The directory for the emulator's lock, state and log files: `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    root.join("target")
}

/// Wipes all of the emulator's state (`POST /moto-api/reset`), in every account.
///
/// `endpoint` is the emulator's base URL, e.g. `http://127.0.0.1:40123`.
pub fn reset(endpoint: &str) -> Result<(), EmulatorError> {
    post_expecting_200(endpoint, "/moto-api/reset")
}

/// Makes the IDs the emulator generates from now on repeatable (`POST /moto-api/seed?a=SEED`); call it right
/// after [`reset`].
pub fn seed(endpoint: &str, seed: u64) -> Result<(), EmulatorError> {
    post_expecting_200(endpoint, &format!("/moto-api/seed?a={seed}"))
}

/// Whether something answers HTTP at `endpoint` (any status counts).
pub fn is_responding(endpoint: &str) -> bool {
    http::request(
        endpoint,
        "GET",
        "/moto-api/",
        &[],
        &[],
        Duration::from_secs(2),
    )
    .is_ok()
}

fn post_expecting_200(endpoint: &str, path: &str) -> Result<(), EmulatorError> {
    let response = http::request(endpoint, "POST", path, &[], &[], Duration::from_secs(10))
        .map_err(|e| EmulatorError::Http {
            endpoint: endpoint.to_string(),
            message: format!("POST {path}: {e}"),
        })?;
    if response.status == 200 {
        Ok(())
    } else {
        Err(EmulatorError::Http {
            endpoint: endpoint.to_string(),
            message: format!(
                "POST {path} answered HTTP {}: {}",
                response.status,
                response.excerpt()
            ),
        })
    }
}

/// The emulator shared by every test of this process, started on first use and stopped when the process
/// exits ([`Lifetime::TiedToThisProcess`]). It installs moto first if needed ([`ensure_installed`]).
///
/// The error says why it could not start: a test should `expect()` it and fail, never skip.
///
/// The emulator is shared: tests that run in parallel must not [`reset`] it; they isolate themselves by
/// working in their own AWS account (assume a role into it), see `/work/shared/reference/emulator.md`.
pub fn shared_for_tests() -> Result<&'static Emulator, String> {
    static SHARED: OnceLock<Result<Emulator, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let root = project_root();
            ensure_installed(&root).map_err(|e| {
                format!("cannot install the AWS emulator (moto {MOTO_VERSION}) for the tests: {e}")
            })?;
            Emulator::start(&root, &StartOptions::tied_to_this_process())
                .map_err(|e| format!("cannot start the AWS emulator for the tests: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// An AWS account id no other test of this run uses: tests share one emulator and isolate
/// themselves by account (assume a role into it).
pub fn fresh_account() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let pid = u64::from(std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{:012}",
        200_000_000_000 + (pid * 1_000_003 + u64::from(nanos) + n * 7919) % 700_000_000_000
    )
}
