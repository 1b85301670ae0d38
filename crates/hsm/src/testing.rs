//! A stateful stand-in for CloudHSM, EC2 subnets and KMS custom key stores: on the real SDK
//! clients through `aws-smithy-mocks`, and for EC2 (no SDK crate) under the real Query client
//! through a stub HTTP client that answers in EC2's XML. The emulator cannot serve this lifecycle (no CreateHsm,
//! no InitializeCluster, no custom key store calls, and a cluster timestamp the Rust SDK
//! rejects), so tests of it run here. Transient states advance one step per Describe call, as
//! AWS's do over minutes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_cloudhsmv2::operation::create_cluster::CreateClusterOutput;
use aws_sdk_cloudhsmv2::operation::create_hsm::CreateHsmOutput;
use aws_sdk_cloudhsmv2::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_cloudhsmv2::types::{Certificates, Cluster, ClusterState, Hsm, HsmState, Tag};
use aws_sdk_kms::operation::connect_custom_key_store::ConnectCustomKeyStoreOutput;
use aws_sdk_kms::operation::create_custom_key_store::CreateCustomKeyStoreOutput;
use aws_sdk_kms::operation::describe_custom_key_stores::{
    DescribeCustomKeyStoresError, DescribeCustomKeyStoresOutput,
};
use aws_sdk_kms::operation::disconnect_custom_key_store::DisconnectCustomKeyStoreOutput;
use aws_sdk_kms::types::error::CustomKeyStoreNotFoundException;
use aws_sdk_kms::types::{ConnectionErrorCodeType, ConnectionStateType, CustomKeyStoresListEntry};
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;

use crate::ec2::Ec2;

use crate::{Clients, Secrets, Waits};

#[derive(Debug, Clone)]
pub struct FakeHsm {
    pub id: String,
    pub az: String,
    pub subnet: String,
    pub state: String,
}

