//! `cargo xtask ci`: what CI runs, in order, stopping at the first failure.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use xtask::{emulator, validators};

use super::{Outcome, cargo, display, human};

enum Action {
    Run(Command),
    /// Installs moto if needed and starts one emulator for every test process of the run.
    StartEmulator,
    /// Runs the tests against the emulator started before (`KMSCTL_TEST_EMULATOR`).
    Tests(Command),
    /// Installs the validators (JSON Schema, SARIF, HTML, actionlint) and lints the workflows.
    Validators,
}

/// The test harness (`tests/src/lib.rs`) reads this to share one emulator: under nextest every
/// test is a process of its own, and one moto per test would cost a start each.
const TEST_EMULATOR_VAR: &str = "KMSCTL_TEST_EMULATOR";

struct Step {
    name: &'static str,
    action: Action,
}

impl Step {
    fn describe(&self) -> String {
        match &self.action {
            Action::Run(command) | Action::Tests(command) => display(command),
            Action::StartEmulator => format!(
                "install moto[server]=={} into .venv (if needed) and start it",
                emulator::MOTO_VERSION
            ),
            Action::Validators => format!(
                "install {}, {} (.venv), {}, {}, {} (.tools) if needed; lint .github/workflows/*.yml (actionlint, workflow schema)",
                validators::CHECK_JSONSCHEMA,
                validators::HTML5LIB,
                validators::SARIF_MULTITOOL,
                validators::ACTIONLINT,
                validators::IAM_SIMULATE
            ),
        }
    }

    fn run(self, root: &Path, shared: &mut Option<emulator::Emulator>) -> Result<(), String> {
        match self.action {
            Action::Run(command) => run_command(command),
            Action::StartEmulator => {
                emulator::ensure_installed(root).map_err(|e| e.to_string())?;
                let started = emulator::Emulator::start(
                    root,
                    &emulator::StartOptions::tied_to_this_process(),
                )
                .map_err(|e| e.to_string())?;
                eprintln!("==> emulator at {}", started.endpoint);
                *shared = Some(started);
                Ok(())
            }
            Action::Validators => {
                let installed = validators::ensure_installed(root)?;
                let mut workflows: Vec<std::path::PathBuf> =
                    std::fs::read_dir(root.join(".github/workflows"))
                        .map_err(|e| format!("cannot read .github/workflows: {e}"))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
                        .collect();
                workflows.sort();
                run_command(installed.actionlint(&workflows))?;
                // And against GitHub's workflow schema (SchemaStore's, vendored by check-jsonschema).
                let mut schema = Command::new(&installed.check_jsonschema);
                schema
                    .args(["--builtin-schema", "vendor.github-workflows"])
                    .args(&workflows);
                run_command(schema)
            }
            Action::Tests(mut command) => {
                let endpoint = shared
                    .as_ref()
                    .map(|e| e.endpoint.clone())
                    .ok_or("the emulator was not started")?;
                command.env(TEST_EMULATOR_VAR, endpoint);
                run_command(command)
            }
        }
    }
}

fn run_command(mut command: Command) -> Result<(), String> {
    let shown = display(&command);
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{shown}` failed ({status})")),
        Err(e) => Err(format!("cannot run `{shown}`: {e}")),
    }
}

fn has_nextest(root: &Path) -> bool {
    cargo(root)
        .args(["nextest", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn steps(root: &Path) -> Vec<Step> {
    let mut fmt = cargo(root);
    fmt.args(["fmt", "--all", "--", "--check"]);
    let mut clippy = cargo(root);
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    let mut tests = cargo(root);
    let tests_name = if has_nextest(root) {
        tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
        "tests (nextest)"
    } else {
        tests.args(["test", "--workspace"]);
        "tests (cargo test)"
    };
    vec![
        Step {
            name: "fmt",
            action: Action::Run(fmt),
        },
        Step {
            name: "clippy",
            action: Action::Run(clippy),
        },
        Step {
            name: "emulator",
            action: Action::StartEmulator,
        },
        Step {
            name: "validators",
            action: Action::Validators,
        },
        Step {
            name: tests_name,
            action: Action::Tests(tests),
        },
    ]
}

pub fn run() -> Outcome {
    let root = emulator::project_root();
    let started = Instant::now();
    let steps = steps(&root);
    let count = steps.len();
    let mut done: Vec<(&'static str, Duration)> = Vec::new();
    let mut shared = None;
    for (index, step) in steps.into_iter().enumerate() {
        let name = step.name;
        eprintln!("==> [{}/{count}] {name}: {}", index + 1, step.describe());
        let step_started = Instant::now();
        let result = step.run(&root, &mut shared);
        let took = step_started.elapsed();
        match result {
            Ok(()) => {
                eprintln!("==> {name}: ok in {}", human(took));
                done.push((name, took));
            }
            Err(message) => {
                eprintln!("==> {name}: FAILED after {}: {message}", human(took));
                summary(&done);
                eprintln!(
                    "ci FAILED at step {}/{count} `{name}` (total {})",
                    index + 1,
                    human(started.elapsed())
                );
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    summary(&done);
    eprintln!("ci passed in {}", human(started.elapsed()));
    Ok(ExitCode::SUCCESS)
}

fn summary(done: &[(&str, Duration)]) {
    if done.is_empty() {
        return;
    }
    eprintln!("\nsteps passed:");
    for (name, took) in done {
        eprintln!("  {name:<20} {:>10}", human(*took));
    }
}
