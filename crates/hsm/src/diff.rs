//! The CloudHSM lifecycle as plan steps, a pure function of `hsm.toml` and what AWS holds:
//! create cluster (wait for UNINITIALIZED) → create the first HSM (its CSR appears) → **operator
//! gate**: sign the CSR, InitializeCluster, activate, create `kmsuser` → HSMs up to `hsm_count`,
//! one per AZ first → create the key store → connect → the store's keys. The plan stops at the
//! first gate it cannot pass and says what the operator must do.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudhsmv2::types::ClusterState;
use aws_sdk_kms::types::ConnectionStateType;
use kmsctl_core::{
    Action, Address, AttributeChange, Control, Finding, Note, NoteLevel, Operation, Ref, Reference,
    ResourceChange, Rule,
};
use serde_json::json;

use crate::desired::DesiredHsm;
use crate::observe::{ObservedCluster, ObservedHsmSetup};
use crate::ops::HsmOp;

pub use crate::kinds::{KIND_CLUSTER, KIND_CONNECTION, KIND_HSM, KIND_KEY_STORE};

pub const HSM_SUBNETS_AZ: Rule = Rule::error(
    "hsm-subnets-az",
    Some(Control::Hsm),
    "the cluster's subnets span at least 2 Availability Zones",
);
pub const HSM_KEY_STORE_CLUSTER: Rule = Rule::error(
    "hsm-key-store-cluster",
    Some(Control::Hsm),
    "the key store belongs to the declared cluster",
);

