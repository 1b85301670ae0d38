//! The diff is a pure function: these tests give it desired keys and an observed account.

use std::collections::BTreeMap;

use kmsctl_core::Location;
use kmsctl_core::policy;
use serde_json::json;

use super::*;
use crate::desired::{
    DesiredPolicy, DesiredRotation, KeyLocations, TAG_ENVIRONMENT, TAG_ID, TAG_MANAGED,
};

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}"#;

fn desired() -> DesiredKey {
    let tags = BTreeMap::from([
        ("Environment".to_owned(), "dev".to_owned()),
        (TAG_MANAGED.to_owned(), "true".to_owned()),
        (TAG_ENVIRONMENT.to_owned(), "dev".to_owned()),
        (TAG_ID.to_owned(), "dev/db/payments/encryption".to_owned()),
    ]);
    DesiredKey {
        id: "dev/db/payments/encryption".into(),
        name: "db-payments-encryption".into(),
        alias: "alias/dev-db-payments-encryption".into(),
        extra_aliases: vec![],
        description: "payments".into(),
        spec: "SYMMETRIC_DEFAULT".into(),
        usage: "ENCRYPT_DECRYPT".into(),
        origin: "AWS_KMS".into(),
        multi_region: false,
        custom_key_store: None,
        custom_key_store_id: None,
        manual_rotation_days: None,
        policy: DesiredPolicy::new(None, POLICY.into(), &policy::parse(POLICY).expect("valid")),
        rotation: Some(DesiredRotation {
            enabled: true,
            period_days: 365,
        }),
        rotation_unsupported: false,
        deletion_window_days: 30,
        state: DeclaredState::Enabled,
        adopt: false,
        adopt_key_id: None,
        declared_tags: BTreeMap::from([("Environment".to_owned(), "dev".to_owned())]),
        tags,
        locations: KeyLocations {
            key: Location::at_line("environments/dev/keys.toml", 1),
            ..Default::default()
        },
    }
}

fn live(key: &DesiredKey, id: &str) -> ObservedKey {
    ObservedKey {
        key_id: id.into(),
        arn: format!("arn:aws:kms:us-east-1:111111111111:key/{id}"),
        description: key.description.clone(),
        state: "Enabled".into(),
        spec: key.spec.as_str().into(),
        usage: key.usage.as_str().into(),
        origin: Some(key.origin.clone()).into(),
        multi_region: false,
        deletion_date: None,
        tags: key.tags.clone(),
        // The same policy as AWS may return it: other key order, other whitespace.
        policy: Some(
            r#"{ "Statement" : [ { "Resource" : ["*"], "Action" : ["kms:*"], "Principal" : {"AWS" : ["arn:aws:iam::111111111111:root"]}, "Effect" : "Allow", "Sid" : "Root" } ], "Version" : "2012-10-17" }"#
                .into(),
        ),
        rotation_enabled: Some(true),
        rotation_period_days: Some(365),
        aliases: vec![key.alias.clone()],
        tags_confirmed: true,
    }
}

fn observed(keys: Vec<ObservedKey>) -> Observation {
    let mut observation = Observation::default();
    for key in keys {
        for alias in &key.aliases {
            observation
                .aliases
                .insert(alias.clone(), Some(key.key_id.clone()));
        }
        observation.keys.insert(key.key_id.clone(), key);
    }
    observation
}

fn addresses(diff: &KeysDiff) -> Vec<String> {
    diff.changes
        .iter()
        .map(|c| format!("{} {:?}", c.address, c.action))
        .collect()
}

#[test]
fn a_new_key_is_created_then_rotated_and_aliased_by_reference() {
    let diff = diff("dev", &[desired()], &Observation::default());
    assert_eq!(
        addresses(&diff),
        [
            "kms_key.db-payments-encryption Create",
            "kms_key_rotation.db-payments-encryption Create",
            "kms_alias.alias/dev-db-payments-encryption Create"
        ]
    );
    let alias = &diff.changes[2];
    assert_eq!(
        alias.operations[0]["target_key_id"],
        json!({"$ref": "kms_key.db-payments-encryption#key_id"})
    );
    let order = kmsctl_core::plan::apply_order(&diff.changes).expect("ordered");
    assert_eq!(order, [0, 1, 2]);
}

