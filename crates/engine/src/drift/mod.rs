//! `kmsctl drift [TARGET...]`: whether the live AWS state still matches git and the controls,
//! for scheduled CI. Every target is checked (concurrently, bounded); one target's failure is
//! reported without hiding the others'. Findings are drift, violations or unmanaged resources,
//! each with its control and the file and line that declare the resource.

mod environment;
mod organization;

use futures::stream::{self, StreamExt};
use kmsctl_core::domain::DriftRule;
use kmsctl_core::drift::{
    CheckedResource, ControlMap, DriftFinding, DriftReport, Kind, SourceRef, TargetReport,
    TargetStatus,
};
use kmsctl_core::{Control, ResourceChange, Rule, Target};
use serde_json::{Value, json};

use crate::Context;
use crate::error::{Error, Result};
use crate::parts::Evidence;
use crate::plan::Loaded;
use crate::rules;
use crate::target::now;

pub const DRIFT_TAGS: Rule = Rule::drift(
    "drift-tags",
    Some(Control::TagAccess),
    "a managed resource's tags differ from the files",
);

/// Targets checked at once: each runs its own bounded reads.
const CONCURRENT_TARGETS: usize = 4;

/// With no target: the organization (if the project has one) and every environment folder.
pub fn default_targets(ctx: &Context) -> Vec<String> {
    let mut targets = Vec::new();
    if ctx.project.has_organization() {
        targets.push(crate::organization::TARGET.to_owned());
    }
    let mut environments: Vec<String> = std::fs::read_dir(ctx.project.root.join("environments"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(|n| format!("env/{n}")))
        .collect();
    environments.sort();
    targets.extend(environments);
    targets
}

/// Checks every target and builds the report.
pub async fn check(ctx: &Context, targets: &[String]) -> Result<DriftReport> {
    let controls = ControlMap::for_project(&ctx.project.files)
        .map_err(|e| Error::new(e.to_string()).help("fix or remove compliance/controls.toml"))?;
    let started = now();
    let mut reports: Vec<TargetReport> = stream::iter(targets.iter().cloned())
        .map(|target| {
            let controls = &controls;
            async move { check_target(ctx, &target, controls).await }
        })
        .buffered(CONCURRENT_TARGETS)
        .collect()
        .await;
    // An account shared by several environments: its unmanaged keys are reported once.
    let mut seen = std::collections::BTreeSet::new();
    for report in &mut reports {
        let account = (report.account_id.clone(), report.region.clone());
        report.findings.retain(|f| {
            f.kind != Kind::Unmanaged || seen.insert((account.clone(), f.resource.clone()))
        });
    }
    Ok(DriftReport::new(
        env!("CARGO_PKG_VERSION"),
        &started,
        reports,
    ))
}

async fn check_target(ctx: &Context, target: &str, controls: &ControlMap) -> TargetReport {
    let failed = |account: String, region: String, error: String| TargetReport {
        target: target.to_owned(),
        account_id: account,
        region,
        status: TargetStatus::Error,
        error: Some(error),
        observed_at: now(),
        resources: vec![],
        findings: vec![],
    };
    let loaded = match Loaded::load(ctx, target) {
        Ok(loaded) => loaded,
        Err(error) => return failed(String::new(), String::new(), error.message.clone()),
    };
    let label = loaded.target().label();
    let result = match &loaded {
        Loaded::Environment(prepared) => environment::check(ctx, prepared, controls).await,
        Loaded::Organization(file, org) => organization::check(ctx, file, org, controls).await,
    };
    let target_info = loaded.target();
    match result {
        Ok(mut report) => {
            report.target = label;
            report
        }
        Err(error) => {
            let mut report = failed(
                target_info.account_id,
                target_info.region,
                error.message.clone(),
            );
            report.target = label;
            report
        }
    }
}

/// A file and line as reports name them: relative to the project root, `/`-separated.
pub fn source_ref(location: &kmsctl_core::Location) -> SourceRef {
    SourceRef {
        file: location.file.to_string_lossy().replace('\\', "/"),
        line: location.line,
    }
}

/// One target's report from its plan's changes and its domains' evidence (none when nothing
/// was read): drift, then violations, then unmanaged resources; and what was checked.
fn report(
    target: Target,
    observed_at: String,
    changes: &[ResourceChange],
    evidence: Option<Evidence>,
    controls: &ControlMap,
) -> TargetReport {
    let evidence = evidence.unwrap_or_default();
    let mut findings: Vec<DriftFinding> = changes
        .iter()
        .map(|change| drift_of(change, evidence.rules.get(&change.address), controls))
        .collect();
    let control = |rule: &Rule| rule.control.map(|c| controls.of(c));
    findings.extend(evidence.violations.into_iter().map(|v| DriftFinding {
        kind: Kind::Violation,
        rule: v.rule.id.to_owned(),
        resource: v.address,
        message: v.message,
        control: control(v.rule),
        source: v.declared.as_ref().map(source_ref),
        evidence: v.evidence,
    }));
    findings.extend(evidence.unmanaged.into_iter().map(|u| DriftFinding {
        kind: Kind::Unmanaged,
        rule: u.rule.id.to_owned(),
        resource: u.resource,
        message: u.message,
        control: control(u.rule),
        source: u.declared.as_ref().map(source_ref),
        evidence: u.evidence,
    }));
    let resources = evidence
        .checked
        .into_iter()
        .map(|c| CheckedResource {
            resource: c.resource,
            control: controls.get(&c.control),
            source: c.declared.as_ref().map(source_ref),
            evidence: c.evidence,
        })
        .collect();
    TargetReport {
        target: target.label(),
        account_id: target.account_id,
        region: target.region,
        status: TargetStatus::Checked,
        error: None,
        observed_at,
        resources,
        findings,
    }
}

/// A planned change as a drift finding: what differs, observed against declared. Filed under
/// `drift-tags` when only tags differ, else its domain's rule when it has one, else `drift-KIND`
/// under the kind's control.
fn drift_of(
    change: &ResourceChange,
    filed: Option<&DriftRule>,
    controls: &ControlMap,
) -> DriftFinding {
    let kind = change.address.kind.as_str();
    let tags_only = !change.attributes.is_empty()
        && change.attributes.iter().all(|a| a.name.starts_with("tags"));
    let (rule, control) = match filed.and_then(|f| f.rule) {
        _ if tags_only => (DRIFT_TAGS.id.to_owned(), DRIFT_TAGS.control),
        Some(rule) => (rule.id.to_owned(), rule.control),
        None => (rules::drift_rule_id(kind), rules::kind_control(kind)),
    };
    let control = match filed.and_then(|f| f.control.as_deref()) {
        Some(id) => Some(controls.get(id)),
        None => control.map(|c| controls.of(c)),
    };
    let source = change
        .source
        .as_ref()
        .or(filed.and_then(|f| f.declared.as_ref()));
    let differences: Vec<String> = change
        .attributes
        .iter()
        .filter(|a| !a.known_after_apply)
        .map(|a| {
            let show =
                |v: &Option<Value>| v.as_ref().map_or("(none)".to_owned(), |v| v.to_string());
            format!("{}: {} → {}", a.name, show(&a.before), show(&a.after))
        })
        .collect();
    let evidence = change
        .attributes
        .iter()
        .filter(|a| !a.known_after_apply)
        .map(|a| {
            (
                a.name.clone(),
                json!({"observed": a.before, "declared": a.after}),
            )
        })
        .collect();
    DriftFinding {
        kind: Kind::Drift,
        rule,
        resource: change.address.to_string(),
        message: format!(
            "{} differs from the files: it {}{}",
            change.address,
            change.action.describe(),
            if differences.is_empty() {
                String::new()
            } else {
                format!(" ({})", differences.join("; "))
            }
        ),
        control,
        source: source.map(source_ref),
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use kmsctl_core::{Action, Address, AttributeChange, Location};

    use super::*;

    fn change(kind: &str, attribute: &str) -> ResourceChange {
        ResourceChange {
            address: Address::new(kind, "payments"),
            action: Action::Update,
            attributes: vec![AttributeChange::new(
                attribute,
                Some(json!("a")),
                Some(json!("b")),
            )],
            depends_on: vec![],
            operations: vec![],
            source: None,
        }
    }

    #[test]
    fn a_change_is_filed_under_tags_if_only_tags_differ_else_its_domains_rule_else_its_kind() {
        let controls = ControlMap::built_in();
        let filed = DriftRule {
            rule: Some(&kmsctl_keys::drift::DRIFT_KEY_STATE),
            ..DriftRule::default()
        };
        let finding = drift_of(&change("kms_key", "state"), Some(&filed), &controls);
        assert_eq!(finding.rule, "drift-key-state");
        assert_eq!(finding.control.map(|c| c.id), Some("3.4.1".to_owned()));

        let finding = drift_of(&change("kms_key", "tags.team"), None, &controls);
        assert_eq!(finding.rule, DRIFT_TAGS.id);
        let finding = drift_of(&change("kms_key", "tags.team"), Some(&filed), &controls);
        assert_eq!(finding.rule, DRIFT_TAGS.id, "only tags differ: tags first");
        assert_eq!(finding.control.map(|c| c.id), Some("3.1.1".to_owned()));

        let finding = drift_of(&change("kms_key_rotation", "enabled"), None, &controls);
        assert_eq!(finding.rule, "drift-kms-key-rotation");
        assert_eq!(finding.control.map(|c| c.id), Some("3.3.1".to_owned()));
        assert_eq!(finding.source, None);
    }

    #[test]
    fn a_domain_may_name_the_control_and_the_declaring_line() {
        let controls = ControlMap::built_in();
        let filed = DriftRule {
            rule: None,
            control: Some("3.2.4".to_owned()),
            declared: Some(Location::at_line("organization/organization.toml", 7)),
        };
        let finding = drift_of(&change("org_policy", "content"), Some(&filed), &controls);
        assert_eq!(finding.rule, "drift-org-policy");
        assert_eq!(finding.control.map(|c| c.id), Some("3.2.4".to_owned()));
        assert_eq!(
            finding.source,
            Some(SourceRef {
                file: "organization/organization.toml".to_owned(),
                line: Some(7),
            })
        );
    }
}
