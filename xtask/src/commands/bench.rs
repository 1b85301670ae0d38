//! `cargo xtask bench`: how fast `kmsctl plan` reads N keys, against a boto3 script and a floor, through a
//! fault-injection proxy (no faults, 25 ms latency, AWS-like quotas). See the README's Benchmark section.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use xtask::emulator;

use super::{Outcome, cargo, cargo_target_dir, display, human, relative};
use crate::bench::cache::{self, CacheState};
use crate::bench::clients::{self, CONCURRENCY, PlanFailure};
use crate::bench::floor::{self, Credentials};
use crate::bench::project;
use crate::bench::proxy::Proxy;
use crate::bench::scenario::Scenario;
use crate::bench::table::{self, Row};

pub const USAGE: &str = "\
usage: cargo xtask bench [--keys N] [--skip-build] [--scenarios 0ms,25ms,quota]
       cargo xtask bench --stop

  --keys N          keys in the bench account (default 1000); seeding is cached in target/bench/
  --skip-build      use target/release/{kmsctl,fault-proxy} as they are
  --scenarios LIST  which scenarios to run, comma-separated (default 0ms,25ms,quota)
  --stop            stop the bench's cached emulator and exit";

const DEFAULT_KEYS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    keys: usize,
    skip_build: bool,
    scenarios: Vec<Scenario>,
    stop: bool,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Option<Self>, String> {
        let mut options = Self {
            keys: DEFAULT_KEYS,
            skip_build: false,
            scenarios: Scenario::ALL.to_vec(),
            stop: false,
        };
        let mut args = args.iter().copied();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value)),
                _ => (arg, None),
            };
            let mut value = || {
                inline
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
            };
            match name {
                "--keys" => {
                    let text = value()?;
                    options.keys = text
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--keys: `{text}` is not a positive number"))?;
                }
                "--scenarios" => options.scenarios = Scenario::parse_list(value()?)?,
                "--skip-build" if inline.is_none() => options.skip_build = true,
                "--stop" if inline.is_none() => options.stop = true,
                "-h" | "--help" => return Ok(None),
                _ => return Err(format!("unknown bench option `{arg}`\n\n{USAGE}")),
            }
        }
        Ok(Some(options))
    }
}

/// The files and processes of one run.
struct Bench {
    root: PathBuf,
    dir: PathBuf,
    project_dir: PathBuf,
    log_dir: PathBuf,
    kmsctl: PathBuf,
    keys: usize,
    proxy: Proxy,
    credentials: Credentials,
    key_ids: Vec<String>,
    /// The 1-minute load average before the measurements: other work on the machine skews them.
    load_before: String,
}

