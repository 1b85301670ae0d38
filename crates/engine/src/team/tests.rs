use std::collections::BTreeSet;

use kmsctl_backend::approvals::{Approval, Found};
use kmsctl_core::approval::{ApprovalKind, Sensitive};
use kmsctl_core::{Address, Identity, Plan, Target};

use super::{Source, gate};

fn person(name: &str) -> Identity {
    Identity {
        arn: format!("arn:aws:iam::123456789012:user/{name}"),
        user_id: format!("AIDA{}", name.to_uppercase()),
        account: "123456789012".into(),
    }
}

fn plan(kinds: &[ApprovalKind]) -> Plan {
    let target = Target {
        kind: "environment".into(),
        name: "prod".into(),
        path: "environments/prod".into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        assume_role_arn: None,
    };
    let mut plan = crate::target::new_plan(target, vec![]);
    plan.sensitive = kinds
        .iter()
        .map(|kind| Sensitive {
            address: Address::new("kms_key", "payments"),
            kind: *kind,
            reason: "the key is scheduled for deletion".into(),
        })
        .collect();
    plan
}

fn approval(by: &str, plan_id: &str) -> Found {
    Found::Valid(Approval::new("env/prod", plan_id, person(by)))
}

fn required() -> BTreeSet<ApprovalKind> {
    [ApprovalKind::ScheduleDeletion].into()
}

fn stored<'a>(planners: &'a [Found], approvals: &'a [Found]) -> Source<'a> {
    Source::Stored {
        plan_id: "abc",
        planners,
        approvals,
    }
}

#[test]
fn a_plan_without_sensitive_changes_needs_nothing() {
    let plan = plan(&[ApprovalKind::DisableKey]);
    let applied = gate(&plan, &required(), false, &Source::Local, None).expect("not required");
    assert_eq!(applied, None);
}

#[test]
fn without_a_backend_or_a_stored_plan_a_sensitive_change_is_refused() {
    let plan = plan(&[ApprovalKind::ScheduleDeletion]);
    let err = gate(&plan, &required(), false, &Source::Local, None).expect_err("no backend");
    assert!(err.message.contains("sets no backend"), "{}", err.message);
    let err = gate(&plan, &required(), true, &Source::Local, None).expect_err("not by id");
    assert!(err.message.contains("needs an approval"), "{}", err.message);
    assert!(
        err.help.as_deref().unwrap_or("").contains("--plan-id"),
        "{:?}",
        err.help
    );
}

#[test]
fn only_an_approval_by_a_third_person_counts() {
    let plan = plan(&[ApprovalKind::ScheduleDeletion]);
    let planners = [approval("alice", "abc")];
    let applier = person("carol");
    let apply = |approvals: &[Found]| {
        gate(
            &plan,
            &required(),
            true,
            &stored(&planners, approvals),
            Some(&applier),
        )
    };
    let err = apply(&[]).expect_err("no approval");
    assert!(
        err.message.contains("no approval is recorded"),
        "{}",
        err.message
    );
    let err = apply(&[approval("alice", "abc")]).expect_err("self-approval");
    assert!(err.message.contains("self-approval"), "{}", err.message);
    let err = apply(&[approval("carol", "abc")]).expect_err("the applier's own");
    assert!(err.message.contains("is who applies it"), "{}", err.message);
    let invalid = Found::Invalid {
        key: "approvals/env/prod/abc/AIDAMALLORY".into(),
        why: "written under another approver's name".into(),
    };
    let err = apply(&[invalid]).expect_err("forged");
    assert!(
        err.message.contains("another approver's name"),
        "{}",
        err.message
    );
    let by = apply(&[approval("alice", "abc"), approval("bob", "abc")]).expect("bob approved");
    assert_eq!(by.map(|i| i.arn), Some(person("bob").arn));
}

#[test]
fn a_stored_plan_without_a_planner_record_is_refused() {
    let plan = plan(&[ApprovalKind::ScheduleDeletion]);
    let approvals = [approval("bob", "abc")];
    let forged = [Found::Invalid {
        key: "planners/env/prod/abc/AIDAMALLORY".into(),
        why: "written under another name".into(),
    }];
    for planners in [&[][..], &forged[..]] {
        let err = gate(
            &plan,
            &required(),
            true,
            &stored(planners, &approvals),
            Some(&person("carol")),
        )
        .expect_err("planner unknown");
        assert!(
            err.message.contains("no record of who stored it"),
            "{}",
            err.message
        );
    }
}

