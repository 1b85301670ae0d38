//! `cargo xtask bench`: how fast `kmsctl plan` reads N keys, against a boto3 script and a floor, through a
//! fault-injection proxy (no faults, 25 ms latency, AWS-like quotas); and, with `--scenarios realistic`,
//! what AWS's eventual consistency costs an apply of N keys and the plan after it. See the README's
//! Benchmark section.

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
use crate::bench::realistic::{self, Mode, RealisticRow};
use crate::bench::scenario::{DEFAULT_WINDOW_MS, Scenario, Selection};
use crate::bench::table::{self, Row};

pub const USAGE: &str = "\
usage: cargo xtask bench [--keys N] [--skip-build] [--scenarios 0ms,25ms,quota,realistic]
                         [--realistic-window MS]
       cargo xtask bench --stop

  --keys N                keys in the bench account (default 1000); seeding is cached in target/bench/
  --skip-build            use target/release/{kmsctl,fault-proxy} as they are
  --scenarios LIST        which scenarios to run, comma-separated (default 0ms,25ms,quota); `realistic`
                          applies N keys into an empty account and plans, with and without the proxy's
                          realistic-AWS rules (it needs no seeding)
  --realistic-window MS   the realistic rules' consistency window (default 3000)
  --stop                  stop the bench's cached emulator and exit";

const DEFAULT_KEYS: usize = 1000;

/// kmsctl's `--propagation-timeout` in the realistic measurement, in seconds.
const PROPAGATION_TIMEOUT: u64 = 120;

/// The longest `--realistic-window`: tags lag three windows, which must fit in [`PROPAGATION_TIMEOUT`].
const MAX_WINDOW_MS: u64 = PROPAGATION_TIMEOUT * 1000 / 3;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    keys: usize,
    skip_build: bool,
    scenarios: Selection,
    /// `--realistic-window`, if given.
    realistic_window: Option<u64>,
    stop: bool,
}

impl Options {
    fn parse(args: &[&str]) -> Result<Option<Self>, String> {
        let mut options = Self {
            keys: DEFAULT_KEYS,
            skip_build: false,
            scenarios: Selection::default_list(),
            realistic_window: None,
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
                "--realistic-window" => {
                    let text = value()?;
                    options.realistic_window = Some(
                        text.parse()
                            .ok()
                            .filter(|ms| (1..=MAX_WINDOW_MS).contains(ms))
                            .ok_or_else(|| {
                                format!(
                                    "--realistic-window: `{text}` is not a number of milliseconds \
                                     from 1 to {MAX_WINDOW_MS} (tags lag three windows, and kmsctl \
                                     waits {PROPAGATION_TIMEOUT} s for them)"
                                )
                            })?,
                    );
                }
                "--skip-build" if inline.is_none() => options.skip_build = true,
                "--stop" if inline.is_none() => options.stop = true,
                "-h" | "--help" => return Ok(None),
                _ => return Err(format!("unknown bench option `{arg}`\n\n{USAGE}")),
            }
        }
        if options.realistic_window.is_some() && !options.scenarios.realistic {
            return Err(
                "--realistic-window is for the realistic scenario: add `realistic` to --scenarios"
                    .into(),
            );
        }
        Ok(Some(options))
    }

    /// The realistic rules' window, in milliseconds.
    fn window_ms(&self) -> u64 {
        self.realistic_window.unwrap_or(DEFAULT_WINDOW_MS)
    }
}

