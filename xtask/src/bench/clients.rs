//! The measured clients that run as processes: `kmsctl plan`, `kmsctl apply` (the realistic measurement)
//! and the boto3 baseline, each under GNU time (`/usr/bin/time`) for its CPU time and peak RSS.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use xtask::emulator as moto;

use super::project;

/// GNU time; `apt-get install -y time` provides it.
const GNU_TIME: &str = "/usr/bin/time";
/// Reads in flight, for every client.
pub const CONCURRENCY: usize = 16;

/// What a process cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timed {
    pub wall: Duration,
    /// User plus system CPU time.
    pub cpu: Duration,
    pub max_rss_kb: u64,
}

/// A child process's output files.
struct Logs {
    stdout: PathBuf,
    stderr: PathBuf,
    time: PathBuf,
}

impl Logs {
    fn new(dir: &Path, name: &str) -> Self {
        Self {
            stdout: dir.join(format!("{name}.stdout")),
            stderr: dir.join(format!("{name}.stderr")),
            time: dir.join(format!("{name}.time")),
        }
    }

    fn tail(&self) -> String {
        let text = fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Runs `program args...` under GNU time with `endpoint` as the AWS endpoint; returns its exit code and
/// cost.
fn run_timed(
    program: &Path,
    args: &[&str],
    endpoint: &str,
    logs: &Logs,
) -> Result<(i32, Timed), String> {
    if !Path::new(GNU_TIME).is_file() {
        return Err(format!(
            "{GNU_TIME} is missing: install GNU time (`apt-get install -y time`)"
        ));
    }
    let create = |path: &Path| {
        File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let mut command = Command::new(GNU_TIME);
    command
        .args(["-f", "%e %U %S %M", "-o"])
        .arg(&logs.time)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(create(&logs.stdout)?)
        .stderr(create(&logs.stderr)?);
    moto::configure_command(&mut command, endpoint);
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|e| format!("cannot run {GNU_TIME} {}: {e}", program.display()))?;
    let wall = started.elapsed();
    let code = status
        .code()
        .ok_or_else(|| format!("{} was killed ({status})", program.display()))?;
    let text = fs::read_to_string(&logs.time)
        .map_err(|e| format!("cannot read {}: {e}", logs.time.display()))?;
    let (cpu, max_rss_kb) =
        parse_time(&text).ok_or_else(|| format!("cannot read GNU time's output {text:?}"))?;
    Ok((
        code,
        Timed {
            wall,
            cpu,
            max_rss_kb,
        },
    ))
}

/// The last line of `%e %U %S %M` (earlier lines say how the command exited): (user + sys, max RSS KB).
fn parse_time(text: &str) -> Option<(Duration, u64)> {
    let line = text.lines().rev().find(|line| !line.trim().is_empty())?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [_, user, sys, rss] = fields.as_slice() else {
        return None;
    };
    let seconds = user.parse::<f64>().ok()? + sys.parse::<f64>().ok()?;
    Some((Duration::from_secs_f64(seconds), rss.parse().ok()?))
}

/// Why `kmsctl plan` did not give a clean result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanFailure {
    /// It found changes: the account no longer matches the project.
    Changes(String),
    /// It failed, or could not run.
    Failed(String),
}

impl PlanFailure {
    pub fn message(self) -> String {
        match self {
            Self::Changes(message) | Self::Failed(message) => message,
        }
    }
}

/// `kmsctl plan env/bench --detailed-exitcode --parallelism 16` through `endpoint`; fails unless it
/// reports no changes.
pub fn kmsctl_plan(
    kmsctl: &Path,
    project_dir: &Path,
    endpoint: &str,
    log_dir: &Path,
    name: &str,
) -> Result<Timed, PlanFailure> {
    let logs = Logs::new(log_dir, name);
    let root = project_dir.to_string_lossy();
    let parallelism = CONCURRENCY.to_string();
    let args = [
        "--root",
        &root,
        "--no-color",
        "--parallelism",
        &parallelism,
        "plan",
        project::TARGET,
        "--detailed-exitcode",
    ];
    let (code, timed) = run_timed(kmsctl, &args, endpoint, &logs).map_err(PlanFailure::Failed)?;
    match code {
        0 => Ok(timed),
        2 => Err(PlanFailure::Changes(format!(
            "`kmsctl plan {} --detailed-exitcode` found changes (exit code 2): the bench account no \
             longer matches the project (the next run seeds again); see {}",
            project::TARGET,
            logs.stdout.display()
        ))),
        code => Err(PlanFailure::Failed(format!(
            "`kmsctl plan {}` failed (exit code {code}); see {}:\n{}",
            project::TARGET,
            logs.stderr.display(),
            logs.tail()
        ))),
    }
}

/// `kmsctl apply env/bench --auto-approve --parallelism 16 --propagation-timeout SECONDS` through
/// `endpoint`; fails unless it exits 0.
pub fn kmsctl_apply(
    kmsctl: &Path,
    project_dir: &Path,
    endpoint: &str,
    log_dir: &Path,
    name: &str,
    propagation_timeout: u64,
) -> Result<Timed, String> {
    let logs = Logs::new(log_dir, name);
    let root = project_dir.to_string_lossy();
    let parallelism = CONCURRENCY.to_string();
    let propagation_timeout = propagation_timeout.to_string();
    let args = [
        "--root",
        &root,
        "--no-color",
        "--parallelism",
        &parallelism,
        "--propagation-timeout",
        &propagation_timeout,
        "apply",
        project::TARGET,
        "--auto-approve",
    ];
    let (code, timed) = run_timed(kmsctl, &args, endpoint, &logs)?;
    if code == 0 {
        Ok(timed)
    } else {
        Err(format!(
            "`kmsctl apply {} --auto-approve` failed (exit code {code}); see {} and {}:\n{}",
            project::TARGET,
            logs.stdout.display(),
            logs.stderr.display(),
            logs.tail()
        ))
    }
}

/// What the boto3 baseline reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Boto3Run {
    pub timed: Timed,
    pub keys: u64,
    /// Calls that failed even after the SDK's retries.
    pub errors: u64,
    pub first_error: Option<String>,
}

