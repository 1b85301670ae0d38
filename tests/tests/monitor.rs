//! Monitoring declarations, checked offline, and `kmsctl events test`.

use kmsctl_tests::{TestProject, repo_root};

const NO_AWS: &str = "http://127.0.0.1:9";
const MONITOR: &str = "environments/dev/monitor.toml";

fn with_monitor(rule_identifier: &str) -> TestProject {
    let project = TestProject::dev();
    project.write(
        MONITOR,
        &format!(
            "[[config_rule]]\nname = \"kms-key-rotation-enabled\"\nidentifier = \"{rule_identifier}\"\n\n\
             [alerts]\ntopic = \"dev-kms-security-alerts\"\nsubscriptions = [\"email:secops@example.com\"]\nmin_severity = \"high\"\n\n\
             [alerts.severity]\nEnableKey = \"high\"\n"
        ),
    );
    project
}

#[test]
fn an_invalid_managed_rule_identifier_is_refused_with_the_valid_one() {
    let project = with_monitor("KMS_CMK_ROTATION_ENABLED");
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[config-rule-identifier]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("did you mean identifier = \"CMK_BACKING_KEY_ROTATION_ENABLED\"?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("--> {MONITOR}:3")),
        "{}",
        run.stderr
    );

    let project = with_monitor("CMK_BACKING_KEY_ROTATION_ENABLED");
    project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(0);
}

#[test]
fn events_test_names_the_rule_a_cloudtrail_event_fires() {
    let project = with_monitor("CMK_BACKING_KEY_ROTATION_ENABLED");
    let fixtures = repo_root().join("tests/fixtures/cloudtrail");
    let deletion = fixtures.join("schedule-key-deletion.json");
    let run = project
        .kmsctl_at(
            NO_AWS,
            &[
                "events",
                "test",
                "env/dev",
                deletion.to_str().expect("utf-8"),
            ],
        )
        .expect_code(0);
    assert!(
        run.stdout
            .contains("ScheduleKeyDeletion: fires dev-kms-alerts-critical (severity critical)"),
        "{}",
        run.stdout
    );

    let decrypt = fixtures.join("decrypt.json");
    let run = project
        .kmsctl_at(
            NO_AWS,
            &[
                "events",
                "test",
                "env/dev",
                decrypt.to_str().expect("utf-8"),
            ],
        )
        .expect_code(0);
    assert!(
        run.stdout
            .contains("Decrypt: no rule fires (severity low; alerts go out at high and above)"),
        "{}",
        run.stdout
    );
}

