//! The end-to-end suite under realistic AWS: the fault proxy in front of the emulator makes it
//! eventually consistent (new resources unseen, stale reads, a lagging tagging API, policy types
//! PENDING_ENABLE, ConcurrentModificationException at random) and loses the first answer of
//! every create. Each scenario applies, plans right after (clean), drifts (clean), changes AWS
//! out of band, drifts (found), restores and plans again (clean).
//!
//! The test harness fails any apply whose changes AWS does not show within the propagation
//! timeout (`kmsctl_tests::TestProject::kmsctl_with`).

use std::time::Duration;

use fault_proxy::{Fault, Proxy, Rule, lost_create_answers, realistic};
use kmsctl_tests::{TestProject, customer_keys, endpoint};

/// The consistency window: short, so CI time stays sane; the scenario is 3 s.
const WINDOW_MS: u64 = 3000;

fn realistic_proxy(extra: Vec<Rule>) -> Proxy {
    let mut rules = realistic(WINDOW_MS);
    rules.extend(lost_create_answers());
    rules.extend(extra);
    Proxy::start(&endpoint(), rules, 15).expect("the fault proxy starts")
}

/// What AWS shows an out-of-band change after: reads are stale for the window.
async fn after_the_window() {
    tokio::time::sleep(Duration::from_millis(WINDOW_MS + 500)).await;
}