#[derive(Debug, Clone)]
pub struct FakeCluster {
    pub id: String,
    pub state: String,
    pub tags: BTreeMap<String, String>,
    pub hsms: Vec<FakeHsm>,
    pub subnets: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct FakeStore {
    pub id: String,
    pub name: String,
    pub cluster_id: String,
    pub state: String,
    pub error: Option<String>,
    pub trust_anchor: String,
}

#[derive(Debug, Default)]
pub struct State {
    /// subnet → AZ.
    pub subnets: BTreeMap<String, String>,
    pub clusters: Vec<FakeCluster>,
    pub stores: Vec<FakeStore>,
    /// What the next ConnectCustomKeyStore ends in: `None` connects, `Some(code)` fails.
    pub connect_fails_with: Option<String>,
    /// Every key store password CreateCustomKeyStore received.
    pub passwords_received: Vec<String>,
    /// Every call made, in order (`cloudhsmv2:CreateHsm us-east-1b`).
    pub calls: Vec<String>,
    /// How many of the next CreateCluster and CreateHsm answers are lost after AWS acted: the
    /// cluster or HSM is made and the caller gets a 500.
    pub lose_create_answers: usize,
    /// For how many DescribeClusters answers a cluster or HSM just made is left out (AWS is
    /// eventually consistent: a new resource is briefly absent from describes).
    pub describe_lag: usize,
    /// Ids of new clusters and HSMs → describes left before they show.
    unseen: BTreeMap<String, usize>,
}

/// An answer lost after AWS acted, as the SDK sees it: a 500 its standard retries repeat.
fn lost_answer<O, E>(s: &mut State) -> Option<MockResponse<O, E>> {
    if s.lose_create_answers == 0 {
        return None;
    }
    s.lose_create_answers -= 1;
    let response = aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(500).expect("500"),
        SdkBody::from(r#"{"__type":"CloudHsmInternalFailureException","message":"lost"}"#),
    );
    Some(MockResponse::Http(response))
}

#[derive(Debug, Clone, Default)]
pub struct FakeAws {
    pub state: Arc<Mutex<State>>,
}

impl FakeAws {
    /// An account with these subnets (id, AZ) and no CloudHSM resources.
    pub fn new(subnets: &[(&str, &str)]) -> Self {
        let fake = Self::default();
        fake.state().subnets = subnets
            .iter()
            .map(|(s, az)| ((*s).to_owned(), (*az).to_owned()))
            .collect();
        fake
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What the operator does at the gate: InitializeCluster, then activate with cloudhsm-cli.
    pub fn operator_initializes_and_activates(&self) {
        for cluster in &mut self.state().clusters {
            cluster.state = "ACTIVE".into();
        }
    }

    /// Clients that talk to this fake. Waits poll every millisecond.
    pub fn clients(&self, secrets: BTreeMap<String, String>) -> Clients {
        Clients {
            cloudhsm: self.cloudhsm(),
            ec2: self.ec2(),
            kms: self.kms(),
            waits: Waits {
                interval: Duration::from_millis(1),
                timeout: Duration::from_secs(5),
                progress: Arc::new(|_| {}),
            },
            secrets: Secrets::Fixed(secrets),
            propagation: kmsctl_aws::Propagation::new(Duration::from_secs(5)),
        }
    }

    fn cloudhsm(&self) -> aws_sdk_cloudhsmv2::Client {
        let state = self.state.clone();
        let create_cluster = mock!(aws_sdk_cloudhsmv2::Client::create_cluster)
            .then_compute_response(move |input| {
                let mut s = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let id = format!("cluster-fake{}", s.clusters.len() + 1);
                let subnets: BTreeMap<String, String> = input
                    .subnet_ids()
                    .iter()
                    .filter_map(|sub| Some((s.subnets.get(sub)?.clone(), sub.clone())))
                    .collect();
                s.calls.push("cloudhsmv2:CreateCluster".into());
                let lag = s.describe_lag;
                s.unseen.insert(id.clone(), lag);
                s.clusters.push(FakeCluster {
                    id: id.clone(),
                    state: "CREATE_IN_PROGRESS".into(),
                    tags: input
                        .tag_list()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned()))
                        .collect(),
                    hsms: vec![],
                    subnets,
                });
                if let Some(lost) = lost_answer(&mut s) {
                    return lost;
                }
                MockResponse::Output(
                    CreateClusterOutput::builder()
                        .cluster(
                            Cluster::builder()
                                .cluster_id(id)
                                .state(ClusterState::CreateInProgress)
                                .build(),
                        )
                        .build(),
                )
            });
        let state = self.state.clone();
        let create_hsm =
            mock!(aws_sdk_cloudhsmv2::Client::create_hsm).then_compute_response(move |input| {
                let mut s = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let az = input.availability_zone().unwrap_or_default().to_owned();
                s.calls.push(format!("cloudhsmv2:CreateHsm {az}"));
                let count: usize = s.clusters.iter().map(|c| c.hsms.len()).sum();
                let id = format!("hsm-fake{}", count + 1);
                let cluster = s
                    .clusters
                    .iter_mut()
                    .find(|c| Some(c.id.as_str()) == input.cluster_id())
                    .expect("CreateHsm on a cluster that exists");
                let subnet = cluster.subnets.get(&az).cloned().unwrap_or_default();
                let lag = s.describe_lag;
                s.unseen.insert(id.clone(), lag);
                let cluster = s
                    .clusters
                    .iter_mut()
                    .find(|c| Some(c.id.as_str()) == input.cluster_id())
                    .expect("CreateHsm on a cluster that exists");
                cluster.hsms.push(FakeHsm {
                    id: id.clone(),
                    az: az.clone(),
                    subnet,
                    state: "CREATE_IN_PROGRESS".into(),
                });
                if let Some(lost) = lost_answer(&mut s) {
                    return lost;
                }
                MockResponse::Output(
                    CreateHsmOutput::builder()
                        .hsm(
                            Hsm::builder()
                                .hsm_id(id)
                                .availability_zone(az)
                                .state(HsmState::CreateInProgress)
                                .build()
                                .expect("hsm"),
                        )
                        .build(),
                )
            });
        let state = self.state.clone();
        let describe =
            mock!(aws_sdk_cloudhsmv2::Client::describe_clusters).then_compute_output(move |_| {
                let mut s = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let unseen: BTreeSet<String> = s
                    .unseen
                    .iter()
                    .filter(|(_, left)| **left > 0)
                    .map(|(id, _)| id.clone())
                    .collect();
                for left in s.unseen.values_mut() {
                    *left = left.saturating_sub(1);
                }
                let answer = s
                    .clusters
                    .iter()
                    .filter(|c| !unseen.contains(&c.id))
                    .map(|c| {
                        let mut shown = c.clone();
                        shown.hsms.retain(|h| !unseen.contains(&h.id));
                        to_cluster(&shown)
                    })
                    .collect::<Vec<_>>();
                // Transient states end one Describe after they were shown.
                for cluster in &mut s.clusters {
                    if cluster.state == "CREATE_IN_PROGRESS" && !unseen.contains(&cluster.id) {
                        cluster.state = "UNINITIALIZED".into();
                    }
                    for hsm in &mut cluster.hsms {
                        if hsm.state == "CREATE_IN_PROGRESS" && !unseen.contains(&hsm.id) {
                            hsm.state = "ACTIVE".into();
                        }
                    }
                }
                DescribeClustersOutput::builder()
                    .set_clusters(Some(answer))
                    .build()
            });
        // The SDK's standard retries, as a session has them: a call kmsctl sends once must say so.
        mock_client!(
            aws_sdk_cloudhsmv2,
            RuleMode::MatchAny,
            [&create_cluster, &create_hsm, &describe],
            |config| config.retry_config(RetryConfig::standard().with_max_attempts(3))
        )
    }

