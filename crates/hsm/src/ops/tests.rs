use std::collections::BTreeSet;

use kmsctl_core::operation::variant_names;
use kmsctl_core::{Address, Operation, Reference};

use super::*;

fn made() -> Address {
    Address::new("kms_custom_key_store", "store")
}

/// One of every call, naming the cluster or store by `id`.
fn every_op(id: &Ref<String>) -> Vec<HsmOp> {
    vec![
        HsmOp::CreateCluster {
            hsm_type: "hsm2m.medium".into(),
            subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
            source_backup_id: None,
            tags: BTreeMap::from([("Name".into(), "prod".into())]),
        },
        HsmOp::CreateHsm {
            cluster_id: id.clone(),
            availability_zone: "us-east-1a".into(),
        },
        HsmOp::CreateCustomKeyStore {
            name: "store".into(),
            cluster_id: id.clone(),
            trust_anchor: "-----BEGIN CERTIFICATE-----".into(),
            password_env: "KMSUSER_PASSWORD".into(),
        },
        HsmOp::ConnectCustomKeyStore { id: id.clone() },
        HsmOp::DisconnectCustomKeyStore { id: id.clone() },
    ]
}

#[test]
fn every_operation_declares_coherent_semantics() {
    let ops = every_op(&Ref::Known("cluster-1".into()));
    let sampled: BTreeSet<String> = ops.iter().map(|op| op.name().to_owned()).collect();
    let declared: BTreeSet<String> = variant_names::<HsmOp>().into_iter().collect();
    assert_eq!(sampled, declared, "every_op must hold one of each call");
    for op in &ops {
        assert_eq!(op.semantics().check(), Ok(()), "{}", op.name());
    }
    // The calls that start a long process are the ones apply waits on.
    let confirmed: Vec<&str> = ops
        .iter()
        .filter(|op| op.semantics().confirm.is_some())
        .map(|op| op.name())
        .collect();
    assert_eq!(
        confirmed,
        [
            "CreateCluster",
            "CreateHsm",
            "ConnectCustomKeyStore",
            "DisconnectCustomKeyStore"
        ]
    );
}

#[test]
fn every_operation_round_trips_with_and_without_references() {
    let reference = Ref::After(Reference::new(made(), "id"));
    let outputs = Outputs::from([(
        made(),
        BTreeMap::from([("id".to_owned(), "cks-1".to_owned())]),
    )]);
    for (planned, known) in every_op(&reference)
        .into_iter()
        .zip(every_op(&Ref::Known("cks-1".into())))
    {
        for op in [&planned, &known] {
            let encoded = Operation::encode(op);
            assert_eq!(encoded.name(), Some(op.name()));
            assert_eq!(encoded.decode::<HsmOp>().as_ref(), Ok(op));
        }
        let resolved = Operation::encode(&planned).resolve::<HsmOp<String>>(&outputs);
        assert!(resolved.is_ok(), "{}: {resolved:?}", planned.name());
        assert_eq!(
            resolved,
            Operation::encode(&known).resolve::<HsmOp<String>>(&Outputs::new())
        );
    }
}

/// What the diff wrote before operations were typed (`json!`, fields in this order): saved plans
/// hold it, so the typed encoding must be the same text.
#[test]
fn the_encoding_is_the_text_plans_already_hold() {
    use serde_json::json;
    let cases = [
        (
            every_op(&Ref::Known("c-1".into())).remove(0),
            json!({"op": "CreateCluster", "hsm_type": "hsm2m.medium", "subnet_ids": ["subnet-a", "subnet-b"],
                "source_backup_id": null, "tags": {"Name": "prod"}}),
        ),
        (
            HsmOp::CreateHsm {
                cluster_id: Ref::After(Reference::new(
                    Address::new("hsm_cluster", "prod"),
                    "cluster_id",
                )),
                availability_zone: "us-east-1a".into(),
            },
            json!({"op": "CreateHsm", "cluster_id": {"$ref": "hsm_cluster.prod#cluster_id"},
                "availability_zone": "us-east-1a"}),
        ),
        (
            every_op(&Ref::Known("c-1".into())).remove(2),
            json!({"op": "CreateCustomKeyStore", "name": "store", "cluster_id": "c-1",
                "trust_anchor": "-----BEGIN CERTIFICATE-----", "password_env": "KMSUSER_PASSWORD"}),
        ),
        (
            HsmOp::ConnectCustomKeyStore {
                id: Ref::Known("cks-1".into()),
            },
            json!({"op": "ConnectCustomKeyStore", "id": "cks-1"}),
        ),
    ];
    for (op, before) in cases {
        assert_eq!(Operation::encode(&op).to_string(), before.to_string());
    }
}
