//! Monitoring planned and applied with the keys, against the emulator: AWS Config rules (and the
//! recorder they need), the alert topic with its policy and subscriptions, and one EventBridge
//! rule per severity level targeting it.

use kmsctl_tests::{TestProject, customer_keys};
use serde_json::Value;

const TOPIC: &str = "prod-kms-security-alerts";
const HIGH: &str = "prod-kms-alerts-high";
const CRITICAL: &str = "prod-kms-alerts-critical";
const TARGET_ID: &str = "kmsctl-alerts-topic";

struct Aws {
    config: aws_sdk_config::Client,
    sns: aws_sdk_sns::Client,
    events: aws_sdk_eventbridge::Client,
}

async fn aws(project: &TestProject) -> Aws {
    let config = project.sdk_config().await;
    Aws {
        config: aws_sdk_config::Client::new(&config),
        sns: aws_sdk_sns::Client::new(&config),
        events: aws_sdk_eventbridge::Client::new(&config),
    }
}

fn topic_arn(project: &TestProject, name: &str) -> String {
    format!("arn:aws:sns:us-east-1:{}:{name}", project.account)
}

async fn topic_attribute(aws: &Aws, arn: &str, name: &str) -> Option<String> {
    let out = aws
        .sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .ok()?;
    out.attributes()?.get(name).cloned()
}

async fn subscriptions(aws: &Aws, arn: &str) -> Vec<(String, String)> {
    let out = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(arn)
        .send()
        .await
        .expect("subscriptions");
    out.subscriptions()
        .iter()
        .map(|s| {
            (
                s.subscription_arn().unwrap_or_default().to_owned(),
                format!(
                    "{}:{}",
                    s.protocol().unwrap_or_default(),
                    s.endpoint().unwrap_or_default()
                ),
            )
        })
        .collect()
}

async fn pattern(aws: &Aws, rule: &str) -> Value {
    let out = aws
        .events
        .describe_rule()
        .name(rule)
        .send()
        .await
        .expect("rule");
    serde_json::from_str(out.event_pattern().expect("pattern")).expect("json")
}

async fn targets(aws: &Aws, rule: &str) -> Vec<(String, String)> {
    let out = aws
        .events
        .list_targets_by_rule()
        .rule(rule)
        .send()
        .await
        .expect("targets");
    out.targets()
        .iter()
        .map(|t| (t.id().to_owned(), t.arn().to_owned()))
        .collect()
}

