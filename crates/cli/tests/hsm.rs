//! `plan` and `rotate` of a CloudHSM-backed environment through the CLI's library entry points
//! (`make_with`, `rotate_with`) with stubbed clients: the emulator serves no CreateHsm,
//! InitializeCluster or custom key store call (`kmsctl_hsm::testing` stands in for them), and
//! the key store keys' calls are checked on stubbed KMS clients.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_kms::operation::create_key::CreateKeyOutput;
use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
use aws_sdk_kms::operation::list_aliases::ListAliasesOutput;
use aws_sdk_kms::operation::list_keys::ListKeysOutput;
use aws_sdk_kms::operation::tag_resource::TagResourceOutput;
use aws_sdk_kms::operation::untag_resource::UntagResourceOutput;
use aws_sdk_kms::operation::update_alias::UpdateAliasOutput;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType, OriginType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use kmsctl::commands::Context;
use kmsctl::exit::Exit;
use kmsctl::render::plan as render_plan;
use kmsctl::render::style::Style;
use kmsctl_engine::plan::{EnvClients, make_with, make_with_evidence};
use kmsctl_engine::prepare::prepare;
use kmsctl_engine::project::Project;
use kmsctl_engine::target::Planned;
use kmsctl_hsm::testing::FakeAws;

const SUBNETS: [(&str, &str); 2] = [
    ("subnet-0aaa1111bbbb2222c", "us-east-1a"),
    ("subnet-0ddd3333eeee4444f", "us-east-1b"),
];
const ALIAS: &str = "alias/prod-hsm-db-payments-encryption";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

/// A project holding the shipped `examples/prod-hsm` as `environments/prod-hsm`.
fn project() -> (tempfile::TempDir, Context) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo.join("policies"), &dir.path().join("policies"));
    copy_dir(
        &repo.join("examples/prod-hsm"),
        &dir.path().join("environments/prod-hsm"),
    );
    let root = dir.path().to_string_lossy().into_owned();
    let cli = kmsctl::cli::Cli::parse_args([
        "kmsctl",
        "--root",
        &root,
        "--no-color",
        "plan",
        "env/prod-hsm",
    ])
    .expect("arguments");
    let project = Project::discover(Some(dir.path())).expect("project");
    let mut ctx = Context::new(project, &cli.global);
    ctx.style = Style { color: false };
    (dir, ctx)
}

/// KMS for the keys domain: an account without keys or aliases, plus `extra` rules.
fn kms(extra: &[&aws_smithy_mocks::Rule]) -> kmsctl_keys::KmsClients {
    let keys =
        mock!(aws_sdk_kms::Client::list_keys).then_output(|| ListKeysOutput::builder().build());
    kms_with(keys, extra)
}

/// KMS clients whose ListKeys answers as `keys` does, plus `extra` rules.
fn kms_with(
    keys: aws_smithy_mocks::Rule,
    extra: &[&aws_smithy_mocks::Rule],
) -> kmsctl_keys::KmsClients {
    let aliases = mock!(aws_sdk_kms::Client::list_aliases)
        .then_output(|| ListAliasesOutput::builder().build());
    let mut rules = vec![&aliases, &keys];
    rules.extend_from_slice(extra);
    let kms = mock_client!(aws_sdk_kms, RuleMode::MatchAny, rules);
    let resources = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(|| {
        aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput::builder()
            .build()
    });
    let tagging = mock_client!(
        aws_sdk_resourcegroupstagging,
        RuleMode::MatchAny,
        [&resources]
    );
    kmsctl_keys::KmsClients::from_clients(kms, tagging)
}