fn count(proxy: &Proxy, op: &str, field: fn(&fault_proxy::OpCounts) -> u64) -> u64 {
    proxy.counts().get(op).map_or(0, field)
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_apply_once_without_duplicates_and_the_next_plan_and_drift_are_clean() {
    let proxy = realistic_proxy(vec![]);
    let project = TestProject::dev();
    project.use_endpoint(&proxy.endpoint());

    let applied = project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    assert!(
        applied.stdout.contains("Apply complete!"),
        "{}",
        applied.stdout
    );
    assert_eq!(
        count(&proxy, "kms:CreateKey", |c| c.dropped),
        1,
        "a CreateKey answer was lost"
    );
    assert!(
        count(&proxy, "kms:DescribeKey", |c| c.unseen) > 0
            || count(&proxy, "kms:EnableKeyRotation", |c| c.unseen) > 0,
        "new keys were unseen for a while: {:?}",
        proxy.counts()
    );
    let kms = project.kms().await;
    assert_eq!(
        customer_keys(&kms).await.len(),
        2,
        "one key per declared key: the lost answer's key was found, not made twice"
    );

    // Right after: clean, through the same lagging reads.
    project.plan_dev(0);
    project.kmsctl(&["drift", "env/dev"]).expect_code(0);

    // Out of band: one key's description and a tag.
    let key = key_of(&kms, "alias/dev-db-payments-encryption").await;
    kms.update_key_description()
        .key_id(&key)
        .description("changed by hand")
        .send()
        .await
        .expect("description");
    kms.tag_resource()
        .key_id(&key)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("Owner")
                .tag_value("someone-else")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag");
    after_the_window().await;
    let drift = project.kmsctl(&["drift", "env/dev"]);
    assert_ne!(drift.code, 0, "{}", drift.stdout);
    assert!(drift.stdout.contains("changed by hand"), "{}", drift.stdout);

    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    project.plan_dev(0);
    project.kmsctl(&["drift", "env/dev"]).expect_code(0);
    assert_eq!(customer_keys(&kms).await.len(), 2);
}

async fn key_of(kms: &aws_sdk_kms::Client, alias: &str) -> String {
    kms.describe_key()
        .key_id(alias)
        .send()
        .await
        .expect("alias")
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_made_seconds_ago_is_waited_for_and_the_lockout_check_is_not() {
    let project = TestProject::dev();
    // The dev key policy names the account's root; the deployer role is new to IAM.
    let deployer = format!("arn:aws:iam::{}:root", project.account);
    let proxy = Proxy::start(&endpoint(), vec![], 3).expect("proxy");
    project.use_endpoint(&proxy.endpoint());
    project.plan_dev(2);
    // The window starts now: the principal is new to IAM for the next seconds.
    proxy.set_rules(vec![Rule::always(
        "kms:*",
        Fault::NewPrincipals {
            arns: vec![deployer],
            ms: 4000,
        },
    )]);
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let kms = project.kms().await;
    let key = key_of(&kms, "alias/dev-db-payments-encryption").await;
    let policy = kms
        .get_key_policy()
        .key_id(&key)
        .policy_name("default")
        .send()
        .await
        .expect("policy");
    assert!(
        count(&proxy, "kms:CreateKey", |c| c.injected) > 0,
        "CreateKey was refused while the principal was new: {:?} {:?}",
        proxy.counts().get("kms:CreateKey"),
        policy.policy()
    );
    project.plan_dev(0);

    // KMS's lockout safety check answers with the same code: final at once, never waited for.
    let locked_out = TestProject::dev();
    let proxy = Proxy::start(
        &endpoint(),
        vec![Rule::always(
            "kms:CreateKey",
            Fault::Error {
                code: "MalformedPolicyDocumentException".into(),
                status: 400,
                message: Some(
                    "The new key policy will not allow you to update the key policy in the future."
                        .into(),
                ),
            },
        )],
        3,
    )
    .expect("proxy");
    locked_out.use_endpoint(&proxy.endpoint());
    let started = std::time::Instant::now();
    let run = locked_out
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "not waited for: {:?}",
        started.elapsed()
    );
    assert!(
        run.stderr
            .contains("will not allow you to update the key policy"),
        "{}",
        run.stderr
    );
    let sent = count(&proxy, "kms:CreateKey", |c| c.received);
    assert!(
        (1..=2).contains(&sent),
        "each key's CreateKey at most once (two keys, side by side): the lockout refusal is not repeated; sent {sent}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn organization_policies_and_attachments_apply_once_and_the_next_plan_is_clean() {
    let (project, client) = kmsctl_tests::organization_with_ous().await;
    let proxy = realistic_proxy(vec![]);
    project.use_endpoint(&proxy.endpoint());
    project
        .kmsctl(&["apply", "organization", "--auto-approve"])
        .expect_code(0);
    assert_eq!(
        count(&proxy, "organizations:CreatePolicy", |c| c.dropped),
        1
    );
    assert_eq!(
        count(&proxy, "organizations:AttachPolicy", |c| c.dropped),
        1
    );
    // Seven policies, each once, each attached.
    let policies = kmsctl_tests::managed_org_policies(&client).await;
    let mut names: Vec<&str> = policies.iter().map(|(name, _)| name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), 7, "no policy made twice: {policies:?}");
    assert!(
        policies.iter().all(|(_, targets)| *targets >= 1),
        "{policies:?}"
    );

    project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(0);
    project.kmsctl(&["drift", "organization"]).expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn monitoring_applies_once_and_the_next_plan_and_drift_are_clean() {
    let project = TestProject::environment("prod", "222222222222");
    kmsctl_tests::central_recorder(&project.account, "central-config").await;
    let proxy = realistic_proxy(vec![]);
    project.use_endpoint(&proxy.endpoint());
    project
        .kmsctl(&["apply", "env/prod", "--auto-approve"])
        .expect_code(0);
    for create in [
        "config:PutConfigRule",
        "sns:CreateTopic",
        "sns:Subscribe",
        "events:PutRule",
        "events:PutTargets",
    ] {
        assert_eq!(count(&proxy, create, |c| c.dropped), 1, "{create}");
    }
    project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(0);
    project.kmsctl(&["drift", "env/prod"]).expect_code(0);

    // Out of band: the alert subscription goes; drift finds it, apply restores it.
    let sns = aws_sdk_sns::Client::new(&project.sdk_config().await);
    let topic = format!(
        "arn:aws:sns:us-east-1:{}:prod-kms-security-alerts",
        project.account
    );
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .expect("subscriptions");
    for subscription in subscriptions.subscriptions() {
        sns.unsubscribe()
            .subscription_arn(subscription.subscription_arn().unwrap_or_default())
            .send()
            .await
            .expect("unsubscribe");
    }
    after_the_window().await;
    let drift = project.kmsctl(&["drift", "env/prod"]);
    assert_ne!(drift.code, 0, "{}", drift.stdout);
    assert!(
        drift.stdout.contains("sns_subscription"),
        "{}",
        drift.stdout
    );
    project
        .kmsctl(&["apply", "env/prod", "--auto-approve"])
        .expect_code(0);
    project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(0);
}
