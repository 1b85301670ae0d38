//! The drift report in each format CI systems read. Renderers only print: the report is data.

mod human;
mod junit;
mod markdown;
mod sarif;

use std::path::Path;

use kmsctl_core::drift::DriftReport;

use crate::cli::ReportFormat;
use crate::render::style::Style;

pub fn render(
    format: ReportFormat,
    report: &DriftReport,
    root: &Path,
    style: Style,
) -> Result<String, String> {
    match format {
        ReportFormat::Human => Ok(human::render(report, style)),
        ReportFormat::Json => serde_json::to_string_pretty(report)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        ReportFormat::Sarif => sarif::render(report, root),
        ReportFormat::Junit => junit::render(report),
        ReportFormat::Markdown => Ok(markdown::render(report)),
    }
}

/// `PCI DSS 3.6.1, 3.7.4 · NIST 800-53 SC-12 · NIST 800-57 §5.3`
pub fn requirements(control: &kmsctl_core::drift::ControlRef) -> String {
    let mut parts = Vec::new();
    if !control.pci_dss_v4.is_empty() {
        parts.push(format!("PCI DSS v4.0 {}", control.pci_dss_v4.join(", ")));
    }
    if !control.nist_800_53_r5.is_empty() {
        parts.push(format!("NIST 800-53 {}", control.nist_800_53_r5.join(", ")));
    }
    if !control.nist_800_57_pt1.is_empty() {
        parts.push(format!(
            "NIST 800-57 {}",
            control.nist_800_57_pt1.join(", ")
        ));
    }
    parts.join(" · ")
}

/// `control 3.3.1 Automatic key rotation (PCI DSS v4.0 3.6.1, ...)`, or that there is none.
pub fn control_line(control: Option<&kmsctl_core::drift::ControlRef>) -> String {
    match control {
        Some(control) => format!(
            "control {} {} ({})",
            control.id,
            control.name,
            requirements(control)
        ),
        None => "no framework control".to_owned(),
    }
}

pub fn at(source: Option<&kmsctl_core::drift::SourceRef>) -> String {
    match source {
        Some(s) => match s.line {
            Some(line) => format!("{}:{line}", s.file),
            None => s.file.clone(),
        },
        None => "-".into(),
    }
}

/// A resource in a Markdown cell: its address as code, then the aliases and ARN of its key.
pub fn resource_markdown(resource: &str, key: Option<&kmsctl_core::KeyRef>) -> String {
    use crate::render::escape::{markdown as md, markdown_code as code};
    let names = key.map(|k| k.names_beside(resource)).unwrap_or_default();
    if names.is_empty() {
        code(resource)
    } else {
        format!("{} ({})", code(resource), md(&names.join(", ")))
    }
}

/// A resource in an HTML cell: its address as code, then the aliases and ARN of its key.
pub fn resource_html(resource: &str, key: Option<&kmsctl_core::KeyRef>) -> String {
    use crate::render::escape::html;
    let names = key.map(|k| k.names_beside(resource)).unwrap_or_default();
    if names.is_empty() {
        format!("<code>{}</code>", html(resource))
    } else {
        format!(
            "<code>{}</code> ({})",
            html(resource),
            html(&names.join(", "))
        )
    }
}