/// Monitoring: nothing declared, nothing there.
fn monitor() -> kmsctl_monitor::Clients {
    let recorders = mock!(aws_sdk_config::Client::describe_configuration_recorders).then_output(|| {
        aws_sdk_config::operation::describe_configuration_recorders::DescribeConfigurationRecordersOutput::builder().build()
    });
    let rules = mock!(aws_sdk_config::Client::describe_config_rules).then_output(|| {
        aws_sdk_config::operation::describe_config_rules::DescribeConfigRulesOutput::builder()
            .build()
    });
    let event_rules = mock!(aws_sdk_eventbridge::Client::list_rules).then_output(|| {
        aws_sdk_eventbridge::operation::list_rules::ListRulesOutput::builder().build()
    });
    kmsctl_monitor::Clients {
        config: mock_client!(aws_sdk_config, RuleMode::MatchAny, [&recorders, &rules]),
        sns: mock_client!(
            aws_sdk_sns,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        ),
        events: mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&event_rules]),
        // No [alerts]: no trail is read.
        cloudtrail: mock_client!(
            aws_sdk_cloudtrail,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        ),
        propagation: kmsctl_aws::Propagation::default(),
    }
}

async fn plan_text(ctx: &Context, fake: &FakeAws) -> (String, kmsctl_core::Plan) {
    let prepared = prepare(ctx, "env/prod-hsm").expect("prepared");
    let clients = EnvClients {
        keys: kms(&[]),
        monitor: monitor(),
        hsm: Some(fake.clients(BTreeMap::new())),
    };
    let Planned::Plan(plan) = make_with(ctx, &prepared, &clients).await.expect("plan") else {
        panic!("the plan was refused");
    };
    let text = render_plan::render(
        &plan,
        &render_plan::Options {
            style: ctx.style,
            verbose: false,
        },
    );
    (text, *plan)
}

#[tokio::test]
async fn the_plan_shows_the_lifecycle_and_stops_at_the_operator_gate() {
    let (_dir, ctx) = project();
    let fake = FakeAws::new(&SUBNETS);
    let (text, plan) = plan_text(&ctx, &fake).await;
    for shown in [
        "hsm_cluster.prod-cloudhsm-cluster will be created",
        "hsm.prod-cloudhsm-cluster/us-east-1a will be created",
        "until UNINITIALIZED",
        "Operator gate",
        "aws cloudhsmv2 initialize-cluster --cluster-id CLUSTER_ID",
        "cloudhsm-cli user create --username kmsuser --role crypto-user",
        "not planned yet: alias/prod-hsm-db-payments-encryption in the key store",
    ] {
        assert!(text.contains(shown), "{shown}\n{text}");
    }
    assert!(
        !text.contains("kms_custom_key_store"),
        "no step past the gate:\n{text}"
    );
    assert!(!text.contains("kms_key.db-payments-encryption"), "{text}");
    assert_eq!(plan.changes.len(), 2);
}

#[tokio::test]
async fn drift_checks_the_cluster_and_the_keys_this_plan_holds_back_until_the_store_is_ready() {
    let (_dir, ctx) = project();
    let fake = FakeAws::new(&SUBNETS);
    let prepared = prepare(&ctx, "env/prod-hsm").expect("prepared");
    let clients = EnvClients {
        keys: kms(&[]),
        monitor: monitor(),
        hsm: Some(fake.clients(BTreeMap::new())),
    };
    let (planned, evidence) = make_with_evidence(&ctx, &prepared, &clients, true)
        .await
        .expect("plan");
    let Planned::Plan(plan) = planned else {
        panic!("the plan was refused");
    };
    // The store's key is not in this plan (no store yet), but drift still checks it.
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| c.address.to_string() == "kms_key.db-payments-encryption")
    );
    let evidence = evidence.expect("drift evidence");
    let checked: Vec<(&str, &str)> = evidence
        .checked
        .iter()
        .map(|c| (c.resource.as_str(), c.control.as_str()))
        .collect();
    for expected in [
        ("hsm_cluster.prod-cloudhsm-cluster", "HSM"),
        ("kms_key.db-payments-encryption", "3.4.1"),
        ("kms_key.db-payments-encryption", "HSM"),
        ("kms_key_policy.db-payments-encryption", "3.2.2"),
    ] {
        assert!(checked.contains(&expected), "{expected:?} in {checked:?}");
    }
    let cluster = evidence
        .checked
        .iter()
        .find(|c| c.resource.starts_with("hsm_cluster."))
        .expect("cluster");
    assert_eq!(
        cluster.evidence["state"],
        serde_json::Value::Null,
        "not made yet"
    );
    assert_eq!(cluster.evidence["hsm_count"], serde_json::json!(2));
    // Without drift, nothing more than the plan is gathered.
    let (_, none) = make_with_evidence(&ctx, &prepared, &clients, false)
        .await
        .expect("plan");
    assert!(none.is_none());
}

