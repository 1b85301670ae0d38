//! The organization diff is pure: these tests give it a file, rendered policies and an observed
//! organization.

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_core::plan::apply_order;
use serde_json::json;

use super::*;
use crate::ou_tree::{OrgTree, Ou};

const FILE: &str = r#"account_id = "123456789012"
region = "us-east-1"
enabled_policy_types = ["SERVICE_CONTROL_POLICY"]

[service_control_policies]
root = ["waiting_period"]
"root/prod" = ["waiting_period", "kms_spec_admin"]

[policy.waiting_period]
description = "waiting period"
"#;

const WAITING: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"W","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#;
const ADMIN: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Action":["kms:PutKeyPolicy","kms:CreateKey"],"Resource":"*"}]}"#;

fn file() -> (SourceFile, OrganizationFile) {
    (
        SourceFile::new("organization/organization.toml", FILE),
        toml::from_str(FILE).expect("valid"),
    )
}

fn rendered(name: &str, content: &str) -> RenderedPolicy {
    RenderedPolicy {
        kind: PolicyType::ServiceControlPolicy,
        name: name.into(),
        file: format!("policies/org/service_control_policy/{name}.json").into(),
        minified: content.into(),
        written_size: content.len(),
    }
}

fn policies() -> Vec<RenderedPolicy> {
    vec![
        rendered("kms_spec_admin", ADMIN),
        rendered("waiting_period", WAITING),
    ]
}

fn live(id: &str, name: &str, content: &str, managed: bool, targets: &[&str]) -> ObservedPolicy {
    ObservedPolicy {
        id: id.into(),
        name: name.into(),
        kind: PolicyType::ServiceControlPolicy,
        description: if name == "waiting_period" {
            "waiting period".into()
        } else {
            String::new()
        },
        content: content.into(),
        aws_managed: name == "FullAWSAccess",
        tags: if managed {
            BTreeMap::from([("kmsctl:managed".to_owned(), "true".to_owned())])
        } else {
            BTreeMap::new()
        },
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
    }
}

fn org(enabled: bool, policies: Vec<ObservedPolicy>) -> ObservedOrg {
    ObservedOrg {
        tree: OrgTree {
            org_id: "o-a1b2c3d4e5".into(),
            root_id: "r-ab12".into(),
            ous: vec![Ou {
                id: "ou-ab12-22222222".into(),
                name: "prod".into(),
                parent_id: "r-ab12".into(),
            }],
        },
        enabled_types: if enabled {
            BTreeSet::from([PolicyType::ServiceControlPolicy])
        } else {
            BTreeSet::new()
        },
        policies,
    }
}

fn converged() -> Vec<ObservedPolicy> {
    vec![
        live(
            "p-full",
            "FullAWSAccess",
            "{}",
            false,
            &["r-ab12", "ou-ab12-22222222"],
        ),
        live(
            "p-wait",
            "waiting_period",
            WAITING,
            true,
            &["r-ab12", "ou-ab12-22222222"],
        ),
        live(
            "p-admin",
            "kms_spec_admin",
            ADMIN,
            true,
            &["ou-ab12-22222222"],
        ),
    ]
}

fn addresses(diff: &OrgDiff) -> Vec<String> {
    diff.changes
        .iter()
        .map(|c| format!("{} {:?}", c.address, c.action))
        .collect()
}

#[test]
fn a_fresh_organization_enables_creates_then_attaches() {
    let (source, file) = file();
    let diff = diff(
        &source,
        &file,
        &policies(),
        &org(
            false,
            vec![live("p-full", "FullAWSAccess", "{}", false, &["r-ab12"])],
        ),
    );
    assert!(diff.findings.is_empty(), "{:?}", diff.findings);
    assert_eq!(
        addresses(&diff),
        [
            "org_policy_type.SERVICE_CONTROL_POLICY Create",
            "org_policy.scp/kms_spec_admin Create",
            "org_policy.scp/waiting_period Create",
            "org_attachment.scp/waiting_period@root Create",
            "org_attachment.scp/waiting_period@root/prod Create",
            "org_attachment.scp/kms_spec_admin@root/prod Create",
        ]
    );
    let attach = &diff.changes[3];
    assert_eq!(
        attach.operations[0]["policy_id"],
        json!({"$ref": "org_policy.scp/waiting_period#policy_id"})
    );
    assert_eq!(attach.operations[0]["target_id"], json!("r-ab12"));
    assert_eq!(
        diff.changes[4].operations[0]["target_id"],
        json!("ou-ab12-22222222")
    );
    assert!(apply_order(&diff.changes).is_ok());
}

