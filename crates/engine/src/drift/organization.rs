//! Drift of the organization: the plan's changes (drift), and SCPs or RCPs attached to the
//! targets kmsctl manages that no file declares (unmanaged).

use std::collections::BTreeMap;

use kmsctl_core::drift::{
    CheckedResource, ControlMap, DriftFinding, Kind, TargetReport, TargetStatus,
};
use kmsctl_core::source::SourceFile;
use kmsctl_org::config::{OrganizationFile, PolicyType};
use kmsctl_org::target::Target as OrgTarget;
use serde_json::json;

use super::environment::drift_of;
use super::source_ref;
use crate::Context;
use crate::error::{Error, Result};
use crate::organization::{make_observed, target};
use crate::target::{Planned, now};

/// The control a policy enforces: its `control` setting, or environment boundaries.
fn policy_control<'a>(org: &'a OrganizationFile, name: &str) -> &'a str {
    org.policy
        .get(name)
        .and_then(|p| p.control.as_deref())
        .unwrap_or("3.2.2")
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
                finding.control = controls.get(policy_control(org, policy));
                if finding.source.is_none() {
                    finding.source = Some(source_ref(&declaration(file, policy)));
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
                    resources.push(CheckedResource {
                        resource: format!(
                            "org_attachment.{}/{name}@{}",
                            short(kind),
                            spanned_target.get_ref()
                        ),
                        control: controls.get(policy_control(org, name)),
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
                        rule: "unmanaged-org-policy".into(),
                        resource: format!("{} {} ({})", kind.api_name(), policy.name, policy.id),
                        message: format!(
                            "{} {} ({}) is attached to {} and kmsctl does not manage it",
                            kind.api_name(),
                            policy.name,
                            policy.id,
                            spanned_target.get_ref()
                        ),
                        control: controls.get("3.2.2"),
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

/// The first line of organization.toml naming the policy, else the file.
fn declaration(file: &SourceFile, policy: &str) -> kmsctl_core::Location {
    let quoted = format!("\"{policy}\"");
    match file.text.lines().position(|l| l.contains(&quoted)) {
        Some(index) => kmsctl_core::Location::at_line(file.path.clone(), index + 1),
        None => kmsctl_core::Location::file(file.path.clone()),
    }
}