#[test]
fn a_matching_key_has_no_changes_even_with_its_policy_reformatted() {
    let key = desired();
    let diff = diff(
        "dev",
        std::slice::from_ref(&key),
        &observed(vec![live(&key, "k-1")]),
    );
    assert_eq!(diff.changes, vec![], "{:#?}", diff.changes);
    assert!(diff.findings.is_empty());
}

#[test]
fn a_key_without_its_alias_is_found_by_its_id_tag() {
    let key = desired();
    let mut found = live(&key, "k-1");
    found.aliases.clear();
    let diff = diff("dev", std::slice::from_ref(&key), &observed(vec![found]));
    assert_eq!(
        addresses(&diff),
        ["kms_alias.alias/dev-db-payments-encryption Create"]
    );
    assert_eq!(diff.changes[0].operations[0]["target_key_id"], json!("k-1"));
}

#[test]
fn an_alias_on_an_unmanaged_key_is_refused_unless_adopted() {
    let mut key = desired();
    let mut foreign = live(&key, "k-9");
    foreign.tags.clear();
    let observation = observed(vec![foreign]);
    let refused = diff("dev", std::slice::from_ref(&key), &observation);
    assert_eq!(refused.findings.len(), 1);
    assert_eq!(refused.findings[0].rule, "alias-unmanaged-key");
    assert!(refused.changes.is_empty());

    key.adopt = true;
    let adopted = diff("dev", std::slice::from_ref(&key), &observation);
    assert_eq!(
        addresses(&adopted),
        ["kms_key.db-payments-encryption Adopt"]
    );
    assert_eq!(adopted.changes[0].operations[0]["op"], json!("TagResource"));
}

