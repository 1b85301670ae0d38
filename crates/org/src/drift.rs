//! Drift of the organization as the engine reports it: each declared attachment checked under
//! its policy's control, SCPs and RCPs attached to managed targets that no file declares, and how
//! a policy's planned change is filed (its own `control`, the line that first attaches it).

use std::collections::BTreeMap;

use kmsctl_core::domain::{Checked, DriftRule, Unmanaged};
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Location, ResourceChange, ResourceKind, Rule};
use serde_json::json;

use crate::config::{OrganizationFile, PolicyType};
use crate::kinds::{KIND_ATTACHMENT, KINDS};
use crate::observe::ObservedOrg;
use crate::target::Target;

/// Under no control: an SCP or RCP only restricts, so one kmsctl does not manage cannot weaken
/// a guardrail; it is reported, never counted as a failed control.
pub const UNMANAGED_ORG_POLICY: Rule = Rule::drift(
    "unmanaged-org-policy",
    None,
    "an SCP or RCP attached to a target organization.toml manages that no file declares",
);

/// The control id of a policy's resource of `kind`: the policy's `control` setting, else the
/// kind's.
pub(crate) fn policy_control(org: &OrganizationFile, name: &str, kind: &str) -> Option<String> {
    match org.policy_settings(name).and_then(|p| p.control.clone()) {
        Some(id) => Some(id),
        None => ResourceKind::control_in(&KINDS, kind).map(|c| c.id().to_owned()),
    }
}

/// `org_policy.scp/NAME`, `org_attachment.scp/NAME@TARGET`: the policy's own control, and where
/// it is declared when the change names no line: an attachment at its own entry in the target's
/// list, anything else where organization.toml first attaches the policy.
pub fn drift_rule(file: &SourceFile, org: &OrganizationFile, change: &ResourceChange) -> DriftRule {
    let name = change.address.name.split_once('/').map_or("", |(_, n)| n);
    let policy = name.split('@').next().unwrap_or(name);
    let entry = (change.address.kind == KIND_ATTACHMENT)
        .then(|| attachment_entry(org, &change.address.name))
        .flatten();
    DriftRule {
        rule: None,
        control: policy_control(org, policy, &change.address.kind),
        declared: Some(entry.map_or_else(
            || declaration(file, org, policy),
            |span| file.location(span),
        )),
    }
}

/// The span of the entry `NAME` in the list organization.toml attaches to `TARGET`, for an
/// attachment named `scp/NAME@TARGET` (the target as written), when the file has it.
fn attachment_entry(org: &OrganizationFile, address_name: &str) -> Option<std::ops::Range<usize>> {
    let (short_kind, rest) = address_name.split_once('/')?;
    let (policy, target) = rest.split_once('@')?;
    let kind = PolicyType::ALL
        .into_iter()
        .find(|kind| short(*kind) == short_kind)?;
    let (_, names) = org
        .attachments(kind)
        .iter()
        .find(|(written, _)| written.get_ref() == target)?;
    names
        .iter()
        .find(|name| name.get_ref() == policy)
        .map(toml::Spanned::span)
}

/// Each declared attachment to a target that resolves, with whether it is attached.
pub fn checked(file: &SourceFile, org: &OrganizationFile, observed: &ObservedOrg) -> Vec<Checked> {
    let mut out = Vec::new();
    for (kind, target, id, declared) in resolved_attachments(org, observed) {
        for name in declared {
            let at = file.location(name.span());
            let name = name.get_ref().as_str();
            let Some(control) = policy_control(org, name, KIND_ATTACHMENT) else {
                continue;
            };
            let attached = observed.attached_to(kind, &id).any(|p| p.name == name);
            out.push(Checked {
                resource: format!(
                    "{KIND_ATTACHMENT}.{}/{name}@{}",
                    short(kind),
                    target.get_ref()
                ),
                control,
                declared: Some(at),
                evidence: BTreeMap::from([
                    ("attached".to_owned(), json!(attached)),
                    ("target_id".to_owned(), json!(id)),
                ]),
            });
        }
    }
    out
}

/// SCPs and RCPs attached to a declared target that are neither kmsctl's, AWS's, nor declared.
pub fn unmanaged(
    file: &SourceFile,
    org: &OrganizationFile,
    observed: &ObservedOrg,
) -> Vec<Unmanaged> {
    let mut out = Vec::new();
    for (kind, target, id, declared) in resolved_attachments(org, observed) {
        for policy in observed.attached_to(kind, &id) {
            if policy.is_managed()
                || policy.aws_managed
                || declared.iter().any(|n| n.get_ref() == &policy.name)
            {
                continue;
            }
            out.push(Unmanaged {
                rule: &UNMANAGED_ORG_POLICY,
                resource: format!("{} {} ({})", kind.api_name(), policy.name, policy.id),
                message: format!(
                    "{} {} ({}) is attached to {} and kmsctl does not manage it",
                    kind.api_name(),
                    policy.name,
                    policy.id,
                    target.get_ref()
                ),
                declared: Some(file.location(target.span())),
                evidence: BTreeMap::from([
                    ("policy_id".to_owned(), json!(policy.id)),
                    ("target_id".to_owned(), json!(id)),
                ]),
            });
        }
    }
    out
}

