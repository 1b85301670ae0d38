//! Faults between kmsctl and AWS, injected by the project's fault proxy in front of the emulator.

use fault_proxy::{Fault, Proxy, Rule};
use kmsctl_tests::{TestProject, customer_keys, endpoint};

fn proxy(rules: Vec<Rule>) -> Proxy {
    Proxy::start(&endpoint(), rules, 7).expect("the fault proxy starts")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_create_key_answer_never_makes_a_second_key() {
    let proxy = proxy(vec![Rule::times("kms:CreateKey", Fault::DropResponse, 2)]);
    let project = TestProject::dev();
    project.use_endpoint(&proxy.endpoint());
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);

    let counts = proxy.counts();
    assert_eq!(counts["kms:CreateKey"].dropped, 2, "both answers were lost");
    assert_eq!(
        counts["kms:CreateKey"].received, 2,
        "each key was created once, then found"
    );
    let kms = project.kms().await;
    assert_eq!(
        customer_keys(&kms).await.len(),
        2,
        "exactly one key per declared key"
    );
    project.plan_dev(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_apply_succeed_with_30_percent_of_requests_throttled() {
    let project = TestProject::dev();
    let clean = project
        .kmsctl_at(&endpoint(), &["plan", "env/dev"])
        .expect_code(0);

    let proxy = proxy(vec![Rule::with_probability("*", Fault::Throttle, 0.3)]);
    project.use_endpoint(&proxy.endpoint());
    let throttled = project.kmsctl(&["plan", "env/dev"]).expect_code(0);
    assert_eq!(
        throttled.stdout, clean.stdout,
        "the same plan, throttled or not"
    );
    project.kmsctl(&["apply", "--auto-approve"]).expect_code(0);
    project.plan_dev(0);

    let throttles: u64 = proxy.counts().values().map(|c| c.throttled).sum();
    let received: u64 = proxy.counts().values().map(|c| c.received).sum();
    assert!(
        throttles * 100 >= received * 20,
        "about 30% throttled: {throttles} of {received}"
    );
    let kms = project.kms().await;
    assert_eq!(customer_keys(&kms).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_keeps_failing_stops_the_run_with_the_aws_error_and_what_was_left() {
    let project = TestProject::dev();
    project
        .kmsctl_at(&endpoint(), &["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.edit(
        "environments/dev/keys.toml",
        "Project = \"Payment System\"",
        "Project = \"Payments\"",
    );
    project.edit(
        "environments/dev/keys.toml",
        "Project = \"Observability\"",
        "Project = \"Logs\"",
    );

    let proxy = proxy(vec![Rule::always("kms:TagResource", Fault::Throttle)]);
    project.use_endpoint(&proxy.endpoint());
    let started = std::time::Instant::now();
    let run = project
        .kmsctl(&["apply", "env/dev", "--auto-approve", "--max-attempts", "3"])
        .expect_code(1);
    assert!(
        run.stderr.contains("kms:TagResource failed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ThrottlingException"), "{}", run.stderr);
    assert!(run.stderr.contains("Applied (0)"), "{}", run.stderr);
    assert!(run.stderr.contains("Not applied (2)"), "{}", run.stderr);
    assert_eq!(
        proxy.counts()["kms:TagResource"].received,
        6,
        "bounded: three attempts for each of the two keys (applied side by side)"
    );
    assert!(
        started.elapsed().as_secs() < 30,
        "backed off, but bounded: {:?}",
        started.elapsed()
    );
}

#[test]
fn reshuffled_policies_from_aws_are_no_change() {
    let project = TestProject::dev();
    project
        .kmsctl_at(&endpoint(), &["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let proxy = proxy(vec![Rule::always(
        "kms:GetKeyPolicy",
        Fault::ShufflePolicies,
    )]);
    project.use_endpoint(&proxy.endpoint());
    project.plan_dev(0);
    assert!(
        proxy.counts()["kms:GetKeyPolicy"].forwarded >= 2,
        "the policies went through the proxy"
    );
}

#[test]
fn resets_and_server_errors_are_retried() {
    let project = TestProject::dev();
    let proxy = proxy(vec![
        Rule::times("kms:DescribeKey", Fault::Reset, 1),
        Rule::times("kms:CreateAlias", Fault::Status { code: 503 }, 2),
        Rule::times("tagging:GetResources", Fault::Status { code: 500 }, 1),
    ]);
    project.use_endpoint(&proxy.endpoint());
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.plan_dev(0);
    let counts = proxy.counts();
    assert_eq!(counts["kms:CreateAlias"].status, 2);
    assert_eq!(counts["tagging:GetResources"].status, 1);
}

#[test]
fn under_request_quotas_kmsctl_slows_down_instead_of_drowning_in_throttles() {
    let project = TestProject::dev();
    project.many_keys(60, "quota");
    project
        .kmsctl_at(&endpoint(), &["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let quota = |op: &str, per_second: f64| {
        Rule::always(
            op,
            Fault::Quota {
                per_second,
                burst: per_second as u32,
            },
        )
    };
    let proxy = proxy(vec![
        quota("kms:GetKeyPolicy", 20.0),
        quota("kms:DescribeKey", 40.0),
    ]);
    project.use_endpoint(&proxy.endpoint());
    project.plan_dev(0);
    let counts = proxy.counts();
    for op in ["kms:GetKeyPolicy", "kms:DescribeKey"] {
        let c = &counts[op];
        assert!(
            c.throttled * 4 < c.received,
            "{op}: {} of {} throttled",
            c.throttled,
            c.received
        );
        assert_eq!(c.forwarded, 60, "{op}: each key read once");
    }
}
