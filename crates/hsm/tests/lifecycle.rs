//! The CloudHSM lifecycle from an empty account to a connected key store, as one sequence on
//! the real SDK clients with stubbed answers (`kmsctl_hsm::testing`): the emulator serves no
//! CreateHsm, InitializeCluster or custom key store call, and rejects its own cluster answers
//! through the Rust SDK.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kmsctl_core::source::SourceFile;
use kmsctl_core::{Outputs, Plan, Target};
use kmsctl_hsm::config::HsmDecl;
use kmsctl_hsm::testing::FakeAws;
use kmsctl_hsm::{Clients, DesiredHsm, HsmDiff, StoreReadiness};

const PASSWORD: &str = "kmsuser-Pa55word-never-shown";
const SUBNETS: [(&str, &str); 2] = [
    ("subnet-0aaa1111bbbb2222c", "us-east-1a"),
    ("subnet-0ddd3333eeee4444f", "us-east-1b"),
];

/// The repository: the example's trust anchor lies inside it.
fn files() -> kmsctl_core::project_files::ProjectFiles {
    kmsctl_core::project_files::ProjectFiles::new(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
    )
}

fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/prod-hsm")
}

fn declared(text: &str) -> DesiredHsm {
    #[derive(serde::Deserialize)]
    struct File {
        hsm: toml::Spanned<HsmDecl>,
    }
    let file: File = toml::from_str(text).expect("hsm.toml");
    let source = SourceFile::new("examples/prod-hsm/hsm.toml", text);
    assert!(
        kmsctl_hsm::guards::check(&files(), &source, &file.hsm, &example_dir()).is_empty(),
        "the example passes the guards"
    );
    kmsctl_hsm::desired::build(&files(), "prod-hsm", &example_dir(), &source, &file.hsm)
}

fn shipped() -> DesiredHsm {
    declared(&std::fs::read_to_string(example_dir().join("hsm.toml")).expect("example"))
}

async fn plan(clients: &Clients, desired: &DesiredHsm) -> HsmDiff {
    let observed = kmsctl_hsm::observe(clients, &kmsctl_hsm::Scope::of(desired))
        .await
        .expect("observe");
    kmsctl_hsm::diff(desired, &observed)
}

/// Applies the changes in dependency order, as `kmsctl apply` does.
async fn apply(clients: &Clients, diff: &HsmDiff) -> Result<(), String> {
    let plan = Plan {
        changes: diff.changes.clone(),
        ..plan_shell()
    };
    let mut outputs = Outputs::new();
    for index in plan.apply_order().map_err(|e| e.to_string())? {
        let change = &plan.changes[index];
        let produced = kmsctl_hsm::apply_change(clients, change, &outputs)
            .await
            .map_err(|e| e.to_string())?;
        outputs.insert(change.address.clone(), produced);
    }
    Ok(())
}

fn plan_shell() -> Plan {
    Plan {
        format_version: kmsctl_core::plan::PLAN_FORMAT_VERSION,
        kmsctl_version: "test".into(),
        created_at: "now".into(),
        target: Target {
            kind: "environment".into(),
            name: "prod-hsm".into(),
            path: "examples/prod-hsm".into(),
            account_id: "222222222222".into(),
            region: "us-east-1".into(),
            assume_role_arn: None,
        },
        changes: vec![],
        scope: BTreeMap::new(),
        observed: vec![],
        notes: vec![],
        warnings: vec![],
        inputs: Default::default(),
        sensitive: vec![],
        planned_by: None,
    }
}

fn shown(diff: &HsmDiff) -> Vec<String> {
    diff.changes
        .iter()
        .map(|c| format!("{} {}", c.action.symbol(), c.address))
        .collect()
}