#[tokio::test]
async fn with_the_cluster_initialized_it_plans_hsms_store_connect_and_the_stores_keys() {
    let (_dir, ctx) = project();
    let fake = FakeAws::new(&SUBNETS);
    // Earlier applies made the cluster and its first HSM; the operator passed the gate.
    {
        let (_, first) = plan_text(&ctx, &fake).await;
        let clients = fake.clients(BTreeMap::new());
        let mut outputs = kmsctl_core::Outputs::new();
        for index in first.apply_order().expect("order") {
            let change = &first.changes[index];
            let produced = kmsctl_hsm::apply_change(&clients, change, &outputs)
                .await
                .expect("apply");
            outputs.insert(change.address.clone(), produced);
        }
        fake.operator_initializes_and_activates();
    }
    let (text, plan) = plan_text(&ctx, &fake).await;
    let order: Vec<String> = plan
        .apply_order()
        .expect("order")
        .into_iter()
        .map(|i| plan.changes[i].address.to_string())
        .collect();
    let position = |address: &str| {
        order
            .iter()
            .position(|a| a == address)
            .unwrap_or_else(|| panic!("{address} missing:\n{text}"))
    };
    let hsm = position("hsm.prod-cloudhsm-cluster/us-east-1b");
    let store = position("kms_custom_key_store.prod-hsm-store");
    let connect = position("kms_custom_key_store_connection.prod-hsm-store");
    let key = position("kms_key.db-payments-encryption");
    let alias = position(&format!("kms_alias.{ALIAS}"));
    assert!(
        hsm < store && store < connect && connect < key && key < alias,
        "{order:?}"
    );
    for shown in [
        "custom_key_store",
        "AWS_CLOUDHSM",
        "read from $KMSCTL_HSM_PASSWORD at apply",
    ] {
        assert!(text.contains(shown), "{shown}\n{text}");
    }
    assert!(!text.contains("Operator gate"), "{text}");
    // The key's CreateKey names the store through the connection's output.
    let create = plan
        .changes
        .iter()
        .find(|c| c.address.to_string() == "kms_key.db-payments-encryption")
        .expect("key");
    assert_eq!(
        create.operations[0]["custom_key_store_id"],
        serde_json::json!({"$ref": "kms_custom_key_store_connection.prod-hsm-store#id"})
    );
}

#[tokio::test]
async fn rotate_makes_a_key_in_the_store_moves_the_alias_and_keeps_the_old_key() {
    let (calls, kms) = rotate(Before::Nothing).await;
    assert_eq!(calls, rotation_calls(1));
    assert_rotated(&kms, &time_today());
}

/// The CreateKey answer is lost after KMS made the key. The look-up finds the new key by the
/// identity it was made with, never the old key (which still carries the declared kmsctl:id
/// while both exist): the aliases move to the new key and the old one is kept.
#[tokio::test]
async fn rotate_with_a_lost_create_key_answer_moves_the_aliases_to_the_new_key() {
    let (calls, kms) = rotate(Before::LoseFirstCreateAnswer).await;
    assert_eq!(calls, rotation_calls(1));
    assert_rotated(&kms, &time_today());
}

/// An earlier rotate stopped after CreateKey: the alias is still on the old key and a key
/// carrying the successor identity exists. Run again, rotate takes that key (no second
/// CreateKey), moves the alias to it and finishes.
#[tokio::test]
async fn rotate_after_a_rotation_stopped_past_create_key_reuses_the_successor() {
    let (calls, kms) = rotate(Before::Created).await;
    let mut expected = vec![format!("UpdateAlias {ALIAS} -> new-key")];
    expected.extend(finishing_calls());
    assert_eq!(calls, expected);
    assert_rotated(&kms, &time_today());
}