/// The seeded account and the proxy in front of it: what the plan scenarios need.
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
    let log_dir = dir.join("logs");
    fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;

    // The 1-minute load average before the measurements: other work on the machine skews them.
    let mut load_before = None;
    let mut rows = Vec::new();
    let mut seeding = None;
    if !options.scenarios.plan.is_empty() {
        let (bench, seeded_in) =
            Bench::prepare(&root, &dir, &log_dir, &kmsctl, &proxy_binary, options.keys)?;
        seeding = Some(seeded_in);
        load_before = Some(load_average());
        bench.warm_up()?;
        for &scenario in &options.scenarios.plan {
            rows.push(bench.scenario(scenario)?);
        }
    }
    let mut realistic_rows = Vec::new();
    if options.scenarios.realistic {
        load_before.get_or_insert_with(load_average);
        let setup = realistic::Setup {
            root: &root,
            dir: &dir,
            log_dir: &log_dir,
            kmsctl: &kmsctl,
            proxy_binary: &proxy_binary,
            keys: options.keys,
            propagation_timeout: PROPAGATION_TIMEOUT,
        };
        let window_ms = options.window_ms();
        for mode in [Mode::NoFaults, Mode::Realistic { window_ms }] {
            realistic_rows.push(realistic::measure(&setup, mode)?);
        }
    }
    Report {
        root: &root,
        dir: &dir,
        log_dir: &log_dir,
        keys: options.keys,
        load_before: load_before.unwrap_or_else(load_average),
        window_ms: options.window_ms(),
        seeding,
    }
    .write(&rows, &realistic_rows)?;
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
    /// Writes the bench project, seeds the cached emulator with it (or reuses it) and starts the proxy in
    /// front of it. Also returns how long seeding took (`None`: cached).
    fn prepare(
        root: &Path,
        dir: &Path,
        log_dir: &Path,
        kmsctl: &Path,
        proxy_binary: &Path,
        keys: usize,
    ) -> Result<(Self, Option<Duration>), String> {
        let project_dir = dir.join("project");
        let hash = project::write(&project_dir, keys)?;
        eprintln!(
            "bench project: {} ({keys} keys, account {})",
            relative(root, &project_dir).display(),
            project::ACCOUNT_ID
        );
        let seed_log = log_dir.join("seed.log");
        let seeded = cache::ensure(root, dir, keys, &hash, |endpoint| {
            cache::seed_with_kmsctl(kmsctl, &project_dir, endpoint, &seed_log)
        })?;
        match seeded.seeding {
            Some(took) => eprintln!(
                "seeded {keys} keys in {} ({:.1} keys/s)",
                human(took),
                keys as f64 / took.as_secs_f64()
            ),
            None => eprintln!("seeding: cached"),
        }
        eprintln!(
            "bench emulator: {} (pid {}; it keeps running for the next bench: `cargo xtask bench \
             --stop` stops it)",
            seeded.endpoint, seeded.pid
        );

        let credentials = floor::assume_role(&seeded.endpoint, project::ROLE_ARN)?;
        let key_ids = floor::list_key_ids(&seeded.endpoint, &credentials)?;
        if key_ids.len() < keys {
            CacheState::invalidate(dir);
            return Err(format!(
                "the bench account holds {} keys, not {keys}: run again to seed a fresh emulator",
                key_ids.len(),
            ));
        }
        let proxy = Proxy::start(
            proxy_binary,
            &seeded.endpoint,
            &log_dir.join("fault-proxy.log"),
        )?;
        eprintln!("fault-proxy at {} -> {}", proxy.endpoint, seeded.endpoint);
        let bench = Self {
            root: root.to_path_buf(),
            dir: dir.to_path_buf(),
            project_dir,
            log_dir: log_dir.to_path_buf(),
            kmsctl: kmsctl.to_path_buf(),
            keys,
            proxy,
            credentials,
            key_ids,
        };
        Ok((bench, seeded.seeding))
    }

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
}

/// What the report says about the run besides its results.
struct Report<'a> {
    root: &'a Path,
    dir: &'a Path,
    log_dir: &'a Path,
    keys: usize,
    load_before: String,
    window_ms: u64,
    /// How long seeding took, when the plan scenarios ran (`Some(None)`: cached).
    seeding: Option<Option<Duration>>,
}

