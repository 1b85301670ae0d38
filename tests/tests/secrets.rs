//! Credentials never reach logs, at any verbosity, nor plan files.

use kmsctl_tests::TestProject;

const SECRET: &str = "SeCrEtKeyMarker0123456789abcdefghijklmnop";
const TOKEN: &str = "SessionTokenMarker9876543210zyxwvutsrq";

#[test]
fn credentials_never_appear_in_logs_or_plans() {
    let project = TestProject::dev();
    let mut command = std::process::Command::new(kmsctl_tests::kmsctl_bin());
    command
        .args(["apply", "env/dev", "--auto-approve", "--verbose"])
        .current_dir(project.path());
    xtask::emulator::configure_command(&mut command, project.endpoint());
    command
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("KMSCTL_LOG", "trace");
    let output = command.output().expect("kmsctl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.len() > 1000,
        "trace logging is on: {} bytes",
        stderr.len()
    );
    for secret in [SECRET, TOKEN] {
        assert!(!stdout.contains(secret), "stdout leaks a credential");
        assert!(!stderr.contains(secret), "stderr leaks a credential");
    }
    // The assumed role's temporary credentials are secrets too.
    assert!(
        !stderr.to_lowercase().contains("secretaccesskey"),
        "an STS answer was logged"
    );

    let plan = project.kmsctl(&["plan", "env/dev", "--out", "p.json"]);
    let saved = project.read("p.json");
    assert_eq!(plan.code, 0);
    for secret in [SECRET, TOKEN, "testing"] {
        assert!(!saved.contains(secret), "the plan file holds a credential");
    }
}
