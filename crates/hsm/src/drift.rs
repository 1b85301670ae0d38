//! What drift reports as checked for CloudHSM: the cluster (its HSMs and their zones) and the
//! key store (its connection), under HSM-backed key storage, with what was observed.

use std::collections::BTreeMap;

use kmsctl_core::ResourceKind;
use kmsctl_core::domain::Checked;
use serde_json::{Value, json};

use crate::DesiredHsm;
use crate::kinds::{KIND_CLUSTER, KIND_KEY_STORE, KINDS};
use crate::observe::ObservedHsmSetup;

pub fn checked(desired: &DesiredHsm, observed: &ObservedHsmSetup) -> Vec<Checked> {
    let control = |kind| ResourceKind::control_in(&KINDS, kind).map(|c| c.id().to_owned());
    let cluster = observed.cluster.as_ref();
    let observed_or_null = |value: Option<Value>| value.unwrap_or(Value::Null);
    let mut out = Vec::new();
    out.extend(control(KIND_CLUSTER).map(|control| Checked {
        resource: format!("{KIND_CLUSTER}.{}", desired.cluster.name),
        control,
        declared: Some(desired.cluster.location.clone()),
        evidence: BTreeMap::from([
            ("hsm_count".to_owned(), json!(desired.cluster.hsm_count)),
            (
                "state".to_owned(),
                observed_or_null(cluster.map(|c| json!(c.state))),
            ),
            (
                "hsm_availability_zones".to_owned(),
                observed_or_null(cluster.map(|c| {
                    json!(
                        c.hsms
                            .iter()
                            .map(|h| h.availability_zone.as_str())
                            .collect::<Vec<_>>()
                    )
                })),
            ),
        ]),
    }));
    if let (Some(store), Some(control)) = (&desired.store, control(KIND_KEY_STORE)) {
        let live = observed.store.as_ref();
        out.push(Checked {
            resource: format!("{KIND_KEY_STORE}.{}", store.name),
            control,
            declared: Some(store.location.clone()),
            evidence: BTreeMap::from([
                (
                    "connection_state".to_owned(),
                    observed_or_null(live.map(|s| json!(s.connection_state))),
                ),
                (
                    "cluster_id".to_owned(),
                    observed_or_null(live.map(|s| json!(s.cluster_id))),
                ),
            ]),
        });
    }
    out
}