#[test]
fn every_planner_on_record_is_kept_from_approving() {
    let plan = plan(&[ApprovalKind::ScheduleDeletion]);
    // Alice stored it, and Bob stored the same plan again: neither approves it.
    let planners = [approval("alice", "abc"), approval("bob", "abc")];
    let err = gate(
        &plan,
        &required(),
        true,
        &stored(&planners, &[approval("bob", "abc")]),
        Some(&person("carol")),
    )
    .expect_err("bob stored it too");
    assert!(err.message.contains("self-approval"), "{}", err.message);
}

fn role_session(role: &str, session: &str) -> Identity {
    Identity {
        arn: format!("arn:aws:sts::123456789012:assumed-role/{role}/{session}"),
        user_id: format!("AROA{}:{session}", role.to_uppercase()),
        account: "123456789012".into(),
    }
}

#[test]
fn one_person_in_two_roles_is_one_person() {
    // The session name is the person (pinned by the trust policy; IAM Identity Center does so).
    let ops = role_session("ops", "alice@example.com");
    let approver = role_session("kms-approver", "Alice@example.com");
    assert!(super::same_person(&ops, &approver));
    assert!(!super::same_person(
        &ops,
        &role_session("ops", "bob@example.com")
    ));
    // An IAM user and a role session of the same name are one person too.
    assert!(super::same_person(
        &person("alice"),
        &role_session("ops", "alice")
    ));
    assert!(!super::same_person(&person("alice"), &person("bob")));
    let planners = [Found::Valid(Approval::new("env/prod", "abc", ops))];
    let approvals = [Found::Valid(Approval::new("env/prod", "abc", approver))];
    let plan = plan(&[ApprovalKind::ScheduleDeletion]);
    let err = gate(
        &plan,
        &required(),
        true,
        &stored(&planners, &approvals),
        Some(&person("carol")),
    )
    .expect_err("alice approves under another role");
    assert!(err.message.contains("self-approval"), "{}", err.message);
}

fn context(root: &std::path::Path) -> crate::Context {
    crate::Context {
        project: crate::project::Project::at(&root.canonicalize().expect("root")),
        parallelism: 1,
        max_attempts: 1,
        wait_timeout: std::time::Duration::from_secs(1),
        propagation_timeout: std::time::Duration::from_secs(1),
        on_wait: std::sync::Arc::new(|_| {}),
    }
}

#[test]
fn without_kmsctl_toml_there_is_no_backend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = super::project_file(&context(dir.path())).expect("no file is the empty file");
    assert!(file.backend.is_none());
}

#[test]
fn kmsctl_toml_is_read_and_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |text: &str| std::fs::write(dir.path().join("kmsctl.toml"), text).expect("write");
    write("[backend]\ns3_bucket = \"acme-kmsctl\"\nkey_prefix = \"kmsctl\"\nlease_seconds = 60\n");
    let file = super::project_file(&context(dir.path())).expect("parses");
    let backend = file.backend.expect("a backend");
    assert_eq!(backend.s3_bucket, "acme-kmsctl");
    assert_eq!(backend.lease(), std::time::Duration::from_secs(60));

    write("[backend]\ns3_bucket = \"acme-kmsctl\"\nlease = 60\n");
    let err = super::project_file(&context(dir.path())).expect_err("unknown field");
    assert!(err.message.contains("lease"), "{}", err.message);
    assert!(
        err.snippet.is_some(),
        "the error points at the line: {err:?}"
    );

    write("[backend]\ns3_bucket = \"Not_A_Bucket\"\n");
    let err = super::project_file(&context(dir.path())).expect_err("bad bucket name");
    assert!(
        err.message.contains("kmsctl.toml: [backend]"),
        "{}",
        err.message
    );
}

use kmsctl_core::serde_fields::fields_of;

/// README's kmsctl.toml table documents every field, and only those.
#[test]
fn the_readme_documents_every_field_of_kmsctl_toml() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .expect("README.md");
    let section = readme
        .split("\n## Teams: backend, locks and approvals")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has the Teams section");
    let documented: BTreeSet<String> = section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split('`').nth(1))
        .map(|name| name.trim_matches(['[', ']']).to_owned())
        .collect();
    let fields: BTreeSet<String> = fields_of::<super::ProjectFile>()
        .iter()
        .map(|f| (*f).to_owned())
        .chain(
            fields_of::<kmsctl_backend::BackendConfig>()
                .iter()
                .map(|f| format!("backend.{f}")),
        )
        .collect();
    assert!(fields.len() > 3, "fields read: {fields:?}");
    assert_eq!(documented, fields, "README's kmsctl.toml table");
}