pub(crate) type Attachment<'a> = (
    PolicyType,
    &'a toml::Spanned<String>,
    String,
    Vec<&'a toml::Spanned<String>>,
);

/// Every attachment table entry whose target resolves in the live tree: its policy type, target
/// as written, target id and the policies declared on it.
pub(crate) fn resolved_attachments<'a>(
    org: &'a OrganizationFile,
    observed: &ObservedOrg,
) -> Vec<Attachment<'a>> {
    let mut out = Vec::new();
    for kind in PolicyType::ALL {
        for (target, names) in org.attachments(kind) {
            let Ok(parsed) = Target::parse(target.get_ref()) else {
                continue;
            };
            let id = match parsed {
                Target::Root => Some(observed.tree.root_id.clone()),
                Target::OuPath(path) => observed.tree.id_of(&path).ok(),
                Target::OuId(id) | Target::Account(id) => Some(id),
            };
            let Some(id) = id else { continue };
            out.push((kind, target, id, names.iter().collect()));
        }
    }
    out
}

pub(crate) fn short(kind: PolicyType) -> &'static str {
    match kind {
        PolicyType::ServiceControlPolicy => "scp",
        PolicyType::ResourceControlPolicy => "rcp",
    }
}

/// Where organization.toml first attaches the policy, else the file.
fn declaration(file: &SourceFile, org: &OrganizationFile, policy: &str) -> Location {
    PolicyType::ALL
        .into_iter()
        .flat_map(|kind| org.attachments(kind).values().flatten())
        .filter(|name| name.get_ref() == policy)
        .map(|name| name.span())
        .min_by_key(|span| span.start)
        .map_or_else(
            || Location::file(file.path.clone()),
            |span| file.location(span),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_is_declared_where_it_is_first_attached() {
        let text = "account_id = \"123456789012\"\nregion = \"us-east-1\"\n\n[service_control_policies]\n\"root/prod\" = [\"boundary\"]\nroot = [\"mfa\",\n  \"boundary\"]\n\n[policy.boundary]\ndescription = \"the \\\"mfa\\\" one is elsewhere\"\n";
        let file = SourceFile::new("organization/organization.toml", text);
        let org: OrganizationFile = toml::from_str(text).expect("parses");
        let at = |policy: &str| declaration(&file, &org, policy).to_string();
        assert_eq!(at("boundary"), "organization/organization.toml:5");
        assert_eq!(at("mfa"), "organization/organization.toml:6");
        assert_eq!(at("gone"), "organization/organization.toml");
    }

    /// An attachment's drift is filed at its own entry, not where the policy is first attached
    /// (the line of a neighbouring target); other changes of the policy at its first attachment.
    #[test]
    fn an_attachment_is_declared_at_its_own_entry() {
        let text = "account_id = \"123456789012\"\nregion = \"us-east-1\"\n\n[service_control_policies]\nroot = [\"mfa\"]\n\"root/dev\" = [\"tags\"]\n\"root/prod\" = [\"tags\",\n  \"admin\"]\n";
        let file = SourceFile::new("organization/organization.toml", text);
        let org: OrganizationFile = toml::from_str(text).expect("parses");
        let at = |kind: &str, name: &str| {
            let change = ResourceChange {
                address: kmsctl_core::Address::new(kind, name),
                action: kmsctl_core::Action::Create,
                attributes: vec![],
                depends_on: vec![],
                operations: vec![],
                source: None,
            };
            drift_rule(&file, &org, &change)
                .declared
                .expect("a place")
                .to_string()
        };
        let line = |n: usize| format!("organization/organization.toml:{n}");
        assert_eq!(at(KIND_ATTACHMENT, "scp/tags@root/prod"), line(7));
        assert_eq!(at(KIND_ATTACHMENT, "scp/admin@root/prod"), line(8));
        assert_eq!(at(KIND_ATTACHMENT, "scp/tags@root/dev"), line(6));
        assert_eq!(at(KIND_ATTACHMENT, "scp/mfa@root"), line(5));
        // Detached from a target the file does not name: where the policy is first attached.
        assert_eq!(at(KIND_ATTACHMENT, "scp/tags@ou-ab12-99999999"), line(6));
        assert_eq!(at(crate::kinds::KIND_POLICY, "scp/tags"), line(6));
    }
}
