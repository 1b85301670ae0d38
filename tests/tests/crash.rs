//! Crash consistency: an apply killed with SIGKILL at any point leaves nothing the next apply
//! cannot finish: no duplicate key, no orphan, every alias, policy and tag in place.

use std::time::Duration;

use kmsctl_tests::{TestProject, customer_keys, key_of_alias, tags_of};

const KEYS: usize = 32;

#[tokio::test(flavor = "multi_thread")]
async fn applies_killed_at_several_points_converge_without_duplicates() {
    let project = TestProject::dev();
    project.many_keys(KEYS, "crash");
    // Kill points from the first CreateKey to the last aliases; each run resumes the previous.
    let mut interrupted = Vec::new();
    for delay_ms in [120, 300, 600, 900, 1300, 1800] {
        let mut command = std::process::Command::new(kmsctl_tests::kmsctl_bin());
        command
            .args(["apply", "env/dev", "--auto-approve"])
            .current_dir(project.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        xtask::emulator::configure_command(&mut command, project.endpoint());
        let mut child = command.spawn().expect("kmsctl starts");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no cleanup runs
        let _ = child.wait();
        let left = project.kmsctl(&["plan", "env/dev", "--detailed-exitcode"]);
        if left.code == 2 {
            interrupted.push(delay_ms);
        }
    }
    assert!(
        interrupted.len() >= 3,
        "the kills cut applies short at several points: {interrupted:?}"
    );
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.plan_dev(0);

    let kms = project.kms().await;
    let keys = customer_keys(&kms).await;
    assert_eq!(keys.len(), KEYS, "exactly one key per declared key");
    let mut targets = std::collections::BTreeSet::new();
    for i in 0..KEYS {
        let alias = format!("alias/dev-app{i}-crash-encryption");
        let target = key_of_alias(&kms, &alias)
            .await
            .unwrap_or_else(|| panic!("{alias} exists"));
        let tags = tags_of(&kms, &target).await;
        assert_eq!(tags["Project"], format!("Project {i}"));
        let rotation = kms
            .get_key_rotation_status()
            .key_id(&target)
            .send()
            .await
            .expect("rotation");
        assert!(rotation.key_rotation_enabled(), "{alias}: rotation on");
        targets.insert(target);
    }
    assert_eq!(targets.len(), KEYS, "every alias points to its own key");
}
