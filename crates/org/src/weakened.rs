//! A guardrail weakened in AWS is a violation, not drift: a declared SCP or RCP detached from a
//! target organization.toml attaches it to, or a Deny statement of it missing or changed in the
//! live policy, takes the control it enforces away there (an added statement only restricts more
//! and stays drift). The violation carries the policy's own `control`.
//!
//! A plan that does the same (detaches, deletes, or loosens a guardrail) needs a second person's
//! approval where organization.toml asks for it: [`sensitive`].

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_core::approval::{ApprovalKind, Sensitive};
use kmsctl_core::domain::Violation;
use kmsctl_core::policy::{self, PolicyDocument, Statement};
use kmsctl_core::{Ref, ResourceChange, Rule};
use serde_json::json;

use crate::domain::DesiredOrganization;
use crate::drift::{policy_control, resolved_attachments, short};
use crate::kinds::{KIND_ATTACHMENT, KIND_POLICY};
use crate::observe::{ObservedOrg, ObservedPolicy};
use crate::ops::OrgOp;

pub const GUARDRAIL_WEAKENED: Rule = Rule::error(
    "guardrail-weakened",
    None,
    "every SCP and RCP is attached where organization.toml says, its Deny statements in force as written (the policy's control)",
);

pub fn violations(desired: &DesiredOrganization<'_>, observed: &ObservedOrg) -> Vec<Violation> {
    let DesiredOrganization { files, file, org } = *desired;
    let mut out = Vec::new();
    for (kind, target, id, declared) in resolved_attachments(org, observed) {
        for name in declared {
            let name_text = name.get_ref().as_str();
            let live = observed
                .policies
                .iter()
                .find(|p| p.kind == kind && p.name == name_text);
            // A policy not made yet is the plan's to create (a first apply), not a weakening.
            let Some(live) = live else { continue };
            if live.targets.contains(&id) {
                continue;
            }
            out.push(Violation {
                address: format!("{KIND_ATTACHMENT}.{}/{name_text}@{}", short(kind), target.get_ref()),
                rule: &GUARDRAIL_WEAKENED,
                message: format!(
                    "{} {name_text} is not attached to {} ({id}): the control it enforces does not hold there",
                    kind.api_name(),
                    target.get_ref()
                ),
                evidence: BTreeMap::from([
                    ("policy_id".to_owned(), json!(live.id)),
                    ("target_id".to_owned(), json!(id)),
                    ("attached".to_owned(), json!(false)),
                ]),
                declared: Some(file.location(name.span())),
                control: policy_control(org, name_text, KIND_ATTACHMENT),
                attributes: Vec::new(),
            });
        }
    }
    let (rendered, _) = crate::guards::check(files, file, org, Some(&observed.tree));
    for wanted in &rendered {
        let Some(live) = observed
            .policies
            .iter()
            .find(|p| p.kind == wanted.kind && p.name == wanted.name && p.is_managed())
        else {
            continue;
        };
        let (Ok(declared), Ok(live_doc)) = (
            policy::parse(&wanted.minified),
            policy::parse(&live.content),
        ) else {
            continue;
        };
        let lost: Vec<String> = missing(&declared, &live_doc, Statement::is_deny)
            .into_iter()
            .map(label)
            .collect();
        if lost.is_empty() {
            continue;
        }
        out.push(Violation {
            address: format!("{KIND_POLICY}.{}/{}", short(wanted.kind), wanted.name),
            rule: &GUARDRAIL_WEAKENED,
            message: format!(
                "{} {} in AWS no longer holds its Deny statement(s) {} as {} writes them (changed or removed by hand): the control it enforces is weaker",
                wanted.kind.api_name(),
                wanted.name,
                lost.join(", "),
                wanted.file.display()
            ),
            evidence: BTreeMap::from([
                ("policy_id".to_owned(), json!(live.id)),
                ("live_content".to_owned(), json!(live.content)),
                ("declared_file".to_owned(), json!(wanted.file.display().to_string())),
            ]),
            declared: Some(kmsctl_core::Location::file(wanted.file.clone())),
            control: policy_control(org, &wanted.name, KIND_POLICY),
            attributes: Vec::new(),
        });
    }
    out
}

/// The statements of `before` that `pick` selects and `after` does not hold as they are. The
/// Sid aside: it names a statement and enforces nothing.
fn missing<'a>(
    before: &'a PolicyDocument,
    after: &PolicyDocument,
    pick: fn(&Statement) -> bool,
) -> Vec<&'a Statement> {
    let meaning = |st: &Statement| {
        let mut value = st.canonical();
        if let Some(members) = value.as_object_mut() {
            members.remove("Sid");
        }
        value.to_string()
    };
    let held: BTreeSet<String> = after.statements.iter().map(meaning).collect();
    before
        .statements
        .iter()
        .filter(|st| pick(st) && !held.contains(&meaning(st)))
        .collect()
}

