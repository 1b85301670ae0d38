//! The bench's own emulator, seeded once and reused.
//!
//! Seeding N keys is slow (moto creates about 18 keys per second), so the bench runs a detached
//! `moto_server` of its own (not the one of `cargo xtask emulator`) and records it in
//! `target/bench/emulator.json`: pid, port, number of keys and the hash of the generated project. A later
//! run reuses it when it still runs and both match; otherwise it stops it and seeds a new one.
//!
//! The realistic measurement applies into empty accounts instead: each apply gets a [`Scratch`] emulator
//! of its own, stopped when it is dropped.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use xtask::emulator as moto;

use super::project;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// What `target/bench/emulator.json` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheState {
    pub pid: u32,
    pub port: u16,
    pub endpoint: String,
    pub keys: usize,
    /// The hash of the seeded project; empty until seeding has succeeded.
    pub project_hash: String,
}

impl CacheState {
    pub fn path(bench_dir: &Path) -> PathBuf {
        bench_dir.join("emulator.json")
    }

    /// The recorded state; `None` when there is none or it is unreadable.
    pub fn read(bench_dir: &Path) -> Option<Self> {
        let text = fs::read_to_string(Self::path(bench_dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn write(&self, bench_dir: &Path) -> Result<(), String> {
        let path = Self::path(bench_dir);
        let temporary = path.with_extension("json.tmp");
        let json = serde_json::to_string(self).map_err(|e| e.to_string())? + "\n";
        fs::write(&temporary, json)
            .and_then(|()| fs::rename(&temporary, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Whether the process still runs `moto_server` and answers HTTP.
    pub fn is_alive(&self) -> bool {
        moto::pid_is_emulator(self.pid) && moto::is_responding(&self.endpoint)
    }

    /// Forgets the seeding, so that the next run seeds again (the project no longer matches the account).
    pub fn invalidate(bench_dir: &Path) {
        if let Some(state) = Self::read(bench_dir) {
            let _ = Self {
                project_hash: String::new(),
                ..state
            }
            .write(bench_dir);
        }
    }
}

/// The seeded emulator of this run.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub endpoint: String,
    pub pid: u32,
    /// How long seeding took; `None` when a seeded emulator was reused.
    pub seeding: Option<Duration>,
}

/// Reuses the recorded emulator when it runs and holds this project with `keys` keys; otherwise stops
/// it, starts a new one and seeds it with `seed(endpoint)`.
pub fn ensure(
    root: &Path,
    bench_dir: &Path,
    keys: usize,
    project_hash: &str,
    seed: impl FnOnce(&str) -> Result<(), String>,
) -> Result<Seeded, String> {
    if let Some(state) = CacheState::read(bench_dir) {
        let alive = state.is_alive();
        if alive && state.keys == keys && state.project_hash == project_hash {
            eprintln!("reusing the seeded bench emulator ({keys} keys)");
            return Ok(Seeded {
                endpoint: state.endpoint,
                pid: state.pid,
                seeding: None,
            });
        }
        if alive {
            eprintln!(
                "the bench emulator (pid {}) holds another project: stopping it",
                state.pid
            );
            stop_pid(state.pid)?;
        }
    }
    let _ = fs::remove_file(CacheState::path(bench_dir));

    let (child, port, endpoint) = start(
        root,
        bench_dir,
        &|port| bench_dir.join(format!("emulator-{port}.log")),
        true,
    )?;
    let pid = child.id();
    let mut state = CacheState {
        pid,
        port,
        endpoint: endpoint.clone(),
        keys,
        project_hash: String::new(),
    };
    state.write(bench_dir)?;
    eprintln!("bench emulator started at {endpoint} (pid {pid}); seeding {keys} keys...");
    let started = Instant::now();
    seed(&endpoint)?;
    let seeding = started.elapsed();
    state.project_hash = project_hash.to_string();
    state.write(bench_dir)?;
    Ok(Seeded {
        endpoint,
        pid,
        seeding: Some(seeding),
    })
}

/// Stops the recorded emulator, if it runs, and removes the state file. Returns its pid.
pub fn stop(bench_dir: &Path) -> Result<Option<u32>, String> {
    let state = CacheState::read(bench_dir);
    let _ = fs::remove_file(CacheState::path(bench_dir));
    match state {
        Some(state) if moto::pid_is_emulator(state.pid) => {
            stop_pid(state.pid)?;
            Ok(Some(state.pid))
        }
        _ => Ok(None),
    }
}

/// SIGTERM, then SIGKILL after 5 s; only while `pid` is a `moto_server`.
fn stop_pid(pid: u32) -> Result<(), String> {
    for (signal, wait) in [("-TERM", 5000), ("-KILL", 2000)] {
        if !moto::pid_is_emulator(pid) {
            return Ok(());
        }
        let _ = Command::new("kill")
            .args([signal, &pid.to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_millis(wait);
        while moto::pid_is_emulator(pid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
    }
    if moto::pid_is_emulator(pid) {
        Err(format!("cannot stop the bench emulator (pid {pid})"))
    } else {
        Ok(())
    }
}

/// An empty emulator of this run: a `moto_server` in this process's group (an interrupted bench takes it
/// along), stopped when this is dropped.
pub struct Scratch {
    pub endpoint: String,
    child: Child,
}

impl Scratch {
    /// Starts one on a free port, with its output in `log`.
    pub fn start(root: &Path, bench_dir: &Path, log: &Path) -> Result<Self, String> {
        let (child, _, endpoint) = start(root, bench_dir, &|_| log.to_path_buf(), false)?;
        Ok(Self { endpoint, child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = stop_pid(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a `moto_server` on a free port, with its output in `log(port)`; `detached`, in a process group of
/// its own (it survives this process). Returns (process, port, endpoint).
fn start(
    root: &Path,
    bench_dir: &Path,
    log: &dyn Fn(u16) -> PathBuf,
    detached: bool,
) -> Result<(Child, u16, String), String> {
    let moto_server = moto::moto_server_path(root);
    let mut last_error = String::new();
    // The port is free when picked, but something else may take it before moto binds it.
    for _ in 0..3 {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .map_err(|e| format!("cannot find a free port: {e}"))?;
        let log = log(port);
        let output = File::create(&log)
            .and_then(|file| Ok((file.try_clone()?, file)))
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut command = Command::new(&moto_server);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .current_dir(bench_dir)
            .stdin(Stdio::null())
            .stdout(output.0)
            .stderr(output.1);
        if detached {
            command.process_group(0);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", moto_server.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                last_error = format!(
                    "moto_server exited ({status}) before answering (log: {})",
                    log.display()
                );
                break;
            }
            let listening = fs::read_to_string(&log)
                .is_ok_and(|text| text.contains(&format!("Running on {endpoint}")));
            if listening && moto::is_responding(&endpoint) {
                return Ok((child, port, endpoint));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "moto_server did not answer on {endpoint} within {STARTUP_TIMEOUT:?} (log: {})",
                    log.display()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    Err(last_error)
}

/// The seeding step: `kmsctl apply env/bench --auto-approve` straight against the emulator.
pub fn seed_with_kmsctl(
    kmsctl: &Path,
    project_dir: &Path,
    endpoint: &str,
    log: &Path,
) -> Result<(), String> {
    let output = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let errors = output
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let mut command = Command::new(kmsctl);
    command
        .arg("--root")
        .arg(project_dir)
        .args(["apply", project::TARGET, "--auto-approve", "--no-color"])
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors);
    moto::configure_command(&mut command, endpoint);
    let status = command
        .status()
        .map_err(|e| format!("cannot run {}: {e}", kmsctl.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "seeding failed: `kmsctl apply {} --auto-approve` exited with {status}; see {}",
            project::TARGET,
            log.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip() {
        let state = CacheState {
            pid: 42,
            port: 40000,
            endpoint: "http://127.0.0.1:40000".into(),
            keys: 1000,
            project_hash: "00ff".into(),
        };
        let dir =
            std::env::temp_dir().join(format!("xtask-bench-cache-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("create");
        state.write(&dir).expect("write");
        assert_eq!(CacheState::read(&dir), Some(state));
        fs::write(CacheState::path(&dir), "{\"pid\": 1}").expect("write");
        assert_eq!(CacheState::read(&dir), None, "incomplete");
        fs::remove_dir_all(&dir).expect("remove");
    }
}
