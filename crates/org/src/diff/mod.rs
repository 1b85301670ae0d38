//! The organization part of a plan: a pure function of the file, the rendered policies and the
//! observed organization. In apply order: enable policy types, create or update policies,
//! attach, detach what the file no longer attaches, delete managed policies no file declares.
//! Only policies tagged `kmsctl:managed = "true"` are ever updated, detached or deleted.

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_core::policy;
use kmsctl_core::source::SourceFile;
use kmsctl_core::{
    Action, Address, AttributeChange, Finding, Location, Operation, Ref, Reference, ResourceChange,
    Rule,
};

use crate::budget::Budget;
use crate::config::{OrganizationFile, PolicyType};
use crate::guards::RenderedPolicy;
use crate::observe::{ObservedOrg, ObservedPolicy};
use crate::ops::OrgOp;
use crate::target::Target;

pub use crate::kinds::{KIND_ATTACHMENT, KIND_POLICY, KIND_POLICY_TYPE};

pub const ORG_POLICY_UNMANAGED: Rule = Rule::error(
    "org-policy-unmanaged",
    None,
    "no policy kmsctl does not manage already has a declared policy's name",
);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgDiff {
    pub changes: Vec<ResourceChange>,
    /// Errors only the live organization reveals (an unknown OU, a full target): they refuse the plan.
    pub findings: Vec<Finding>,
}

fn short(kind: PolicyType) -> &'static str {
    match kind {
        PolicyType::ServiceControlPolicy => "scp",
        PolicyType::ResourceControlPolicy => "rcp",
    }
}

fn policy_address(kind: PolicyType, name: &str) -> Address {
    Address::new(KIND_POLICY, format!("{}/{name}", short(kind)))
}

fn change(
    address: Address,
    action: Action,
    attributes: Vec<AttributeChange>,
    operations: Vec<OrgOp>,
    depends_on: Vec<Address>,
) -> ResourceChange {
    ResourceChange {
        address,
        action,
        attributes,
        depends_on,
        operations: operations.iter().map(Operation::encode).collect(),
        source: None,
    }
}

/// A policy as operations name it: its id, or the output of the change creating it.
fn policy_handle(existing: Option<&ObservedPolicy>, address: &Address) -> Ref<String> {
    match existing {
        Some(policy) => Ref::Known(policy.id.clone()),
        None => Ref::After(Reference::new(address.clone(), "policy_id")),
    }
}

fn same_content(live: &str, wanted: &str) -> bool {
    match (policy::parse(live), policy::parse(wanted)) {
        (Ok(a), Ok(b)) => policy::semantically_equal(&a, &b),
        _ => live == wanted,
    }
}

/// What differs between a live policy and the declared one (content by meaning, description),
/// and the UpdatePolicy that makes them the same; `None` when nothing differs.
fn updates(
    live: &ObservedPolicy,
    policy: &RenderedPolicy,
    description: &str,
) -> (Vec<AttributeChange>, Option<OrgOp>) {
    let mut attributes = Vec::new();
    if !same_content(&live.content, &policy.minified) {
        attributes.extend(content_changes(&live.content, &policy.minified));
    }
    if live.description != description {
        attributes.push(AttributeChange::new(
            "description",
            Some(live.description.clone().into()),
            Some(description.to_owned().into()),
        ));
    }
    let update = (!attributes.is_empty()).then(|| OrgOp::UpdatePolicy {
        policy_id: Ref::Known(live.id.clone()),
        content: policy.minified.clone(),
        description: description.to_owned(),
    });
    (attributes, update)
}