#[test]
fn monitoring_tables_appear_in_one_file_only_and_bad_subscriptions_are_refused() {
    let project = with_monitor("CMK_BACKING_KEY_ROTATION_ENABLED");
    project.edit(
        MONITOR,
        "\"email:secops@example.com\"",
        "\"secops@example.com\"",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[alerts-subscription]"),
        "{}",
        run.stderr
    );

    let project = with_monitor("CMK_BACKING_KEY_ROTATION_ENABLED");
    project.write(
        "environments/dev/more.toml",
        "[alerts]\ntopic = \"other\"\n",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(1);
    assert!(
        run.stderr.contains("[alerts] is also declared in"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_topic_key_whose_policy_shuts_out_eventbridge_is_refused_offline() {
    let project = TestProject::environment("prod", "222222222222");
    project.edit(
        "policies/kms/prod-alerts-policy.json",
        r#""Action": ["kms:GenerateDataKey*", "kms:Decrypt"],"#,
        r#""Action": ["kms:Decrypt"],"#,
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/prod"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[alerts-topic-key-policy]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> environments/prod/monitor.toml:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "does not let EventBridge (events.amazonaws.com) use it for kms:GenerateDataKey"
        ),
        "{}",
        run.stderr
    );

    project.edit(
        "environments/prod/monitor.toml",
        "topic_key = \"alerts\"",
        "topic_key = \"nope\"",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/prod"])
        .expect_code(3);
    assert!(
        run.stderr.contains("error[alerts-topic-key]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("alias/prod-sns-security-alerts"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_alert_event_name_that_is_no_kms_call_is_refused_at_its_line_with_the_fix() {
    let project = with_monitor("CMK_BACKING_KEY_ROTATION_ENABLED");
    project.edit(
        MONITOR,
        "EnableKey = \"high\"\n",
        "EnableKey = \"high\"\nDisableKeyRotatoin = \"high\"\n\"kms:DisableKeyRotation\" = \"high\"\n",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(3);
    for shown in [
        "error[alerts-event-name]",
        "\"DisableKeyRotatoin\" is not the CloudTrail event name of a KMS API call",
        "did you mean DisableKeyRotation?",
        &format!("--> {MONITOR}:12"),
        "\"kms:DisableKeyRotation\" is an IAM action, not a CloudTrail event name",
        "drop the kms: prefix: write DisableKeyRotation",
        &format!("--> {MONITOR}:13"),
    ] {
        assert!(run.stderr.contains(shown), "{shown}\n{}", run.stderr);
    }

    // Fixed, it validates and the event fires its rule.
    project.edit(
        MONITOR,
        "DisableKeyRotatoin = \"high\"\n\"kms:DisableKeyRotation\" = \"high\"\n",
        "DisableKeyRotation = \"high\"\n",
    );
    project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(0);
}

fn events_test(project: &TestProject, fixture: &str) -> kmsctl_tests::Run {
    let path = repo_root().join("tests/fixtures/cloudtrail").join(fixture);
    project.kmsctl_at(
        NO_AWS,
        &["events", "test", "env/dev", path.to_str().expect("utf-8")],
    )
}

#[test]
fn events_test_wraps_a_raw_cloudtrail_record_and_tests_each_record_of_a_log_file() {
    let project = with_monitor("CMK_BACKING_KEY_ROTATION_ENABLED");
    let run = events_test(&project, "record-schedule-key-deletion.json").expect_code(0);
    assert!(
        run.stdout
            .contains("ScheduleKeyDeletion: fires dev-kms-alerts-critical (severity critical)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("note: ")
            && run
                .stderr
                .contains("is a CloudTrail record, not an EventBridge event")
            && run
                .stderr
                .contains("source aws.kms, detail-type \"AWS API Call via CloudTrail\""),
        "{}",
        run.stderr
    );

    let run = events_test(&project, "log-file.json").expect_code(0);
    assert!(
        run.stderr
            .contains("is a CloudTrail log file: each of its 3 records tested"),
        "{}",
        run.stderr
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "Records[0] DisableKey: fires dev-kms-alerts-high (severity high) and publishes to dev-kms-security-alerts (environments/dev/monitor.toml)",
            "Records[1] Decrypt: no rule fires (severity low; alerts go out at high and above)",
            "Records[2] RotateKey: no rule fires (not in the severity table; the alert rules match \"AWS API Call via CloudTrail\", not \"AWS Service Event via CloudTrail\")",
        ],
        "{}",
        run.stdout
    );

    // The envelope EventBridge delivers needs no note.
    let run = events_test(&project, "schedule-key-deletion.json").expect_code(0);
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);

    // JSON that is no CloudTrail event is refused, not "no rule fires".
    project.write(
        "not-an-event.json",
        r#"{"eventName": "ScheduleKeyDeletion"}"#,
    );
    let path = project.file("not-an-event.json");
    let run = project
        .kmsctl_at(
            NO_AWS,
            &["events", "test", "env/dev", path.to_str().expect("utf-8")],
        )
        .expect_code(1);
    assert!(
        run.stderr.contains("not a CloudTrail event"),
        "{}",
        run.stderr
    );
}

#[test]
fn alert_rule_names_and_the_target_id_are_checked_offline() {
    let project = with_monitor("CMK_BACKING_KEY_ROTATION_ENABLED");
    project.edit(
        MONITOR,
        "min_severity = \"high\"\n",
        "min_severity = \"high\"\ntarget_id = \"SendToSNS\"\n\n[alerts.rules.critical]\nname = \"kms key deletion alert\"\n",
    );
    let run = project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(3);
    assert!(run.stderr.contains("error[alerts-rule]"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("--> {MONITOR}:12")),
        "{}",
        run.stderr
    );
    project.edit(MONITOR, "kms key deletion alert", "kms-key-deletion-alert");
    project
        .kmsctl_at(NO_AWS, &["validate", "env/dev"])
        .expect_code(0);
}
