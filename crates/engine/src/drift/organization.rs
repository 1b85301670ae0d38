//! Drift of the organization: the plan's changes (drift), and SCPs or RCPs attached to the
//! targets kmsctl manages that no file declares (unmanaged).

use std::collections::BTreeMap;

use kmsctl_core::drift::{
    CheckedResource, ControlMap, ControlRef, DriftFinding, Kind, TargetReport, TargetStatus,
};
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Control, Rule};
use kmsctl_org::config::{OrganizationFile, PolicyType};
use kmsctl_org::diff::KIND_ATTACHMENT;
use kmsctl_org::target::Target as OrgTarget;
use serde_json::json;

use super::environment::drift_of;
use super::source_ref;
use crate::Context;
use crate::error::{Error, Result};
use crate::organization::{make_observed, target};
use crate::rules;
use crate::target::{Planned, now};

pub const UNMANAGED_ORG_POLICY: Rule = Rule::drift(
    "unmanaged-org-policy",
    Some(Control::EnvironmentBoundaries),
    "an SCP or RCP attached to a target organization.toml manages that no file declares",
);

/// The control of a policy's resource of `kind`: the policy's `control` setting, else the
/// kind's.
fn policy_control(
    controls: &ControlMap,
    org: &OrganizationFile,
    name: &str,
    kind: &str,
) -> Option<ControlRef> {
    match org.policy.get(name).and_then(|p| p.control.as_deref()) {
        Some(id) => Some(controls.get(id)),
        None => rules::kind_control(kind).map(|c| controls.of(c)),
    }
}

pub async fn check(
    ctx: &Context,
    file: &SourceFile,
    org: &OrganizationFile,
    controls: &ControlMap,
) -> Result<TargetReport> {
    let target = target(org);
    let observed_at = now();
    let (planned, observed) = make_observed(ctx, file, org).await?;
    let mut findings = Vec::new();
    match &planned {
        Planned::Plan(plan) => {
            for change in &plan.changes {
                let mut finding = drift_of(change, controls);
                // org_policy.scp/NAME, org_attachment.scp/NAME@TARGET: the policy's own control.
                let name = change.address.name.split_once('/').map_or("", |(_, n)| n);
                let policy = name.split('@').next().unwrap_or(name);
                finding.control = policy_control(controls, org, policy, &change.address.kind);
                if finding.source.is_none() {
                    finding.source = Some(source_ref(&declaration(file, org, policy)));
                }
                findings.push(finding);
            }
        }
        Planned::Refused(found) => {
            let first = found
                .iter()
                .find(|f| f.is_error())
                .map_or("refused".to_owned(), |f| {
                    format!("{}: {}", f.rule, f.message)
                });
            return Err(Error::new(format!(
                "the organization cannot be checked: {first}"
            )));
        }
    }
    let mut resources = Vec::new();
    if let Some(observed) = &observed {
        for kind in PolicyType::ALL {
            for (spanned_target, names) in org.attachments(kind) {
                let Ok(parsed) = OrgTarget::parse(spanned_target.get_ref()) else {
                    continue;
                };
                let id = match parsed {
                    OrgTarget::Root => Some(observed.tree.root_id.clone()),
                    OrgTarget::OuPath(path) => observed.tree.id_of(&path).ok(),
                    OrgTarget::OuId(id) | OrgTarget::Account(id) => Some(id),
                };
                let Some(id) = id else { continue };
                let declared: Vec<&str> = names.iter().map(|n| n.get_ref().as_str()).collect();
                let at = source_ref(&file.location(spanned_target.span()));
                for name in &declared {
                    let attached = observed.attached_to(kind, &id).any(|p| p.name == *name);
                    let Some(control) = policy_control(controls, org, name, KIND_ATTACHMENT) else {
                        continue;
                    };
                    resources.push(CheckedResource {
                        resource: format!(
                            "{KIND_ATTACHMENT}.{}/{name}@{}",
                            short(kind),
                            spanned_target.get_ref()
                        ),
                        control,
                        source: Some(at.clone()),
                        evidence: BTreeMap::from([
                            ("attached".to_owned(), json!(attached)),
                            ("target_id".to_owned(), json!(id)),
                        ]),
                    });
                }
                for policy in observed.attached_to(kind, &id) {
                    if policy.is_managed()
                        || policy.aws_managed
                        || declared.contains(&policy.name.as_str())
                    {
                        continue;
                    }
                    findings.push(DriftFinding {
                        kind: Kind::Unmanaged,
                        rule: UNMANAGED_ORG_POLICY.id.into(),
                        resource: format!("{} {} ({})", kind.api_name(), policy.name, policy.id),
                        message: format!(
                            "{} {} ({}) is attached to {} and kmsctl does not manage it",
                            kind.api_name(),
                            policy.name,
                            policy.id,
                            spanned_target.get_ref()
                        ),
                        control: UNMANAGED_ORG_POLICY.control.map(|c| controls.of(c)),
                        source: Some(at.clone()),
                        evidence: BTreeMap::from([
                            ("policy_id".to_owned(), json!(policy.id)),
                            ("target_id".to_owned(), json!(id)),
                        ]),
                    });
                }
            }
        }
    }
    Ok(TargetReport {
        target: "organization".into(),
        account_id: target.account_id,
        region: target.region,
        status: TargetStatus::Checked,
        error: None,
        observed_at,
        resources,
        findings,
    })
}

fn short(kind: PolicyType) -> &'static str {
    match kind {
        PolicyType::ServiceControlPolicy => "scp",
        PolicyType::ResourceControlPolicy => "rcp",
    }
}

/// Where organization.toml first attaches the policy, else the file.
fn declaration(file: &SourceFile, org: &OrganizationFile, policy: &str) -> kmsctl_core::Location {
    PolicyType::ALL
        .into_iter()
        .flat_map(|kind| org.attachments(kind).values().flatten())
        .filter(|name| name.get_ref() == policy)
        .map(|name| name.span())
        .min_by_key(|span| span.start)
        .map_or_else(
            || kmsctl_core::Location::file(file.path.clone()),
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
}
