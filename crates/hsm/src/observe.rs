//! Reads the environment's CloudHSM set-up: the cluster (by its `Name` tag) with its state, HSMs
//! and AZs; the declared subnets' AZs (EC2); and the custom key store (by name) with its
//! connection state.

use std::collections::BTreeMap;

use aws_sdk_cloudhsmv2::types::{ClusterState, HsmState};
use aws_sdk_kms::types::ConnectionStateType;
use kmsctl_aws::{AwsError, Reported, failed};
use serde::Serialize;

use crate::Clients;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedHsm {
    pub id: String,
    pub availability_zone: String,
    pub subnet_id: String,
    /// CREATE_IN_PROGRESS, ACTIVE, DEGRADED, DELETE_IN_PROGRESS, DELETED.
    pub state: Reported<HsmState>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedCluster {
    pub id: String,
    pub name: String,
    /// CREATE_IN_PROGRESS, UNINITIALIZED, INITIALIZE_IN_PROGRESS, INITIALIZED, ACTIVE, ...
    pub state: Reported<ClusterState>,
    pub state_message: Option<String>,
    pub hsm_type: Option<String>,
    pub hsms: Vec<ObservedHsm>,
    /// AZ → subnet.
    pub subnets: BTreeMap<String, String>,
    pub csr_available: bool,
    pub tags: BTreeMap<String, String>,
}

impl ObservedCluster {
    /// ` (AWS's state message)` to follow the state in a sentence, or nothing.
    pub fn state_note(&self) -> String {
        self.state_message
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default()
    }

    /// HSMs that exist or are being made (not being deleted).
    pub fn live_hsms(&self) -> impl Iterator<Item = &ObservedHsm> {
        self.hsms.iter().filter(|h| {
            !matches!(
                h.state.get(),
                Some(HsmState::DeleteInProgress | HsmState::Deleted)
            )
        })
    }

    pub fn active_hsms(&self) -> impl Iterator<Item = &ObservedHsm> {
        self.hsms.iter().filter(|h| h.state == HsmState::Active)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedStore {
    pub id: String,
    pub name: String,
    pub cluster_id: Option<String>,
    /// CONNECTED, CONNECTING, DISCONNECTED, DISCONNECTING, FAILED.
    pub connection_state: Reported<ConnectionStateType>,
    /// Why the last connection failed (`USER_NOT_FOUND`, `INSUFFICIENT_CLOUDHSM_HSMS`, ...).
    pub connection_error_code: Option<String>,
    pub trust_anchor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObservedHsmSetup {
    pub cluster: Option<ObservedCluster>,
    pub store: Option<ObservedStore>,
    /// The declared subnets' AZs, subnet → AZ; a subnet EC2 does not know is absent.
    pub subnet_azs: BTreeMap<String, String>,
}

/// What to look for: saved in the plan for apply's staleness check.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Scope {
    pub cluster_name: String,
    pub subnet_ids: Vec<String>,
    pub store_name: Option<String>,
}

impl Scope {
    pub fn of(desired: &crate::DesiredHsm) -> Self {
        Self {
            cluster_name: desired.cluster.name.clone(),
            subnet_ids: desired.cluster.subnet_ids.clone(),
            store_name: desired.store.as_ref().map(|s| s.name.clone()),
        }
    }
}

pub async fn observe(clients: &Clients, scope: &Scope) -> Result<ObservedHsmSetup, AwsError> {
    let (cluster, subnet_azs) = tokio::join!(
        cluster(&clients.cloudhsm, &scope.cluster_name),
        clients.ec2.subnet_azs(&scope.subnet_ids),
    );
    let cluster = cluster?;
    // A key store is only made on, and only usable with, an active cluster: before that the
    // plan stops at an earlier step, and the store is not read.
    let active = cluster.as_ref().is_some_and(|c| {
        matches!(
            c.state.get(),
            Some(ClusterState::Active | ClusterState::Degraded)
        )
    });
    let store = if active {
        store(&clients.kms, scope.store_name.as_deref()).await?
    } else {
        None
    };
    Ok(ObservedHsmSetup {
        cluster,
        store,
        subnet_azs: subnet_azs?,
    })
}

async fn cluster(
    client: &aws_sdk_cloudhsmv2::Client,
    name: &str,
) -> Result<Option<ObservedCluster>, AwsError> {
    let pages: Vec<_> = client
        .describe_clusters()
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| AwsError::call("cloudhsmv2:DescribeClusters", e))?;
    let found = pages.iter().flat_map(|p| p.clusters()).find(|c| {
        c.state().is_none_or(|s| *s != ClusterState::Deleted)
            && c.tag_list()
                .iter()
                .any(|t| t.key() == "Name" && t.value() == name)
    });
    Ok(found.map(|c| ObservedCluster {
        id: c.cluster_id().unwrap_or_default().to_owned(),
        name: name.to_owned(),
        state: c.state().cloned().into(),
        state_message: c.state_message().map(str::to_owned),
        hsm_type: c.hsm_type().map(str::to_owned),
        hsms: c
            .hsms()
            .iter()
            .map(|h| ObservedHsm {
                id: h.hsm_id().to_owned(),
                availability_zone: h.availability_zone().unwrap_or_default().to_owned(),
                subnet_id: h.subnet_id().unwrap_or_default().to_owned(),
                state: h.state().cloned().into(),
            })
            .collect(),
        subnets: c
            .subnet_mapping()
            .map(|m| m.iter().map(|(az, s)| (az.clone(), s.clone())).collect())
            .unwrap_or_default(),
        csr_available: c
            .certificates()
            .and_then(|certs| certs.cluster_csr())
            .is_some_and(|csr| !csr.is_empty()),
        tags: c
            .tag_list()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
    }))
}

async fn store(
    client: &aws_sdk_kms::Client,
    name: Option<&str>,
) -> Result<Option<ObservedStore>, AwsError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let answer = client
        .describe_custom_key_stores()
        .custom_key_store_name(name)
        .send()
        .await;
    let stores = match answer {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_custom_key_store_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(failed("kms:DescribeCustomKeyStores")(e)),
    };
    Ok(stores.custom_key_stores().first().map(|s| ObservedStore {
        id: s.custom_key_store_id().unwrap_or_default().to_owned(),
        name: name.to_owned(),
        cluster_id: s.cloud_hsm_cluster_id().map(str::to_owned),
        connection_state: s.connection_state().cloned().into(),
        connection_error_code: s.connection_error_code().map(|c| c.as_str().to_owned()),
        trust_anchor: s.trust_anchor_certificate().map(str::to_owned),
    }))
}

impl ObservedHsmSetup {
    /// The observed state behind each address a plan can touch, for staleness fingerprints.
    pub fn fingerprints(&self, scope: &Scope) -> BTreeMap<kmsctl_core::Address, String> {
        use kmsctl_core::Address;
        use kmsctl_core::fingerprint::fingerprint;

        use crate::diff::{KIND_CLUSTER, KIND_CONNECTION, KIND_KEY_STORE};
        let mut out = BTreeMap::new();
        if let Some(cluster) = &self.cluster {
            out.insert(
                Address::new(KIND_CLUSTER, scope.cluster_name.clone()),
                fingerprint(&serde_json::json!(cluster)),
            );
        }
        if let (Some(store), Some(name)) = (&self.store, &scope.store_name) {
            out.insert(
                Address::new(KIND_KEY_STORE, name.clone()),
                fingerprint(&serde_json::json!(store)),
            );
            out.insert(
                Address::new(KIND_CONNECTION, name.clone()),
                fingerprint(&serde_json::json!([
                    store.connection_state,
                    store.connection_error_code
                ])),
            );
        }
        out
    }
}
