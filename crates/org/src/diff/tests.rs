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

/// Dual control's view of each change: address and reason of the weakening ones.
fn weakening(diff: &OrgDiff, observed: &ObservedOrg) -> Vec<(String, String)> {
    diff.changes
        .iter()
        .flat_map(|change| crate::weakened::sensitive(observed, change))
        .inspect(|s| {
            assert_eq!(
                s.kind,
                kmsctl_core::approval::ApprovalKind::GuardrailWeakening
            );
        })
        .map(|s| (s.address.to_string(), s.reason))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
        .collect()
}

#[test]
fn detaching_and_deleting_a_guardrail_are_weakenings() {
    let only_waiting = vec![rendered("waiting_period", WAITING)];
    let text = FILE.replace(", \"kms_spec_admin\"", "");
    let file_without: OrganizationFile = toml::from_str(&text).expect("valid");
    let observed = org(true, converged());
    let diff = diff(
        &SourceFile::new("organization/organization.toml", text),
        &file_without,
        &only_waiting,
        &observed,
    );
    assert_eq!(
        weakening(&diff, &observed),
        pairs(&[
            (
                "org_attachment.scp/kms_spec_admin@ou-ab12-22222222",
                "SCP kms_spec_admin detached from root/prod"
            ),
            (
                "org_policy.scp/kms_spec_admin",
                "SCP kms_spec_admin deleted"
            ),
        ])
    );
}

#[test]
fn creating_attaching_adopting_as_is_and_describing_weaken_nothing() {
    let (source, file) = file();
    let fresh = org(
        false,
        vec![live("p-full", "FullAWSAccess", "{}", false, &["r-ab12"])],
    );
    let created = diff(&source, &file, &policies(), &fresh);
    assert_eq!(created.changes.len(), 6);
    assert_eq!(weakening(&created, &fresh), []);

    let mut described = converged();
    described[1].description = "old words".into();
    let described = org(true, described);
    let updated = diff(&source, &file, &policies(), &described);
    assert_eq!(
        addresses(&updated),
        ["org_policy.scp/waiting_period Update"]
    );
    assert_eq!(weakening(&updated, &described), []);

    let adopt = format!("{FILE}adopt = true\n");
    let adopting: OrganizationFile = toml::from_str(&adopt).expect("valid");
    let mut theirs = converged();
    theirs[1].tags.clear();
    let theirs = org(true, theirs);
    let adopted = diff(
        &SourceFile::new("organization/organization.toml", adopt),
        &adopting,
        &policies(),
        &theirs,
    );
    assert_eq!(addresses(&adopted), ["org_policy.scp/waiting_period Adopt"]);
    assert_eq!(weakening(&adopted, &theirs), []);
}

#[test]
fn an_update_that_drops_or_changes_a_deny_or_adds_an_allow_is_a_weakening() {
    let (source, file) = file();
    let observed = org(true, converged());
    let loosen = |content: &str| {
        let wanted = vec![
            rendered("kms_spec_admin", ADMIN),
            rendered("waiting_period", content),
        ];
        weakening(&diff(&source, &file, &wanted, &observed), &observed)
    };
    let changed = WAITING.replace("kms:ScheduleKeyDeletion", "kms:ScheduleKeyDeletionX");
    assert_eq!(
        loosen(&changed),
        pairs(&[(
            "org_policy.scp/waiting_period",
            "SCP waiting_period: Deny statement \"W\" changed"
        )])
    );
    let allowed = WAITING.replace(
        "\"Sid\":\"W\",\"Effect\":\"Deny\"",
        "\"Sid\":\"Open\",\"Effect\":\"Allow\"",
    );
    assert_eq!(
        loosen(&allowed),
        pairs(&[(
            "org_policy.scp/waiting_period",
            "SCP waiting_period: Deny statement \"W\" removed, Allow statement \"Open\" added"
        )])
    );
    // A Deny added, or a Sid renamed, loosens nothing.
    let more = WAITING.replace(
        "]}",
        ",{\"Sid\":\"More\",\"Effect\":\"Deny\",\"Action\":\"kms:DisableKey\",\"Resource\":\"*\"}]}",
    );
    assert_eq!(loosen(&more), []);
    assert_eq!(loosen(&WAITING.replace("\"W\"", "\"Waiting\"")), []);
}

#[test]
fn loosened_names_deny_and_allow_statements_and_fails_safe() {
    let live = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"DenyOutside","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*",
         "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}},
        {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#;
    let wanted = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#;
    assert_eq!(
        crate::weakened::loosened(live, wanted).as_deref(),
        Some("Deny statement \"DenyOutside\" removed")
    );
    assert_eq!(
        crate::weakened::loosened(live, r#"{"Statement":[]}"#).as_deref(),
        Some(
            "Deny statement \"DenyOutside\" removed, Deny statement /Statement/1 removed or changed"
        )
    );
    assert_eq!(crate::weakened::loosened(wanted, live), None);
    assert!(
        crate::weakened::loosened("{not json", wanted)
            .is_some_and(|why| why.starts_with("the content could not be compared"))
    );
}

#[test]
fn a_guardrail_detached_from_an_account_names_the_account() {
    let mut observed = org(true, converged());
    observed.policies[1].targets.insert("444455556666".into());
    let change = change(
        Address::new(KIND_ATTACHMENT, "scp/waiting_period@444455556666"),
        Action::Delete,
        vec![],
        vec![OrgOp::DetachPolicy {
            policy_id: Ref::Known("p-wait".into()),
            target_id: "444455556666".into(),
        }],
        vec![],
    );
    let found = crate::weakened::sensitive(&observed, &change);
    assert_eq!(
        found[0].reason,
        "SCP waiting_period detached from account 444455556666"
    );
}
