//! The CloudHSM and custom key store calls a plan can contain, and how apply makes them. Calls
//! that start a long AWS process (a cluster, an HSM, a connection) wait for its end with bounded
//! polling, reporting progress, and fail after the timeout with what to do next.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudhsmv2::types::{ClusterState, HsmState, Tag};
use aws_sdk_kms::types::ConnectionStateType;
pub use kmsctl_aws::ApplyError;
use kmsctl_aws::{AwsError, Produced, failed};
use kmsctl_core::semantics::{Confirm, LostAnswer, NotYet};
use kmsctl_core::{DomainOp, Outputs, Ref, ResourceChange, Semantics};
use serde::{Deserialize, Serialize};

use crate::Clients;

/// One CloudHSM or custom key store call. `Id` is how a cluster or a key store is named: as
/// planned, a [`Ref`] (its id, or the output of the change creating it); once resolved, the id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum HsmOp<Id = Ref<String>> {
    CreateCluster {
        hsm_type: String,
        subnet_ids: Vec<String>,
        source_backup_id: Option<String>,
        tags: BTreeMap<String, String>,
    },
    CreateHsm {
        cluster_id: Id,
        availability_zone: String,
    },
    CreateCustomKeyStore {
        name: String,
        cluster_id: Id,
        trust_anchor: String,
        /// The variable holding the password: the password itself is never in a plan.
        password_env: String,
    },
    ConnectCustomKeyStore {
        id: Id,
    },
    DisconnectCustomKeyStore {
        id: Id,
    },
}

impl<Id> HsmOp<Id> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateCluster { .. } => "CreateCluster",
            Self::CreateHsm { .. } => "CreateHsm",
            Self::CreateCustomKeyStore { .. } => "CreateCustomKeyStore",
            Self::ConnectCustomKeyStore { .. } => "ConnectCustomKeyStore",
            Self::DisconnectCustomKeyStore { .. } => "DisconnectCustomKeyStore",
        }
    }

    /// What kmsctl relies on today: the SDK's standard retries repeat a call after a lost
    /// answer, except the two creates that have no idempotency token (sent once); no error means
    /// "not yet"; the long processes are waited for by polling.
    pub fn semantics(&self) -> Semantics {
        match self {
            Self::CreateCluster { .. } => Semantics {
                lost_answer: LostAnswer::LookUp(
                    "sent once (a repeat would bill a second cluster): after a lost answer the cluster carrying its Name tag is looked up (DescribeClusters, polled until the propagation timeout) and taken; when none shows, apply stops without a repeat and the next plan looks again",
                ),
                not_yet: NotYet::Never,
                confirm: Some(Confirm {
                    read: "cloudhsmv2:DescribeClusters",
                    until: "the cluster is UNINITIALIZED or ACTIVE",
                }),
            },
            Self::CreateHsm { .. } => Semantics {
                lost_answer: LostAnswer::LookUp(
                    "sent once (a repeat would bill another HSM): after a lost answer an HSM of the cluster in that AZ that was not there before the call is looked up (DescribeClusters, polled until the propagation timeout) and taken; when none shows, apply stops without a repeat and the next plan counts the cluster's HSMs",
                ),
                not_yet: NotYet::Never,
                confirm: Some(Confirm {
                    read: "cloudhsmv2:DescribeClusters",
                    until: "the HSM is ACTIVE",
                }),
            },
            Self::CreateCustomKeyStore { .. } => Semantics {
                lost_answer: LostAnswer::Unrecovered(
                    "a repeat fails as the name is taken (CustomKeyStoreNameInUseException); the next plan finds the store by name",
                ),
                ..Semantics::REPEAT
            },
            Self::ConnectCustomKeyStore { .. } => Semantics {
                confirm: Some(Confirm {
                    read: "kms:DescribeCustomKeyStores",
                    until: "the store is CONNECTED (FAILED ends the wait with its error code)",
                }),
                ..Semantics::REPEAT
            },
            Self::DisconnectCustomKeyStore { .. } => Semantics {
                confirm: Some(Confirm {
                    read: "kms:DescribeCustomKeyStores",
                    until: "the store is DISCONNECTED",
                }),
                ..Semantics::REPEAT
            },
        }
    }
}

impl DomainOp for HsmOp {
    type Resolved = HsmOp<String>;

    fn name(&self) -> &'static str {
        HsmOp::name(self)
    }

    fn semantics(&self) -> Semantics {
        HsmOp::semantics(self)
    }
}