/// Whether keys can be created in the store, and how their CreateKey names it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreReadiness {
    /// Connected now: keys use this id.
    Connected(String),
    /// Connected by this plan: keys use this reference (the connection's `id`) and are applied
    /// after it.
    InPlan(Reference),
    /// Not in this plan: keys in the store are held back, for this reason.
    NotReady(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HsmDiff {
    pub changes: Vec<ResourceChange>,
    pub findings: Vec<Finding>,
    pub notes: Vec<Note>,
    /// The operator's next steps, when the plan stopped at a gate.
    pub gate: Option<String>,
    pub store: StoreReadiness,
}

fn change(
    address: Address,
    action: Action,
    attributes: Vec<AttributeChange>,
    operations: Vec<HsmOp>,
    depends_on: Vec<Address>,
    desired: &DesiredHsm,
) -> ResourceChange {
    ResourceChange {
        address,
        action,
        attributes,
        depends_on,
        operations: operations.iter().map(Operation::encode).collect(),
        source: Some(desired.cluster.location.clone()),
    }
}

pub fn diff(desired: &DesiredHsm, observed: &ObservedHsmSetup) -> HsmDiff {
    let mut out = HsmDiff {
        changes: vec![],
        findings: vec![],
        notes: vec![],
        gate: None,
        store: StoreReadiness::NotReady("the cluster is not active yet".into()),
    };
    check_subnets(desired, observed, &mut out);
    if out.findings.iter().any(Finding::is_error) {
        return out;
    }
    let label = format!("env/{}", desired.environment);
    let cluster_address = Address::new(KIND_CLUSTER, desired.cluster.name.clone());
    let Some(cluster) = &observed.cluster else {
        out.changes.push(change(
            cluster_address.clone(),
            Action::Create,
            vec![
                AttributeChange::added("hsm_type", desired.cluster.hsm_type.clone()),
                AttributeChange::added("subnet_ids", json!(desired.cluster.subnet_ids)),
                AttributeChange::after_apply("cluster_id"),
                AttributeChange::added("wait", "until UNINITIALIZED"),
            ],
            vec![HsmOp::CreateCluster {
                hsm_type: desired.cluster.hsm_type.clone(),
                subnet_ids: desired.cluster.subnet_ids.clone(),
                source_backup_id: desired.cluster.source_backup_id.clone(),
                tags: desired.tags.clone(),
            }],
            vec![],
            desired,
        ));
        let azs = azs_of(desired, observed, None);
        let first_az = azs.first().cloned().unwrap_or_default();
        let cluster_id = Ref::After(Reference::new(cluster_address.clone(), "cluster_id"));
        out.changes.push(create_hsm(
            desired,
            &first_az,
            1,
            cluster_id,
            vec![cluster_address],
        ));
        gate(&mut out, initialize_steps(desired, None, &label));
        return out;
    };
    match cluster.state.get() {
        Some(ClusterState::Uninitialized) => {
            if cluster.live_hsms().next().is_none() {
                let azs = azs_of(desired, observed, Some(cluster));
                let first_az = azs.first().cloned().unwrap_or_default();
                out.changes.push(create_hsm(
                    desired,
                    &first_az,
                    1,
                    Ref::Known(cluster.id.clone()),
                    vec![],
                ));
            } else if cluster.active_hsms().next().is_none() {
                waiting(
                    &mut out,
                    format!(
                        "the first HSM of cluster {} is being created: its CSR appears when it is ACTIVE",
                        cluster.id
                    ),
                );
            }
            gate(&mut out, initialize_steps(desired, Some(cluster), &label));
            out
        }
        Some(ClusterState::Initialized) => {
            gate(&mut out, activate_steps(cluster, &label));
            out
        }
        Some(ClusterState::Active | ClusterState::Degraded) => {
            if cluster.state == ClusterState::Degraded {
                out.notes.push(Note::new(
                    NoteLevel::Warning,
                    Some(cluster_address),
                    format!(
                        "cluster {} is DEGRADED{}: check its HSMs in the CloudHSM console",
                        cluster.id,
                        cluster.state_note()
                    ),
                ));
            }
            let hsm_changes = hsms(desired, observed, cluster, &mut out);
            store(desired, observed, cluster, hsm_changes, &mut out);
            out
        }
        _ => {
            waiting(
                &mut out,
                format!(
                    "cluster {} is {}{}: run `kmsctl plan {label}` again when it is UNINITIALIZED, INITIALIZED or ACTIVE",
                    cluster.id,
                    cluster.state,
                    cluster.state_note()
                ),
            );
            out
        }
    }
}

fn gate(out: &mut HsmDiff, steps: String) {
    out.notes
        .push(Note::new(NoteLevel::Warning, None, steps.clone()));
    out.gate = Some(steps);
}

fn waiting(out: &mut HsmDiff, message: String) {
    out.notes
        .push(Note::new(NoteLevel::Info, None, message.clone()));
    out.store = StoreReadiness::NotReady(message);
}

/// Every declared subnet must exist, and they must span at least two AZs.
fn check_subnets(desired: &DesiredHsm, observed: &ObservedHsmSetup, out: &mut HsmDiff) {
    let unknown: Vec<&str> = desired
        .cluster
        .subnet_ids
        .iter()
        .filter(|s| !observed.subnet_azs.contains_key(*s))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        out.findings.push(Finding::of(
            &crate::guards::HSM_SUBNETS,
            desired.cluster.location.clone(),
            format!(
                "subnet(s) {} do not exist in this account and region",
                unknown.join(", ")
            ),
            "use the ids of existing private subnets of the cluster's VPC",
        ));
        return;
    }
    let azs: BTreeSet<&String> = observed.subnet_azs.values().collect();
    if azs.len() < 2 {
        out.findings.push(Finding::of(
            &HSM_SUBNETS_AZ,
            desired.cluster.location.clone(),
            format!(
                "the subnets {} are all in {}: CloudHSM needs subnets in at least 2 Availability Zones, and a custom key store needs active HSMs in 2 of them",
                desired.cluster.subnet_ids.join(", "),
                azs.iter().next().map_or("one AZ", |az| az.as_str())
            ),
            "add a private subnet in another Availability Zone",
        ));
    }
}

/// The AZs HSMs can go to, sorted: the cluster's subnet mapping, or the declared subnets' AZs.
fn azs_of(
    desired: &DesiredHsm,
    observed: &ObservedHsmSetup,
    cluster: Option<&ObservedCluster>,
) -> Vec<String> {
    let mut azs: BTreeSet<String> = cluster
        .map(|c| c.subnets.keys().cloned().collect())
        .unwrap_or_default();
    if azs.is_empty() {
        azs = desired
            .cluster
            .subnet_ids
            .iter()
            .filter_map(|s| observed.subnet_azs.get(s).cloned())
            .collect();
    }
    azs.into_iter().collect()
}