/// An earlier rotate stopped after the aliases moved: the alias points to the successor, which
/// still carries its fresh identity, and the old key still carries the declared id. Run again,
/// rotate only tags the old key, moves the id and makes nothing else.
#[tokio::test]
async fn rotate_after_the_aliases_moved_only_finishes_the_rotation() {
    let (calls, kms) = rotate(Before::AliasesMoved).await;
    assert_eq!(calls, finishing_calls());
    assert_rotated(&kms, &time_today());
}

/// An earlier rotate stopped after the old key gave up the id: only the successor's tag is
/// left, and the old key keeps the date it was rotated on.
#[tokio::test]
async fn rotate_after_the_old_key_gave_up_its_id_only_tags_the_successor() {
    let (calls, kms) = rotate(Before::OldKeyUntagged).await;
    assert_eq!(
        calls,
        ["TagResource new-key kmsctl:id=prod-hsm/db/payments/encryption"]
    );
    assert_rotated(&kms, "2020-01-31");
}

const DECLARED_ID: &str = "prod-hsm/db/payments/encryption";
const SUCCESSOR_ID: &str = "prod-hsm/db/payments/encryption+successor-of-old-key";

/// The writes that finish a rotation of old-key into new-key.
fn finishing_calls() -> Vec<String> {
    vec![
        format!(
            "TagResource old-key kmsctl:rotated-at={},kmsctl:superseded-by=new-key",
            time_today()
        ),
        "UntagResource old-key kmsctl:id".to_owned(),
        format!("TagResource new-key kmsctl:id={DECLARED_ID}"),
    ]
}

/// What a rotation of the prod-hsm key calls, with `creates` CreateKey calls.
fn rotation_calls(creates: usize) -> Vec<String> {
    let mut calls =
        vec![
            format!("CreateKey origin=AWS_CLOUDHSM store=cks-1234 id={SUCCESSOR_ID} policy=true");
            creates
        ];
    calls.push(format!("UpdateAlias {ALIAS} -> new-key"));
    calls.extend(finishing_calls());
    calls
}

/// Where an earlier `kmsctl rotate` stopped, if one ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    /// No rotation started.
    Nothing,
    /// No rotation started; KMS makes the key but its CreateKey answer is lost.
    LoseFirstCreateAnswer,
    /// After CreateKey: the successor exists, the alias is on the old key.
    Created,
    /// After the aliases moved: the old key still carries the declared id.
    AliasesMoved,
    /// After the old key was tagged and gave up the declared id.
    OldKeyUntagged,
}

