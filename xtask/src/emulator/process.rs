//! Starting and stopping `moto_server` processes.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::error::tail;
use super::{EmulatorError, EmulatorState, is_responding, moto_server_path, target_dir};

/// How long an [`Emulator`] lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// It survives the process that started it (`cargo xtask emulator start`), in its own process group (so a
    /// Ctrl-C in the terminal does not reach it), and is recorded in the state file ([`EmulatorState`]).
    /// Dropping the [`Emulator`] leaves it running; stop it with [`stop_detached`] or [`Emulator::stop`].
    Detached,
    /// It dies when the process that started it exits, even if the [`Emulator`] is never dropped (a
    /// `static`), and when the [`Emulator`] is dropped. A `sh` supervises it: it holds the read end of a
    /// pipe whose only writer is this process, and terminates moto on end-of-file.
    TiedToThisProcess,
}

/// How to start an [`Emulator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOptions {
    pub lifetime: Lifetime,
    /// How long to wait for it to answer HTTP (default 30 s).
    pub startup_timeout: Duration,
}

impl StartOptions {
    pub fn detached() -> Self {
        Self {
            lifetime: Lifetime::Detached,
            ..Self::default()
        }
    }

    pub fn tied_to_this_process() -> Self {
        Self {
            lifetime: Lifetime::TiedToThisProcess,
            ..Self::default()
        }
    }
}

impl Default for StartOptions {
    /// Tied to this process, 30 s to start.
    fn default() -> Self {
        Self {
            lifetime: Lifetime::TiedToThisProcess,
            startup_timeout: Duration::from_secs(30),
        }
    }
}

/// A running `moto_server` on 127.0.0.1.
#[derive(Debug)]
pub struct Emulator {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub port: u16,
    /// Its log file, `<root>/target/emulator-PORT.log` (stdout and stderr).
    pub log: PathBuf,
    pid: u32,
    lifetime: Lifetime,
    /// The supervising `sh` (tied emulators only); its stdin is the pipe that keeps moto alive.
    child: Option<Child>,
}

/// The supervisor of a tied emulator: `sh -c SUPERVISOR kmsctl-emulator MOTO_SERVER ARGS...`, with the pipe
/// as stdin. `read` sees end-of-file once every writer of the pipe is closed, i.e. when the starting process
/// has exited or dropped the [`Emulator`]; the supervisor reaps moto itself, so no pid is ever signalled after
/// it could have been reused.
const SUPERVISOR: &str = r#"exec 3<&0 0</dev/null
"$@" 3<&- &
moto=$!
(
  while read -r _ <&3; do :; done
  kill -TERM "$moto" 2>/dev/null
  sleep 5
  kill -KILL "$moto" 2>/dev/null
) &
watchdog=$!
exec 3<&-
wait "$moto"
status=$?
kill "$watchdog" 2>/dev/null
exit "$status"
"#;

impl Emulator {
    /// Starts `<root>/.venv/bin/moto_server -H 127.0.0.1 -p PORT` on a free port and waits until it answers
    /// HTTP (and its log says it listens on that port: something else could have taken the port). Output
    /// goes to `<root>/target/emulator-PORT.log`. A detached emulator is recorded in the state file
    /// (overwriting it: see [`start_or_reuse_detached`]).
    ///
    /// Fails with the log's last lines if moto exits or does not answer within
    /// [`StartOptions::startup_timeout`]. It does not install moto: see [`super::ensure_installed`].
    pub fn start(root: &Path, options: &StartOptions) -> Result<Self, EmulatorError> {
        let moto_server = moto_server_path(root);
        if !moto_server.is_file() {
            return Err(EmulatorError::NotInstalled { moto_server });
        }
        let dir = target_dir(root);
        fs::create_dir_all(&dir)
            .map_err(|e| EmulatorError::io(format!("cannot create {}", dir.display()), e))?;

        // The port is free when picked, but another process may take it before moto binds it: retry then.
        let mut attempts = 0;
        let emulator = loop {
            attempts += 1;
            match Self::start_on(&moto_server, &dir, free_port()?, options) {
                Err(EmulatorError::Startup { log_tail, .. })
                    if attempts < 3 && log_tail.contains("in use") => {}
                result => break result?,
            }
        };
        if emulator.lifetime == Lifetime::Detached {
            emulator.state().write(root)?;
        }
        Ok(emulator)
    }

    fn start_on(
        moto_server: &Path,
        dir: &Path,
        port: u16,
        options: &StartOptions,
    ) -> Result<Self, EmulatorError> {
        let log = dir.join(format!("emulator-{port}.log"));
        let stdout = File::create(&log)
            .map_err(|e| EmulatorError::io(format!("cannot create {}", log.display()), e))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| EmulatorError::io(format!("cannot open {}", log.display()), e))?;
        let port_arg = port.to_string();
        let moto_args = ["-H", "127.0.0.1", "-p", port_arg.as_str()];

