use std::collections::BTreeSet;

use kmsctl_core::operation::variant_names;
use kmsctl_core::{Address, Operation, Reference};

use super::*;

#[test]
fn every_operation_the_diff_writes_decodes() {
    use crate::desired::{Context, build};
    let decl: crate::config::MonitorDecl = crate::config::tests_support::declaration();
    let tags = BTreeMap::new();
    let desired = build(
        &decl,
        &Context {
            environment: "prod",
            account_id: "222222222222",
            region: "us-east-1",
            tags: &tags,
            topic_key: Some("alias/k".into()),
        },
    );
    let diff = crate::diff(&desired, &Default::default());
    assert!(!diff.changes.is_empty());
    for change in &diff.changes {
        for operation in &change.operations {
            let decoded: Result<MonitorOp<String>, _> = operation.resolve(&Outputs::new());
            assert!(decoded.is_ok(), "{operation}: {:?}", decoded.err());
        }
    }
}

fn new_topic() -> Address {
    Address::new("sns_topic", "alerts")
}

/// One of every call, naming ARNs by `arn`.
fn every_op(arn: &Ref<String>) -> Vec<MonitorOp> {
    let tags = || Tags::from([("kmsctl:managed".into(), "true".into())]);
    vec![
        MonitorOp::PutConfigurationRecorder {
            name: "default".into(),
            role_arn: "arn:aws:iam::222222222222:role/config".into(),
            resource_types: vec!["AWS::KMS::Key".into()],
        },
        MonitorOp::PutDeliveryChannel {
            name: "default".into(),
            bucket: "b".into(),
        },
        MonitorOp::StartConfigurationRecorder {
            name: "default".into(),
        },
        MonitorOp::PutConfigRule {
            name: "r".into(),
            identifier: "KMS_CMK_NOT_SCHEDULED_FOR_DELETION".into(),
            parameters: BTreeMap::from([("p".into(), "v".into())]),
            frequency: Some("TwentyFour_Hours".into()),
            resource_types: vec![],
            description: Some("Checks whether automatic key rotation is enabled".into()),
            tags: tags(),
        },
        MonitorOp::TagConfigResource {
            arn: arn.clone(),
            tags: tags(),
        },
        MonitorOp::DeleteConfigRule { name: "r".into() },
        MonitorOp::CreateTopic {
            name: "alerts".into(),
            attributes: BTreeMap::from([("KmsMasterKeyId".into(), "alias/k".into())]),
            tags: tags(),
        },
        MonitorOp::SetTopicAttribute {
            topic_arn: arn.clone(),
            name: "Policy".into(),
            value: "{}".into(),
        },
        MonitorOp::TagTopic {
            topic_arn: arn.clone(),
            tags: tags(),
        },
        MonitorOp::DeleteTopic {
            topic_arn: arn.clone(),
        },
        MonitorOp::Subscribe {
            topic_arn: arn.clone(),
            protocol: "email".into(),
            endpoint: "a@example.com".into(),
        },
        MonitorOp::Unsubscribe {
            subscription_arn: arn.clone(),
        },
        MonitorOp::PutRule {
            name: "rule".into(),
            pattern: "{}".into(),
            description: "d".into(),
            tags: tags(),
            state: Some(crate::diff::alerts::ALL_MANAGEMENT_EVENTS.into()),
        },
        MonitorOp::TagRule {
            arn: arn.clone(),
            tags: tags(),
        },
        MonitorOp::DeleteRule {
            name: "rule".into(),
        },
        MonitorOp::PutTargets {
            rule: "rule".into(),
            id: "t".into(),
            arn: arn.clone(),
        },
        MonitorOp::RemoveTargets {
            rule: "rule".into(),
            ids: vec!["t".into()],
        },
    ]
}

