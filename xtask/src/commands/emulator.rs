//! `cargo xtask emulator start|stop|reset|status|organization`

use std::path::Path;
use std::process::ExitCode;

use xtask::emulator::{self, EmulatorError, EmulatorState, MOTO_VERSION, StartOptions};

use super::{Outcome, relative};

/// Installs moto if needed, saying so when it takes a while.
pub fn install(root: &Path) -> Result<(), String> {
    if !emulator::installed_marker(root).is_file() {
        eprintln!(
            "installing moto[server]=={MOTO_VERSION} into .venv (about 40 s the first time)..."
        );
    }
    emulator::ensure_installed(root)
        .map(drop)
        .map_err(|e| format!("cannot install the emulator: {e}"))
}

/// Starts a detached emulator, or finds the running one, and says which.
pub fn start_or_reuse(root: &Path) -> Result<EmulatorState, String> {
    install(root)?;
    let (state, reused) = emulator::start_or_reuse_detached(root, &StartOptions::detached())
        .map_err(|e| format!("cannot start the emulator: {e}"))?;
    eprintln!(
        "{} (pid {}, log {})",
        if reused {
            "emulator already running"
        } else {
            "emulator started"
        },
        state.pid,
        relative(root, &state.log).display()
    );
    Ok(state)
}

/// The `export ...` line that points a shell at the emulator.
pub fn export_line(endpoint: &str) -> String {
    format!(
        "export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
         AWS_REGION=us-east-1"
    )
}

pub fn start() -> Outcome {
    let root = emulator::project_root();
    let state = start_or_reuse(&root)?;
    println!("endpoint: {}", state.endpoint);
    println!("{}", export_line(&state.endpoint));
    Ok(ExitCode::SUCCESS)
}

pub fn stop() -> Outcome {
    let root = emulator::project_root();
    match emulator::stop_detached(&root) {
        Ok(Some(state)) => {
            println!("emulator stopped (pid {}, {})", state.pid, state.endpoint);
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) => {
            println!(
                "no emulator running (no {})",
                relative(&root, &EmulatorState::path(&root)).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ EmulatorError::State { .. }) => Err(format!(
            "removed the unreadable state file ({e}); if an emulator still runs, stop it by hand"
        )),
        Err(e) => Err(format!("cannot stop the emulator: {e}")),
    }
}

/// The running detached emulator, or why there is none.
fn running(root: &Path) -> Result<EmulatorState, String> {
    match EmulatorState::read(root) {
        Ok(Some(state)) if state.is_alive() => Ok(state),
        Ok(Some(state)) => Err(format!(
            "the emulator recorded in {} (pid {}) is not running; start one with `cargo xtask emulator start`",
            relative(root, &EmulatorState::path(root)).display(),
            state.pid
        )),
        Ok(None) => {
            Err("no emulator running; start one with `cargo xtask emulator start`".to_string())
        }
        Err(e) => Err(format!("{e}; `cargo xtask emulator stop` removes it")),
    }
}

/// Makes (or finds) the organization the shipped `organization/organization.toml` manages, in
/// the running emulator: management account 123456789012, OUs `root/dev` and `root/prod`; prints
/// the ids to write in its `[tree]` and in the environments' `*_org_path` variables.
pub fn organization() -> Outcome {
    use xtask::emulator::organizations::{self, MANAGEMENT_ACCOUNT, SHIPPED_OUS};
    let root = emulator::project_root();
    let state = running(&root)?;
    let org = organizations::create(&state.endpoint, MANAGEMENT_ACCOUNT, &SHIPPED_OUS)
        .map_err(|e| format!("cannot make the organization: {e}"))?;
    println!(
        "# Organization {} in account {MANAGEMENT_ACCOUNT} of the emulator at {}, OUs {}.",
        org.org_id,
        state.endpoint,
        SHIPPED_OUS.join(", ")
    );
    println!(
        "# organization/organization.toml: replace [tree]'s org_id, root_id and [tree.ous] with these"
    );
    println!("# ([tree.accounts] stays: it says where the environments' accounts sit).");
    print!("{}", org.tree_toml());
    println!("\n# environments/NAME/environment.toml, [variables]: the OU's org path");
    for ou in SHIPPED_OUS {
        if let Some(path) = org.org_path(ou) {
            println!("{ou}_org_path = \"{path}\"");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reset() -> Outcome {
    let root = emulator::project_root();
    let state = running(&root)?;
    emulator::reset(&state.endpoint).map_err(|e| format!("cannot reset the emulator: {e}"))?;
    println!("emulator at {} reset", state.endpoint);
    Ok(ExitCode::SUCCESS)
}

pub fn status() -> Outcome {
    let root = emulator::project_root();
    match running(&root) {
        Ok(state) => {
            let answers = emulator::is_responding(&state.endpoint);
            println!(
                "running: pid {}, endpoint {}, log {}{}",
                state.pid,
                state.endpoint,
                relative(&root, &state.log).display(),
                if answers { "" } else { " (NOT answering HTTP)" }
            );
            if answers {
                println!("{}", export_line(&state.endpoint));
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::FAILURE)
            }
        }
        Err(reason) => {
            println!("not running: {reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}
