//! Realistic-AWS rules, in front of a real emulator, driven by the real AWS SDK for Rust.
//!
//! Each test works in an AWS account of its own (as in `proxy.rs`), assumes its role through the proxy
//! (which is how the proxy learns the account), and checks a behaviour inside its window, then after it.
//! A "direct" client, in the same account but talking to the emulator itself, shows that the change did
//! happen upstream and that the proxy is what hides or delays it.

#![allow(clippy::unwrap_used)]

mod common;

use common::{count, upstream};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType, PolicyTypeStatus};
use fault_proxy::{Fault, Proxy, Rule};
use serde_json::Value;

/// The consistency window of these tests: long enough that the checks "during" it finish inside it on a
/// busy machine, short enough to wait for.
const WINDOW_MS: u64 = 2500;

fn window() -> Duration {
    Duration::from_millis(WINDOW_MS)
}

/// An SDK configuration for `account` (a role assumed through `endpoint`), reaching AWS at `endpoint`,
/// without retries.
async fn sdk(endpoint: &str, account: &str) -> SdkConfig {
    common::sdk_config(endpoint, account, RetryConfig::disabled()).await
}

/// Clients through the proxy (`via`) and straight to the emulator (`direct`), in one fresh account.
struct Setup {
    proxy: Proxy,
    via: SdkConfig,
    direct: SdkConfig,
    account: String,
}

async fn setup(rules: Vec<Rule>, seed: u64) -> Setup {
    let upstream = upstream();
    let proxy = Proxy::start(&upstream, rules, seed).unwrap();
    let account = xtask::emulator::fresh_account();
    let via = sdk(&proxy.endpoint(), &account).await;
    let direct = sdk(&upstream, &account).await;
    Setup {
        proxy,
        via,
        direct,
        account,
    }
}

/// Sleeps until `window()` after `since` has passed (plus a margin).
async fn after_window(since: Instant) {
    let end = since + window() + Duration::from_millis(100);
    tokio::time::sleep(end.saturating_duration_since(Instant::now())).await;
}

/// Asserts that `since` is less than the window ago: the checks made so far were inside it.
fn still_inside(since: Instant) {
    assert!(
        since.elapsed() < window(),
        "the machine is too slow for this test's window: {:?} elapsed",
        since.elapsed()
    );
}

#[tokio::test]
async fn unseen_kms_keys_and_aliases_are_not_found_then_appear() {
    let s = setup(vec![Rule::always("*", Fault::Unseen { ms: WINDOW_MS })], 21).await;
    let via = aws_sdk_kms::Client::new(&s.via);
    let direct = aws_sdk_kms::Client::new(&s.direct);
    let older = direct.create_key().send().await.unwrap();
    let older = older.key_metadata().unwrap().key_id().to_string();

    let created = via.create_key().send().await.unwrap();
    let start = Instant::now();
    let key = created.key_metadata().unwrap();
    let (key_id, key_arn) = (key.key_id().to_string(), key.arn().unwrap().to_string());
    via.create_alias()
        .alias_name("alias/unseen-old-key")
        .target_key_id(&older)
        .send()
        .await
        .unwrap();

    for name in [&key_id, &key_arn] {
        let err = via.describe_key().key_id(name).send().await.unwrap_err();
        assert_eq!(err.code(), Some("NotFoundException"), "{err:?}");
        assert_eq!(
            err.message(),
            Some(format!("Key '{key_arn}' does not exist").as_str())
        );
    }
    let listed = via.list_keys().send().await.unwrap();
    let ids: Vec<&str> = listed.keys().iter().filter_map(|k| k.key_id()).collect();
    assert_eq!(ids, [older.as_str()], "the new key is left out");
    let err = via
        .enable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotFoundException"), "writes too: {err:?}");
    let err = via
        .create_alias()
        .alias_name("alias/unseen-new-key")
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotFoundException"), "{err:?}");
    // The new alias (on an older key) is not there yet either.
    let err = via
        .describe_key()
        .key_id("alias/unseen-old-key")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotFoundException"), "{err:?}");
    let aliases = via.list_aliases().send().await.unwrap();
    assert!(
        !aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name() == Some("alias/unseen-old-key"))
    );
    still_inside(start);
    // The emulator has them all along.
    direct.describe_key().key_id(&key_id).send().await.unwrap();
    assert!(count(&s.proxy, "kms:DescribeKey").unseen >= 3);
    assert_eq!(count(&s.proxy, "kms:ListKeys").unseen, 1);
    assert_eq!(count(&s.proxy, "kms:EnableKeyRotation").forwarded, 0);

    after_window(start).await;
    via.describe_key().key_id(&key_id).send().await.unwrap();
    let listed = via.list_keys().send().await.unwrap();
    assert_eq!(listed.keys().len(), 2);
    via.enable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    via.describe_key()
        .key_id("alias/unseen-old-key")
        .send()
        .await
        .unwrap();
    let aliases = via.list_aliases().send().await.unwrap();
    assert!(
        aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name() == Some("alias/unseen-old-key"))
    );
}