fn create_hsm(
    desired: &DesiredHsm,
    az: &str,
    nth: usize,
    cluster_id: Ref<String>,
    depends_on: Vec<Address>,
) -> ResourceChange {
    let name = if nth == 1 {
        format!("{}/{az}", desired.cluster.name)
    } else {
        format!("{}/{az}#{nth}", desired.cluster.name)
    };
    change(
        Address::new(KIND_HSM, name),
        Action::Create,
        vec![
            AttributeChange::added("availability_zone", az.to_owned()),
            AttributeChange::after_apply("hsm_id"),
            AttributeChange::added("wait", "until ACTIVE"),
        ],
        vec![HsmOp::CreateHsm {
            cluster_id,
            availability_zone: az.to_owned(),
        }],
        depends_on,
        desired,
    )
}

/// HSMs up to `hsm_count`: each new one to the AZ with the fewest, so every AZ gets one first.
/// Returns the addresses of the HSMs this plan creates.
fn hsms(
    desired: &DesiredHsm,
    observed: &ObservedHsmSetup,
    cluster: &ObservedCluster,
    out: &mut HsmDiff,
) -> Vec<Address> {
    let azs = azs_of(desired, observed, Some(cluster));
    let mut per_az: BTreeMap<String, usize> = azs.iter().map(|az| (az.clone(), 0)).collect();
    for hsm in cluster.live_hsms() {
        *per_az.entry(hsm.availability_zone.clone()).or_default() += 1;
    }
    let live = cluster.live_hsms().count();
    if live > desired.cluster.hsm_count {
        out.notes.push(Note::new(NoteLevel::Warning, None, format!(
            "cluster {} has {live} HSMs and hsm_count is {}: kmsctl never deletes an HSM; delete one by hand if you mean it",
            cluster.id, desired.cluster.hsm_count
        )));
    }
    let mut planned = Vec::new();
    for _ in live..desired.cluster.hsm_count {
        let Some((az, count)) = per_az
            .iter_mut()
            .min_by_key(|(az, count)| (**count, (*az).clone()))
        else {
            break;
        };
        *count += 1;
        // One at a time: after a lost CreateHsm answer the look-up takes the HSM that is new in
        // its AZ, which a sibling made side by side could be.
        let after = planned.last().cloned().into_iter().collect();
        let change = create_hsm(desired, az, *count, Ref::Known(cluster.id.clone()), after);
        planned.push(change.address.clone());
        out.changes.push(change);
    }
    planned
}