pub fn diff(
    file: &SourceFile,
    org: &OrganizationFile,
    rendered: &[RenderedPolicy],
    observed: &ObservedOrg,
) -> OrgDiff {
    let mut out = OrgDiff::default();
    let root_id = observed.tree.root_id.clone();

    // 1. Policy types.
    let mut type_changes = Vec::new();
    for declared in &org.enabled_policy_types {
        let kind = *declared.get_ref();
        if !observed.enabled_types.contains(&kind) {
            let address = Address::new(KIND_POLICY_TYPE, kind.api_name());
            out.changes.push(change(
                address.clone(),
                Action::Create,
                vec![AttributeChange::added("root", root_id.clone())],
                vec![OrgOp::EnablePolicyType {
                    root_id: root_id.clone(),
                    policy_type: kind.api_name().to_owned(),
                }],
                vec![],
            ));
            type_changes.push(address);
        }
    }

    // 2. Policies.
    let find = |kind: PolicyType, name: &str| {
        observed
            .policies
            .iter()
            .find(|p| p.kind == kind && p.name == name)
    };
    let mut handles: BTreeMap<(PolicyType, String), (Ref<String>, Option<Address>)> =
        BTreeMap::new();
    for policy in rendered {
        let address = policy_address(policy.kind, &policy.name);
        let description = org
            .policy_settings(&policy.name)
            .and_then(|s| s.description.clone())
            .unwrap_or_default();
        let live = find(policy.kind, &policy.name);
        match live {
            None => {
                out.changes.push(change(
                    address.clone(),
                    Action::Create,
                    vec![
                        AttributeChange::after_apply("policy_id"),
                        AttributeChange::added("description", description.clone()),
                        AttributeChange::added(
                            "content",
                            format!(
                                "{} ({} characters as uploaded, {} as written)",
                                policy.file.display(),
                                policy.minified.chars().count(),
                                policy.written_size
                            ),
                        ),
                    ],
                    vec![OrgOp::CreatePolicy {
                        name: policy.name.clone(),
                        description: description.clone(),
                        policy_type: policy.kind.api_name().to_owned(),
                        content: policy.minified.clone(),
                        tags: BTreeMap::from([("kmsctl:managed".to_owned(), "true".to_owned())]),
                    }],
                    type_changes.clone(),
                ));
                handles.insert(
                    (policy.kind, policy.name.clone()),
                    (policy_handle(None, &address), Some(address)),
                );
            }
            Some(live)
                if !live.is_managed()
                    && !live.aws_managed
                    && org.policy_settings(&policy.name).is_some_and(|s| s.adopt) =>
            {
                // Adoption: kmsctl's tag first, then the content and description as declared.
                let mut attributes = vec![AttributeChange::added("tags.kmsctl:managed", "true")];
                let mut operations = vec![OrgOp::TagPolicy {
                    policy_id: Ref::Known(live.id.clone()),
                    tags: BTreeMap::from([("kmsctl:managed".to_owned(), "true".to_owned())]),
                }];
                let (changed, update) = updates(live, policy, &description);
                attributes.extend(changed);
                operations.extend(update);
                out.changes.push(change(
                    address.clone(),
                    Action::Adopt,
                    attributes,
                    operations,
                    vec![],
                ));
                handles.insert(
                    (policy.kind, policy.name.clone()),
                    (policy_handle(Some(live), &address), None),
                );
            }
            Some(live) if !live.is_managed() && !live.aws_managed => {
                out.findings.push(Finding::of(
                    &ORG_POLICY_UNMANAGED,
                    Location::file(policy.file.clone()),
                    format!("a {} named {} ({}) exists and kmsctl does not manage it", policy.kind.api_name(), policy.name, live.id),
                    "set adopt = true in [policy.NAME] to take it over (declare every target it is attached to), or rename the policy file",
                ));
            }
            Some(live) => {
                // AWS's own policies (FullAWSAccess) are attached, never changed.
                if !live.aws_managed
                    && let (attributes, Some(update)) = updates(live, policy, &description)
                {
                    out.changes.push(change(
                        address.clone(),
                        Action::Update,
                        attributes,
                        vec![update],
                        vec![],
                    ));
                }
                handles.insert(
                    (policy.kind, policy.name.clone()),
                    (policy_handle(Some(live), &address), None),
                );
            }
        }
    }

    // 3. Attachments wanted, target by target.
    let mut wanted: BTreeSet<(PolicyType, String, String)> = BTreeSet::new();
    for kind in PolicyType::ALL {
        for (target, names) in org.attachments(kind) {
            let at = file.location(target.span());
            let target_id = match Target::parse(target.get_ref()) {
                Ok(Target::Root) => Ok(root_id.clone()),
                Ok(Target::OuPath(path)) => observed.tree.id_of(&path).map_err(|e| e.to_string()),
                Ok(Target::OuId(id) | Target::Account(id)) => Ok(id),
                Err(e) => Err(e.to_string()),
            };
            let target_id = match target_id {
                Ok(id) => id,
                Err(message) => {
                    out.findings.push(Finding::of(
                        &crate::guards::ORG_TARGET,
                        at,
                        format!("target {}: {message}", target.get_ref()),
                        "fix the target, or create the OU first",
                    ));
                    continue;
                }
            };
            let declared: Vec<String> = names.iter().map(|n| n.get_ref().clone()).collect();
            let kept: Vec<String> = observed
                .attached_to(kind, &target_id)
                .filter(|p| !p.is_managed() && !declared.contains(&p.name))
                .map(|p| p.name.clone())
                .collect();
            let budget = Budget::after_apply(&declared, &kept);
            if budget.over() {
                out.findings.push(Finding::of(
                    &crate::guards::ORG_POLICY_BUDGET,
                    at.clone(),
                    format!("{} on {}: {}", kind.api_name(), target.get_ref(), budget.describe()),
                    "combine policies, attach some lower in the tree, or detach the ones attached by hand",
                ));
            }
            for name in &declared {
                wanted.insert((kind, name.clone(), target_id.clone()));
                let live = find(kind, name);
                if live.is_some_and(|p| p.targets.contains(&target_id)) {
                    continue;
                }
                let Some((handle, creating)) =
                    handles.get(&(kind, name.clone())).cloned().or_else(|| {
                        // AWS's own policies are attached by id without a file of their own.
                        live.filter(|p| p.aws_managed)
                            .map(|p| (Ref::Known(p.id.clone()), None))
                    })
                else {
                    continue;
                };
                out.changes.push(change(
                    Address::new(
                        KIND_ATTACHMENT,
                        format!("{}/{name}@{}", short(kind), target.get_ref()),
                    ),
                    Action::Create,
                    vec![AttributeChange::added("target_id", target_id.clone())],
                    vec![OrgOp::AttachPolicy {
                        policy_id: handle,
                        target_id: target_id.clone(),
                    }],
                    creating
                        .into_iter()
                        .chain(type_changes.iter().cloned())
                        .collect(),
                ));
            }
        }
    }

    // 4. Detach what the file no longer attaches; 5. delete managed policies no file declares.
    let declared_policies: BTreeSet<(PolicyType, &str)> =
        rendered.iter().map(|p| (p.kind, p.name.as_str())).collect();
    for live in observed.policies.iter().filter(|p| p.is_managed()) {
        let mut detaches = Vec::new();
        for target_id in &live.targets {
            if wanted.contains(&(live.kind, live.name.clone(), target_id.clone())) {
                continue;
            }
            let address = Address::new(
                KIND_ATTACHMENT,
                format!("{}/{}@{target_id}", short(live.kind), live.name),
            );
            out.changes.push(change(
                address.clone(),
                Action::Delete,
                vec![AttributeChange::new(
                    "target_id",
                    Some(target_id.clone().into()),
                    None,
                )],
                vec![OrgOp::DetachPolicy {
                    policy_id: Ref::Known(live.id.clone()),
                    target_id: target_id.clone(),
                }],
                vec![],
            ));
            detaches.push(address);
        }
        if !declared_policies.contains(&(live.kind, live.name.as_str())) {
            out.changes.push(change(
                policy_address(live.kind, &live.name),
                Action::Delete,
                vec![AttributeChange::new(
                    "policy_id",
                    Some(live.id.clone().into()),
                    None,
                )],
                vec![OrgOp::DeletePolicy {
                    policy_id: Ref::Known(live.id.clone()),
                }],
                detaches,
            ));
        }
    }
    out
}

/// The statement-by-statement difference, as for key policies.
fn content_changes(live: &str, wanted: &str) -> Vec<AttributeChange> {
    match (policy::parse(live), policy::parse(wanted)) {
        (Ok(a), Ok(b)) => policy::attribute_changes(&a, &b, ""),
        _ => vec![AttributeChange::new(
            "content",
            Some(live.into()),
            Some(wanted.into()),
        )],
    }
}

#[cfg(test)]
mod tests;