#[tokio::test]
async fn stale_reads_answer_the_policy_from_before_the_write() {
    let s = setup(
        vec![Rule::always("*", Fault::StaleReads { ms: WINDOW_MS })],
        22,
    )
    .await;
    let via = aws_sdk_kms::Client::new(&s.via);
    let direct = aws_sdk_kms::Client::new(&s.direct);
    let policy = |sid: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", s.account)}, "Action": "kms:*", "Resource": "*"}]})
        .to_string()
    };
    let key_id = via
        .create_key()
        .policy(policy("before"))
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    let get = || {
        via.get_key_policy()
            .key_id(&key_id)
            .policy_name("default")
            .send()
    };
    assert_eq!(
        get().await.unwrap().policy(),
        Some(policy("before").as_str())
    );

    via.put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(policy("after"))
        .send()
        .await
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        get().await.unwrap().policy(),
        Some(policy("before").as_str()),
        "the read from before the write"
    );
    let upstream = direct
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(upstream.policy(), Some(policy("after").as_str()));
    // A read never made before the write has nothing stale to answer: it is forwarded.
    let described = via.describe_key().key_id(&key_id).send().await.unwrap();
    assert!(described.key_metadata().is_some());
    still_inside(start);
    let c = count(&s.proxy, "kms:GetKeyPolicy");
    assert_eq!((c.stale, c.forwarded), (1, 1), "{c:?}");

    after_window(start).await;
    assert_eq!(
        get().await.unwrap().policy(),
        Some(policy("after").as_str())
    );
}