    /// DescribeSubnets answers the requested subnets this account has (EC2 itself would answer
    /// InvalidSubnetID.NotFound for an unknown one; `ec2`'s tests cover that answer).
    fn ec2(&self) -> Ec2 {
        let state = self.state.clone();
        let http = infallible_client_fn(move |request: http::Request<SdkBody>| {
            let s = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let form = String::from_utf8_lossy(request.body().bytes().unwrap_or_default());
            // Subnet ids need no percent-decoding.
            let items: String = form
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .filter(|(name, _)| name.starts_with("SubnetId."))
                .filter_map(|(_, id)| {
                    Some(format!(
                        "<item><subnetId>{id}</subnetId><availabilityZone>{}</availabilityZone></item>",
                        s.subnets.get(id)?
                    ))
                })
                .collect();
            http::Response::builder()
                .status(200)
                .body(format!(
                    "<DescribeSubnetsResponse><subnetSet>{items}</subnetSet></DescribeSubnetsResponse>"
                ))
                .expect("response")
        });
        Ec2::new(&session(http))
    }

    fn kms(&self) -> aws_sdk_kms::Client {
        let state = self.state.clone();
        let describe = mock!(aws_sdk_kms::Client::describe_custom_key_stores)
            .then_compute_response(move |input| {
                let mut s = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let found: Vec<CustomKeyStoresListEntry> = s
                    .stores
                    .iter()
                    .filter(|st| input.custom_key_store_name().is_none_or(|n| n == st.name))
                    .filter(|st| input.custom_key_store_id().is_none_or(|i| i == st.id))
                    .map(to_store)
                    .collect();
                for store in &mut s.stores {
                    if store.state == "CONNECTING" {
                        store.state = "CONNECTED".into();
                    }
                    if store.state == "DISCONNECTING" {
                        store.state = "DISCONNECTED".into();
                    }
                }
                if found.is_empty() {
                    return MockResponse::Error(
                        DescribeCustomKeyStoresError::CustomKeyStoreNotFoundException(
                            CustomKeyStoreNotFoundException::builder()
                                .message("no such store")
                                .build(),
                        ),
                    );
                }
                MockResponse::Output(
                    DescribeCustomKeyStoresOutput::builder()
                        .set_custom_key_stores(Some(found))
                        .build(),
                )
            });
        let state = self.state.clone();
        let create =
            mock!(aws_sdk_kms::Client::create_custom_key_store).then_compute_output(move |input| {
                let mut s = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                s.calls.push("kms:CreateCustomKeyStore".into());
                s.passwords_received
                    .push(input.key_store_password().unwrap_or_default().to_owned());
                let id = format!("cks-fake{}", s.stores.len() + 1);
                s.stores.push(FakeStore {
                    id: id.clone(),
                    name: input.custom_key_store_name().unwrap_or_default().to_owned(),
                    cluster_id: input.cloud_hsm_cluster_id().unwrap_or_default().to_owned(),
                    state: "DISCONNECTED".into(),
                    error: None,
                    trust_anchor: input
                        .trust_anchor_certificate()
                        .unwrap_or_default()
                        .to_owned(),
                });
                CreateCustomKeyStoreOutput::builder()
                    .custom_key_store_id(id)
                    .build()
            });
        let state = self.state.clone();
        let connect = mock!(aws_sdk_kms::Client::connect_custom_key_store).then_compute_output(
            move |input| {
                let mut s = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                s.calls.push("kms:ConnectCustomKeyStore".into());
                let fails = s.connect_fails_with.clone();
                if let Some(store) = s
                    .stores
                    .iter_mut()
                    .find(|st| Some(st.id.as_str()) == input.custom_key_store_id())
                {
                    match fails {
                        Some(code) => {
                            store.state = "FAILED".into();
                            store.error = Some(code);
                        }
                        None => {
                            store.state = "CONNECTING".into();
                            store.error = None;
                        }
                    }
                }
                ConnectCustomKeyStoreOutput::builder().build()
            },
        );
        let state = self.state.clone();
        let disconnect = mock!(aws_sdk_kms::Client::disconnect_custom_key_store)
            .then_compute_output(move |input| {
                let mut s = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                s.calls.push("kms:DisconnectCustomKeyStore".into());
                if let Some(store) = s
                    .stores
                    .iter_mut()
                    .find(|st| Some(st.id.as_str()) == input.custom_key_store_id())
                {
                    store.state = "DISCONNECTING".into();
                }
                DisconnectCustomKeyStoreOutput::builder().build()
            });
        mock_client!(
            aws_sdk_kms,
            RuleMode::MatchAny,
            [&describe, &create, &connect, &disconnect]
        )
    }
}