#[test]
fn cancelling_a_deletion_cancels_then_enables_and_updates() {
    let key = desired();
    let mut pending = live(&key, "k-1");
    pending.state = "PendingDeletion".into();
    pending.description = "old".into();
    let diff = diff("dev", std::slice::from_ref(&key), &observed(vec![pending]));
    assert_eq!(
        addresses(&diff),
        ["kms_key.db-payments-encryption CancelDeletion"]
    );
    let ops: Vec<_> = diff.changes[0]
        .operations
        .iter()
        .map(|o| o["op"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        ops,
        ["CancelKeyDeletion", "UpdateKeyDescription", "EnableKey"]
    );
}

#[test]
fn declared_deletion_schedules_once_and_a_deleted_key_is_done() {
    let mut key = desired();
    key.state = DeclaredState::PendingDeletion;
    let diff_live = diff(
        "dev",
        std::slice::from_ref(&key),
        &observed(vec![live(&key, "k-1")]),
    );
    assert_eq!(
        addresses(&diff_live),
        ["kms_key.db-payments-encryption ScheduleDeletion"]
    );
    assert_eq!(
        diff_live.changes[0].operations[0]["pending_window_in_days"],
        json!(30)
    );

    let mut pending = live(&key, "k-1");
    pending.state = "PendingDeletion".into();
    assert!(
        diff("dev", std::slice::from_ref(&key), &observed(vec![pending]))
            .changes
            .is_empty()
    );

    let gone = diff("dev", std::slice::from_ref(&key), &Observation::default());
    assert!(gone.changes.is_empty());
    assert!(gone.notes[0].message.contains("remove its [[key]] entry"));
}

#[test]
fn two_live_keys_with_one_id_are_refused() {
    let key = desired();
    let (mut a, mut b) = (live(&key, "k-1"), live(&key, "k-2"));
    a.aliases.clear();
    b.aliases.clear();
    let diff = diff("dev", std::slice::from_ref(&key), &observed(vec![a, b]));
    assert_eq!(diff.findings[0].rule, "duplicate-key");
    assert!(diff.findings[0].message.contains("k-1, k-2"));
}

#[test]
fn an_alias_held_by_a_foreign_key_is_not_moved() {
    let mut key = desired();
    key.extra_aliases.push("alias/shared".into());
    let ours = live(&key, "k-1");
    let mut foreign = live(&key, "k-9");
    foreign.tags.clear();
    foreign.aliases = vec!["alias/shared".into()];
    let mut ours_without_shared = ours;
    ours_without_shared.aliases = vec![key.alias.clone()];
    let diff = diff(
        "dev",
        std::slice::from_ref(&key),
        &observed(vec![ours_without_shared, foreign]),
    );
    assert_eq!(diff.findings[0].rule, "alias-taken");
}

#[test]
fn tags_and_rotation_drift_are_changes() {
    let key = desired();
    let mut drifted = live(&key, "k-1");
    drifted.tags.remove("Environment");
    drifted.tags.insert("Extra".into(), "x".into());
    drifted.rotation_enabled = Some(false);
    let diff = diff("dev", std::slice::from_ref(&key), &observed(vec![drifted]));
    assert_eq!(
        addresses(&diff),
        [
            "kms_key.db-payments-encryption Update",
            "kms_key_rotation.db-payments-encryption Update"
        ]
    );
    let ops: Vec<_> = diff.changes[0]
        .operations
        .iter()
        .map(|o| o["op"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ops, ["TagResource", "UntagResource"]);
    assert_eq!(
        diff.changes[1].depends_on,
        vec![diff.changes[0].address.clone()]
    );
}

#[test]
fn orphans_are_reported_not_deleted() {
    let key = desired();
    let mut orphan = live(&key, "k-7");
    orphan.aliases.clear();
    orphan.tags.insert(TAG_ID.into(), "dev/old/thing/x".into());
    let diff = diff("dev", &[], &observed(vec![orphan]));
    assert!(diff.changes.is_empty());
    assert!(diff.notes[0].message.contains("orphaned key k-7"));
}

/// The emulator never reports a rotation period, so this runs a plan on the real SDK clients with
/// stubbed AWS answers of the real shape (`RotationPeriodInDays` present). It also counts the
/// calls: tags come in bulk from the tagging API, and only the key about to change has its tags
/// read again, consistently.
#[tokio::test]
async fn a_reported_rotation_period_is_compared_through_the_sdk() {
    use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
    use aws_sdk_kms::operation::get_key_policy::GetKeyPolicyOutput;
    use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;
    use aws_sdk_kms::operation::list_aliases::ListAliasesOutput;
    use aws_sdk_kms::operation::list_keys::ListKeysOutput;
    use aws_sdk_kms::operation::list_resource_tags::ListResourceTagsOutput;
    use aws_sdk_kms::types::{
        AliasListEntry, KeyListEntry, KeyMetadata, KeySpec, KeyState, KeyUsageType, OriginType, Tag,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    let mut key = desired();
    key.rotation = Some(DesiredRotation {
        enabled: true,
        period_days: 180,
    });
    let tags: Vec<Tag> = key
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().expect("tag"))
        .collect();
    let alias = key.alias.clone();
    let aliases = mock!(aws_sdk_kms::Client::list_aliases).then_output(move || {
        ListAliasesOutput::builder()
            .aliases(
                AliasListEntry::builder()
                    .alias_name(alias.clone())
                    .target_key_id("k-1")
                    .build(),
            )
            .build()
    });
    let keys = mock!(aws_sdk_kms::Client::list_keys).then_output(|| {
        ListKeysOutput::builder()
            .keys(KeyListEntry::builder().key_id("k-1").build())
            .build()
    });
    let tag_list = mock!(aws_sdk_kms::Client::list_resource_tags).then_output(move || {
        ListResourceTagsOutput::builder()
            .set_tags(Some(tags.clone()))
            .build()
    });
    let description = key.description.clone();
    let describe = mock!(aws_sdk_kms::Client::describe_key).then_output(move || {
        let metadata = KeyMetadata::builder()
            .key_id("k-1")
            .arn("arn:aws:kms:us-east-1:111111111111:key/k-1")
            .description(description.clone())
            .key_state(KeyState::Enabled)
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .origin(OriginType::AwsKms)
            .multi_region(false)
            .build()
            .expect("metadata");
        DescribeKeyOutput::builder().key_metadata(metadata).build()
    });
    let policy = mock!(aws_sdk_kms::Client::get_key_policy).then_output(|| {
        GetKeyPolicyOutput::builder()
            .policy(POLICY)
            .policy_name("default")
            .build()
    });
    let rotation = mock!(aws_sdk_kms::Client::get_key_rotation_status).then_output(|| {
        GetKeyRotationStatusOutput::builder()
            .key_rotation_enabled(true)
            .rotation_period_in_days(365)
            .key_id("k-1")
            .build()
    });
    let bulk_tags: Vec<aws_sdk_resourcegroupstagging::types::Tag> = key
        .tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_resourcegroupstagging::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("tag")
        })
        .collect();
    let get_resources =
        mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(move || {
            let mapping = aws_sdk_resourcegroupstagging::types::ResourceTagMapping::builder()
                .resource_arn("arn:aws:kms:us-east-1:111111111111:key/k-1")
                .set_tags(Some(bulk_tags.clone()))
                .build();
            aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput::builder()
                .resource_tag_mapping_list(mapping)
                .build()
        });
    let kms = mock_client!(
        aws_sdk_kms,
        RuleMode::MatchAny,
        [&aliases, &keys, &tag_list, &describe, &policy, &rotation]
    );
    let tagging = mock_client!(
        aws_sdk_resourcegroupstagging,
        RuleMode::MatchAny,
        [&get_resources]
    );
    let clients = kmsctl_aws::KmsClients::from_clients(kms, tagging);

    let (_, observation, diff) = crate::plan(&clients, "dev", std::slice::from_ref(&key), 4)
        .await
        .expect("planned");
    assert_eq!(observation.keys["k-1"].rotation_period_days, Some(365));
    let calls = [
        get_resources.num_calls(),
        aliases.num_calls(),
        describe.num_calls(),
        policy.num_calls(),
        rotation.num_calls(),
        keys.num_calls(),
        tag_list.num_calls(),
    ];
    // Bulk tags, three reads for the key, no ListKeys scan, one consistent tag read to confirm.
    assert_eq!(calls, [1, 1, 1, 1, 1, 0, 1]);

    assert_eq!(
        addresses(&diff),
        ["kms_key_rotation.db-payments-encryption Update"]
    );
    assert_eq!(
        diff.changes[0].operations[0]["op"],
        json!("EnableKeyRotation")
    );
    assert_eq!(
        diff.changes[0].operations[0]["rotation_period_in_days"],
        json!(180)
    );
}