        let mut command = match options.lifetime {
            Lifetime::Detached => {
                let mut command = Command::new(moto_server);
                command
                    .args(moto_args)
                    .stdin(Stdio::null())
                    .process_group(0);
                command
            }
            Lifetime::TiedToThisProcess => {
                let mut command = Command::new("sh");
                command
                    .args(["-c", SUPERVISOR, "kmsctl-emulator"])
                    .arg(moto_server)
                    .args(moto_args)
                    .stdin(Stdio::piped());
                command
            }
        };
        let mut child = command
            .current_dir(dir)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| EmulatorError::io(format!("cannot run {}", moto_server.display()), e))?;

        let endpoint = format!("http://127.0.0.1:{port}");
        if let Err(error) = wait_until_ready(&mut child, &endpoint, port, &log, options) {
            match options.lifetime {
                Lifetime::Detached => {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                Lifetime::TiedToThisProcess => {
                    let _ = stop_supervised(child);
                }
            }
            return Err(error);
        }
        let pid = child.id();
        let child = match options.lifetime {
            // Never waited for: it outlives this process.
            Lifetime::Detached => None,
            Lifetime::TiedToThisProcess => Some(child),
        };
        Ok(Self {
            endpoint,
            port,
            log,
            pid,
            lifetime: options.lifetime,
            child,
        })
    }

    /// The process to signal: `moto_server` itself (detached) or its `sh` supervisor (tied).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn lifetime(&self) -> Lifetime {
        self.lifetime
    }

    /// What the state file records about it.
    pub fn state(&self) -> EmulatorState {
        EmulatorState {
            pid: self.pid,
            port: self.port,
            endpoint: self.endpoint.clone(),
            log: self.log.clone(),
        }
    }

    /// Wipes all of its state, see [`super::reset`].
    pub fn reset(&self) -> Result<(), EmulatorError> {
        super::reset(&self.endpoint)
    }

    /// See [`super::env_vars`].
    pub fn env_vars(&self) -> Vec<(String, String)> {
        super::env_vars(&self.endpoint)
    }

    /// Stops it, whatever its lifetime (a detached emulator's state file is left alone: see
    /// [`stop_detached`]).
    pub fn stop(mut self) -> Result<(), EmulatorError> {
        match self.child.take() {
            Some(child) => stop_supervised(child),
            None => terminate(self.pid),
        }
    }
}

impl Drop for Emulator {
    /// Stops a tied emulator; a detached one keeps running.
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            let _ = stop_supervised(child);
        }
    }
}

/// Closes the supervisor's pipe (its watchdog then terminates moto) and waits for the supervisor to exit.
fn stop_supervised(mut child: Child) -> Result<(), EmulatorError> {
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(EmulatorError::io("cannot wait for the emulator", e)),
        }
    }
    let pid = child.id();
    let _ = child.kill();
    let _ = child.wait();
    Err(EmulatorError::io(
        format!("cannot stop the emulator (supervisor pid {pid})"),
        std::io::Error::other("still running 10 s after end-of-file: killed"),
    ))
}

fn free_port() -> Result<u16, EmulatorError> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| EmulatorError::io("cannot find a free port on 127.0.0.1", e))
}

/// Whether `log` has werkzeug's `Running on http://127.0.0.1:PORT` line for this very port.
fn log_says_listening(log: &str, port: u16) -> bool {
    let needle = format!("Running on http://127.0.0.1:{port}");
    log.lines().any(|line| line.trim_end().ends_with(&needle))
}

