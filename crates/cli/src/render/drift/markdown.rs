use kmsctl_core::drift::{DriftReport, TargetStatus};

use super::at;
use crate::render::escape::{markdown as md, markdown_code as code};

/// A summary table for a pull-request comment, then one row per finding.
pub fn render(report: &DriftReport) -> String {
    let s = report.summary;
    let mut out = String::from("## kmsctl drift\n\n");
    out.push_str(&format!(
        "{} — {} target(s), {} resource(s) checked at {}.\n\n",
        if s.violations > 0 {
            "**Violations found**"
        } else if s.drift > 0 {
            "**Drift found**"
        } else if s.errors > 0 {
            "**Not every target could be checked**"
        } else {
            "**No drift**"
        },
        s.targets,
        s.resources,
        md(&report.started_at)
    ));
    out.push_str(
        "| target | status | violations | drift | unmanaged |\n|---|---|---:|---:|---:|\n",
    );
    for target in &report.targets {
        let count = |kind| target.findings.iter().filter(|f| f.kind == kind).count();
        let status = match target.status {
            TargetStatus::Error => {
                format!("error: {}", md(target.error.as_deref().unwrap_or("")))
            }
            TargetStatus::Checked if target.findings.is_empty() => "clean".into(),
            TargetStatus::Checked => "findings".into(),
        };
        out.push_str(&format!(
            "| {} | {status} | {} | {} | {} |\n",
            md(&target.target),
            count(kmsctl_core::drift::Kind::Violation),
            count(kmsctl_core::drift::Kind::Drift),
            count(kmsctl_core::drift::Kind::Unmanaged)
        ));
    }
    if report.findings().next().is_some() {
        out.push_str("\n| kind | target | resource | control | finding | declared at |\n|---|---|---|---|---|---|\n");
        for (target, f) in report.findings() {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                f.kind.name(),
                md(&target.target),
                super::resource_markdown(&f.resource, f.key.as_ref()),
                f.control.as_ref().map_or("—".to_owned(), |c| format!(
                    "{} {}",
                    md(&c.id),
                    md(&c.name)
                )),
                md(&f.message),
                code(&at(f.source.as_ref()))
            ));
        }
    }
    out
}