#[test]
fn the_rotation_call_made_is_the_one_compare_names() {
    use crate::rotation::{self, LiveRotation};
    let lives = [
        None,
        Some(LiveRotation {
            enabled: false,
            period_days: None,
        }),
        Some(LiveRotation {
            enabled: true,
            period_days: Some(365),
        }),
    ];
    for (enabled, period_days) in [(true, 180), (true, 365), (false, 365)] {
        let wanted = DesiredRotation {
            enabled,
            period_days,
        };
        for live in lives {
            let mut key = desired();
            key.rotation = Some(wanted.clone());
            let handle = KeyHandle::Existing("k-1".into());
            let made = rotation::diff(&key, live, &handle, None, &mut vec![])
                .map(|c| c.operations[0].name().map(str::to_owned));
            // A new key starts with rotation off: no call then, though compare names one.
            let named = rotation::compare(&wanted, live)
                .0
                .filter(|_| live.is_some() || enabled)
                .map(|(_, name)| Some(name.to_owned()));
            assert_eq!(
                made, named,
                "enabled {enabled}, {period_days} days, live {live:?}"
            );
        }
    }
}

#[test]
fn a_declared_key_the_deployer_cannot_read_is_refused_and_never_created_again() {
    let key = desired();
    let mut observation = observed(vec![]);
    // The tagging API lists the key with its kmsctl:id; DescribeKey answered AccessDenied.
    observation.unreadable.insert(
        "k-locked".into(),
        "kms:DescribeKey failed: AccessDeniedException: not authorized".into(),
    );
    observation
        .unreadable_ids
        .insert(key.id.clone(), "k-locked".into());
    let out = diff("dev", std::slice::from_ref(&key), &observation);
    assert!(addresses(&out).is_empty(), "{:?}", addresses(&out));
    let [finding] = out.findings.as_slice() else {
        panic!("one finding: {:?}", out.findings)
    };
    assert_eq!(finding.rule, "key-unreadable");
    assert!(finding.message.contains("k-locked"), "{}", finding.message);
    assert!(
        finding.message.contains("AccessDeniedException"),
        "{}",
        finding.message
    );
}