/// Runs the change's operations in order; returns its outputs (`cluster_id`, `hsm_id`, `id`).
pub async fn apply_change(
    clients: &Clients,
    change: &ResourceChange,
    outputs: &Outputs,
) -> Result<Produced, ApplyError> {
    kmsctl_aws::apply_operations::<HsmOp, _, _>(change, outputs, &clients.propagation, |op| {
        run(clients, op)
    })
    .await
}

fn waited_too_long(what: &str, state: &str, waited: Duration, hint: &str) -> ApplyError {
    ApplyError::Aws(AwsError::Call {
        operation: "wait".into(),
        code: Some("WaitTimeout".into()),
        message: format!(
            "{what} is still {state} after {}s (--wait-timeout): {hint}",
            waited.as_secs()
        ),
    })
}

/// CreateCluster and CreateHsm take no idempotency token: the SDK's retry after a timeout or a
/// 5xx (an answer lost after AWS acted) would bill a second cluster or HSM. They are sent once;
/// the next plan finds what a lost answer made.
fn sent_once() -> aws_sdk_cloudhsmv2::config::Builder {
    aws_sdk_cloudhsmv2::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::disabled())
}

async fn run(clients: &Clients, op: HsmOp<String>) -> Result<Produced, ApplyError> {
    match op {
        HsmOp::CreateCluster {
            hsm_type,
            subnet_ids,
            source_backup_id,
            tags,
        } => {
            let tags = kmsctl_aws::sdk_tags(&tags, |k, v| Tag::builder().key(k).value(v).build())?;
            let name = tags
                .iter()
                .find(|t| t.key() == "Name")
                .map(|t| t.value().to_owned());
            // The clusters there are before the call: a look-up after a lost answer takes only
            // a new one.
            let before = cluster_ids(clients).await?;
            let created = clients
                .cloudhsm
                .create_cluster()
                .hsm_type(hsm_type)
                .set_subnet_ids(Some(subnet_ids))
                .set_source_backup_id(source_backup_id)
                .set_tag_list(Some(tags))
                .customize()
                .config_override(sent_once())
                .send()
                .await
                .map_err(failed("cloudhsmv2:CreateCluster"));
            let id = match created {
                Ok(created) => created
                    .cluster()
                    .and_then(|c| c.cluster_id())
                    .unwrap_or_default()
                    .to_owned(),
                Err(error) if answer_lost(&error) => match &name {
                    Some(name) => look_up(
                        clients,
                        &format!("the cluster {name} a lost CreateCluster answer may have made"),
                        |c| {
                            let id = c.cluster_id().unwrap_or_default();
                            let live = !matches!(
                                c.state(),
                                Some(ClusterState::Deleted | ClusterState::DeleteInProgress)
                            );
                            let named = c
                                .tag_list()
                                .iter()
                                .any(|t| t.key() == "Name" && t.value() == name);
                            (live && named && !before.iter().any(|b| b == id))
                                .then(|| id.to_owned())
                        },
                    )
                    .await?
                    .ok_or(error)?,
                    None => return Err(error.into()),
                },
                Err(error) => return Err(error.into()),
            };
            wait_cluster(
                clients,
                &id,
                &[ClusterState::Uninitialized, ClusterState::Active],
            )
            .await?;
            Ok(BTreeMap::from([("cluster_id".to_owned(), id)]))
        }
        HsmOp::CreateHsm {
            cluster_id,
            availability_zone,
        } => {
            let before = hsm_ids(clients, &cluster_id).await?;
            let created = clients
                .cloudhsm
                .create_hsm()
                .cluster_id(&cluster_id)
                .availability_zone(&availability_zone)
                .customize()
                .config_override(sent_once())
                .send()
                .await
                .map_err(failed("cloudhsmv2:CreateHsm"));
            let id = match created {
                Ok(created) => created
                    .hsm()
                    .map(|h| h.hsm_id().to_owned())
                    .unwrap_or_default(),
                Err(error) if answer_lost(&error) => {
                    let what = format!(
                        "the HSM in {availability_zone} a lost CreateHsm answer may have made"
                    );
                    look_up(clients, &what, |c| {
                        (c.cluster_id() == Some(cluster_id.as_str()))
                            .then(|| {
                                c.hsms()
                                    .iter()
                                    .find(|h| {
                                        h.availability_zone() == Some(availability_zone.as_str())
                                            && !before.iter().any(|b| b == h.hsm_id())
                                    })
                                    .map(|h| h.hsm_id().to_owned())
                            })
                            .flatten()
                    })
                    .await?
                    .ok_or(error)?
                }
                Err(error) => return Err(error.into()),
            };
            wait_hsm(clients, &cluster_id, &id).await?;
            Ok(BTreeMap::from([("hsm_id".to_owned(), id)]))
        }
        HsmOp::CreateCustomKeyStore {
            name,
            cluster_id,
            trust_anchor,
            password_env,
        } => {
            let password = clients.secrets.read(&password_env).ok_or_else(|| {
                ApplyError::Malformed(format!(
                    "the key store password is read from ${password_env}, which is not set: export it (the kmsuser password) and apply again"
                ))
            })?;
            let created = clients
                .kms
                .create_custom_key_store()
                .custom_key_store_name(name)
                .cloud_hsm_cluster_id(cluster_id)
                .trust_anchor_certificate(trust_anchor)
                .key_store_password(password)
                .send()
                .await
                .map_err(failed("kms:CreateCustomKeyStore"))?;
            Ok(BTreeMap::from([(
                "id".to_owned(),
                created.custom_key_store_id().unwrap_or_default().to_owned(),
            )]))
        }
        HsmOp::ConnectCustomKeyStore { id } => {
            clients
                .kms
                .connect_custom_key_store()
                .custom_key_store_id(&id)
                .send()
                .await
                .map_err(failed("kms:ConnectCustomKeyStore"))?;
            wait_store(clients, &id, ConnectionStateType::Connected).await?;
            Ok(BTreeMap::from([("id".to_owned(), id)]))
        }
        HsmOp::DisconnectCustomKeyStore { id } => {
            clients
                .kms
                .disconnect_custom_key_store()
                .custom_key_store_id(&id)
                .send()
                .await
                .map_err(failed("kms:DisconnectCustomKeyStore"))?;
            wait_store(clients, &id, ConnectionStateType::Disconnected).await?;
            Ok(BTreeMap::from([("id".to_owned(), id)]))
        }
    }
}

