use std::collections::BTreeSet;

use kmsctl_core::operation::variant_names;
use kmsctl_core::{Address, Operation, Outputs, Reference};
use serde_json::json;

use super::*;
use crate::handle::KeyHandle;

fn new_key() -> Address {
    Address::new("kms_key", "x")
}

/// One of every call, naming the key by `key`.
fn every_op(key: &Ref<String>) -> Vec<KeyOp> {
    vec![
        KeyOp::CreateKey {
            id: "dev/app/team/x".into(),
            description: "x".into(),
            key_spec: KeySpec::SymmetricDefault,
            key_usage: KeyUsageType::EncryptDecrypt,
            multi_region: false,
            policy: "{}".into(),
            tags: BTreeMap::from([("kmsctl:id".into(), "dev/app/team/x".into())]),
            custom_key_store_id: Some(key.clone()),
        },
        KeyOp::UpdateKeyDescription {
            key_id: key.clone(),
            description: "y".into(),
        },
        KeyOp::TagResource {
            key_id: key.clone(),
            tags: BTreeMap::from([("kmsctl:superseded-by".into(), key.clone())]),
        },
        KeyOp::UntagResource {
            key_id: key.clone(),
            tag_keys: vec!["Temp".into()],
        },
        KeyOp::EnableKey {
            key_id: key.clone(),
        },
        KeyOp::DisableKey {
            key_id: key.clone(),
        },
        KeyOp::ScheduleKeyDeletion {
            key_id: key.clone(),
            pending_window_in_days: 30,
        },
        KeyOp::CancelKeyDeletion {
            key_id: key.clone(),
        },
        KeyOp::PutKeyPolicy {
            key_id: key.clone(),
            policy: "{}".into(),
        },
        KeyOp::EnableKeyRotation {
            key_id: key.clone(),
            rotation_period_in_days: Some(365),
        },
        KeyOp::DisableKeyRotation {
            key_id: key.clone(),
        },
        KeyOp::CreateAlias {
            alias_name: "alias/x".into(),
            target_key_id: key.clone(),
        },
        KeyOp::UpdateAlias {
            alias_name: "alias/x".into(),
            target_key_id: key.clone(),
        },
    ]
}

#[test]
fn every_operation_declares_coherent_semantics() {
    let ops = every_op(&Ref::Known("k-1".into()));
    let sampled: BTreeSet<&str> = ops.iter().map(|op| op.name()).collect();
    let declared: BTreeSet<String> = variant_names::<KeyOp>().into_iter().collect();
    assert_eq!(
        sampled,
        declared.iter().map(String::as_str).collect(),
        "every_op must hold one of each call"
    );
    for op in &ops {
        assert_eq!(op.semantics().check(), Ok(()), "{}", op.name());
    }
    // Only CreateKey makes something a blind repeat would make twice: it looks first.
    let looked_up: Vec<&str> = ops
        .iter()
        .filter(|op| matches!(op.semantics().lost_answer, LostAnswer::LookUp(_)))
        .map(|op| op.name())
        .collect();
    assert_eq!(looked_up, ["CreateKey"]);
}

#[test]
fn every_operation_round_trips_with_and_without_references() {
    let reference = Ref::After(Reference::new(new_key(), "key_id"));
    let outputs = Outputs::from([(
        new_key(),
        BTreeMap::from([("key_id".to_owned(), "k-1".to_owned())]),
    )]);
    for (planned, known) in every_op(&reference)
        .into_iter()
        .zip(every_op(&Ref::Known("k-1".into())))
    {
        for op in [&planned, &known] {
            let encoded = Operation::encode(op);
            assert_eq!(encoded.name(), Some(op.name()));
            assert_eq!(encoded.decode::<KeyOp>().as_ref(), Ok(op));
        }
        // Resolved, the reference and the known id give the same call.
        let resolved = Operation::encode(&planned).resolve::<KeyOp<String>>(&outputs);
        let direct = Operation::encode(&known).resolve::<KeyOp<String>>(&Outputs::new());
        assert!(resolved.is_ok(), "{}: {resolved:?}", planned.name());
        assert_eq!(resolved, direct);
    }
}

#[test]
fn operations_round_trip_through_plan_json() {
    let value = Operation::encode(&KeyOp::PutKeyPolicy {
        key_id: KeyHandle::Existing("k-1".into()).key_id(),
        policy: "{}".into(),
    });
    let op: KeyOp<String> = value.decode().expect("known op");
    assert_eq!(
        op,
        KeyOp::PutKeyPolicy {
            key_id: "k-1".into(),
            policy: "{}".into()
        }
    );
}