#[tokio::test]
async fn from_an_empty_account_to_a_connected_store_with_one_operator_gate() {
    let fake = FakeAws::new(&SUBNETS);
    let clients = fake.clients(BTreeMap::from([(
        "KMSCTL_HSM_PASSWORD".to_owned(),
        PASSWORD.to_owned(),
    )]));
    let desired = shipped();

    // 1. Nothing exists: the cluster and its first HSM, then the gate.
    let first = plan(&clients, &desired).await;
    assert_eq!(
        shown(&first),
        [
            "+ hsm_cluster.prod-cloudhsm-cluster",
            "+ hsm.prod-cloudhsm-cluster/us-east-1a"
        ]
    );
    let gate = first.gate.clone().expect("stops at the operator gate");
    assert!(gate.contains("initialize-cluster"), "{gate}");
    assert!(matches!(first.store, StoreReadiness::NotReady(_)));
    apply(&clients, &first).await.expect("apply 1");

    // 2. UNINITIALIZED with an active HSM: nothing kmsctl can do; the exact steps, with the id.
    let second = plan(&clients, &desired).await;
    assert!(second.changes.is_empty(), "{:?}", shown(&second));
    let gate = second.gate.clone().expect("gate");
    for step in [
        "aws cloudhsmv2 describe-clusters --filters clusterIds=cluster-fake1",
        "openssl x509 -req -days 3652 -in cluster-fake1_ClusterCsr.csr -CA environments/prod-hsm/certs/customerCA.crt",
        "aws cloudhsmv2 initialize-cluster --cluster-id cluster-fake1 --signed-cert file://cluster-fake1_CustomerHsmCertificate.crt",
        "cloudhsm-cli cluster activate",
        "cloudhsm-cli user create --username kmsuser --role crypto-user",
        "kmsctl plan env/prod-hsm",
    ] {
        assert!(gate.contains(step), "{step}\n{gate}");
    }

    // 3. The operator initializes and activates: the second HSM in the other AZ, the store,
    //    the connection.
    fake.operator_initializes_and_activates();
    let third = plan(&clients, &desired).await;
    assert!(third.gate.is_none());
    assert_eq!(
        shown(&third),
        [
            "+ hsm.prod-cloudhsm-cluster/us-east-1b",
            "+ kms_custom_key_store.prod-hsm-store",
            "~ kms_custom_key_store_connection.prod-hsm-store",
        ]
    );
    assert!(
        matches!(third.store, StoreReadiness::InPlan(_)),
        "keys can follow in this plan"
    );
    apply(&clients, &third).await.expect("apply 3");
    assert_eq!(
        fake.state().passwords_received,
        [PASSWORD],
        "read from the variable at apply"
    );

    // 4. Converged.
    let fourth = plan(&clients, &desired).await;
    assert!(fourth.changes.is_empty(), "{:?}", shown(&fourth));
    assert_eq!(fourth.store, StoreReadiness::Connected("cks-fake1".into()));
    assert_eq!(
        fake.state().calls,
        [
            "cloudhsmv2:CreateCluster",
            "cloudhsmv2:CreateHsm us-east-1a",
            "cloudhsmv2:CreateHsm us-east-1b",
            "kms:CreateCustomKeyStore",
            "kms:ConnectCustomKeyStore",
        ]
    );
}

