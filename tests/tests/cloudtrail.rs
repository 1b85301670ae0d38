//! `cloudtrail-missing` against the emulator: alerts are planned only where a CloudTrail trail
//! delivers KMS's write management events of the environment's region. These projects start
//! without the trail every other test's account gets (`TestProject::without_trail`) and make
//! the trails each case needs. Through the fault proxy: a denied CloudTrail read is the warning
//! `cloudtrail-unreadable`, not a refusal; other failures still stop the plan.

use fault_proxy::{Fault, Proxy, Rule};
use kmsctl_tests::{Run, TestProject, customer_keys, endpoint};
use serde_json::json;
use xtask::emulator::cloudtrail::{self, TrailSpec};

/// The dev environment (alerts declared, us-east-1) in a fresh account without a trail.
fn dev() -> TestProject {
    TestProject::dev().without_trail()
}

fn make_trail(spec: &TrailSpec<'_>) {
    cloudtrail::trail(&endpoint(), spec).expect("the trail is made");
}

fn refused(run: &Run) -> &str {
    assert!(
        run.stderr.contains("error[cloudtrail-missing]"),
        "{}",
        run.stderr
    );
    &run.stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_trail_plan_and_apply_are_refused_at_the_alerts_table() {
    let project = dev();
    let run = project
        .kmsctl(&["--no-color", "plan", "env/dev"])
        .expect_code(3);
    refused(&run);
    let shown = run.stderr.replace(&project.account, "ACCOUNT");
    insta::assert_snapshot!("no_trail_plan_refused", shown);

    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(3);
    assert!(
        customer_keys(&project.kms().await).await.is_empty(),
        "nothing was made"
    );

    let drift = project.kmsctl(&["drift", "env/dev"]).expect_code(3);
    assert!(
        drift.stdout.contains("cloudtrail-missing") || drift.stderr.contains("cloudtrail-missing"),
        "drift reports the refusal as a violation\n{}\n{}",
        drift.stdout,
        drift.stderr
    );
}

#[test]
fn a_single_region_trail_of_another_region_does_not_count() {
    let project = dev();
    make_trail(&TrailSpec {
        name: "oregon-only",
        multi_region: false,
        ..TrailSpec::management_events(&project.account, "us-west-2")
    });
    let run = project.kmsctl(&["plan", "env/dev"]).expect_code(3);
    assert!(
        refused(&run).contains("(found: no trail)"),
        "DescribeTrails in us-east-1 lists no single-Region trail of us-west-2\n{}",
        run.stderr
    );
}

#[test]
fn a_stopped_trail_does_not_count_and_the_fix_starts_it() {
    let project = dev();
    make_trail(&TrailSpec {
        name: "stopped",
        logging: false,
        ..TrailSpec::management_events(&project.account, "us-east-1")
    });
    let run = project.kmsctl(&["plan", "env/dev"]).expect_code(3);
    let stderr = refused(&run);
    assert!(
        stderr.contains("trail \"stopped\" is not logging"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "aws cloudtrail start-logging --name arn:aws:cloudtrail:us-east-1:{}:trail/stopped --region us-east-1",
            project.account
        )),
        "{stderr}"
    );

    cloudtrail::call(
        &endpoint(),
        &project.account,
        "us-east-1",
        "StartLogging",
        &json!({"Name": "stopped"}),
    )
    .expect("StartLogging");
    project.plan_dev(2);
}

#[test]
fn a_multi_region_trail_made_in_another_region_counts() {
    let project = dev();
    make_trail(&TrailSpec::management_events(&project.account, "eu-west-1"));
    let run = project.plan_dev(2);
    assert!(!run.stderr.contains("cloudtrail-missing"), "{}", run.stderr);
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.plan_dev(0);
}