pub fn run(args: &[&str]) -> Outcome {
    let Some(options) = Options::parse(args)? else {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let root = emulator::project_root();
    let dir = emulator::target_dir(&root).join("bench");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let _lock = lock(&dir)?;
    if options.stop {
        match cache::stop(&dir)? {
            Some(pid) => println!("bench emulator stopped (pid {pid})"),
            None => println!("no bench emulator running"),
        }
        return Ok(ExitCode::SUCCESS);
    }

    let (kmsctl, proxy_binary) = binaries(&root, options.skip_build)?;
    super::emulator::install(&root)?;

    let project_dir = dir.join("project");
    let log_dir = dir.join("logs");
    fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;
    let hash = project::write(&project_dir, options.keys)?;
    eprintln!(
        "bench project: {} ({} keys, account {})",
        relative(&root, &project_dir).display(),
        options.keys,
        project::ACCOUNT_ID
    );
    let seed_log = log_dir.join("seed.log");
    let seeded = cache::ensure(&root, &dir, options.keys, &hash, |endpoint| {
        cache::seed_with_kmsctl(&kmsctl, &project_dir, endpoint, &seed_log)
    })?;
    match seeded.seeding {
        Some(took) => eprintln!(
            "seeded {} keys in {} ({:.1} keys/s)",
            options.keys,
            human(took),
            options.keys as f64 / took.as_secs_f64()
        ),
        None => eprintln!("seeding: cached"),
    }
    eprintln!(
        "bench emulator: {} (pid {}; it keeps running for the next bench: `cargo xtask bench --stop` \
         stops it)",
        seeded.endpoint, seeded.pid
    );

    let credentials = floor::assume_role(&seeded.endpoint, project::ROLE_ARN)?;
    let key_ids = floor::list_key_ids(&seeded.endpoint, &credentials)?;
    if key_ids.len() < options.keys {
        CacheState::invalidate(&dir);
        return Err(format!(
            "the bench account holds {} keys, not {}: run again to seed a fresh emulator",
            key_ids.len(),
            options.keys
        ));
    }
    let proxy = Proxy::start(
        &proxy_binary,
        &seeded.endpoint,
        &log_dir.join("fault-proxy.log"),
    )?;
    eprintln!("fault-proxy at {} -> {}", proxy.endpoint, seeded.endpoint);

    let bench = Bench {
        root,
        dir,
        project_dir,
        log_dir,
        kmsctl,
        keys: options.keys,
        proxy,
        credentials,
        key_ids,
        load_before: load_average(),
    };
    bench.warm_up()?;
    let mut rows = Vec::new();
    for &scenario in &options.scenarios {
        rows.push(bench.scenario(scenario)?);
    }
    bench.report(&rows, seeded.seeding)?;
    Ok(ExitCode::SUCCESS)
}

/// An exclusive lock on `target/bench/bench.lock`: one bench at a time.
fn lock(dir: &Path) -> Result<File, String> {
    let path = dir.join("bench.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    if file.try_lock().is_err() {
        eprintln!("another bench holds {}: waiting", path.display());
        file.lock()
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    }
    Ok(file)
}

/// `target/release/kmsctl` and `target/release/fault-proxy`, built first unless `skip_build`.
fn binaries(root: &Path, skip_build: bool) -> Result<(PathBuf, PathBuf), String> {
    if !skip_build {
        let mut command = cargo(root);
        command.args([
            "build",
            "--release",
            "-p",
            "kmsctl",
            "-p",
            "kmsctl-fault-proxy",
        ]);
        let shown = display(&command);
        eprintln!("$ {shown}");
        match command.status() {
            Ok(status) if status.success() => {}
            Ok(status) => return Err(format!("`{shown}` failed ({status})")),
            Err(e) => return Err(format!("cannot run `{shown}`: {e}")),
        }
    }
    let release = cargo_target_dir(root).join("release");
    let binaries = (release.join("kmsctl"), release.join("fault-proxy"));
    for binary in [&binaries.0, &binaries.1] {
        if !binary.is_file() {
            return Err(format!(
                "{} does not exist: run without --skip-build",
                binary.display()
            ));
        }
    }
    Ok(binaries)
}

impl Bench {
    /// The error of a failed `kmsctl plan`; when it found changes, the seeding is forgotten so that the next
    /// run seeds again.
    fn plan_failed(&self, failure: PlanFailure) -> String {
        if matches!(failure, PlanFailure::Changes(_)) {
            CacheState::invalidate(&self.dir);
        }
        failure.message()
    }

    /// One unmeasured `kmsctl plan` without faults: warms moto and the page cache (the first run after
    /// seeding is the slowest), and fails early if the account does not match the project.
    fn warm_up(&self) -> Result<(), String> {
        self.proxy.set_rules(&[])?;
        let warm_up = clients::kmsctl_plan(
            &self.kmsctl,
            &self.project_dir,
            &self.proxy.endpoint,
            &self.log_dir,
            "warm-up-kmsctl",
        )
        .map_err(|failure| self.plan_failed(failure))?;
        eprintln!(
            "
warm-up (not measured): kmsctl plan {}",
            seconds(warm_up.wall)
        );
        Ok(())
    }

    /// Runs the three clients under `scenario`'s faults.
    fn scenario(&self, scenario: Scenario) -> Result<Row, String> {
        let name = scenario.name();
        eprintln!("\n[{name}] {} rule(s)", scenario.rules().len());
        self.proxy.set_rules(&scenario.rules())?;

        self.proxy.reset_counts()?;
        let kmsctl = clients::kmsctl_plan(
            &self.kmsctl,
            &self.project_dir,
            &self.proxy.endpoint,
            &self.log_dir,
            &format!("{name}-kmsctl"),
        )
        .map_err(|failure| self.plan_failed(failure))?;
        let kmsctl_counts = self.proxy.counts()?;
        eprintln!(
            "[{name}] kmsctl plan: {}, {} requests, {} throttled",
            seconds(kmsctl.wall),
            kmsctl_counts.requests(),
            kmsctl_counts.throttled()
        );

        self.proxy.reset_counts()?;
        let boto3 = clients::boto3_baseline(
            &self.root,
            &self.proxy.endpoint,
            &self.log_dir,
            &format!("{name}-boto3"),
        )?;
        let boto3_counts = self.proxy.counts()?;
        if boto3.keys < self.keys as u64 {
            return Err(format!(
                "the boto3 baseline read {} keys, not {}",
                boto3.keys, self.keys
            ));
        }
        eprintln!(
            "[{name}] boto3 baseline: {}, {} requests, {} throttled, {} failed after retries{}",
            seconds(boto3.timed.wall),
            boto3_counts.requests(),
            boto3_counts.throttled(),
            boto3.errors,
            boto3
                .first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );

        let floor = if scenario.has_analytic_floor() {
            let floor = floor::analytic(&kmsctl_counts, scenario);
            eprintln!("[{name}] floor (analytic): {}", seconds(floor));
            floor
        } else {
            self.proxy.reset_counts()?;
            let mix = floor::mix_of(&kmsctl_counts);
            let run = floor::measure(
                &self.proxy.endpoint,
                &self.credentials,
                &self.key_ids,
                &mix,
                CONCURRENCY,
            )?;
            let seen = self.proxy.counts()?.requests();
            if seen != run.requests {
                return Err(format!(
                    "the floor client sent {} requests but the proxy counted {seen}: it does not \
                     classify them as expected",
                    run.requests
                ));
            }
            eprintln!(
                "[{name}] floor: {}, {} requests",
                seconds(run.wall),
                run.requests
            );
            run.wall
        };
        Ok(Row {
            scenario,
            keys: self.keys,
            kmsctl,
            kmsctl_counts,
            boto3,
            boto3_counts,
            floor,
        })
    }

    /// Prints the table and the targets, and writes `target/bench/results.md`.
    fn report(&self, rows: &[Row], seeding: Option<Duration>) -> Result<(), String> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let (year, month, day, hour, minute, _) = crate::bench::utc(SystemTime::now());
        let date = format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC");
        let checks = table::checks(rows);
        let footnotes = table::footnotes(rows, cores);

        let load = format!(
            "load average {} before, {} after",
            self.load_before,
            load_average()
        );
        println!(
            "\nkmsctl bench: {} keys, concurrency {CONCURRENCY}, {date}, {load}\n",
            self.keys
        );
        print!("{}", table::text(rows));
        for note in &footnotes {
            println!("{note}");
        }
        println!();
        for check in &checks {
            println!("{}", check.line());
        }

        let seeding = match seeding {
            Some(took) => format!("seeded in this run in {}", human(took)),
            None => "seeding reused from an earlier run".to_string(),
        };
        let mut markdown = format!(
            "# kmsctl bench\n\n{} keys in one account, concurrency {CONCURRENCY}, {date}, {cores} \
             cores ({load}); {seeding}.\n\n{}\n",
            self.keys,
            table::markdown(rows)
        );
        for note in &footnotes {
            markdown.push_str(note);
            markdown.push_str("\n\n");
        }
        markdown.push_str("## Targets\n\n");
        for check in &checks {
            markdown.push_str(&format!("    {}\n", check.line()));
        }
        markdown.push_str("\n## Requests by operation\n\n");
        markdown.push_str(&table::request_mix(rows));
        let path = self.dir.join("results.md");
        fs::write(&path, markdown).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!(
            "\nwritten to {}; logs in {}",
            relative(&self.root, &path).display(),
            relative(&self.root, &self.log_dir).display()
        );
        Ok(())
    }
}

/// The 1-minute load average (`/proc/loadavg`), or `?`.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(
            Options::parse(&[]),
            Ok(Some(Options {
                keys: 1000,
                skip_build: false,
                scenarios: Scenario::ALL.to_vec(),
                stop: false,
            }))
        );
        let parsed = Options::parse(&["--keys", "50", "--skip-build", "--scenarios=25ms"])
            .expect("valid")
            .expect("options");
        assert_eq!(parsed.keys, 50);
        assert!(parsed.skip_build);
        assert_eq!(parsed.scenarios, [Scenario::Latency25]);
        assert_eq!(Options::parse(&["--help"]), Ok(None));
        for bad in [
            &["--keys"][..],
            &["--keys", "0"],
            &["--keys=x"],
            &["--skip-build=1"],
            &["--scenarios", "2ms"],
            &["extra"],
        ] {
            assert!(Options::parse(bad).is_err(), "{bad:?}");
        }
    }
}