#[tokio::test]
async fn tagging_lags_behind_and_keeps_resources_that_went() {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let s = setup(
        vec![Rule::always("*", Fault::TaggingLag { ms: WINDOW_MS })],
        23,
    )
    .await;
    let kms = aws_sdk_kms::Client::new(&s.via);
    let via = aws_sdk_resourcegroupstagging::Client::new(&s.via);
    let direct = aws_sdk_resourcegroupstagging::Client::new(&s.direct);
    let tag = |k: &str, v: &str| {
        aws_sdk_kms::types::Tag::builder()
            .tag_key(k)
            .tag_value(v)
            .build()
            .unwrap()
    };
    // (ARN, sorted "key=value" tags) of the resources tagged `env`.
    async fn listed(client: &aws_sdk_resourcegroupstagging::Client) -> Vec<(String, Vec<String>)> {
        let answer = client
            .get_resources()
            .tag_filters(TagFilter::builder().key("env").build())
            .send()
            .await
            .unwrap();
        answer
            .resource_tag_mapping_list()
            .iter()
            .map(|m| {
                let mut tags: Vec<String> = m
                    .tags()
                    .iter()
                    .map(|t| format!("{}={}", t.key(), t.value()))
                    .collect();
                tags.sort();
                (m.resource_arn().unwrap().to_string(), tags)
            })
            .collect()
    }

    let arn = kms
        .create_key()
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let created = Instant::now();
    assert_eq!(listed(&via).await, [], "a new key has no tags yet");
    assert_eq!(
        listed(&direct).await,
        [(arn.clone(), vec!["env=dev".into()])]
    );
    still_inside(created);
    after_window(created).await;
    assert_eq!(listed(&via).await, [(arn.clone(), vec!["env=dev".into()])]);

    kms.tag_resource()
        .key_id(&arn)
        .tags(tag("team", "a"))
        .send()
        .await
        .unwrap();
    let tagged = Instant::now();
    assert_eq!(
        listed(&via).await,
        [(arn.clone(), vec!["env=dev".into()])],
        "the tags from before"
    );
    // Without `env`, the key leaves the filtered answer upstream; the lagging index keeps it.
    kms.untag_resource()
        .key_id(&arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    assert_eq!(listed(&direct).await, []);
    assert_eq!(listed(&via).await, [(arn.clone(), vec!["env=dev".into()])]);
    still_inside(tagged);
    assert!(count(&s.proxy, "tagging:GetResources").lagged >= 3);

    after_window(tagged).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(listed(&via).await, []);
}

#[tokio::test]
async fn new_principals_are_invalid_for_a_while() {
    let account = xtask::emulator::fresh_account();
    let new_role = format!("arn:aws:iam::{account}:role/just-created");
    let rules = vec![Rule::always(
        "kms:*",
        Fault::NewPrincipals {
            arns: vec![new_role.clone()],
            ms: WINDOW_MS,
        },
    )];
    let upstream = upstream();
    let start = Instant::now();
    let proxy = Proxy::start(&upstream, rules, 24).unwrap();
    let via = aws_sdk_kms::Client::new(&sdk(&proxy.endpoint(), &account).await);
    let direct = aws_sdk_kms::Client::new(&sdk(&upstream, &account).await);
    let policy = |principal: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:Decrypt", "Resource": "*"}]})
        .to_string()
    };
    let with_new = policy(&new_role);
    let err = via.create_key().policy(&with_new).send().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some("MalformedPolicyDocumentException"),
        "{err:?}"
    );
    assert_eq!(
        err.message(),
        Some("Policy contains a statement with one or more invalid principals.")
    );
    assert!(
        direct.list_keys().send().await.unwrap().keys().is_empty(),
        "not forwarded"
    );
    let old_role = format!("arn:aws:iam::{account}:role/older");
    let key_id = via
        .create_key()
        .policy(policy(&old_role))
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    let err = via
        .put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(&with_new)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("MalformedPolicyDocumentException"),
        "{err:?}"
    );
    still_inside(start);
    assert_eq!(count(&proxy, "kms:CreateKey").injected, 1);
    assert_eq!(count(&proxy, "kms:PutKeyPolicy").injected, 1);

    after_window(start).await;
    via.put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(&with_new)
        .send()
        .await
        .unwrap();
    via.create_key().policy(&with_new).send().await.unwrap();
}

#[tokio::test]
async fn a_policy_type_is_pending_for_a_while_after_it_is_enabled() {
    let s = setup(
        vec![Rule::always(
            "organizations:*",
            Fault::PendingEnable { ms: WINDOW_MS },
        )],
        25,
    )
    .await;
    let via = aws_sdk_organizations::Client::new(&s.via);
    let direct = aws_sdk_organizations::Client::new(&s.direct);
    via.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = via.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let scp_status = |root: &aws_sdk_organizations::types::Root| {
        root.policy_types()
            .iter()
            .find(|t| t.r#type() == Some(&PolicyType::ServiceControlPolicy))
            .and_then(|t| t.status().cloned())
    };

    let enabled = via
        .enable_policy_type()
        .root_id(&root)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        scp_status(enabled.root().unwrap()),
        Some(PolicyTypeStatus::PendingEnable)
    );
    let roots = via.list_roots().send().await.unwrap();
    assert_eq!(
        scp_status(&roots.roots()[0]),
        Some(PolicyTypeStatus::PendingEnable)
    );
    let upstream = direct.list_roots().send().await.unwrap();
    assert_eq!(
        scp_status(&upstream.roots()[0]),
        Some(PolicyTypeStatus::Enabled)
    );
    let policy = via
        .create_policy()
        .name("deny-leaving")
        .description("test")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let policy_id = policy
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let attach = || {
        via.attach_policy()
            .policy_id(&policy_id)
            .target_id(&root)
            .send()
    };
    let err = attach().await.unwrap_err();
    assert_eq!(err.code(), Some("PolicyTypeNotEnabledException"), "{err:?}");
    still_inside(start);
    let c = count(&s.proxy, "organizations:AttachPolicy");
    assert_eq!((c.pending, c.forwarded), (1, 0), "{c:?}");
    assert_eq!(count(&s.proxy, "organizations:ListRoots").pending, 1);

    after_window(start).await;
    let roots = via.list_roots().send().await.unwrap();
    assert_eq!(
        scp_status(&roots.roots()[0]),
        Some(PolicyTypeStatus::Enabled)
    );
    attach().await.unwrap();
    let attached = via
        .list_policies_for_target()
        .target_id(&root)
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    assert!(
        attached
            .policies()
            .iter()
            .any(|p| p.id() == Some(policy_id.as_str()))
    );
}