fn store(
    desired: &DesiredHsm,
    observed: &ObservedHsmSetup,
    cluster: &ObservedCluster,
    hsm_changes: Vec<Address>,
    out: &mut HsmDiff,
) {
    let Some(wanted) = &desired.store else {
        out.store = StoreReadiness::NotReady("no [hsm.key_store] is declared".into());
        return;
    };
    let store_address = Address::new(KIND_KEY_STORE, wanted.name.clone());
    let connection_address = Address::new(KIND_CONNECTION, wanted.name.clone());
    let connect_op = |id: Ref<String>| HsmOp::ConnectCustomKeyStore { id };
    let Some(live) = &observed.store else {
        // CreateCustomKeyStore needs 2 active HSMs in different AZs: those of this plan are
        // waited for (each CreateHsm waits for ACTIVE) before the store is made.
        let mut azs: BTreeSet<String> = cluster
            .live_hsms()
            .map(|h| h.availability_zone.clone())
            .collect();
        azs.extend(hsm_changes.iter().filter_map(|a| {
            a.name
                .rsplit('/')
                .next()
                .map(|az| az.split('#').next().unwrap_or(az).to_owned())
        }));
        if azs.len() < 2 {
            waiting(
                out,
                format!(
                    "the key store {} needs active HSMs in 2 Availability Zones; the cluster will have them in {}",
                    wanted.name,
                    azs.len()
                ),
            );
            return;
        }
        out.changes.push(change(
            store_address.clone(),
            Action::Create,
            vec![
                AttributeChange::added("cluster_id", cluster.id.clone()),
                AttributeChange::added(
                    "trust_anchor_certificate",
                    wanted.trust_anchor_file.clone(),
                ),
                AttributeChange::added(
                    "password",
                    format!("read from ${} at apply", wanted.password_env),
                ),
                AttributeChange::after_apply("id"),
            ],
            vec![HsmOp::CreateCustomKeyStore {
                name: wanted.name.clone(),
                cluster_id: Ref::Known(cluster.id.clone()),
                trust_anchor: wanted.trust_anchor.clone(),
                password_env: wanted.password_env.clone(),
            }],
            hsm_changes,
            desired,
        ));
        if wanted.connect {
            let id = Ref::After(Reference::new(store_address, "id"));
            out.changes.push(change(
                connection_address.clone(),
                Action::Update,
                vec![
                    AttributeChange::new("connection_state", None, Some("CONNECTED".into())),
                    AttributeChange::added("wait", "until CONNECTED"),
                ],
                vec![connect_op(id)],
                vec![],
                desired,
            ));
            out.store = StoreReadiness::InPlan(Reference::new(connection_address, "id"));
        } else {
            out.store = StoreReadiness::NotReady(format!(
                "the key store {} is declared with connect = false",
                wanted.name
            ));
        }
        return;
    };
    if live.cluster_id.as_deref() != Some(cluster.id.as_str()) {
        out.findings.push(Finding::of(
            &HSM_KEY_STORE_CLUSTER,
            wanted.location.clone(),
            format!(
                "the key store {} is associated with cluster {}, not with {} ({})",
                wanted.name,
                live.cluster_id.as_deref().unwrap_or("(none)"),
                cluster.id,
                desired.cluster.name
            ),
            "name another key store, or point the existing one at this cluster (UpdateCustomKeyStore, a cluster with the same backup lineage)",
        ));
        return;
    }
    if !wanted.trust_anchor.is_empty()
        && live
            .trust_anchor
            .as_deref()
            .is_some_and(|t| t.trim() != wanted.trust_anchor.trim())
    {
        out.notes.push(Note::new(NoteLevel::Warning, Some(store_address), format!(
            "the key store's trust anchor differs from {}: kmsctl does not replace it (it must match the cluster's)",
            wanted.trust_anchor_file
        )));
    }
    let id = live.id.clone();
    let mut connection_change =
        |action_ops: Vec<HsmOp>, before: &str, after: &str, extra: Vec<AttributeChange>| {
            let mut attributes = vec![AttributeChange::new(
                "connection_state",
                Some(before.into()),
                Some(after.into()),
            )];
            attributes.extend(extra);
            out.changes.push(change(
                connection_address.clone(),
                Action::Update,
                attributes,
                action_ops,
                vec![],
                desired,
            ));
        };
    match (live.connection_state.get(), wanted.connect) {
        (Some(ConnectionStateType::Connected), true) => out.store = StoreReadiness::Connected(id),
        (Some(ConnectionStateType::Connected), false) => {
            connection_change(
                vec![HsmOp::DisconnectCustomKeyStore { id: Ref::Known(id) }],
                "CONNECTED",
                "DISCONNECTED",
                vec![],
            );
            out.store = StoreReadiness::NotReady(format!(
                "the key store {} is being disconnected (connect = false)",
                wanted.name
            ));
        }
        (Some(ConnectionStateType::Disconnected), true) => {
            connection_change(
                vec![connect_op(Ref::Known(id))],
                "DISCONNECTED",
                "CONNECTED",
                vec![AttributeChange::added("wait", "until CONNECTED")],
            );
            out.store = StoreReadiness::InPlan(Reference::new(connection_address.clone(), "id"));
        }
        (Some(ConnectionStateType::Failed), true) => {
            let code = live
                .connection_error_code
                .clone()
                .unwrap_or_else(|| "unknown".into());
            out.notes.push(Note::new(
                NoteLevel::Warning,
                Some(connection_address.clone()),
                format!(
                    "the last connection of {} failed with {code}: {}",
                    wanted.name,
                    crate::connection::explain(&code)
                ),
            ));
            // A FAILED store must be disconnected before it can connect again.
            connection_change(
                vec![
                    HsmOp::DisconnectCustomKeyStore {
                        id: Ref::Known(id.clone()),
                    },
                    connect_op(Ref::Known(id)),
                ],
                "FAILED",
                "CONNECTED",
                vec![AttributeChange::new(
                    "connection_error_code",
                    Some(code.into()),
                    None,
                )],
            );
            out.store = StoreReadiness::InPlan(Reference::new(connection_address.clone(), "id"));
        }
        (Some(ConnectionStateType::Disconnected | ConnectionStateType::Failed), false) => {
            out.store = StoreReadiness::NotReady(format!(
                "the key store {} is not connected (connect = false)",
                wanted.name
            ));
        }
        _ => waiting(
            out,
            format!(
                "the key store {} is {}: run plan again when it has settled",
                wanted.name, live.connection_state
            ),
        ),
    }
}

