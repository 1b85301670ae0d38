//! Against a real moto server: installs it into the project's `.venv` when needed (about 40 s the first
//! time), then starts emulators on free ports. Never touches the project's `target/emulator.json`.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use xtask::emulator::{
    self, Emulator, EmulatorState, Lifetime, StartOptions, ensure_installed, project_root,
};

fn stops_answering_within(endpoint: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !emulator::is_responding(endpoint) {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn tied_emulator_starts_resets_and_stops_when_dropped() {
    let root = project_root();
    let started = Instant::now();
    ensure_installed(&root).expect("moto installs");
    eprintln!("ensure_installed: {:?}", started.elapsed());

    let started = Instant::now();
    let emulator =
        Emulator::start(&root, &StartOptions::tied_to_this_process()).expect("moto starts");
    eprintln!("start: {:?} ({})", started.elapsed(), emulator.endpoint);
    assert_eq!(emulator.lifetime(), Lifetime::TiedToThisProcess);
    assert_eq!(
        emulator.endpoint,
        format!("http://127.0.0.1:{}", emulator.port)
    );
    assert!(emulator::is_responding(&emulator.endpoint));
    assert!(emulator::pid_is_emulator(emulator.pid()));

    let started = Instant::now();
    emulator.reset().expect("reset");
    eprintln!("reset: {:?}", started.elapsed());
    emulator::seed(&emulator.endpoint, 42).expect("seed");

    let env = emulator.env_vars();
    assert!(env.contains(&("AWS_ENDPOINT_URL".to_string(), emulator.endpoint.clone())));

    let endpoint = emulator.endpoint.clone();
    let pid = emulator.pid();
    let started = Instant::now();
    drop(emulator);
    eprintln!("drop: {:?}", started.elapsed());
    assert!(!emulator::is_responding(&endpoint), "stopped when dropped");
    assert!(!emulator::pid_is_emulator(pid));
}

/// Set in the child process of [`tied_emulator_dies_with_its_process`]: where to write the endpoint.
const CHILD_VAR: &str = "XTASK_TEST_TIED_EMULATOR_ENDPOINT_FILE";

#[test]
fn tied_emulator_dies_with_its_process() {
    if let Some(out) = std::env::var_os(CHILD_VAR) {
        // The child: start the shared emulator, then exit without running any destructor.
        let emulator = emulator::shared_for_tests().expect("the shared emulator starts");
        fs::write(out, &emulator.endpoint).expect("write the endpoint");
        std::process::exit(0);
    }
    ensure_installed(&project_root()).expect("moto installs");
    let out = std::env::temp_dir().join(format!("xtask-tied-test-{}.endpoint", std::process::id()));
    let status = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "tied_emulator_dies_with_its_process",
            "--nocapture",
        ])
        .env(CHILD_VAR, &out)
        .status()
        .expect("run the child");
    assert!(status.success(), "child: {status}");
    let endpoint = fs::read_to_string(&out).expect("the child wrote its endpoint");
    let _ = fs::remove_file(&out);
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(
        stops_answering_within(&endpoint, Duration::from_secs(10)),
        "the emulator of an exited process still answers at {endpoint}"
    );
}

/// A scratch project root whose `.venv` is the real one, so that detached emulators record their state
/// there, not in the project's `target/emulator.json`.
fn scratch_root(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).expect("scratch root");
    std::os::unix::fs::symlink(project_root().join(".venv"), root.join(".venv"))
        .expect("link .venv");
    root
}

#[test]
fn detached_emulator_is_reused_then_stopped() {
    ensure_installed(&project_root()).expect("moto installs");
    let root = scratch_root("detached-test");

    let (state, reused) = emulator::start_or_reuse_detached(&root, &StartOptions::detached())
        .expect("starts detached");
    assert!(!reused);
    assert_eq!(EmulatorState::read(&root).ok(), Some(Some(state.clone())));
    assert!(state.is_alive());
    assert!(emulator::is_responding(&state.endpoint));
    assert!(
        state.log.starts_with(root.join("target")),
        "{}",
        state.log.display()
    );

    let (again, reused) =
        emulator::start_or_reuse_detached(&root, &StartOptions::detached()).expect("reuses");
    assert!(reused);
    assert_eq!(again, state);
    emulator::reset(&state.endpoint).expect("reset");

    let stopped = emulator::stop_detached(&root).expect("stops");
    assert_eq!(stopped, Some(state.clone()));
    assert!(!state.is_alive());
    assert!(!emulator::is_responding(&state.endpoint));
    assert_eq!(EmulatorState::read(&root).ok(), Some(None));
    assert_eq!(emulator::stop_detached(&root).ok(), Some(None));
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn shared_emulator_is_one_per_process() {
    let first = emulator::shared_for_tests().expect("the shared emulator starts");
    let second = emulator::shared_for_tests().expect("the shared emulator starts");
    assert!(std::ptr::eq(first, second));
    assert!(emulator::is_responding(&first.endpoint));
}