#[tokio::test]
async fn error_rules_answer_the_code_in_the_service_protocol() {
    let s = setup(vec![], 26).await;
    let org = aws_sdk_organizations::Client::new(&s.via);
    let sns = aws_sdk_sns::Client::new(&s.via);
    org.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    sns.list_topics().send().await.unwrap();
    // As the benchmark sets them: JSON through the control endpoint.
    let rules = fault_proxy::parse_rules(
        br#"[{"operation":"organizations:ListRoots","fault":{"kind":"Error","code":"ConcurrentModificationException","status":400},"times":1},
            {"operation":"sns:*","fault":{"kind":"Error","code":"InvalidParameter","status":400,"message":"Invalid parameter: Name"},"times":1}]"#,
    )
    .unwrap();
    s.proxy.set_rules(rules);

    let err = org.list_roots().send().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some("ConcurrentModificationException"),
        "{err:?}"
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    let c = count(&s.proxy, "organizations:ListRoots");
    assert_eq!((c.injected, c.forwarded), (1, 0), "{c:?}");
    org.list_roots().send().await.unwrap();

    let err = sns.create_topic().name("x").send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameter"), "XML: {err:?}");
    assert_eq!(err.message(), Some("Invalid parameter: Name"));
    assert_eq!(count(&s.proxy, "sns:CreateTopic").forwarded, 0);
    sns.create_topic().name("x").send().await.unwrap();
}

#[tokio::test]
async fn unseen_organizations_policies_and_attachments() {
    let s = setup(vec![Rule::always("*", Fault::Unseen { ms: WINDOW_MS })], 27).await;
    let via = aws_sdk_organizations::Client::new(&s.via);
    via.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = via.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    via.enable_policy_type()
        .root_id(&root)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let content = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    let create = |name: &'static str| {
        via.create_policy()
            .name(name)
            .description("test")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(content)
            .send()
    };
    let id_of = |p: aws_sdk_organizations::operation::create_policy::CreatePolicyOutput| {
        p.policy()
            .unwrap()
            .policy_summary()
            .unwrap()
            .id()
            .unwrap()
            .to_string()
    };
    let first = id_of(create("first").await.unwrap());
    let created = Instant::now();
    let list = || {
        via.list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .send()
    };
    let ids = |policies: &[aws_sdk_organizations::types::PolicySummary]| -> Vec<String> {
        policies
            .iter()
            .filter_map(|p| p.id().map(str::to_string))
            .collect()
    };
    assert!(!ids(list().await.unwrap().policies()).contains(&first));
    let err = via
        .describe_policy()
        .policy_id(&first)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PolicyNotFoundException"), "{err:?}");
    still_inside(created);

    after_window(created).await;
    assert!(ids(list().await.unwrap().policies()).contains(&first));
    via.attach_policy()
        .policy_id(&first)
        .target_id(&root)
        .send()
        .await
        .unwrap();
    let attached = Instant::now();
    let for_target = via
        .list_policies_for_target()
        .target_id(&root)
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    assert!(
        !ids(for_target.policies()).contains(&first),
        "the attachment is not seen yet"
    );
    let targets = via
        .list_targets_for_policy()
        .policy_id(&first)
        .send()
        .await
        .unwrap();
    assert!(targets.targets().is_empty(), "{targets:?}");
    still_inside(attached);

    after_window(attached).await;
    let for_target = via
        .list_policies_for_target()
        .target_id(&root)
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    assert!(ids(for_target.policies()).contains(&first));
    let targets = via
        .list_targets_for_policy()
        .policy_id(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets()[0].target_id(), Some(root.as_str()));
    assert!(count(&s.proxy, "organizations:ListPolicies").unseen >= 1);
}