#[test]
fn a_converged_organization_has_no_changes_even_reformatted() {
    let (source, file) = file();
    let mut live = converged();
    live[1].content = "{\n  \"Statement\": [ { \"Resource\": \"*\", \"Action\": [\"kms:ScheduleKeyDeletion\"], \"Effect\": \"Deny\", \"Sid\": \"W\" } ],\n  \"Version\": \"2012-10-17\"\n}".into();
    let diff = diff(&source, &file, &policies(), &org(true, live));
    assert_eq!(addresses(&diff), Vec::<String>::new());
    assert!(diff.findings.is_empty());
}

#[test]
fn an_edited_policy_is_updated_statement_by_statement() {
    let (source, file) = file();
    let mut live = converged();
    live[2].content = ADMIN.replace(",\"kms:CreateKey\"", "");
    let diff = diff(&source, &file, &policies(), &org(true, live));
    assert_eq!(addresses(&diff), ["org_policy.scp/kms_spec_admin Update"]);
    let attribute = &diff.changes[0].attributes[0];
    assert_eq!(attribute.name, "statement \"A\": Action");
    assert_eq!(attribute.after, Some(json!(["kms:CreateKey"])));
}

#[test]
fn a_policy_removed_from_the_file_is_detached_then_deleted() {
    let only_waiting = vec![rendered("waiting_period", WAITING)];
    let text = FILE.replace(", \"kms_spec_admin\"", "");
    let file_without: OrganizationFile = toml::from_str(&text).expect("valid");
    let diff = diff(
        &SourceFile::new("organization/organization.toml", text),
        &file_without,
        &only_waiting,
        &org(true, converged()),
    );
    assert_eq!(
        addresses(&diff),
        [
            "org_attachment.scp/kms_spec_admin@ou-ab12-22222222 Delete",
            "org_policy.scp/kms_spec_admin Delete"
        ]
    );
    let order = apply_order(&diff.changes).expect("ordered");
    assert_eq!(order, [0, 1], "detach before delete");
}

#[test]
fn hand_attached_policies_are_left_but_count_against_the_budget() {
    let (source, file) = file();
    let mut live = converged();
    for i in 0..3 {
        live.push(live_hand(i));
    }
    let diff = diff(&source, &file, &policies(), &org(true, live));
    assert!(
        diff.changes.is_empty(),
        "nothing of theirs is detached: {:?}",
        addresses(&diff)
    );
    assert_eq!(diff.findings.len(), 1);
    assert_eq!(diff.findings[0].rule, "org-policy-budget");
    assert!(
        diff.findings[0].message.contains("root/prod"),
        "{}",
        diff.findings[0].message
    );
    assert_eq!(diff.findings[0].location.line, Some(7));
}

fn live_hand(i: usize) -> ObservedPolicy {
    live(
        &format!("p-hand{i}"),
        &format!("hand{i}"),
        WAITING,
        false,
        &["ou-ab12-22222222"],
    )
}

#[test]
fn an_unmanaged_policy_with_a_declared_name_and_an_unknown_ou_are_refused() {
    let (source, file) = file();
    let mut live = converged();
    live[1].tags.clear();
    let mut observed = org(true, live);
    observed.tree.ous.clear();
    let diff = diff(&source, &file, &policies(), &observed);
    let rules: Vec<&str> = diff.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(rules.contains(&"org-policy-unmanaged"), "{rules:?}");
    assert!(rules.contains(&"org-target"), "{rules:?}");
}