/// The stubbed account: each key's tags, where the alias points, and the writes made.
#[derive(Debug, Default)]
struct Account {
    tags: BTreeMap<String, BTreeMap<String, String>>,
    alias_target: String,
    calls: Vec<String>,
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// After a finished rotation: the alias on new-key, which carries the declared id; old-key
/// tagged rotated out on `rotated_at`, superseded by new-key, and without the id.
fn assert_rotated(kms: &Account, rotated_at: &str) {
    assert_eq!(kms.alias_target, "new-key");
    assert_eq!(
        kms.tags["old-key"],
        tags(&[
            ("kmsctl:managed", "true"),
            ("kmsctl:rotated-at", rotated_at),
            ("kmsctl:superseded-by", "new-key"),
        ])
    );
    assert_eq!(
        kms.tags["new-key"].get("kmsctl:id").map(String::as_str),
        Some(DECLARED_ID)
    );
    assert_eq!(kms.tags.len(), 2, "{:?}", kms.tags);
}

fn key_metadata(key_id: &str) -> KeyMetadata {
    KeyMetadata::builder()
        .key_id(key_id)
        .arn(format!("arn:aws:kms:us-east-1:222222222222:key/{key_id}"))
        .key_state(KeyState::Enabled)
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .origin(OriginType::AwsCloudhsm)
        .custom_key_store_id("cks-1234")
        .build()
        .expect("metadata")
}

/// Runs `kmsctl rotate` on stubbed clients whose KMS keeps the keys' tags and the alias as the
/// writes leave them; returns the KMS writes made, in order, and the account after.
async fn rotate(before: Before) -> (Vec<String>, Account) {
    let (_dir, ctx) = project();
    let fake = FakeAws::new(&SUBNETS);
    fake.state().stores.push(kmsctl_hsm::testing::FakeStore {
        id: "cks-1234".into(),
        name: "prod-hsm-store".into(),
        cluster_id: "cluster-1".into(),
        state: "CONNECTED".into(),
        error: None,
        trust_anchor: String::new(),
    });
    let mut account = Account {
        alias_target: "old-key".into(),
        ..Account::default()
    };
    let managed = ("kmsctl:managed", "true");
    account.tags.insert(
        "old-key".into(),
        tags(&[managed, ("kmsctl:id", DECLARED_ID)]),
    );
    if matches!(
        before,
        Before::Created | Before::AliasesMoved | Before::OldKeyUntagged
    ) {
        account.tags.insert(
            "new-key".into(),
            tags(&[managed, ("kmsctl:id", SUCCESSOR_ID)]),
        );
    }
    if matches!(before, Before::AliasesMoved | Before::OldKeyUntagged) {
        account.alias_target = "new-key".into();
    }
    if before == Before::OldKeyUntagged {
        account.tags.insert(
            "old-key".into(),
            tags(&[
                managed,
                ("kmsctl:rotated-at", "2020-01-31"),
                ("kmsctl:superseded-by", "new-key"),
            ]),
        );
    }
    let account = Arc::new(Mutex::new(account));
    let state = account.clone();
    let describe = mock!(aws_sdk_kms::Client::describe_key).then_compute_output(move |input| {
        let state = state.lock().expect("account");
        let key_id = match input.key_id() {
            Some(ALIAS) => state.alias_target.clone(),
            other => other.unwrap_or_default().to_owned(),
        };
        assert!(state.tags.contains_key(&key_id), "DescribeKey {key_id}");
        DescribeKeyOutput::builder()
            .key_metadata(key_metadata(&key_id))
            .build()
    });
    let state = account.clone();
    let list_keys = mock!(aws_sdk_kms::Client::list_keys).then_compute_output(move |_| {
        ListKeysOutput::builder()
            .set_keys(Some(
                state
                    .lock()
                    .expect("account")
                    .tags
                    .keys()
                    .map(|id| {
                        aws_sdk_kms::types::KeyListEntry::builder()
                            .key_id(id)
                            .key_arn(format!("arn:aws:kms:us-east-1:222222222222:key/{id}"))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    });
    let state = account.clone();
    let list_tags =
        mock!(aws_sdk_kms::Client::list_resource_tags).then_compute_output(move |input| {
            let state = state.lock().expect("account");
            let key_id = input.key_id().unwrap_or_default();
            let tags = state
                .tags
                .get(key_id)
                .unwrap_or_else(|| panic!("ListResourceTags {key_id}"));
            aws_sdk_kms::operation::list_resource_tags::ListResourceTagsOutput::builder()
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| {
                            aws_sdk_kms::types::Tag::builder()
                                .tag_key(k)
                                .tag_value(v)
                                .build()
                                .expect("tag")
                        })
                        .collect(),
                ))
                .build()
        });
    let state = account.clone();
    let lost = std::sync::atomic::AtomicBool::new(before == Before::LoseFirstCreateAnswer);
    let create = mock!(aws_sdk_kms::Client::create_key).then_compute_response(move |input| {
        let tags: BTreeMap<String, String> = input
            .tags()
            .iter()
            .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
            .collect();
        let mut state = state.lock().expect("account");
        state.calls.push(format!(
            "CreateKey origin={} store={} id={} policy={}",
            input.origin().map_or("", |o| o.as_str()),
            input.custom_key_store_id().unwrap_or(""),
            tags.get("kmsctl:id").map_or("", String::as_str),
            input
                .policy()
                .is_some_and(|p| p.contains("Allow RDS Service to Use the Key")),
        ));
        assert!(
            !state.tags.contains_key("new-key"),
            "a second successor is made"
        );
        state.tags.insert("new-key".into(), tags);
        if lost.swap(false, std::sync::atomic::Ordering::SeqCst) {
            // KMS made the key; the caller sees an internal failure.
            return aws_smithy_mocks::MockResponse::Http(
                aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(500).expect("500"),
                    aws_smithy_types::body::SdkBody::from(
                        r#"{"__type":"KMSInternalException","message":"lost"}"#,
                    ),
                ),
            );
        }
        aws_smithy_mocks::MockResponse::Output(
            CreateKeyOutput::builder()
                .key_metadata(key_metadata("new-key"))
                .build(),
        )
    });
    let state = account.clone();
    let update_alias = mock!(aws_sdk_kms::Client::update_alias).then_compute_output(move |input| {
        let mut state = state.lock().expect("account");
        let target = input.target_key_id().unwrap_or_default().to_owned();
        state.calls.push(format!(
            "UpdateAlias {} -> {target}",
            input.alias_name().unwrap_or("")
        ));
        assert_eq!(input.alias_name(), Some(ALIAS));
        state.alias_target = target;
        UpdateAliasOutput::builder().build()
    });
    let state = account.clone();
    let tag = mock!(aws_sdk_kms::Client::tag_resource).then_compute_output(move |input| {
        let mut state = state.lock().expect("account");
        let key_id = input.key_id().unwrap_or_default().to_owned();
        let tags: Vec<String> = input
            .tags()
            .iter()
            .map(|t| format!("{}={}", t.tag_key(), t.tag_value()))
            .collect();
        state
            .calls
            .push(format!("TagResource {key_id} {}", tags.join(",")));
        let key = state.tags.get_mut(&key_id).expect("tagged key exists");
        for t in input.tags() {
            key.insert(t.tag_key().to_owned(), t.tag_value().to_owned());
        }
        TagResourceOutput::builder().build()
    });
    let state = account.clone();
    let untag = mock!(aws_sdk_kms::Client::untag_resource).then_compute_output(move |input| {
        let mut state = state.lock().expect("account");
        let key_id = input.key_id().unwrap_or_default().to_owned();
        state.calls.push(format!(
            "UntagResource {key_id} {}",
            input.tag_keys().join(",")
        ));
        let key = state.tags.get_mut(&key_id).expect("untagged key exists");
        for tag_key in input.tag_keys() {
            key.remove(tag_key);
        }
        UntagResourceOutput::builder().build()
    });
    let clients = EnvClients {
        keys: kms_with(
            list_keys,
            &[&describe, &create, &update_alias, &tag, &untag, &list_tags],
        ),
        monitor: monitor(),
        hsm: Some(fake.clients(BTreeMap::new())),
    };
    let prepared = prepare(&ctx, "env/prod-hsm").expect("prepared");
    let exit = kmsctl::commands::rotate::rotate_with(&ctx, &prepared, ALIAS, clients, true)
        .await
        .expect("rotates");
    assert_eq!(exit, Exit::Ok);
    let account = std::mem::take(&mut *account.lock().expect("account"));
    (account.calls.clone(), account)
}

#[tokio::test]
async fn rotate_refuses_a_key_aws_rotates_itself() {
    let (dir, ctx) = project();
    std::fs::write(
        dir.path().join("environments/prod-hsm/more.toml"),
        "[[key]]\nfunction = \"app\"\nteam = \"orders\"\npurpose = \"data\"\npolicy = \"prod-payment-policy.json\"\n\
         [key.tags]\nBU = \"x\"\nBusinessOwner = \"x\"\nTechnicalOwner = \"x\"\nProject = \"x\"\nOwner = \"x\"\n",
    )
    .expect("write");
    let prepared = prepare(&ctx, "env/prod-hsm").expect("prepared");
    let fake = FakeAws::new(&SUBNETS);
    let clients = EnvClients {
        keys: kms(&[]),
        monitor: monitor(),
        hsm: Some(fake.clients(BTreeMap::new())),
    };
    let error = kmsctl::commands::rotate::rotate_with(
        &ctx,
        &prepared,
        "prod-hsm-app-orders-data",
        clients,
        true,
    )
    .await
    .expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("AWS rotates alias/prod-hsm-app-orders-data itself"),
        "{error}"
    );
}

fn time_today() -> String {
    let output = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .expect("date");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}