#[tokio::test]
async fn unseen_sns_topics_and_subscriptions() {
    let s = setup(vec![Rule::always("*", Fault::Unseen { ms: WINDOW_MS })], 28).await;
    let via = aws_sdk_sns::Client::new(&s.via);
    let direct = aws_sdk_sns::Client::new(&s.direct);
    let older = direct
        .create_topic()
        .name("older")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();

    let topic = via
        .create_topic()
        .name("newer")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let subscription = via
        .subscribe()
        .topic_arn(&older)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:us-east-1:{}:queue", s.account))
        .send()
        .await
        .unwrap()
        .subscription_arn()
        .unwrap()
        .to_string();
    let start = Instant::now();
    let topics = |answer: aws_sdk_sns::operation::list_topics::ListTopicsOutput| -> Vec<String> {
        answer
            .topics()
            .iter()
            .filter_map(|t| t.topic_arn().map(str::to_string))
            .collect()
    };
    assert_eq!(
        topics(via.list_topics().send().await.unwrap()),
        std::slice::from_ref(&older)
    );
    assert_eq!(topics(direct.list_topics().send().await.unwrap()).len(), 2);
    let err = via
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotFound"), "{err:?}");
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 404);
    let subscriptions = via
        .list_subscriptions_by_topic()
        .topic_arn(&older)
        .send()
        .await
        .unwrap();
    assert!(subscriptions.subscriptions().is_empty());
    still_inside(start);

    after_window(start).await;
    assert_eq!(topics(via.list_topics().send().await.unwrap()).len(), 2);
    via.get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let subscriptions = via
        .list_subscriptions_by_topic()
        .topic_arn(&older)
        .send()
        .await
        .unwrap();
    assert_eq!(
        subscriptions.subscriptions()[0].subscription_arn(),
        Some(subscription.as_str())
    );
}

#[tokio::test]
async fn unseen_eventbridge_rules_and_targets_but_not_updates() {
    use aws_sdk_eventbridge::types::Target;
    let s = setup(vec![Rule::always("*", Fault::Unseen { ms: WINDOW_MS })], 29).await;
    let via = aws_sdk_eventbridge::Client::new(&s.via);
    let direct = aws_sdk_eventbridge::Client::new(&s.direct);
    let put = |client: &aws_sdk_eventbridge::Client, name: &str, rate: &str| {
        client
            .put_rule()
            .name(name)
            .schedule_expression(format!("rate({rate} minutes)"))
            .send()
    };
    put(&direct, "older", "5").await.unwrap();
    let names =
        |answer: aws_sdk_eventbridge::operation::list_rules::ListRulesOutput| -> Vec<String> {
            answer
                .rules()
                .iter()
                .filter_map(|r| r.name().map(str::to_string))
                .collect()
        };
    assert_eq!(names(via.list_rules().send().await.unwrap()), ["older"]);

    put(&via, "older", "10").await.unwrap();
    put(&via, "newer", "5").await.unwrap();
    via.put_targets()
        .rule("older")
        .targets(
            Target::builder()
                .id("t1")
                .arn(format!("arn:aws:sns:us-east-1:{}:topic", s.account))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let start = Instant::now();
    assert_eq!(
        names(via.list_rules().send().await.unwrap()),
        ["older"],
        "the update of a rule the proxy saw is no create"
    );
    let err = via.describe_rule().name("newer").send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");
    direct.describe_rule().name("newer").send().await.unwrap();
    let targets = via
        .list_targets_by_rule()
        .rule("older")
        .send()
        .await
        .unwrap();
    assert!(targets.targets().is_empty());
    still_inside(start);

    after_window(start).await;
    let mut all = names(via.list_rules().send().await.unwrap());
    all.sort();
    assert_eq!(all, ["newer", "older"]);
    via.describe_rule().name("newer").send().await.unwrap();
    let targets = via
        .list_targets_by_rule()
        .rule("older")
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets()[0].id(), "t1");
}