fn to_cluster(c: &FakeCluster) -> Cluster {
    let mut builder = Cluster::builder()
        .cluster_id(&c.id)
        .state(ClusterState::from(c.state.as_str()))
        .hsm_type("hsm1.medium")
        .set_subnet_mapping(Some(
            c.subnets
                .iter()
                .map(|(az, s)| (az.clone(), s.clone()))
                .collect(),
        ))
        .set_tag_list(Some(
            c.tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build().expect("tag"))
                .collect(),
        ))
        .set_hsms(Some(
            c.hsms
                .iter()
                .map(|h| {
                    Hsm::builder()
                        .hsm_id(&h.id)
                        .availability_zone(&h.az)
                        .subnet_id(&h.subnet)
                        .cluster_id(&c.id)
                        .state(HsmState::from(h.state.as_str()))
                        .build()
                        .expect("hsm")
                })
                .collect(),
        ));
    // The CSR exists once the first HSM is active.
    if c.hsms.iter().any(|h| h.state == "ACTIVE") {
        builder = builder.certificates(
            Certificates::builder()
                .cluster_csr("-----BEGIN CERTIFICATE REQUEST-----")
                .build(),
        );
    }
    builder.build()
}

fn to_store(s: &FakeStore) -> CustomKeyStoresListEntry {
    CustomKeyStoresListEntry::builder()
        .custom_key_store_id(&s.id)
        .custom_key_store_name(&s.name)
        .cloud_hsm_cluster_id(&s.cluster_id)
        .trust_anchor_certificate(&s.trust_anchor)
        .connection_state(ConnectionStateType::from(s.state.as_str()))
        .set_connection_error_code(s.error.as_deref().map(ConnectionErrorCodeType::from))
        .build()
}

/// A session whose every request goes to `http`: fixed credentials, us-east-1, one attempt.
pub fn session(http: aws_sdk_kms::config::SharedHttpClient) -> SdkConfig {
    let credentials = Credentials::new("AKIDFAKE", "fake", None, None, "fake");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build()
}
