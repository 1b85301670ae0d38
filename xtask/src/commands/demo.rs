//! `cargo xtask demo`: kmsctl against the local emulator, end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use xtask::emulator;

use super::{Outcome, cargo, cargo_target_dir, display};

/// The environment the demo plans and applies.
const ENVIRONMENT: &str = "env/dev";
/// Its folder, for the user to edit.
const ENVIRONMENT_DIR: &str = "environments/dev";
/// Its account and region (`environments/dev/environment.toml`).
const ACCOUNT: &str = "111111111111";
const REGION: &str = "us-east-1";

/// Runs `kmsctl args...` from the project root against the emulator; returns its exit code.
fn kmsctl(root: &Path, kmsctl: &Path, endpoint: &str, args: &[&str]) -> Result<i32, String> {
    let mut command = Command::new(kmsctl);
    command.args(args).current_dir(root);
    emulator::configure_command(&mut command, endpoint);
    let shown = display(&command);
    eprintln!("\n$ {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run `{shown}` ({}): {e}", kmsctl.display()))?;
    status
        .code()
        .ok_or_else(|| format!("`{shown}` was killed ({status})"))
}

fn expect_success(root: &Path, binary: &Path, endpoint: &str, args: &[&str]) -> Result<(), String> {
    match kmsctl(root, binary, endpoint, args)? {
        0 => Ok(()),
        code => Err(format!(
            "`kmsctl {}` failed (exit code {code})",
            args.join(" ")
        )),
    }
}

fn build(root: &Path) -> Result<PathBuf, String> {
    let mut command = cargo(root);
    command.args(["build", "-q", "-p", "kmsctl"]);
    let shown = display(&command);
    eprintln!("\n$ {shown}");
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(format!("`{shown}` failed ({status})")),
        Err(e) => return Err(format!("cannot run `{shown}`: {e}")),
    }
    let binary = cargo_target_dir(root).join("debug").join("kmsctl");
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!("`{shown}` built no {}", binary.display()))
    }
}

pub fn run() -> Outcome {
    let root = emulator::project_root();
    let state = super::emulator::start_or_reuse(&root)?;
    let endpoint = state.endpoint.as_str();
    eprintln!("endpoint: {endpoint}");
    let binary = build(&root)?;

    eprintln!("\nresetting the emulator, so that the demo starts from nothing");
    emulator::reset(endpoint).map_err(|e| format!("cannot reset the emulator: {e}"))?;
    // env/dev declares alerts, which fire only where a CloudTrail trail logs KMS's management
    // events: a real account has one (kmsctl refuses the plan otherwise, `cloudtrail-missing`).
    eprintln!(
        "giving account {ACCOUNT} a multi-Region CloudTrail trail ({}), as a real account has",
        emulator::cloudtrail::TRAIL
    );
    emulator::cloudtrail::provision_trail(endpoint, ACCOUNT, REGION)
        .map_err(|e| format!("cannot create the demo's CloudTrail trail: {e}"))?;

    expect_success(&root, &binary, endpoint, &["validate", ENVIRONMENT])?;
    expect_success(
        &root,
        &binary,
        endpoint,
        &["apply", ENVIRONMENT, "--auto-approve"],
    )?;
    let plan = ["plan", ENVIRONMENT, "--detailed-exitcode"];
    match kmsctl(&root, &binary, endpoint, &plan)? {
        0 => eprintln!("\nsecond plan: no changes"),
        2 => {
            return Err(format!(
                "`kmsctl {}` still shows changes right after apply (exit code 2): apply did not \
                 converge",
                plan.join(" ")
            ));
        }
        code => {
            return Err(format!(
                "`kmsctl {}` failed (exit code {code})",
                plan.join(" ")
            ));
        }
    }

    // The guardrails, checked offline: the organization's boundary tests, and one question.
    expect_success(&root, &binary, endpoint, &["validate", "organization"])?;
    expect_success(
        &root,
        &binary,
        endpoint,
        &[
            "simulate",
            "--principal",
            "arn:aws:iam::222222222222:role/prod-db-admin-role",
            "--action",
            "kms:Decrypt",
            "--key",
            "alias/dev-db-payments-encryption",
            "--expect",
            "explicit-deny",
        ],
    )?;

    let binary_shown = binary
        .strip_prefix(&root)
        .unwrap_or(&binary)
        .display()
        .to_string();
    println!(
        "\ndemo done. The emulator keeps running at {endpoint}. Next:\n\
         \n  # point your shell at it\
         \n  {export}\
         \n  unset AWS_PROFILE\
         \n  # change a key, then see the plan\
         \n  $EDITOR {ENVIRONMENT_DIR}/keys.toml\
         \n  {binary_shown} plan {ENVIRONMENT}\
         \n  {binary_shown} apply {ENVIRONMENT}\
         \n  # ask the policies a question, offline\
         \n  {binary_shown} simulate --principal arn:aws:iam::111111111111:role/dev-app-role \\\
         \n      --action kms:Decrypt --key alias/prod-db-payments-encryption\
         \n  # start over / stop\
         \n  cargo xtask emulator reset\
         \n  cargo xtask emulator stop",
        export = super::emulator::export_line(endpoint),
    );
    Ok(ExitCode::SUCCESS)
}