fn read_log(log: &Path) -> String {
    fs::read(log)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

fn wait_until_ready(
    child: &mut Child,
    endpoint: &str,
    port: u16,
    log: &Path,
    options: &StartOptions,
) -> Result<(), EmulatorError> {
    let started = Instant::now();
    let deadline = started + options.startup_timeout;
    let mut first_answer: Option<Instant> = None;
    let failure = |reason: String| EmulatorError::Startup {
        reason,
        log: log.to_path_buf(),
        log_tail: tail(&read_log(log), 20),
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(failure(format!(
                    "exited ({status}) before answering on port {port}"
                )));
            }
            Ok(None) => {}
            Err(e) => return Err(EmulatorError::io("cannot check on moto_server", e)),
        }
        if is_responding(endpoint) {
            // The answer must come from this moto: its log says so. Should a future moto log otherwise,
            // an answer that lasts 3 s while it keeps running will do.
            let first = *first_answer.get_or_insert_with(Instant::now);
            if log_says_listening(&read_log(log), port) || first.elapsed() > Duration::from_secs(3)
            {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(failure(format!(
                "did not answer on {endpoint} within {:?}",
                options.startup_timeout
            )));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `pid` is a running `moto_server` (or the `sh` supervising one), judged by its command line on
/// Linux (so a reused pid does not count), by `kill -0` elsewhere.
pub fn pid_is_emulator(pid: u32) -> bool {
    if !plausible_pid(pid) {
        return false;
    }
    if Path::new("/proc/self/cmdline").exists() {
        fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
            cmdline
                .split(|&b| b == 0)
                .any(|arg| arg.ends_with(b"moto_server"))
        })
    } else {
        signal(pid, "0")
    }
}

/// Excludes 0 and 1 (`kill 0` signals the whole process group) and what `kill` would read as negative.
fn plausible_pid(pid: u32) -> bool {
    pid > 1 && i32::try_from(pid).is_ok()
}

fn signal(pid: u32, signal: &str) -> bool {
    plausible_pid(pid)
        && Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// SIGTERM, then SIGKILL after 5 s. Only signals `pid` while it is a `moto_server`.
fn terminate(pid: u32) -> Result<(), EmulatorError> {
    let gone_within = |limit: Duration| {
        let deadline = Instant::now() + limit;
        loop {
            if !pid_is_emulator(pid) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    };
    if !pid_is_emulator(pid) {
        return Ok(());
    }
    signal(pid, "TERM");
    if gone_within(Duration::from_secs(5)) {
        return Ok(());
    }
    signal(pid, "KILL");
    if gone_within(Duration::from_secs(2)) {
        return Ok(());
    }
    Err(EmulatorError::io(
        format!("cannot stop the emulator (pid {pid})"),
        std::io::Error::other("still running after SIGKILL"),
    ))
}

/// A lock on `<root>/target/emulator-state.lock`, so that concurrent `xtask` commands agree on the state
/// file.
fn lock_state(root: &Path) -> Result<File, EmulatorError> {
    let dir = target_dir(root);
    fs::create_dir_all(&dir)
        .map_err(|e| EmulatorError::io(format!("cannot create {}", dir.display()), e))?;
    let path = dir.join("emulator-state.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| EmulatorError::io(format!("cannot open {}", path.display()), e))?;
    file.lock()
        .map_err(|e| EmulatorError::io(format!("cannot lock {}", path.display()), e))?;
    Ok(file)
}

/// The detached emulator recorded in the state file if it still runs (`true`: reused), else a new one
/// (`false`) started with `options.startup_timeout`. Needs moto installed.
pub fn start_or_reuse_detached(
    root: &Path,
    options: &StartOptions,
) -> Result<(EmulatorState, bool), EmulatorError> {
    let _lock = lock_state(root)?;
    // An unreadable state file is replaced.
    if let Ok(Some(state)) = EmulatorState::read(root)
        && state.is_alive()
    {
        return Ok((state, true));
    }
    let options = StartOptions {
        lifetime: Lifetime::Detached,
        ..options.clone()
    };
    let emulator = Emulator::start(root, &options)?;
    Ok((emulator.state(), false))
}

/// Stops the detached emulator recorded in the state file, if it still runs, and removes the file. Returns
/// what the file recorded (`None`: no file). An unreadable file is removed, and reported as an error.
pub fn stop_detached(root: &Path) -> Result<Option<EmulatorState>, EmulatorError> {
    let _lock = lock_state(root)?;
    let state = match EmulatorState::read(root) {
        Ok(Some(state)) => state,
        Ok(None) => return Ok(None),
        Err(error) => {
            EmulatorState::remove(root)?;
            return Err(error);
        }
    };
    terminate(state.pid)?;
    EmulatorState::remove(root)?;
    Ok(Some(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_line() {
        let log = "WARNING: This is a development server.\n * Running on http://127.0.0.1:40123\n";
        assert!(log_says_listening(log, 40123));
        assert!(!log_says_listening(log, 4012), "a prefix of the port");
        assert!(!log_says_listening(
            " * Running on http://127.0.0.1:4012\n",
            40123
        ));
        assert!(!log_says_listening("", 40123));
    }

    #[test]
    fn implausible_pids_are_never_signalled() {
        assert!(!pid_is_emulator(0));
        assert!(!pid_is_emulator(1));
        assert!(!pid_is_emulator(u32::MAX));
        assert!(!signal(0, "0"));
        assert!(
            !pid_is_emulator(std::process::id()),
            "this test is no moto_server"
        );
        assert!(terminate(0).is_ok());
    }

    #[test]
    fn starting_without_moto_says_so() {
        let root = Path::new("/nonexistent/xtask-test-root");
        let error = Emulator::start(root, &StartOptions::default()).expect_err("not installed");
        assert!(
            matches!(error, EmulatorError::NotInstalled { .. }),
            "{error}"
        );
    }
}