/// `.venv/bin/python xtask/bench/boto3_baseline.py` through `endpoint`.
pub fn boto3_baseline(
    root: &Path,
    endpoint: &str,
    log_dir: &Path,
    name: &str,
) -> Result<Boto3Run, String> {
    let logs = Logs::new(log_dir, name);
    let python = root.join(".venv/bin/python");
    let script = root.join("xtask/bench/boto3_baseline.py");
    let script = script.to_string_lossy();
    let concurrency = CONCURRENCY.to_string();
    let args = [
        script.as_ref(),
        "--endpoint",
        endpoint,
        "--role-arn",
        project::ROLE_ARN,
        "--region",
        project::REGION,
        "--concurrency",
        &concurrency,
    ];
    let (code, timed) = run_timed(&python, &args, endpoint, &logs)?;
    if code != 0 {
        return Err(format!(
            "the boto3 baseline failed (exit code {code}); see {}:\n{}",
            logs.stderr.display(),
            logs.tail()
        ));
    }
    let stdout = fs::read_to_string(&logs.stdout).unwrap_or_default();
    let report = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .ok_or_else(|| format!("the boto3 baseline printed no report: {stdout:?}"))?;
    let number = |name: &str| report[name].as_u64().unwrap_or(0);
    Ok(Boto3Run {
        timed,
        keys: number("keys"),
        errors: number("errors"),
        first_error: report["first_error"].as_str().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_time_output() {
        assert_eq!(
            parse_time("12.34 1.50 0.25 34567\n"),
            Some((Duration::from_millis(1750), 34567))
        );
        assert_eq!(
            parse_time("Command exited with non-zero status 2\n0.10 0.50 0.25 9000\n"),
            Some((Duration::from_millis(750), 9000))
        );
        assert_eq!(parse_time("Command terminated by signal 9\n"), None);
        assert_eq!(parse_time(""), None);
    }
}