#[test]
fn every_operation_declares_coherent_semantics() {
    let ops = every_op(&Ref::Known(
        "arn:aws:sns:us-east-1:222222222222:alerts".into(),
    ));
    let sampled: BTreeSet<String> = ops.iter().map(|op| op.name().to_owned()).collect();
    let declared: BTreeSet<String> = variant_names::<MonitorOp>().into_iter().collect();
    assert_eq!(sampled, declared, "every_op must hold one of each call");
    for op in &ops {
        let semantics = op.semantics();
        assert_eq!(semantics.check(), Ok(()), "{}", op.name());
        assert!(
            semantics.confirm.is_some(),
            "{}: no confirming read",
            op.name()
        );
        // A call naming a resource made seconds ago repeats while AWS does not know it yet.
        let names_a_new_resource = matches!(
            op,
            MonitorOp::SetTopicAttribute { .. }
                | MonitorOp::TagTopic { .. }
                | MonitorOp::Subscribe { .. }
                | MonitorOp::PutTargets { .. }
                | MonitorOp::TagRule { .. }
                | MonitorOp::TagConfigResource { .. }
        );
        let unseen = match op {
            MonitorOp::SetTopicAttribute { .. }
            | MonitorOp::TagTopic { .. }
            | MonitorOp::Subscribe { .. } => "NotFound",
            _ => "ResourceNotFoundException",
        };
        assert_eq!(
            semantics.not_yet.repeated_by_apply(Some(unseen), ""),
            names_a_new_resource,
            "{}: {unseen}",
            op.name()
        );
        assert!(
            !semantics
                .not_yet
                .repeated_by_apply(Some("AccessDeniedException"), ""),
            "{}",
            op.name()
        );
    }
    let delete_rule = MonitorOp::<Ref<String>>::DeleteRule {
        name: "rule".into(),
    }
    .semantics();
    assert!(delete_rule.not_yet.repeated_by_apply(
        Some("ValidationException"),
        "Rule can't be deleted since it has targets."
    ));
    assert!(
        !delete_rule
            .not_yet
            .repeated_by_apply(Some("ValidationException"), "Rule name is invalid")
    );
}

#[test]
fn every_operation_round_trips_with_and_without_references() {
    let arn = "arn:aws:sns:us-east-1:222222222222:alerts";
    let reference = Ref::After(Reference::new(new_topic(), "arn"));
    let outputs = Outputs::from([(
        new_topic(),
        BTreeMap::from([("arn".to_owned(), arn.to_owned())]),
    )]);
    for (planned, known) in every_op(&reference)
        .into_iter()
        .zip(every_op(&Ref::Known(arn.into())))
    {
        for op in [&planned, &known] {
            let encoded = Operation::encode(op);
            assert_eq!(encoded.name(), Some(op.name()));
            assert_eq!(encoded.decode::<MonitorOp>().as_ref(), Ok(op));
        }
        let resolved = Operation::encode(&planned).resolve::<MonitorOp<String>>(&outputs);
        assert!(resolved.is_ok(), "{}: {resolved:?}", planned.name());
        assert_eq!(
            resolved,
            Operation::encode(&known).resolve::<MonitorOp<String>>(&Outputs::new())
        );
    }
}

/// What the diff wrote before operations were typed (`json!`, fields in this order): saved plans
/// hold it, so the typed encoding must be the same text.
#[test]
fn the_encoding_is_the_text_plans_already_hold() {
    use serde_json::json;
    let arn = || Ref::Known("arn:t".to_owned());
    let cases = [
        (
            MonitorOp::PutConfigRule {
                name: "r".into(),
                identifier: "I".into(),
                parameters: BTreeMap::new(),
                frequency: None,
                resource_types: vec![],
                description: None,
                tags: Tags::new(),
            },
            json!({"op": "PutConfigRule", "name": "r", "identifier": "I", "parameters": {}, "frequency": null,
                "resource_types": [], "tags": {}}),
        ),
        (
            MonitorOp::CreateTopic {
                name: "t".into(),
                attributes: BTreeMap::from([("KmsMasterKeyId".into(), "alias/k".into())]),
                tags: Tags::from([("kmsctl:managed".into(), "true".into())]),
            },
            json!({"op": "CreateTopic", "name": "t", "attributes": {"KmsMasterKeyId": "alias/k"},
                "tags": {"kmsctl:managed": "true"}}),
        ),
        (
            MonitorOp::SetTopicAttribute {
                topic_arn: arn(),
                name: "Policy".into(),
                value: "{}".into(),
            },
            json!({"op": "SetTopicAttribute", "topic_arn": "arn:t", "name": "Policy", "value": "{}"}),
        ),
        (
            MonitorOp::Subscribe {
                topic_arn: Ref::After(Reference::new(new_topic(), "arn")),
                protocol: "email".into(),
                endpoint: "a@example.com".into(),
            },
            json!({"op": "Subscribe", "topic_arn": {"$ref": "sns_topic.alerts#arn"}, "protocol": "email",
                "endpoint": "a@example.com"}),
        ),
        (
            MonitorOp::PutTargets {
                rule: "r".into(),
                id: "sns".into(),
                arn: arn(),
            },
            json!({"op": "PutTargets", "rule": "r", "id": "sns", "arn": "arn:t"}),
        ),
        (
            MonitorOp::RemoveTargets {
                rule: "r".into(),
                ids: vec!["x".into()],
            },
            json!({"op": "RemoveTargets", "rule": "r", "ids": ["x"]}),
        ),
    ];
    for (op, before) in cases {
        assert_eq!(Operation::encode(&op).to_string(), before.to_string());
    }
}