async fn rule_names(aws: &Aws, prefix: &str) -> Vec<String> {
    let out = aws
        .events
        .list_rules()
        .name_prefix(prefix)
        .send()
        .await
        .expect("rules");
    let mut names: Vec<String> = out
        .rules()
        .iter()
        .filter_map(|r| r.name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn event_names(pattern: &Value) -> Vec<String> {
    let mut names: Vec<String> = pattern["detail"]["eventName"]
        .as_array()
        .expect("eventName")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

async fn applied_prod() -> (TestProject, Aws) {
    let project = TestProject::environment("prod", "222222222222");
    let aws = aws(&project).await;
    kmsctl_tests::central_recorder(&project.account, "central-config").await;
    let run = project
        .kmsctl(&["apply", "env/prod", "--auto-approve"])
        .expect_code(0);
    assert!(run.stdout.contains("Apply complete!"), "{}", run.stdout);
    (project, aws)
}

#[tokio::test(flavor = "multi_thread")]
async fn applying_prod_creates_rules_topic_subscription_policy_and_alert_rules() {
    let (project, aws) = applied_prod().await;

    let rules = aws
        .config
        .describe_config_rules()
        .send()
        .await
        .expect("rules");
    let mut identifiers: Vec<(String, String)> = rules
        .config_rules()
        .iter()
        .map(|r| {
            (
                r.config_rule_name().unwrap_or_default().to_owned(),
                r.source()
                    .and_then(|s| s.source_identifier())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    identifiers.sort();
    assert_eq!(
        identifiers,
        [
            (
                "cloud-trail-encryption-enabled",
                "CLOUD_TRAIL_ENCRYPTION_ENABLED"
            ),
            (
                "kms-cmk-not-scheduled-for-deletion",
                "KMS_CMK_NOT_SCHEDULED_FOR_DELETION"
            ),
            (
                "kms-key-rotation-enabled",
                "CMK_BACKING_KEY_ROTATION_ENABLED"
            ),
            ("s3-default-encryption-kms", "S3_DEFAULT_ENCRYPTION_KMS"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let arn = rules.config_rules()[0].config_rule_arn().expect("arn");
    let tags = aws
        .config
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("kmsctl:managed") && t.value() == Some("true"))
    );

    let topic = topic_arn(&project, TOPIC);
    assert_eq!(
        topic_attribute(&aws, &topic, "KmsMasterKeyId")
            .await
            .as_deref(),
        Some("alias/prod-sns-security-alerts"),
        "encrypted with the topic_key"
    );
    let policy: Value = serde_json::from_str(
        &topic_attribute(&aws, &topic, "Policy")
            .await
            .expect("policy"),
    )
    .expect("json");
    let allow = &policy["Statement"][0];
    assert_eq!(allow["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(allow["Action"], "sns:Publish");
    let rule_arn = |name: &str| format!("arn:aws:events:us-east-1:{}:rule/{name}", project.account);
    assert_eq!(
        allow["Condition"]["ArnEquals"]["aws:SourceArn"],
        serde_json::json!([rule_arn(HIGH), rule_arn(CRITICAL)])
    );
    let subscribed: Vec<String> = subscriptions(&aws, &topic)
        .await
        .into_iter()
        .map(|(_, endpoint)| endpoint)
        .collect();
    assert_eq!(subscribed, ["email:secops@example.com"]);

    assert_eq!(rule_names(&aws, "prod-kms-alerts-").await, [CRITICAL, HIGH]);
    let critical = pattern(&aws, CRITICAL).await;
    assert_eq!(critical["source"], serde_json::json!(["aws.kms"]));
    assert_eq!(
        critical["detail-type"],
        serde_json::json!(["AWS API Call via CloudTrail"])
    );
    assert_eq!(
        critical["detail"]["eventSource"],
        serde_json::json!(["kms.amazonaws.com"])
    );
    assert_eq!(event_names(&critical), ["ScheduleKeyDeletion"]);
    assert_eq!(
        event_names(&pattern(&aws, HIGH).await),
        ["DisableKey", "PutKeyPolicy"]
    );
    for rule in [HIGH, CRITICAL] {
        assert_eq!(
            targets(&aws, rule).await,
            [(TARGET_ID.to_owned(), topic.clone())]
        );
    }

    project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pattern_edit_a_removed_target_and_a_deleted_subscription_are_planned_and_restored() {
    let (project, aws) = applied_prod().await;
    let topic = topic_arn(&project, TOPIC);
    aws.events
        .put_rule()
        .name(CRITICAL)
        .event_pattern(r#"{"source":["aws.kms"],"detail":{"eventName":["Decrypt"]}}"#)
        .send()
        .await
        .expect("edit pattern");
    aws.events
        .remove_targets()
        .rule(HIGH)
        .ids(TARGET_ID)
        .send()
        .await
        .expect("remove target");
    for (arn, _) in subscriptions(&aws, &topic).await {
        aws.sns
            .unsubscribe()
            .subscription_arn(arn)
            .send()
            .await
            .expect("unsubscribe");
    }

    let plan = project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(2);
    for shown in [
        &format!("events_rule.{CRITICAL} will be updated in-place"),
        "event_pattern",
        &format!("events_target.{HIGH}/{TARGET_ID} will be created"),
        &format!("sns_subscription.{TOPIC}/email:secops@example.com will be created"),
        "Plan: 2 to add, 1 to change, 0 to destroy.",
    ] {
        assert!(plan.stdout.contains(shown), "{shown}\n{}", plan.stdout);
    }

    project.kmsctl(&["apply"]).expect_code(0);
    assert_eq!(
        event_names(&pattern(&aws, CRITICAL).await),
        ["ScheduleKeyDeletion"]
    );
    assert_eq!(
        targets(&aws, HIGH).await,
        [(TARGET_ID.to_owned(), topic.clone())]
    );
    assert_eq!(subscriptions(&aws, &topic).await.len(), 1);
    project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_recorder_the_plan_is_refused_with_the_fix_and_nothing_is_made() {
    let project = TestProject::environment("prod", "222222222222");
    let aws = aws(&project).await;
    let run = project.kmsctl(&["plan", "env/prod"]).expect_code(3);
    assert!(
        run.stderr.contains("error[config-recorder-missing]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> environments/prod/monitor.toml:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("declare [config_recorder] (role_arn, delivery_bucket)"),
        "{}",
        run.stderr
    );
    project
        .kmsctl(&["apply", "env/prod", "--auto-approve"])
        .expect_code(3);
    assert!(customer_keys(&project.kms().await).await.is_empty());
    assert_eq!(
        topic_attribute(&aws, &topic_arn(&project, TOPIC), "TopicArn").await,
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_manages_its_recorder_and_removing_alerts_deletes_only_what_kmsctl_made() {
    let project = TestProject::dev();
    let aws = aws(&project).await;
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let status = aws
        .config
        .describe_configuration_recorder_status()
        .send()
        .await
        .expect("status");
    assert!(status.configuration_recorders_status()[0].recording());
    let topic = topic_arn(&project, "dev-kms-security-alerts");
    assert!(topic_attribute(&aws, &topic, "TopicArn").await.is_some());

    // Someone else's rule under kmsctl's prefix, without kmsctl's tags.
    aws.events
        .put_rule()
        .name("dev-kms-alerts-by-hand")
        .event_pattern(r#"{"source":["aws.kms"]}"#)
        .send()
        .await
        .expect("rule by hand");
    let monitor = project.read("environments/dev/monitor.toml");
    let without_alerts = &monitor[..monitor.find("[alerts]").expect("[alerts]")];
    project.write("environments/dev/monitor.toml", without_alerts);

    let plan = project
        .kmsctl(&["plan", "env/dev", "--detailed-exitcode"])
        .expect_code(2);
    for shown in [
        "events_target.dev-kms-alerts-critical/kmsctl-alerts-topic will be deleted",
        "events_rule.dev-kms-alerts-critical will be deleted",
        "sns_topic.dev-kms-security-alerts will be deleted",
        "Plan: 0 to add, 0 to change, 3 to destroy.",
    ] {
        assert!(plan.stdout.contains(shown), "{shown}\n{}", plan.stdout);
    }
    project.kmsctl(&["apply"]).expect_code(0);
    assert_eq!(
        rule_names(&aws, "dev-kms-alerts-").await,
        ["dev-kms-alerts-by-hand"]
    );
    assert_eq!(topic_attribute(&aws, &topic, "TopicArn").await, None);
    project
        .kmsctl(&["plan", "env/dev", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_refused_as_stale_when_its_monitoring_moved() {
    let (project, aws) = applied_prod().await;
    aws.events
        .remove_targets()
        .rule(HIGH)
        .ids(TARGET_ID)
        .send()
        .await
        .expect("remove target");
    project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(2);
    // Someone points the rule somewhere else before the plan is applied.
    let elsewhere = topic_arn(&project, "somewhere-else");
    aws.events
        .put_targets()
        .rule(HIGH)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id(TARGET_ID)
                .arn(&elsewhere)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put target");
    let run = project.kmsctl(&["apply"]).expect_code(1);
    assert!(run.stderr.contains("the plan is stale"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("events_target.{HIGH}/{TARGET_ID}")),
        "{}",
        run.stderr
    );
    assert_eq!(
        targets(&aws, HIGH).await,
        [(TARGET_ID.to_owned(), elsewhere)]
    );
}

/// The framework's Terraform (`aws_config_config_rule` with a description,
/// `aws_cloudwatch_event_rule` `kms-key-deletion-alert`, `aws_cloudwatch_event_target`
/// `SendToSNS`) ported to env/prod's monitor.toml.
fn port_the_frameworks_settings(project: &TestProject) {
    const MONITOR: &str = "environments/prod/monitor.toml";
    project.edit(
        MONITOR,
        "identifier = \"CMK_BACKING_KEY_ROTATION_ENABLED\"\n",
        "identifier = \"CMK_BACKING_KEY_ROTATION_ENABLED\"\ndescription = \"Checks whether automatic key rotation is enabled for each KMS key\"\n",
    );
    project.edit(
        MONITOR,
        "min_severity = \"high\"\n",
        "min_severity = \"high\"\ntarget_id = \"SendToSNS\"\n\n[alerts.rules.critical]\nname = \"kms-key-deletion-alert\"\ndescription = \"Alert on KMS key deletion scheduling\"\n",
    );
}

const DELETION_ALERT: &str = "kms-key-deletion-alert";
const ROTATION_RULE: &str = "kms-key-rotation-enabled";

async fn config_rule_description(aws: &Aws, name: &str) -> Option<String> {
    let out = aws
        .config
        .describe_config_rules()
        .config_rule_names(name)
        .send()
        .await
        .expect("rule");
    out.config_rules()[0].description().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_frameworks_alert_rule_is_adopted_under_its_name_and_target_id_and_descriptions_are_kept()
 {
    let project = TestProject::environment("prod", "222222222222");
    let aws = aws(&project).await;
    kmsctl_tests::central_recorder(&project.account, "central-config").await;
    let topic = topic_arn(&project, TOPIC);
    // What the framework's Terraform made: the rule and its target, untagged.
    aws.events
        .put_rule()
        .name(DELETION_ALERT)
        .description("Alert on KMS key deletion scheduling")
        .event_pattern(
            r#"{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["ScheduleKeyDeletion"]}}"#,
        )
        .send()
        .await
        .expect("the framework's rule");
    aws.events
        .put_targets()
        .rule(DELETION_ALERT)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("SendToSNS")
                .arn(&topic)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("the framework's target");
    port_the_frameworks_settings(&project);

    let plan = project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(2);
    for shown in [
        &format!("events_rule.{DELETION_ALERT} will be adopted"),
        &format!("events_target.{HIGH}/SendToSNS will be created"),
    ] {
        assert!(plan.stdout.contains(shown), "{shown}\n{}", plan.stdout);
    }
    assert!(!plan.stdout.contains(CRITICAL), "{}", plan.stdout);
    project.kmsctl(&["apply"]).expect_code(0);

    assert_eq!(
        config_rule_description(&aws, ROTATION_RULE)
            .await
            .as_deref(),
        Some("Checks whether automatic key rotation is enabled for each KMS key")
    );
    assert_eq!(rule_names(&aws, "prod-kms-alerts-").await, [HIGH]);
    let deletion = aws
        .events
        .describe_rule()
        .name(DELETION_ALERT)
        .send()
        .await
        .expect("rule");
    assert_eq!(
        deletion.description(),
        Some("Alert on KMS key deletion scheduling")
    );
    assert_eq!(
        event_names(&pattern(&aws, DELETION_ALERT).await),
        ["ScheduleKeyDeletion"]
    );
    for rule in [HIGH, DELETION_ALERT] {
        assert_eq!(
            targets(&aws, rule).await,
            [("SendToSNS".to_owned(), topic.clone())],
            "{rule}"
        );
    }
    let policy: Value = serde_json::from_str(
        &topic_attribute(&aws, &topic, "Policy")
            .await
            .expect("policy"),
    )
    .expect("json");
    let rule_arn = |name: &str| format!("arn:aws:events:us-east-1:{}:rule/{name}", project.account);
    assert_eq!(
        policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        serde_json::json!([rule_arn(HIGH), rule_arn(DELETION_ALERT)])
    );
    project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(0);

    // A description edited by hand is drift, and apply puts the declared one back.
    let rotation = aws
        .config
        .describe_config_rules()
        .config_rule_names(ROTATION_RULE)
        .send()
        .await
        .expect("rule")
        .config_rules()[0]
        .clone();
    aws.config
        .put_config_rule()
        .config_rule(
            aws_sdk_config::types::ConfigRule::builder()
                .config_rule_name(ROTATION_RULE)
                .description("edited by hand")
                .set_source(rotation.source().cloned())
                .set_maximum_execution_frequency(rotation.maximum_execution_frequency().cloned())
                .build(),
        )
        .send()
        .await
        .expect("edit the description");
    let drift = project.kmsctl(&["drift", "env/prod"]).expect_code(2);
    for shown in [
        &format!("config_rule.{ROTATION_RULE}"),
        "description",
        "edited by hand",
    ] {
        assert!(drift.stdout.contains(shown), "{shown}\n{}", drift.stdout);
    }
    project
        .kmsctl(&["apply", "env/prod", "--auto-approve"])
        .expect_code(0);
    assert_eq!(
        config_rule_description(&aws, ROTATION_RULE)
            .await
            .as_deref(),
        Some("Checks whether automatic key rotation is enabled for each KMS key")
    );

    // Back to kmsctl's names: the framework's rule, now managed, goes; kmsctl's own is made.
    let ported = project.read("environments/prod/monitor.toml");
    let start = ported.find("target_id").expect("target_id");
    let end = ported.find("[alerts.severity]").expect("severity");
    project.write(
        "environments/prod/monitor.toml",
        &format!("{}{}", &ported[..start], &ported[end..]),
    );
    let plan = project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(2);
    for shown in [
        &format!("events_rule.{DELETION_ALERT} will be deleted"),
        &format!("events_rule.{CRITICAL} will be created"),
        &format!("events_target.{HIGH}/SendToSNS will be deleted"),
    ] {
        assert!(plan.stdout.contains(shown), "{shown}\n{}", plan.stdout);
    }
    project.kmsctl(&["apply"]).expect_code(0);
    assert_eq!(rule_names(&aws, "").await, [CRITICAL, HIGH]);
    project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(0);
}

/// EventBridge delivers read-only management events (Decrypt, GenerateDataKey, Describe*...)
/// only to rules in the state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS: an alert on them
/// under plain ENABLED would never fire.
#[tokio::test(flavor = "multi_thread")]
async fn an_alert_on_read_only_calls_gets_the_state_that_delivers_them() {
    let (project, aws) = applied_prod().await;
    let state = |events: aws_sdk_eventbridge::Client, rule: &'static str| async move {
        events
            .describe_rule()
            .name(rule)
            .send()
            .await
            .expect("describe")
            .state()
            .map(|s| s.as_str().to_owned())
    };
    assert_eq!(
        state(aws.events.clone(), HIGH).await.as_deref(),
        Some("ENABLED")
    );
    project.edit(
        "environments/prod/monitor.toml",
        "PutKeyPolicy = \"high\"",
        "PutKeyPolicy = \"high\"\nDecrypt = \"high\"",
    );
    let plan = project
        .kmsctl(&["plan", "env/prod", "--detailed-exitcode"])
        .expect_code(2);
    assert!(
        plan.stdout
            .contains("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"),
        "{}",
        plan.stdout
    );
    project.kmsctl(&["apply"]).expect_code(0);
    assert_eq!(
        state(aws.events.clone(), HIGH).await.as_deref(),
        Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    );
    assert_eq!(
        state(aws.events.clone(), CRITICAL).await.as_deref(),
        Some("ENABLED")
    );
}
