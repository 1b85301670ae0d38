//! Lint findings as SARIF 2.1.0, each at its file and line.

use std::collections::BTreeMap;

use kmsctl_core::{Finding, Severity};
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, PhysicalLocation, Region, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

pub fn render(findings: &[Finding]) -> Result<String, String> {
    let mut rules: BTreeMap<String, ReportingDescriptor> = BTreeMap::new();
    let results: Vec<SarifResult> = findings
        .iter()
        .map(|f| {
            rules.entry(f.rule.clone()).or_insert_with(|| {
                ReportingDescriptor::builder()
                    .id(f.rule.clone())
                    .name(f.rule.clone())
                    .build()
            });
            let mut physical = PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(f.location.file.to_string_lossy().replace('\\', "/"))
                        .build(),
                )
                .build();
            if let Some(line) = f.location.line {
                physical.region = Some(
                    Region::builder()
                        .start_line(i64::try_from(line).unwrap_or(1))
                        .build(),
                );
            }
            SarifResult::builder()
                .rule_id(f.rule.clone())
                .level(if f.severity == Severity::Error {
                    ResultLevel::Error
                } else {
                    ResultLevel::Warning
                })
                .message(
                    Message::builder()
                        .text(format!("{} (fix: {})", f.message, f.fix))
                        .build(),
                )
                .locations(vec![
                    Location::builder().physical_location(physical).build(),
                ])
                .build()
        })
        .collect();
    let driver = ToolComponent::builder()
        .name("kmsctl lint")
        .version(env!("CARGO_PKG_VERSION"))
        .rules(rules.into_values().collect::<Vec<_>>())
        .build();
    let sarif = Sarif::builder()
        .version(serde_json::json!("2.1.0"))
        .schema(serde_sarif::sarif::SCHEMA_URL)
        .runs(vec![
            Run::builder()
                .tool(Tool::builder().driver(driver).build())
                .results(results)
                .build(),
        ])
        .build();
    serde_json::to_string_pretty(&sarif)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}
