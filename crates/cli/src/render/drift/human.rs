use kmsctl_core::drift::{DriftReport, Kind, TargetStatus};

use super::{at, control_line};
use crate::render::style::Style;

pub fn render(report: &DriftReport, style: Style) -> String {
    let mut out = String::new();
    for target in &report.targets {
        match target.status {
            TargetStatus::Error => {
                out.push_str(&format!(
                    "{} {}: {}\n",
                    style.red(&style.bold("error")),
                    target.target,
                    target.error.as_deref().unwrap_or("could not be checked")
                ));
                continue;
            }
            TargetStatus::Checked if target.findings.is_empty() => {
                out.push_str(&format!(
                    "{} {}: {} resource(s) match the files and the controls (observed {})\n",
                    style.green("clean"),
                    target.target,
                    target.resources.len(),
                    target.observed_at
                ));
                continue;
            }
            TargetStatus::Checked => {}
        }
        out.push_str(&format!(
            "{} ({}, {})\n",
            style.bold(&target.target),
            target.account_id,
            target.region
        ));
        for finding in &target.findings {
            let kind = match finding.kind {
                Kind::Violation => style.red("violation"),
                Kind::Drift => style.yellow("drift"),
                Kind::Unmanaged => style.cyan("unmanaged"),
            };
            out.push_str(&format!("  {kind}[{}] {}\n", finding.rule, finding.message));
            out.push_str(&format!("    --> {}\n", at(finding.source.as_ref())));
            if let Some(key) = &finding.key {
                out.push_str(&format!("    = key: {}\n", key.label(&finding.resource)));
            }
            out.push_str(&format!(
                "    = {}\n",
                control_line(finding.control.as_ref())
            ));
        }
    }
    let s = report.summary;
    let verdict = if s.violations > 0 {
        style.red(&style.bold("Violations found."))
    } else if s.drift > 0 {
        style.yellow(&style.bold("Drift found."))
    } else if s.errors > 0 {
        style.red(&style.bold("Not every target could be checked."))
    } else {
        style.green(&style.bold("No drift."))
    };
    out.push_str(&format!(
        "\n{verdict} {} target(s), {} resource(s): {} violation(s), {} drift, {} unmanaged, {} target error(s).\n",
        s.targets, s.resources, s.violations, s.drift, s.unmanaged, s.errors
    ));
    out
}