impl Report<'_> {
    /// Prints the tables and the targets, and writes `target/bench/results.md`.
    fn write(&self, rows: &[Row], realistic_rows: &[RealisticRow]) -> Result<(), String> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let (year, month, day, hour, minute, _) = crate::bench::utc(SystemTime::now());
        let date = format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC");
        let checks = table::checks(rows);
        let footnotes = table::footnotes(rows, cores);
        let notes = realistic::notes(realistic_rows);
        let realistic_title = format!(
            "apply of {} keys into an empty account, then plan: realistic-AWS rules (window {} ms) and a \
             lost CreateKey answer against no faults; --propagation-timeout {PROPAGATION_TIMEOUT}, \
             --parallelism {CONCURRENCY}",
            self.keys, self.window_ms
        );

        let load = format!(
            "load average {} before, {} after",
            self.load_before,
            load_average()
        );
        println!(
            "\nkmsctl bench: {} keys, concurrency {CONCURRENCY}, {date}, {load}\n",
            self.keys
        );
        if !rows.is_empty() {
            print!("{}", table::text(rows));
            for note in &footnotes {
                println!("{note}");
            }
            println!();
            for check in &checks {
                println!("{}", check.line());
            }
        }
        if !realistic_rows.is_empty() {
            if !rows.is_empty() {
                println!();
            }
            println!("realistic: {realistic_title}\n");
            print!("{}", realistic::text(realistic_rows));
            for note in &notes {
                println!("{note}");
            }
        }

        let seeding = match self.seeding {
            Some(Some(took)) => format!("seeded in this run in {}", human(took)),
            Some(None) => "seeding reused from an earlier run".to_string(),
            None => "no seeding (only the realistic scenario ran)".to_string(),
        };
        let mut markdown = format!(
            "# kmsctl bench\n\n{} keys, concurrency {CONCURRENCY}, {date}, {cores} cores ({load}); \
             {seeding}.\n\n",
            self.keys,
        );
        if !rows.is_empty() {
            markdown.push_str(&table::markdown(rows));
            markdown.push('\n');
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
        }
        if !realistic_rows.is_empty() {
            if !rows.is_empty() {
                markdown.push('\n');
            }
            markdown.push_str(&format!(
                "## Realistic AWS\n\nAn {realistic_title}.\n\n{}\n",
                realistic::markdown(realistic_rows)
            ));
            for note in &notes {
                markdown.push_str(note);
                markdown.push_str("\n\n");
            }
            markdown.push_str("### Requests by operation\n\n");
            markdown.push_str(&realistic::request_mix(realistic_rows));
        }
        let path = self.dir.join("results.md");
        fs::write(&path, markdown).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!(
            "\nwritten to {}; logs in {}",
            relative(self.root, &path).display(),
            relative(self.root, self.log_dir).display()
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
                scenarios: Selection::default_list(),
                realistic_window: None,
                stop: false,
            }))
        );
        let parsed = Options::parse(&["--keys", "50", "--skip-build", "--scenarios=25ms"])
            .expect("valid")
            .expect("options");
        assert_eq!(parsed.keys, 50);
        assert!(parsed.skip_build);
        assert_eq!(parsed.scenarios.plan, [Scenario::Latency25]);
        assert!(!parsed.scenarios.realistic);
        assert_eq!(Options::parse(&["--help"]), Ok(None));
        for bad in [
            &["--keys"][..],
            &["--keys", "0"],
            &["--keys=x"],
            &["--skip-build=1"],
            &["--scenarios", "2ms"],
            &["extra"],
            &["--scenarios", "realistic", "--realistic-window", "0"],
            &["--scenarios", "realistic", "--realistic-window=40001"],
            &["--scenarios", "realistic", "--realistic-window", "3s"],
            &["--scenarios", "realistic", "--realistic-window"],
            &["--scenarios", "0ms", "--realistic-window", "3000"],
        ] {
            assert!(Options::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn realistic_options() {
        let parsed = Options::parse(&["--scenarios", "realistic"])
            .expect("valid")
            .expect("options");
        assert!(parsed.scenarios.realistic);
        assert!(parsed.scenarios.plan.is_empty());
        assert_eq!(parsed.window_ms(), 3000);
        let parsed = Options::parse(&["--realistic-window=1500", "--scenarios", "quota,realistic"])
            .expect("valid")
            .expect("options");
        assert_eq!(parsed.window_ms(), 1500);
        assert_eq!(parsed.scenarios.plan, [Scenario::Quota]);
        assert!(parsed.scenarios.realistic);
        assert_eq!(
            Options::parse(&["--scenarios", "realistic", "--realistic-window", "40000"])
                .expect("valid")
                .expect("options")
                .window_ms(),
            40000
        );
    }
}
