//! `kmsctl drift [TARGET...]`: whether the live AWS state still matches git and the controls,
//! for scheduled CI. Every target is checked (concurrently, bounded); one target's failure is
//! reported without hiding the others'. Findings are drift, violations or unmanaged resources,
//! each with its control and the file and line that declare the resource.

mod environment;
mod organization;

use std::collections::BTreeSet;

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
    // The environments this run checks: each reports its own load errors.
    let environments: BTreeSet<String> = targets
        .iter()
        .filter(|t| t.as_str() != crate::organization::TARGET)
        .filter_map(|t| {
            let dir = ctx.project.environment_dir(t).ok()?;
            dir.file_name()?.to_str().map(str::to_owned)
        })
        .collect();
    let mut reports: Vec<TargetReport> = stream::iter(targets.iter().cloned())
        .map(|target| {
            let controls = &controls;
            let environments = &environments;
            async move { check_target(ctx, &target, controls, environments).await }
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

async fn check_target(
    ctx: &Context,
    target: &str,
    controls: &ControlMap,
    environments: &BTreeSet<String>,
) -> TargetReport {
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
        Loaded::Organization(file, org) => {
            organization::check(ctx, file, org, controls, environments).await
        }
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
/// was read): drift, then violations, then unmanaged resources; and what was checked. A violation
/// subsumes the drift of what it is about: of the attributes it names (a missing tag), else of
/// its whole resource under the same control (rotation off); the rest of the drift is reported.
fn report(
    target: Target,
    observed_at: String,
    changes: &[ResourceChange],
    evidence: Option<Evidence>,
    controls: &ControlMap,
) -> TargetReport {
    let evidence = evidence.unwrap_or_default();
    let key = |resource: &str| evidence.keys.get(resource).cloned();
    let control = |rule: &Rule| rule.control.map(|c| controls.of(c));
    let violation_control = |v: &kmsctl_core::domain::Violation| {
        v.control
            .as_deref()
            .map(|id| controls.get(id))
            .or_else(|| control(v.rule))
    };
    // Violations about a whole resource, by the key they concern and their control.
    let violated: BTreeSet<(String, String)> = evidence
        .violations
        .iter()
        .filter(|v| v.attributes.is_empty())
        .filter_map(|v| Some((subject(&v.address).to_owned(), violation_control(v)?.id)))
        .collect();
    let mut findings: Vec<DriftFinding> = changes
        .iter()
        .filter_map(|change| {
            let covered = evidence.subsumed.get(&change.address);
            let mut left = change.clone();
            if let Some(covered) = covered {
                left.attributes.retain(|a| !covered.contains(&a.name));
                if left.attributes.is_empty() {
                    return None;
                }
            }
            let mut finding = drift_of(&left, evidence.rules.get(&change.address), controls);
            let whole = finding
                .control
                .as_ref()
                .map(|c| (subject(&finding.resource).to_owned(), c.id.clone()));
            if whole.is_some_and(|w| violated.contains(&w)) {
                return None;
            }
            finding.key = key(&finding.resource);
            Some(finding)
        })
        .collect();
    findings.extend(evidence.violations.iter().map(|v| DriftFinding {
        kind: Kind::Violation,
        rule: v.rule.id.to_owned(),
        key: key(&v.address),
        resource: v.address.clone(),
        message: v.message.clone(),
        control: violation_control(v),
        source: v.declared.as_ref().map(source_ref),
        evidence: v.evidence.clone(),
    }));
    findings.extend(evidence.unmanaged.iter().map(|u| DriftFinding {
        kind: Kind::Unmanaged,
        rule: u.rule.id.to_owned(),
        key: key(&u.resource),
        resource: u.resource.clone(),
        message: u.message.clone(),
        control: control(u.rule),
        source: u.declared.as_ref().map(source_ref),
        evidence: u.evidence.clone(),
    }));
    let resources = evidence
        .checked
        .iter()
        .map(|c| CheckedResource {
            resource: c.resource.clone(),
            key: key(&c.resource),
            control: controls.get(&c.control),
            source: c.declared.as_ref().map(source_ref),
            evidence: c.evidence.clone(),
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

/// The key a resource concerns: `kms_key_rotation.x` and `kms_key.x` are about the same key.
fn subject(resource: &str) -> &str {
    resource.split_once('.').map_or(resource, |(_, name)| name)
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
        key: None,
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

    fn violation(
        address: &str,
        rule: &'static Rule,
        attributes: &[&str],
    ) -> kmsctl_core::domain::Violation {
        kmsctl_core::domain::Violation {
            address: address.to_owned(),
            rule,
            message: "m".to_owned(),
            evidence: std::collections::BTreeMap::new(),
            declared: None,
            control: None,
            attributes: attributes.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn a_violation_subsumes_the_drift_of_what_it_is_about_and_no_more() {
        use kmsctl_keys::guards::{ENVIRONMENT_TAG, REQUIRED_TAGS, ROTATION_REQUIRED};
        let tags = ResourceChange {
            attributes: [
                "tags.Environment",
                "tags.Project",
                "tags.Owner",
                "tags.CostCenter",
            ]
            .into_iter()
            .map(|t| AttributeChange::new(t, Some(json!("a")), Some(json!("b"))))
            .collect(),
            ..change("kms_key", "description")
        };
        let rotation = change("kms_key_rotation", "enabled");
        let policy = change("kms_key_policy", "statements");
        let violations = vec![
            violation("kms_key.payments", &ENVIRONMENT_TAG, &["tags.Environment"]),
            violation("kms_key.payments", &REQUIRED_TAGS, &["tags.Project"]),
            violation("kms_key_rotation.payments", &ROTATION_REQUIRED, &[]),
        ];
        let changes = vec![tags, rotation, policy];
        let mut evidence = Evidence::default();
        for change in &changes {
            let covered = crate::parts::subsumed(&violations, change);
            if !covered.is_empty() {
                evidence.subsumed.insert(change.address.clone(), covered);
            }
        }
        evidence.violations = violations;
        let target = Target {
            kind: "environment".into(),
            name: "dev".into(),
            path: "environments/dev".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            assume_role_arn: None,
        };
        let report = report(
            target,
            "now".into(),
            &changes,
            Some(evidence),
            &ControlMap::built_in(),
        );
        let found: Vec<(Kind, &str, &str)> = report
            .findings
            .iter()
            .map(|f| (f.kind, f.rule.as_str(), f.resource.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (Kind::Drift, "drift-tags", "kms_key.payments"),
                (
                    Kind::Drift,
                    "drift-kms-key-policy",
                    "kms_key_policy.payments"
                ),
                (Kind::Violation, "environment-tag", "kms_key.payments"),
                (Kind::Violation, "required-tags", "kms_key.payments"),
                (
                    Kind::Violation,
                    "rotation-required",
                    "kms_key_rotation.payments"
                ),
            ],
            "{:#?}",
            report.findings
        );
        let tags = &report.findings[0];
        let shown: Vec<&String> = tags.evidence.keys().collect();
        assert_eq!(shown, ["tags.CostCenter", "tags.Owner"]);
        assert!(
            !tags.message.contains("tags.Environment") && !tags.message.contains("tags.Project"),
            "{}",
            tags.message
        );
    }
}