#[tokio::test]
async fn unseen_config_rules_but_not_updates() {
    use aws_sdk_config::types::{ConfigRule, Owner, Source};
    let s = setup(vec![Rule::always("*", Fault::Unseen { ms: WINDOW_MS })], 30).await;
    let via = aws_sdk_config::Client::new(&s.via);
    let put = |name: &str| {
        via.put_config_rule()
            .config_rule(
                ConfigRule::builder()
                    .config_rule_name(name)
                    .source(
                        Source::builder()
                            .owner(Owner::Aws)
                            .source_identifier("CMK_BACKING_KEY_ROTATION_ENABLED")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
    };
    let names =
        |answer: aws_sdk_config::operation::describe_config_rules::DescribeConfigRulesOutput| {
            let mut names: Vec<String> = answer
                .config_rules()
                .iter()
                .filter_map(|r| r.config_rule_name().map(str::to_string))
                .collect();
            names.sort();
            names
        };

    put("rotation").await.unwrap();
    let start = Instant::now();
    assert!(names(via.describe_config_rules().send().await.unwrap()).is_empty());
    let err = via
        .describe_config_rules()
        .config_rule_names("rotation")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NoSuchConfigRuleException"), "{err:?}");
    still_inside(start);
    assert_eq!(count(&s.proxy, "config:DescribeConfigRules").unseen, 2);

    after_window(start).await;
    assert_eq!(
        names(via.describe_config_rules().send().await.unwrap()),
        ["rotation"]
    );
    // A put of an existing rule is an update: still there.
    put("rotation").await.unwrap();
    assert_eq!(
        names(via.describe_config_rules().send().await.unwrap()),
        ["rotation"]
    );
    via.describe_config_rules()
        .config_rule_names("rotation")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn lost_create_answers_lose_the_answer_not_the_create() {
    let s = setup(fault_proxy::lost_create_answers(), 31).await;
    let via = aws_sdk_kms::Client::new(&s.via);
    let direct = aws_sdk_kms::Client::new(&s.direct);
    assert!(via.create_key().send().await.is_err(), "no answer");
    assert_eq!(direct.list_keys().send().await.unwrap().keys().len(), 1);
    let c = count(&s.proxy, "kms:CreateKey");
    assert_eq!((c.forwarded, c.dropped), (1, 1), "{c:?}");
    via.create_key().send().await.unwrap();
}

/// One HTTP/1.1 exchange on a fresh connection: (status, body).
fn http(port: u16, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[test]
fn the_binary_starts_in_realistic_mode() {
    let upstream = upstream();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args([
            "--upstream",
            &upstream,
            "--realistic",
            "1500",
            "--exit-on-stdin-close",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim_end()
        .strip_prefix("fault-proxy listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    let (status, body) = http(port, "GET", "/__fault-proxy/rules");
    assert_eq!(status, 200);
    let rules: Value = serde_json::from_str(&body).unwrap();
    let rules = rules["rules"].as_array().unwrap();
    let kinds: Vec<&str> = rules
        .iter()
        .map(|r| r["fault"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Unseen",
            "StaleReads",
            "TaggingLag",
            "PendingEnable",
            "Error"
        ]
    );
    assert_eq!(rules[0]["fault"]["ms"], 1500);
    assert_eq!(rules[2]["fault"]["ms"], 4500);
    assert_eq!(rules[4]["fault"]["code"], "ConcurrentModificationException");
    assert_eq!(rules[4]["probability"], 0.05);
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}