/// Whether a failed create may have acted: its answer was lost (no code: a timeout, a dropped
/// connection) or AWS failed internally.
fn answer_lost(error: &AwsError) -> bool {
    match error.code() {
        None => true,
        Some(code) => code.contains("Internal") || code.contains("ServiceUnavailable"),
    }
}

/// Polls DescribeClusters until `found` picks something out of a cluster, within the
/// propagation timeout: what a lost create answer made shows there once AWS is consistent.
async fn look_up(
    clients: &Clients,
    what: &str,
    found: impl Fn(&aws_sdk_cloudhsmv2::types::Cluster) -> Option<String>,
) -> Result<Option<String>, AwsError> {
    let found = &found;
    clients
        .propagation
        .wait_until(what, || async move {
            let pages: Vec<_> = clients
                .cloudhsm
                .describe_clusters()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(failed("cloudhsmv2:DescribeClusters"))?;
            Ok(pages.iter().flat_map(|p| p.clusters()).find_map(found))
        })
        .await
}

/// The ids of the account's clusters now.
async fn cluster_ids(clients: &Clients) -> Result<Vec<String>, AwsError> {
    let pages: Vec<_> = clients
        .cloudhsm
        .describe_clusters()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(failed("cloudhsmv2:DescribeClusters"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.clusters())
        .filter_map(|c| c.cluster_id().map(str::to_owned))
        .collect())
}

/// The ids of the HSMs a cluster has now.
async fn hsm_ids(clients: &Clients, cluster_id: &str) -> Result<Vec<String>, AwsError> {
    let out = clients
        .cloudhsm
        .describe_clusters()
        .filters("clusterIds", vec![cluster_id.to_owned()])
        .send()
        .await
        .map_err(failed("cloudhsmv2:DescribeClusters"))?;
    Ok(out
        .clusters()
        .iter()
        .flat_map(|c| c.hsms())
        .map(|h| h.hsm_id().to_owned())
        .collect())
}