#[tokio::test]
async fn user_not_found_on_connect_is_explained_and_the_next_plan_reconnects() {
    let fake = FakeAws::new(&SUBNETS);
    let clients = fake.clients(BTreeMap::from([(
        "KMSCTL_HSM_PASSWORD".to_owned(),
        PASSWORD.to_owned(),
    )]));
    let desired = shipped();
    apply(&clients, &plan(&clients, &desired).await)
        .await
        .expect("cluster");
    fake.operator_initializes_and_activates();
    fake.state().connect_fails_with = Some("USER_NOT_FOUND".into());
    let error = apply(&clients, &plan(&clients, &desired).await)
        .await
        .expect_err("the connection fails");
    assert!(error.contains("USER_NOT_FOUND"), "{error}");
    assert!(
        error.contains("cloudhsm-cli user create --username kmsuser"),
        "{error}"
    );
    assert!(!error.contains(PASSWORD));

    // FAILED drifts like any field: disconnect, then connect, with the reason shown.
    fake.state().connect_fails_with = None;
    let retry = plan(&clients, &desired).await;
    assert_eq!(
        shown(&retry),
        ["~ kms_custom_key_store_connection.prod-hsm-store"]
    );
    let ops: Vec<&str> = retry.changes[0]
        .operations
        .iter()
        .filter_map(|o| o["op"].as_str())
        .collect();
    assert_eq!(ops, ["DisconnectCustomKeyStore", "ConnectCustomKeyStore"]);
    assert!(
        retry
            .notes
            .iter()
            .any(|n| n.message.contains("USER_NOT_FOUND"))
    );
    apply(&clients, &retry).await.expect("reconnects");
    assert_eq!(
        plan(&clients, &desired).await.store,
        StoreReadiness::Connected("cks-fake1".into())
    );
}

#[tokio::test]
async fn a_disconnected_store_plans_a_connect_and_connect_false_a_disconnect() {
    let fake = FakeAws::new(&SUBNETS);
    let clients = fake.clients(BTreeMap::from([(
        "KMSCTL_HSM_PASSWORD".to_owned(),
        PASSWORD.to_owned(),
    )]));
    let desired = shipped();
    apply(&clients, &plan(&clients, &desired).await)
        .await
        .expect("cluster");
    fake.operator_initializes_and_activates();
    apply(&clients, &plan(&clients, &desired).await)
        .await
        .expect("store");
    fake.state().stores[0].state = "DISCONNECTED".into();
    assert_eq!(
        shown(&plan(&clients, &desired).await),
        ["~ kms_custom_key_store_connection.prod-hsm-store"]
    );
    let text = std::fs::read_to_string(example_dir().join("hsm.toml")).expect("example");
    let disconnected = declared(&text.replace(
        "password_env = \"KMSCTL_HSM_PASSWORD\"",
        "password_env = \"KMSCTL_HSM_PASSWORD\"\nconnect = false",
    ));
    fake.state().stores[0].state = "CONNECTED".into();
    let diff = plan(&clients, &disconnected).await;
    assert_eq!(
        diff.changes[0].operations[0]["op"],
        "DisconnectCustomKeyStore"
    );
    assert!(matches!(diff.store, StoreReadiness::NotReady(_)));
}

#[tokio::test]
async fn subnets_in_one_az_or_unknown_are_refused_at_plan_time() {
    let fake = FakeAws::new(&[
        ("subnet-0aaa1111bbbb2222c", "us-east-1a"),
        ("subnet-0ddd3333eeee4444f", "us-east-1a"),
    ]);
    let clients = fake.clients(BTreeMap::new());
    let diff = plan(&clients, &shipped()).await;
    assert!(diff.changes.is_empty());
    assert_eq!(diff.findings[0].rule, "hsm-subnets-az");
    assert!(diff.findings[0].message.contains("us-east-1a"));

    let fake = FakeAws::new(&[("subnet-0aaa1111bbbb2222c", "us-east-1a")]);
    let diff = plan(&fake.clients(BTreeMap::new()), &shipped()).await;
    assert_eq!(diff.findings[0].rule, "hsm-subnets");
    assert!(
        diff.findings[0]
            .message
            .contains("subnet-0ddd3333eeee4444f")
    );
}

