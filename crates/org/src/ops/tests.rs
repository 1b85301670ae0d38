use std::collections::BTreeSet;

use kmsctl_core::operation::variant_names;
use kmsctl_core::{Address, Operation, Reference};

use super::*;

fn new_policy() -> Address {
    Address::new("org_policy", "scp/x")
}

/// One of every call, naming the policy by `policy_id`.
fn every_op(policy_id: &Ref<String>) -> Vec<OrgOp> {
    vec![
        OrgOp::EnablePolicyType {
            root_id: "r-ab12".into(),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
        },
        OrgOp::CreatePolicy {
            name: "x".into(),
            description: "d".into(),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
            content: "{}".into(),
            tags: BTreeMap::from([("kmsctl:managed".into(), "true".into())]),
        },
        OrgOp::UpdatePolicy {
            policy_id: policy_id.clone(),
            content: "{}".into(),
            description: "d".into(),
        },
        OrgOp::AttachPolicy {
            policy_id: policy_id.clone(),
            target_id: "r-ab12".into(),
        },
        OrgOp::DetachPolicy {
            policy_id: policy_id.clone(),
            target_id: "r-ab12".into(),
        },
        OrgOp::DeletePolicy {
            policy_id: policy_id.clone(),
        },
        OrgOp::TagPolicy {
            policy_id: policy_id.clone(),
            tags: [("kmsctl:managed".to_owned(), "true".to_owned())].into(),
        },
    ]
}

#[test]
fn every_operation_declares_coherent_semantics() {
    let ops = every_op(&Ref::Known("p-1".into()));
    let sampled: BTreeSet<String> = ops.iter().map(|op| op.name().to_owned()).collect();
    let declared: BTreeSet<String> = variant_names::<OrgOp>().into_iter().collect();
    assert_eq!(sampled, declared, "every_op must hold one of each call");
    for op in &ops {
        let semantics = op.semantics();
        assert_eq!(semantics.check(), Ok(()), "{}", op.name());
        // Every Organizations write may meet another in progress (what run_with_retry did).
        assert!(
            semantics
                .not_yet
                .repeated_by_apply(Some("ConcurrentModificationException"), ""),
            "{}",
            op.name()
        );
    }
}

#[test]
fn every_operation_round_trips_with_and_without_references() {
    let reference = Ref::After(Reference::new(new_policy(), "policy_id"));
    let outputs = Outputs::from([(
        new_policy(),
        BTreeMap::from([("policy_id".to_owned(), "p-1".to_owned())]),
    )]);
    for (planned, known) in every_op(&reference)
        .into_iter()
        .zip(every_op(&Ref::Known("p-1".into())))
    {
        for op in [&planned, &known] {
            let encoded = Operation::encode(op);
            assert_eq!(encoded.name(), Some(op.name()));
            assert_eq!(encoded.decode::<OrgOp>().as_ref(), Ok(op));
        }
        let resolved = Operation::encode(&planned).resolve::<OrgOp<String>>(&outputs);
        assert!(resolved.is_ok(), "{}: {resolved:?}", planned.name());
        assert_eq!(
            resolved,
            Operation::encode(&known).resolve::<OrgOp<String>>(&Outputs::new())
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
            OrgOp::EnablePolicyType {
                root_id: "r-1".into(),
                policy_type: "RESOURCE_CONTROL_POLICY".into(),
            },
            json!({"op": "EnablePolicyType", "root_id": "r-1", "policy_type": "RESOURCE_CONTROL_POLICY"}),
        ),
        (
            every_op(&Ref::Known("p-1".into())).remove(1),
            json!({"op": "CreatePolicy", "name": "x", "description": "d", "policy_type": "SERVICE_CONTROL_POLICY",
                "content": "{}", "tags": {"kmsctl:managed": "true"}}),
        ),
        (
            OrgOp::UpdatePolicy {
                policy_id: Ref::Known("p-1".into()),
                content: "{}".into(),
                description: "d".into(),
            },
            json!({"op": "UpdatePolicy", "policy_id": "p-1", "content": "{}", "description": "d"}),
        ),
        (
            OrgOp::AttachPolicy {
                policy_id: Ref::After(Reference::new(new_policy(), "policy_id")),
                target_id: "ou-1".into(),
            },
            json!({"op": "AttachPolicy", "policy_id": {"$ref": "org_policy.scp/x#policy_id"}, "target_id": "ou-1"}),
        ),
    ];
    for (op, before) in cases {
        assert_eq!(Operation::encode(&op).to_string(), before.to_string());
    }
}