#[test]
fn new_keys_are_referenced_until_apply() {
    let value = Operation::encode(&KeyOp::CreateAlias {
        alias_name: "alias/x".into(),
        target_key_id: KeyHandle::New(Address::new("kms_key", "x")).key_id(),
    });
    assert_eq!(value["target_key_id"], json!({"$ref": "kms_key.x#key_id"}));
}

#[test]
fn a_create_key_without_a_key_store_field_is_a_key_outside_any_store() {
    let value = json!({"op": "CreateKey", "id": "i", "description": "d", "key_spec": "SYMMETRIC_DEFAULT",
        "key_usage": "ENCRYPT_DECRYPT", "multi_region": false, "policy": "{}", "tags": {}});
    let op: KeyOp = serde_json::from_value(value).expect("decodes");
    assert!(matches!(
        op,
        KeyOp::CreateKey {
            custom_key_store_id: None,
            ..
        }
    ));
}

#[test]
fn unknown_fields_are_refused() {
    let value = json!({"op": "EnableKey", "key_id": "k", "extra": 1});
    assert!(serde_json::from_value::<KeyOp>(value).is_err());
}

#[test]
fn a_reference_where_the_call_takes_none_is_refused() {
    let value = json!({"op": "PutKeyPolicy", "key_id": "k", "policy": {"$ref": "kms_key.x#arn"}});
    assert!(serde_json::from_value::<KeyOp>(value).is_err());
}

/// What the diff wrote before operations were typed (`json!`, fields in this order): saved plans
/// hold it, so the typed encoding must be the same text.
#[test]
fn the_encoding_is_the_text_plans_already_hold() {
    let store = Ref::After(Reference::new(
        Address::new("kms_custom_key_store_connection", "s"),
        "id",
    ));
    let cases = [
        (
            KeyOp::CreateKey {
                id: "dev/a/b/c".into(),
                description: "d".into(),
                key_spec: KeySpec::SymmetricDefault,
                key_usage: KeyUsageType::EncryptDecrypt,
                multi_region: false,
                policy: "{}".into(),
                tags: BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
                custom_key_store_id: Some(store),
            },
            json!({"op": "CreateKey", "id": "dev/a/b/c", "description": "d", "key_spec": "SYMMETRIC_DEFAULT",
                "key_usage": "ENCRYPT_DECRYPT", "multi_region": false, "policy": "{}", "tags": {"a": "1", "b": "2"},
                "custom_key_store_id": {"$ref": "kms_custom_key_store_connection.s#id"}}),
        ),
        (
            KeyOp::CreateKey {
                id: "i".into(),
                description: "d".into(),
                key_spec: KeySpec::from("HMAC_256"),
                key_usage: KeyUsageType::GenerateVerifyMac,
                multi_region: true,
                policy: "{}".into(),
                tags: BTreeMap::new(),
                custom_key_store_id: None,
            },
            json!({"op": "CreateKey", "id": "i", "description": "d", "key_spec": "HMAC_256",
                "key_usage": "GENERATE_VERIFY_MAC", "multi_region": true, "policy": "{}", "tags": {},
                "custom_key_store_id": null}),
        ),
        (
            KeyOp::TagResource {
                key_id: Ref::Known("k-1".into()),
                tags: BTreeMap::from([
                    ("kmsctl:rotated-at".into(), Ref::Known("2026-01-01".into())),
                    (
                        "kmsctl:superseded-by".into(),
                        KeyHandle::New(new_key()).key_id(),
                    ),
                ]),
            },
            json!({"op": "TagResource", "key_id": "k-1", "tags": {"kmsctl:rotated-at": "2026-01-01",
                "kmsctl:superseded-by": {"$ref": "kms_key.x#key_id"}}}),
        ),
        (
            KeyOp::ScheduleKeyDeletion {
                key_id: Ref::Known("k-1".into()),
                pending_window_in_days: 7,
            },
            json!({"op": "ScheduleKeyDeletion", "key_id": "k-1", "pending_window_in_days": 7}),
        ),
        (
            KeyOp::EnableKeyRotation {
                key_id: KeyHandle::New(new_key()).key_id(),
                rotation_period_in_days: Some(180),
            },
            json!({"op": "EnableKeyRotation", "key_id": {"$ref": "kms_key.x#key_id"}, "rotation_period_in_days": 180}),
        ),
        (
            KeyOp::DisableKeyRotation {
                key_id: Ref::Known("k-1".into()),
            },
            json!({"op": "DisableKeyRotation", "key_id": "k-1"}),
        ),
        (
            KeyOp::UpdateAlias {
                alias_name: "alias/x".into(),
                target_key_id: Ref::Known("k-1".into()),
            },
            json!({"op": "UpdateAlias", "alias_name": "alias/x", "target_key_id": "k-1"}),
        ),
    ];
    for (op, before) in cases {
        assert_eq!(Operation::encode(&op).to_string(), before.to_string());
    }
}