/// `"Sid"`, or the statement's JSON pointer when it has none.
fn label(st: &Statement) -> String {
    st.sid_name()
        .map_or_else(|| st.pointer.clone(), |sid| format!("\"{sid}\""))
}

/// Dual control: a change that detaches or deletes an SCP or RCP, or updates one so that a Deny
/// statement of the live content is missing or changed, or an Allow statement is added or
/// changed (an SCP's or RCP's Allow widens what may be done). Creating, attaching, tagging and
/// description-only updates weaken nothing.
pub fn sensitive(observed: &ObservedOrg, change: &ResourceChange) -> Vec<Sensitive> {
    let reasons: Vec<String> = change
        .operations
        .iter()
        .filter_map(|op| op.decode::<OrgOp>().ok())
        .filter_map(|op| weakening(observed, &op))
        .collect();
    if reasons.is_empty() {
        return Vec::new();
    }
    vec![Sensitive {
        address: change.address.clone(),
        kind: ApprovalKind::GuardrailWeakening,
        reason: reasons.join("; "),
    }]
}

fn weakening(observed: &ObservedOrg, op: &OrgOp) -> Option<String> {
    // A policy this plan creates has no live content: nothing of it is weakened.
    let live = |id: &Ref<String>| match id {
        Ref::Known(id) => observed.policies.iter().find(|p| &p.id == id),
        Ref::After(_) => None,
    };
    let named = |id: &Ref<String>| live(id).map_or_else(|| "a policy".to_owned(), name);
    match op {
        OrgOp::DetachPolicy {
            policy_id,
            target_id,
        } => Some(format!(
            "{} detached from {}",
            named(policy_id),
            target_name(observed, target_id)
        )),
        OrgOp::DeletePolicy { policy_id } => Some(format!("{} deleted", named(policy_id))),
        OrgOp::UpdatePolicy {
            policy_id, content, ..
        } => {
            let live = live(policy_id)?;
            loosened(&live.content, content).map(|what| format!("{}: {what}", name(live)))
        }
        OrgOp::EnablePolicyType { .. }
        | OrgOp::CreatePolicy { .. }
        | OrgOp::AttachPolicy { .. }
        | OrgOp::TagPolicy { .. } => None,
    }
}

/// `SCP deny-key-deletion`.
fn name(policy: &ObservedPolicy) -> String {
    format!("{} {}", short(policy.kind).to_uppercase(), policy.name)
}

/// `root`, `root/prod`, or `account 111122223333`.
fn target_name(observed: &ObservedOrg, id: &str) -> String {
    let tree = &observed.tree;
    if id == tree.root_id || tree.ous.iter().any(|ou| ou.id == id) {
        tree.path_of(id)
    } else {
        format!("account {id}")
    }
}

/// How `wanted` loosens the `live` content: its Deny statements missing or changed, Allow
/// statements added or changed. A changed statement counts whichever way it goes (a Deny of
/// more actions too): telling stricter from looser takes more than the statements, and a second
/// look costs less than a guardrail lost. Content that cannot be compared counts as loosened.
pub fn loosened(live: &str, wanted: &str) -> Option<String> {
    let (live, wanted) = match (policy::parse(live), policy::parse(wanted)) {
        (Ok(live), Ok(wanted)) => (live, wanted),
        (Err(error), _) | (_, Err(error)) => {
            return Some(format!("the content could not be compared ({error})"));
        }
    };
    // Whether `other` has a statement of this Sid: then it was changed, else removed or added.
    let has_sid = |other: &PolicyDocument, st: &Statement| {
        st.sid_name()
            .is_some_and(|sid| other.statements.iter().any(|o| o.sid_name() == Some(sid)))
    };
    let mut found = Vec::new();
    for st in missing(&live, &wanted, Statement::is_deny) {
        let how = match (st.sid_name(), has_sid(&wanted, st)) {
            (_, true) => "changed",
            (Some(_), false) => "removed",
            (None, false) => "removed or changed",
        };
        found.push(format!("Deny statement {} {how}", label(st)));
    }
    for st in missing(&wanted, &live, Statement::is_allow) {
        let how = match (st.sid_name(), has_sid(&live, st)) {
            (_, true) => "changed",
            (Some(_), false) => "added",
            (None, false) => "added or changed",
        };
        found.push(format!("Allow statement {} {how}", label(st)));
    }
    (!found.is_empty()).then(|| found.join(", "))
}