#[test]
fn trails_that_exclude_kms_or_log_only_reads_do_not_count() {
    let project = dev();
    let account = project.account.as_str();
    make_trail(&TrailSpec {
        name: "without-kms",
        event_selectors: json!([{
            "ReadWriteType": "All",
            "IncludeManagementEvents": true,
            "ExcludeManagementEventSources": ["kms.amazonaws.com"],
        }]),
        ..TrailSpec::management_events(account, "us-east-1")
    });
    make_trail(&TrailSpec {
        name: "reads",
        event_selectors: json!([{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": true}]),
        ..TrailSpec::management_events(account, "us-east-1")
    });
    make_trail(&TrailSpec {
        name: "advanced",
        ..TrailSpec::management_events(account, "us-east-1")
    });
    cloudtrail::call(
        &endpoint(),
        account,
        "us-east-1",
        "PutEventSelectors",
        &json!({
            "TrailName": "advanced",
            "AdvancedEventSelectors": [{
                "Name": "management events but KMS's",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                ],
            }],
        }),
    )
    .expect("advanced selectors");

    let run = project.kmsctl(&["plan", "env/dev"]).expect_code(3);
    let stderr = refused(&run);
    for found in [
        "trail \"without-kms\" excludes KMS events (kms.amazonaws.com)",
        "trail \"reads\" logs only read-only management events",
        "trail \"advanced\" excludes KMS events (kms.amazonaws.com)",
        "aws cloudtrail put-event-selectors --trail-name reads --region us-east-1",
    ] {
        assert!(stderr.contains(found), "{found}\n{stderr}");
    }

    // Advanced selectors that take KMS's write events make that trail count.
    cloudtrail::call(
        &endpoint(),
        account,
        "us-east-1",
        "PutEventSelectors",
        &json!({
            "TrailName": "advanced",
            "AdvancedEventSelectors": [{
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                ],
            }],
        }),
    )
    .expect("advanced selectors");
    project.plan_dev(2);
}

/// The proxy's count of CloudTrail calls, by operation.
fn cloudtrail_calls(proxy: &Proxy) -> Vec<(String, u64)> {
    proxy
        .counts()
        .into_iter()
        .filter(|(op, _)| op.starts_with("cloudtrail:"))
        .map(|(op, counts)| (op, counts.received))
        .collect()
}

#[test]
fn an_environment_without_alerts_makes_no_cloudtrail_call() {
    let without = dev();
    let proxy = Proxy::start(&endpoint(), vec![], 7).expect("the fault proxy starts");
    without.use_endpoint(&proxy.endpoint());
    let monitor = without.read("environments/dev/monitor.toml");
    let cut = monitor.find("[alerts]").expect("[alerts]");
    without.write("environments/dev/monitor.toml", &monitor[..cut]);
    without.plan_dev(2);
    assert!(
        proxy.counts().keys().any(|op| op.starts_with("config:")),
        "the proxy saw the monitoring reads: {:?}",
        proxy.counts().keys().collect::<Vec<_>>()
    );
    assert_eq!(cloudtrail_calls(&proxy), vec![]);

    // The same environment with its alerts reads the trails: one listing, then the status and
    // selectors of the one trail.
    let with = dev();
    make_trail(&TrailSpec::management_events(&with.account, "us-east-1"));
    let proxy = Proxy::start(&endpoint(), vec![], 7).expect("the fault proxy starts");
    with.use_endpoint(&proxy.endpoint());
    with.plan_dev(2);
    assert_eq!(
        cloudtrail_calls(&proxy),
        [
            ("cloudtrail:DescribeTrails".to_owned(), 1),
            ("cloudtrail:GetEventSelectors".to_owned(), 1),
            ("cloudtrail:GetTrailStatus".to_owned(), 1),
        ]
    );
}

/// AWS's answer to a read an SCP denies.
fn access_denied(account: &str, operation: &str) -> Fault {
    Fault::Error {
        code: "AccessDeniedException".into(),
        status: 400,
        message: Some(format!(
            "User: arn:aws:sts::{account}:assumed-role/deployer/kmsctl is not authorized to perform: {operation} with an explicit deny in a service control policy"
        )),
    }
}

#[test]
fn a_denied_describe_trails_is_a_warning_and_the_alerts_are_planned() {
    let project = dev();
    let proxy = Proxy::start(
        &endpoint(),
        vec![Rule::always(
            "cloudtrail:DescribeTrails",
            access_denied(&project.account, "cloudtrail:DescribeTrails"),
        )],
        7,
    )
    .expect("the fault proxy starts");
    project.use_endpoint(&proxy.endpoint());

    let run = project
        .kmsctl(&["--no-color", "plan", "env/dev", "--detailed-exitcode"])
        .expect_code(2);
    assert!(!run.stdout.contains("cloudtrail-missing"), "{}", run.stdout);
    assert!(!run.stderr.contains("cloudtrail-missing"), "{}", run.stderr);
    let warning = run
        .stdout
        .split("\n\n")
        .find(|block| block.starts_with("warning[cloudtrail-unreadable]"))
        .unwrap_or_else(|| panic!("the plan prints the warning\n{}", run.stdout));
    insta::assert_snapshot!(
        "describe_trails_denied_warning",
        warning.replace(&project.account, "ACCOUNT")
    );
    assert_eq!(
        cloudtrail_calls(&proxy),
        [("cloudtrail:DescribeTrails".to_owned(), 1)],
        "denied at once: not retried, and no trail to read further"
    );

    // The warning does not stop apply either.
    let applied = project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    assert!(
        applied.stdout.contains("warning[cloudtrail-unreadable]"),
        "{}",
        applied.stdout
    );
    project.plan_dev(0);
}

#[test]
fn a_trail_whose_selectors_are_denied_is_named_in_the_warning() {
    let project = dev();
    make_trail(&TrailSpec::management_events(&project.account, "us-east-1"));
    let proxy = Proxy::start(
        &endpoint(),
        vec![Rule::always(
            "cloudtrail:GetEventSelectors",
            access_denied(&project.account, "cloudtrail:GetEventSelectors"),
        )],
        7,
    )
    .expect("the fault proxy starts");
    project.use_endpoint(&proxy.endpoint());
    let run = project.plan_dev(2);
    assert!(
        run.stdout.contains("warning[cloudtrail-unreadable]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "trail \"{}\" could not be read (cloudtrail:GetEventSelectors was denied: AccessDeniedException: User: arn:aws:sts::{}:assumed-role/deployer/kmsctl is not authorized to perform: cloudtrail:GetEventSelectors",
            cloudtrail::TRAIL,
            project.account
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn a_cloudtrail_read_that_fails_otherwise_still_stops_the_plan() {
    let project = dev();
    make_trail(&TrailSpec::management_events(&project.account, "us-east-1"));
    let proxy = Proxy::start(
        &endpoint(),
        vec![Rule::always(
            "cloudtrail:GetTrailStatus",
            Fault::Error {
                code: "InternalFailure".into(),
                status: 500,
                message: Some("We encountered an internal error.".into()),
            },
        )],
        7,
    )
    .expect("the fault proxy starts");
    project.use_endpoint(&proxy.endpoint());
    let run = project
        .kmsctl(&["--max-attempts", "2", "plan", "env/dev"])
        .expect_code(1);
    assert!(
        run.stderr.contains("cloudtrail:GetTrailStatus failed"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("cloudtrail-unreadable"),
        "{}",
        run.stderr
    );
}
