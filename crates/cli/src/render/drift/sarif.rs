use std::collections::BTreeMap;
use std::path::Path;

use kmsctl_core::drift::{DriftReport, Kind};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Run, Sarif, Tool, ToolComponent,
};

use super::requirements;

/// SARIF 2.1.0: one result per finding, located at the TOML or policy file and line that
/// declares the resource (an unmanaged resource: the `environment.toml` line of its account),
/// so code-scanning UIs annotate the right line.
pub fn render(report: &DriftReport, root: &Path) -> Result<String, String> {
    let mut rules: BTreeMap<String, ReportingDescriptor> = BTreeMap::new();
    let mut results = Vec::new();
    for (target, finding) in report.findings() {
        rules.entry(finding.rule.clone()).or_insert_with(|| {
            ReportingDescriptor::builder()
                .id(finding.rule.clone())
                .name(finding.rule.clone())
                .short_description(
                    MultiformatMessageString::builder()
                        .text(match &finding.control {
                            Some(control) => format!(
                                "{} ({}: {})",
                                finding.kind.name(),
                                control.id,
                                control.name
                            ),
                            None => finding.kind.name().to_owned(),
                        })
                        .build(),
                )
                .properties(
                    PropertyBag::builder()
                        .tags(
                            std::iter::once(finding.kind.name().to_owned())
                                .chain(
                                    finding
                                        .control
                                        .as_ref()
                                        .map(|c| format!("control-{}", c.id)),
                                )
                                .collect::<Vec<_>>(),
                        )
                        .build(),
                )
                .build()
        });
        let level = match finding.kind {
            Kind::Violation => ResultLevel::Error,
            Kind::Drift => ResultLevel::Warning,
            Kind::Unmanaged => ResultLevel::Note,
        };
        let mut result = SarifResult::builder()
            .rule_id(finding.rule.clone())
            .level(level)
            .message(
                Message::builder()
                    .text(match &finding.control {
                        Some(control) => format!(
                            "{}: {} (control {} {}; {})",
                            target.target,
                            finding.message,
                            control.id,
                            control.name,
                            requirements(control)
                        ),
                        None => format!(
                            "{}: {} (no framework control)",
                            target.target, finding.message
                        ),
                    })
                    .build(),
            )
            .partial_fingerprints(BTreeMap::from([(
                "kmsctl/v1".to_owned(),
                format!("{}|{}|{}", target.target, finding.rule, finding.resource),
            )]))
            .properties(
                PropertyBag::builder()
                    .additional_properties(
                        BTreeMap::from([
                            ("kind".to_owned(), serde_json::json!(finding.kind.name())),
                            ("target".to_owned(), serde_json::json!(target.target)),
                            ("resource".to_owned(), serde_json::json!(finding.resource)),
                            ("evidence".to_owned(), serde_json::json!(finding.evidence)),
                        ])
                        .into_iter()
                        .chain(
                            finding
                                .control
                                .as_ref()
                                .map(|c| ("control".to_owned(), serde_json::json!(c))),
                        )
                        .chain(
                            finding
                                .key
                                .as_ref()
                                .map(|k| ("key".to_owned(), serde_json::json!(k))),
                        )
                        .collect::<BTreeMap<_, _>>(),
                    )
                    .build(),
            )
            .build();
        // The key as operators know it: by alias, and its ARN.
        let logical = finding.key.as_ref().map(|key| {
            vec![
                LogicalLocation::builder()
                    .name(key.aliases.first().unwrap_or(&key.key_id).clone())
                    .fully_qualified_name(key.arn.clone().unwrap_or_else(|| key.key_id.clone()))
                    .kind("resource")
                    .build(),
            ]
        });
        if let Some(source) = &finding.source {
            let mut physical = PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(source.file.clone())
                        .uri_base_id("%SRCROOT%")
                        .build(),
                )
                .build();
            if let Some(line) = source.line {
                physical.region = Some(
                    Region::builder()
                        .start_line(i64::try_from(line).unwrap_or(1))
                        .build(),
                );
            }
            let mut location = Location::builder().physical_location(physical).build();
            location.logical_locations = logical;
            result.locations = Some(vec![location]);
        } else if let Some(logical) = logical {
            result.locations = Some(vec![Location::builder().logical_locations(logical).build()]);
        }
        results.push(result);
    }
    let driver = ToolComponent::builder()
        .name("kmsctl")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/kmsctl/kmsctl")
        .rules(rules.into_values().collect::<Vec<_>>())
        .build();
    let root_uri = format!("file://{}/", root.display());
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![
            Invocation::builder()
                .execution_successful(report.summary.errors == 0)
                .build(),
        ])
        .original_uri_base_ids(BTreeMap::from([(
            "%SRCROOT%".to_owned(),
            ArtifactLocation::builder().uri(root_uri).build(),
        )]))
        .build();
    let sarif = Sarif::builder()
        .version(serde_json::json!("2.1.0"))
        .schema(serde_sarif::sarif::SCHEMA_URL)
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&sarif)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}