async fn wait_cluster(
    clients: &Clients,
    id: &str,
    done: &[ClusterState],
) -> Result<(), ApplyError> {
    let started = Instant::now();
    loop {
        let out = clients
            .cloudhsm
            .describe_clusters()
            .filters("clusterIds", vec![id.to_owned()])
            .send()
            .await
            .map_err(failed("cloudhsmv2:DescribeClusters"))?;
        let cluster = out.clusters().first();
        let state = cluster.and_then(|c| c.state());
        if state.is_some_and(|s| done.contains(s)) {
            return Ok(());
        }
        // A cluster made seconds ago is briefly absent from DescribeClusters.
        if state.is_none() && started.elapsed() < clients.propagation.timeout {
            tick(
                clients,
                started,
                &format!("cluster {id}"),
                "not listed yet",
                "run plan again later",
            )
            .await?;
            continue;
        }
        let Some(state) = state.filter(|s| **s != ClusterState::Deleted) else {
            return Err(ApplyError::Aws(AwsError::Call {
                operation: "cloudhsmv2:CreateCluster".into(),
                code: None,
                message: format!(
                    "cluster {id} ended {}: {}",
                    if state.is_none() {
                        "missing"
                    } else {
                        "DELETED"
                    },
                    cluster
                        .and_then(|c| c.state_message())
                        .unwrap_or("no message")
                ),
            }));
        };
        tick(
            clients,
            started,
            &format!("cluster {id}"),
            state.as_str(),
            "run plan again later: it picks up from the cluster's state",
        )
        .await?;
    }
}

async fn wait_hsm(clients: &Clients, cluster_id: &str, hsm_id: &str) -> Result<(), ApplyError> {
    let started = Instant::now();
    loop {
        let out = clients
            .cloudhsm
            .describe_clusters()
            .filters("clusterIds", vec![cluster_id.to_owned()])
            .send()
            .await
            .map_err(failed("cloudhsmv2:DescribeClusters"))?;
        let hsm = out
            .clusters()
            .first()
            .and_then(|c| c.hsms().iter().find(|h| h.hsm_id() == hsm_id));
        let state = hsm.and_then(|h| h.state());
        match state {
            Some(HsmState::Active) => return Ok(()),
            // An HSM made seconds ago is briefly absent from its cluster's description.
            None if started.elapsed() < clients.propagation.timeout => {
                tick(
                    clients,
                    started,
                    &format!("HSM {hsm_id}"),
                    "not listed yet",
                    "run plan again later: it counts the HSM once ACTIVE",
                )
                .await?
            }
            None | Some(HsmState::Degraded | HsmState::Deleted) => {
                return Err(ApplyError::Aws(AwsError::Call {
                    operation: "cloudhsmv2:CreateHsm".into(),
                    code: None,
                    message: format!(
                        "HSM {hsm_id} is {}: {}",
                        state.map_or("gone", HsmState::as_str),
                        hsm.and_then(|h| h.state_message()).unwrap_or("no message")
                    ),
                }));
            }
            Some(state) => {
                tick(
                    clients,
                    started,
                    &format!("HSM {hsm_id}"),
                    state.as_str(),
                    "run plan again later: it counts the HSM once ACTIVE",
                )
                .await?
            }
        }
    }
}

async fn wait_store(
    clients: &Clients,
    id: &str,
    wanted: ConnectionStateType,
) -> Result<(), ApplyError> {
    let started = Instant::now();
    loop {
        let out = clients
            .kms
            .describe_custom_key_stores()
            .custom_key_store_id(id)
            .send()
            .await
            .map_err(failed("kms:DescribeCustomKeyStores"))?;
        let store = out.custom_key_stores().first();
        let state = store.and_then(|s| s.connection_state());
        if state == Some(&wanted) {
            return Ok(());
        }
        if state == Some(&ConnectionStateType::Failed) {
            let code = store
                .and_then(|s| s.connection_error_code())
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "unknown".into());
            return Err(ApplyError::Aws(AwsError::Call {
                operation: "kms:ConnectCustomKeyStore".into(),
                code: Some(code.clone()),
                message: format!(
                    "the key store {id} failed to connect: {code}: {}",
                    crate::connection::explain(&code)
                ),
            }));
        }
        tick(
            clients,
            started,
            &format!("key store {id}"),
            state.map_or("", ConnectionStateType::as_str),
            "connecting can take 20 minutes; run plan again later",
        )
        .await?;
    }
}

/// One polling step: report, give up after the timeout, else sleep.
async fn tick(
    clients: &Clients,
    started: Instant,
    what: &str,
    state: &str,
    hint: &str,
) -> Result<(), ApplyError> {
    let waited = started.elapsed();
    if waited >= clients.waits.timeout {
        return Err(waited_too_long(what, state, waited, hint));
    }
    (clients.waits.progress)(format!("{what}: {state} ({}s elapsed)", waited.as_secs()));
    tokio::time::sleep(clients.waits.interval).await;
    Ok(())
}

#[cfg(test)]
mod tests;