fn initialize_steps(
    desired: &DesiredHsm,
    cluster: Option<&ObservedCluster>,
    label: &str,
) -> String {
    let id = cluster.map_or("CLUSTER_ID".to_owned(), |c| c.id.clone());
    let anchor = desired
        .store
        .as_ref()
        .map_or("customerCA.crt".to_owned(), |s| {
            format!(
                "environments/{}/{}",
                desired.environment, s.trust_anchor_file
            )
        });
    let when = match cluster {
        None => format!(
            "Operator gate: after this apply, cluster {} exists (UNINITIALIZED) with its first HSM, and kmsctl stops: initializing it needs your CA. Then, with CLUSTER_ID the id apply prints:",
            desired.cluster.name
        ),
        Some(c) if !c.csr_available => format!(
            "Operator gate: cluster {id} ({}) is UNINITIALIZED; its CSR appears once its first HSM is ACTIVE. Then:",
            desired.cluster.name
        ),
        Some(_) => format!(
            "Operator gate: cluster {id} ({}) is UNINITIALIZED and waits for you. kmsctl cannot sign its certificate: that needs your CA's private key.",
            desired.cluster.name
        ),
    };
    format!(
        "{when}\n\
         1. Fetch the CSR:\n   aws cloudhsmv2 describe-clusters --filters clusterIds={id} --query 'Clusters[0].Certificates.ClusterCsr' --output text > {id}_ClusterCsr.csr\n\
         2. Sign it with the trust anchor's key, where that key lives:\n   openssl x509 -req -days 3652 -in {id}_ClusterCsr.csr -CA {anchor} -CAkey customerCA.key -CAcreateserial -out {id}_CustomerHsmCertificate.crt\n\
         3. Initialize the cluster:\n   aws cloudhsmv2 initialize-cluster --cluster-id {id} --signed-cert file://{id}_CustomerHsmCertificate.crt --trust-anchor file://{anchor}\n\
         4. When it is INITIALIZED, activate it and create the crypto user KMS logs in as (CloudHSM CLI, from an instance in the cluster's VPC):\n   cloudhsm-cli cluster activate\n   cloudhsm-cli login --username admin --role admin\n   cloudhsm-cli user create --username kmsuser --role crypto-user\n   (the kmsuser password is the one you will export in the key store's password_env)\n\
         Then run `kmsctl plan {label}` again: it adds the HSMs, the key store, the connection and the store's keys."
    )
}

fn activate_steps(cluster: &ObservedCluster, label: &str) -> String {
    format!(
        "Operator gate: cluster {} ({}) is INITIALIZED: activate it and create the crypto user KMS logs in as (CloudHSM CLI, from an instance in the cluster's VPC):\n   cloudhsm-cli cluster activate\n   cloudhsm-cli login --username admin --role admin\n   cloudhsm-cli user create --username kmsuser --role crypto-user\n   (the kmsuser password is the one you will export in the key store's password_env)\n\
         Then run `kmsctl plan {label}` again: it adds the HSMs, the key store, the connection and the store's keys.",
        cluster.id, cluster.name
    )
}