#[tokio::test]
async fn the_password_is_in_no_plan_no_log_and_no_error() {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || Writer(sink.clone()))
        .finish();
    // The process-wide subscriber, not a scoped one: with a scoped subscriber, a callsite first
    // hit by a test running at the same time could cache "not interested" and its events would
    // be missed (seen under load). Only this test of the binary sets it.
    tracing::subscriber::set_global_default(subscriber).expect("the binary's one subscriber");

    let fake = FakeAws::new(&SUBNETS);
    let clients = fake.clients(BTreeMap::from([(
        "KMSCTL_HSM_PASSWORD".to_owned(),
        PASSWORD.to_owned(),
    )]));
    let desired = shipped();
    apply(&clients, &plan(&clients, &desired).await)
        .await
        .expect("cluster");
    fake.operator_initializes_and_activates();
    let third = plan(&clients, &desired).await;
    let plan_json = serde_json::to_string(&Plan {
        changes: third.changes.clone(),
        notes: third.notes.clone(),
        ..plan_shell()
    })
    .expect("json");
    assert!(
        plan_json.contains("KMSCTL_HSM_PASSWORD"),
        "the plan names the variable"
    );
    assert!(!plan_json.contains(PASSWORD));
    apply(&clients, &third).await.expect("store");
    assert_eq!(fake.state().passwords_received, [PASSWORD]);

    // Without the variable: a clear error, naming the variable only.
    let fake = FakeAws::new(&SUBNETS);
    let clients = fake.clients(BTreeMap::new());
    apply(&clients, &plan(&clients, &desired).await)
        .await
        .expect("cluster");
    fake.operator_initializes_and_activates();
    let error = apply(&clients, &plan(&clients, &desired).await)
        .await
        .expect_err("no password");
    assert!(
        error.contains("$KMSCTL_HSM_PASSWORD, which is not set"),
        "{error}"
    );

    let logs = String::from_utf8(logs.lock().expect("logs").clone()).expect("utf-8");
    assert!(
        logs.contains("CreateCustomKeyStore"),
        "trace logs were captured:\n{logs}"
    );
    assert!(
        !logs.contains(PASSWORD),
        "the password leaked into the logs"
    );
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_lost_create_answer_is_looked_up_not_repeated_while_describes_lag() {
    let fake = FakeAws::new(&SUBNETS);
    let clients = fake.clients(BTreeMap::new());
    let desired = shipped();
    // A cluster or HSM just made is absent from the next two DescribeClusters answers.
    fake.state().describe_lag = 2;
    let first = plan(&clients, &desired).await;
    // AWS makes the cluster and its first HSM, and both answers are lost (a 500 the SDK would
    // retry).
    fake.state().lose_create_answers = 2;
    apply(&clients, &first)
        .await
        .expect("what the lost answers made is looked up and taken");
    assert_eq!(
        fake.state().calls,
        [
            "cloudhsmv2:CreateCluster",
            "cloudhsmv2:CreateHsm us-east-1a"
        ],
        "each sent once: a repeat would bill a second cluster or HSM"
    );
    assert_eq!(fake.state().clusters.len(), 1);
    assert_eq!(fake.state().clusters[0].hsms.len(), 1);
    let next = plan(&clients, &desired).await;
    assert!(
        !shown(&next)
            .iter()
            .any(|c| c.contains("cluster") && c.starts_with('+')),
        "{:?}",
        shown(&next)
    );
    assert!(
        !shown(&next).iter().any(|c| c.contains("us-east-1a")),
        "{:?}",
        shown(&next)
    );
}

#[tokio::test]
async fn a_lost_answer_whose_cluster_never_shows_stops_apply_without_a_repeat() {
    let fake = FakeAws::new(&SUBNETS);
    let mut clients = fake.clients(BTreeMap::new());
    clients.propagation = kmsctl_aws::Propagation::new(std::time::Duration::from_secs(1));
    let desired = shipped();
    let first = plan(&clients, &desired).await;
    // The cluster stays out of every describe for longer than the propagation timeout.
    fake.state().describe_lag = usize::MAX;
    fake.state().lose_create_answers = 1;
    let error = apply(&clients, &first)
        .await
        .expect_err("nothing found: apply stops");
    assert!(error.contains("CreateCluster"), "{error}");
    assert_eq!(fake.state().calls, ["cloudhsmv2:CreateCluster"]);
}
