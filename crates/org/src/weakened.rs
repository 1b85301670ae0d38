//! A guardrail weakened in AWS is a violation, not drift: a declared SCP or RCP detached from a
//! target organization.toml attaches it to, or a Deny statement of it missing or changed in the
//! live policy, takes the control it enforces away there (an added statement only restricts more
//! and stays drift). The violation carries the policy's own `control`.

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_core::Rule;
use kmsctl_core::domain::Violation;
use kmsctl_core::policy;
use serde_json::json;

use crate::domain::DesiredOrganization;
use crate::drift::{policy_control, resolved_attachments, short};
use crate::kinds::{KIND_ATTACHMENT, KIND_POLICY};
use crate::observe::ObservedOrg;

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
        let in_force: BTreeSet<String> = live_doc
            .statements
            .iter()
            .map(|st| st.canonical().to_string())
            .collect();
        let lost: Vec<String> = declared
            .statements
            .iter()
            .filter(|st| st.is_deny() && !in_force.contains(&st.canonical().to_string()))
            .map(|st| {
                st.sid_name()
                    .map_or_else(|| st.pointer.clone(), |sid| format!("\"{sid}\""))
            })
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