#[test]
fn an_alias_on_the_successor_of_an_unfinished_rotation_says_how_to_finish_it() {
    let key = desired();
    let mut successor = live(&key, "k-new");
    successor.tags.insert(
        crate::desired::TAG_ID.into(),
        crate::manual_rotation::successor_id(&key.id, "k-old"),
    );
    let out = diff(
        "dev",
        std::slice::from_ref(&key),
        &observed(vec![successor]),
    );
    let [finding] = out.findings.as_slice() else {
        panic!("one finding: {:?}", out.findings)
    };
    assert_eq!(finding.rule, "alias-conflict");
    assert!(
        finding.message.contains("did not finish"),
        "{}",
        finding.message
    );
    assert!(
        finding
            .fix
            .contains(&format!("kmsctl rotate env/dev {}", key.alias)),
        "{}",
        finding.fix
    );
}

#[test]
fn an_unreadable_key_names_awss_words_and_the_deny_statements_that_could_block_it() {
    let mut key = desired();
    let text = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"},
  {"Sid":"OnlyFromOffice","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*",
   "Condition":{"NotIpAddressIfExists":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#;
    let document = policy::parse(text).expect("policy");
    key.policy = DesiredPolicy::new(Some("policies/kms/app.json".into()), text.into(), &document);
    let mut observation = observed(vec![]);
    observation
        .aliases
        .insert(key.alias.clone(), Some("1234".into()));
    observation.unreadable.insert(
        "1234".into(),
        "kms:DescribeKey: AccessDeniedException: User is not authorized".into(),
    );
    let out = diff("dev", &[key], &observation);
    let finding = out
        .findings
        .iter()
        .find(|f| f.rule == "key-unreadable")
        .expect("key-unreadable");
    assert!(
        finding
            .message
            .contains("AWS said: kms:DescribeKey: AccessDeniedException: User is not authorized"),
        "{}",
        finding.message
    );
    assert!(
        finding
            .message
            .contains("\"OnlyFromOffice\" (policies/kms/app.json:3)"),
        "{}",
        finding.message
    );
    assert!(finding.fix.contains("Lockout recovery"), "{}", finding.fix);
}

#[test]
fn findings_name_the_live_key_by_its_aliases_and_arn() {
    let key = desired();
    let mut foreign = live(&key, "k-9");
    foreign.tags.clear();
    foreign.aliases.push("alias/a-second-name".into());
    let observation = observed(vec![foreign]);
    let refused = diff("dev", std::slice::from_ref(&key), &observation);
    let named = refused.findings[0].key.clone().expect("the key");
    assert_eq!(named.key_id, "k-9");
    assert_eq!(
        named.arn.as_deref(),
        Some("arn:aws:kms:us-east-1:111111111111:key/k-9")
    );
    assert_eq!(
        named.aliases,
        ["alias/a-second-name", "alias/dev-db-payments-encryption"]
    );

    // Drift findings: by any of the key's addresses, its id or ARN; an unmanaged key by what
    // its finding's evidence says.
    let managed = observed(vec![live(&key, "k-1")]);
    let account = Location::at_line("environments/dev/environment.toml", 3);
    let rules = kmsctl_core::environment::Rules::default();
    let keys = [key];
    let desired = crate::DesiredKeys {
        environment: "dev",
        account_id: "111111111111",
        account_location: &account,
        rules: &rules,
        keys: &keys,
    };
    let none = BTreeMap::new();
    for resource in [
        "kms_key.db-payments-encryption",
        "kms_key_rotation.db-payments-encryption",
        "kms_alias.alias/dev-db-payments-encryption",
        "k-1",
        "arn:aws:kms:us-east-1:111111111111:key/k-1",
    ] {
        let found = crate::identity::key_of(&desired, &managed, resource, &none);
        assert_eq!(
            found.map(|k| k.key_id),
            Some("k-1".to_owned()),
            "{resource}"
        );
    }
    assert_eq!(
        crate::identity::key_of(&desired, &managed, "config_rule.x", &none),
        None
    );
    let unmanaged = crate::identity::key_of(
        &desired,
        &managed,
        "arn:aws:kms:us-east-1:111111111111:key/k-7",
        &BTreeMap::from([
            ("key_id".to_owned(), json!("k-7")),
            ("aliases".to_owned(), json!(["alias/by-hand"])),
        ]),
    )
    .expect("from the evidence");
    assert_eq!(
        unmanaged.label("arn:aws:kms:us-east-1:111111111111:key/k-7"),
        "arn:aws:kms:us-east-1:111111111111:key/k-7 (alias/by-hand)"
    );
}

#[test]
fn a_key_id_and_an_alias_naming_different_keys_are_refused_not_guessed() {
    let mut key = desired();
    key.adopt = true;
    key.adopt_key_id = Some("k1".into());
    let mut by_alias = live(&key, "k2");
    by_alias.tags.clear();
    let mut by_id = live(&key, "k1");
    by_id.tags.clear();
    by_id.aliases.clear();
    let out = diff(
        "dev",
        &[key.clone()],
        &observed(vec![by_alias, by_id.clone()]),
    );
    assert!(out.changes.is_empty(), "{:?}", addresses(&out));
    let refused = out
        .findings
        .iter()
        .find(|f| f.rule == "adopt-key-id")
        .expect("refused");
    assert!(
        refused.message.contains("k1") && refused.message.contains("k2"),
        "{}",
        refused.message
    );
    // Without the alias in the way, the key is adopted by its id.
    let out = diff("dev", &[key], &observed(vec![by_id]));
    assert!(out.findings.is_empty(), "{:?}", out.findings);
    assert!(
        addresses(&out).iter().any(|a| a.starts_with("kms_key.")),
        "{:?}",
        addresses(&out)
    );
}

#[test]
fn two_declarations_adopting_one_key_id_are_refused_offline() {
    let mut first = desired();
    first.adopt = true;
    first.adopt_key_id = Some("k1".into());
    let mut second = first.clone();
    second.id = "dev/other/team/x".into();
    second.name = "other-team-x".into();
    second.alias = "alias/dev-other-team-x".into();
    let findings = crate::guards::check(
        "dev",
        &kmsctl_core::environment::Rules::default(),
        &[first, second],
    );
    assert!(
        findings.iter().any(|f| f.rule == "adopt-key-id"),
        "{findings:#?}"
    );
}

/// The key declared with `policy`: the root delegation plus these statements.
fn with_policy(statements: serde_json::Value) -> DesiredKey {
    let mut all = vec![json!({"Sid": "Root", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"})];
    all.extend(statements.as_array().cloned().unwrap_or_default());
    let text = json!({"Version": "2012-10-17", "Statement": all}).to_string();
    let mut key = desired();
    key.policy = DesiredPolicy::new(None, text.clone(), &policy::parse(&text).expect("valid"));
    key
}

/// Dual control's view of each change of the diff, through the domain contract.
fn sensitive(
    keys: &[DesiredKey],
    observation: &Observation,
) -> Vec<kmsctl_core::approval::Sensitive> {
    use kmsctl_core::domain::Domain;
    let rules = kmsctl_core::environment::Rules::default();
    let location = Location::at_line("environments/dev/environment.toml", 1);
    let desired = crate::DesiredKeys {
        environment: "dev",
        account_id: "111111111111",
        account_location: &location,
        rules: &rules,
        keys,
    };
    let out = diff("dev", keys, observation);
    out.changes
        .iter()
        .flat_map(|change| crate::Keys::sensitive(&desired, observation, change))
        .collect()
}

#[test]
fn a_key_policy_that_lets_someone_new_in_needs_approval_once_per_change() {
    let key = with_policy(json!([{"Sid": "Reader", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::222222222222:role/reader"},
        "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}]));
    let found = sensitive(
        std::slice::from_ref(&key),
        &observed(vec![live(&desired(), "k-1")]),
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].address.to_string(),
        "kms_key_policy.db-payments-encryption"
    );
    assert_eq!(
        found[0].kind,
        kmsctl_core::approval::ApprovalKind::KeyPolicyWidening
    );
    assert_eq!(
        found[0].reason,
        "arn:aws:iam::222222222222:role/reader gains kms:Decrypt, kms:DescribeKey"
    );
}

#[test]
fn a_reason_names_three_gains_and_counts_the_rest() {
    let key = with_policy(json!([{"Sid": "Partner", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::222222222222:role/partner"},
        "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom"],
        "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]));
    let found = sensitive(
        std::slice::from_ref(&key),
        &observed(vec![live(&desired(), "k-1")]),
    );
    assert_eq!(
        found[0].reason,
        "arn:aws:iam::222222222222:role/partner gains kms:Decrypt, kms:Encrypt, kms:GenerateDataKey when kms:ViaService=s3.us-east-1.amazonaws.com; and 1 more"
    );
}

#[test]
fn narrowing_a_key_policy_or_creating_a_key_needs_no_approval() {
    let reader = json!([{"Sid": "Reader", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::222222222222:role/reader"},
        "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}]);
    let mut wide = live(&desired(), "k-1");
    wide.policy = Some(with_policy(reader.clone()).policy.text);
    let narrow = desired();
    let observation = observed(vec![wide]);
    assert!(
        addresses(&diff("dev", std::slice::from_ref(&narrow), &observation))
            .contains(&"kms_key_policy.db-payments-encryption Update".to_owned())
    );
    assert_eq!(sensitive(&[narrow], &observation), []);
    let new = with_policy(reader);
    assert_eq!(sensitive(&[new], &Observation::default()), []);
}

#[test]
fn adopting_a_key_compares_with_its_live_policy() {
    let mut key = with_policy(json!([{"Sid": "Reader", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::222222222222:role/reader"},
        "Action": "kms:Decrypt", "Resource": "*"}]));
    key.adopt = true;
    let mut foreign = live(&desired(), "k-9");
    foreign.tags.clear();
    let found = sensitive(std::slice::from_ref(&key), &observed(vec![foreign.clone()]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].reason.contains("role/reader gains kms:Decrypt"));
    // Adopted as it is: nothing to approve.
    let mut same = desired();
    same.adopt = true;
    assert_eq!(sensitive(&[same], &observed(vec![foreign])), []);
}

#[test]
fn a_live_policy_that_cannot_be_parsed_counts_as_widening() {
    let mut broken = live(&desired(), "k-1");
    broken.policy = Some("{not json".into());
    let found = sensitive(&[desired()], &observed(vec![broken]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .reason
            .starts_with("the key policy could not be compared"),
        "{}",
        found[0].reason
    );
}
