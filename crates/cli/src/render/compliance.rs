//! The compliance report: per control of the framework, the resources that satisfy it and those
//! that do not, with the evidence (observed values) and when it was observed.

use std::collections::BTreeMap;

use kmsctl_core::drift::{ControlMap, ControlRef, DriftReport};
use serde_json::Value;

use super::drift::{at, requirements, resource_html, resource_markdown};
use super::escape::{self, markdown as md, markdown_code as code};

/// One line of the report.
struct Row {
    target: String,
    resource: String,
    key: Option<kmsctl_core::KeyRef>,
    satisfied: bool,
    evidence: String,
    findings: Vec<String>,
    at: String,
    observed_at: String,
}

fn evidence(values: &BTreeMap<String, Value>) -> String {
    values
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                if let Value::String(s) = v {
                    s.clone()
                } else {
                    v.to_string()
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn subject(resource: &str) -> &str {
    resource.split_once('.').map_or(resource, |(_, n)| n)
}

/// Per control (in the map's order, then any other a finding names): its rows. Findings under
/// no control are in the drift report only.
fn rows(report: &DriftReport, controls: &ControlMap) -> Vec<(ControlRef, Vec<Row>)> {
    let mut ids: Vec<String> = controls.controls.iter().map(|c| c.id.clone()).collect();
    for (_, f) in report.findings() {
        if let Some(control) = &f.control
            && !ids.contains(&control.id)
        {
            ids.push(control.id.clone());
        }
    }
    let under = |f: &kmsctl_core::drift::DriftFinding, id: &str| {
        f.control.as_ref().is_some_and(|c| c.id == id)
    };
    ids.into_iter()
        .map(|id| {
            let mut rows = Vec::new();
            for target in &report.targets {
                let findings_of = |resource: &str| -> Vec<&kmsctl_core::drift::DriftFinding> {
                    target
                        .findings
                        .iter()
                        .filter(|f| under(f, &id) && subject(&f.resource) == subject(resource))
                        .collect()
                };
                for resource in target.resources.iter().filter(|r| r.control.id == id) {
                    let found = findings_of(&resource.resource);
                    rows.push(Row {
                        target: target.target.clone(),
                        resource: resource.resource.clone(),
                        key: resource
                            .key
                            .clone()
                            .or_else(|| found.iter().find_map(|f| f.key.clone())),
                        satisfied: found.is_empty(),
                        evidence: evidence(&resource.evidence),
                        findings: found
                            .iter()
                            .map(|f| format!("{} [{}]: {}", f.kind.name(), f.rule, f.message))
                            .collect(),
                        at: at(resource.source.as_ref()),
                        observed_at: target.observed_at.clone(),
                    });
                }
                // Findings about resources not in the files (unmanaged keys, foreign policies).
                for f in target.findings.iter().filter(|f| under(f, &id)) {
                    if target
                        .resources
                        .iter()
                        .any(|r| r.control.id == id && subject(&r.resource) == subject(&f.resource))
                    {
                        continue;
                    }
                    rows.push(Row {
                        target: target.target.clone(),
                        resource: f.resource.clone(),
                        key: f.key.clone(),
                        satisfied: false,
                        evidence: evidence(&f.evidence),
                        findings: vec![format!("{} [{}]: {}", f.kind.name(), f.rule, f.message)],
                        at: at(f.source.as_ref()),
                        observed_at: target.observed_at.clone(),
                    });
                }
            }
            (controls.get(&id), rows)
        })
        .collect()
}

const DISCLAIMER: &str = "The control → PCI DSS v4.0 / NIST mapping is a starting point drawn from the standards' requirement titles, not an audited mapping: your assessor (QSA) or compliance owner confirms it (edit compliance/controls.toml).";

pub fn markdown(report: &DriftReport, controls: &ControlMap) -> String {
    let mut out = format!(
        "# kmsctl compliance report\n\nGenerated {} by kmsctl {} over {} target(s).\n\n> {DISCLAIMER}\n",
        md(&report.started_at),
        md(&report.kmsctl_version),
        report.summary.targets
    );
    for target in report.targets.iter().filter(|t| t.error.is_some()) {
        out.push_str(&format!(
            "\n**{} could not be checked:** {}\n",
            md(&target.target),
            md(target.error.as_deref().unwrap_or(""))
        ));
    }
    for (control, rows) in rows(report, controls) {
        let failing = rows.iter().filter(|r| !r.satisfied).count();
        out.push_str(&format!(
            "\n## {} {} — {}\n\n{}\n\n",
            md(&control.id),
            md(&control.name),
            if rows.is_empty() {
                "no resource in scope".to_owned()
            } else if failing == 0 {
                format!("satisfied by all {} resource(s)", rows.len())
            } else {
                format!("{failing} of {} resource(s) do not satisfy it", rows.len())
            },
            md(&requirements(&control))
        ));
        if rows.is_empty() {
            continue;
        }
        out.push_str("| status | target | resource | evidence | observed | declared at |\n|---|---|---|---|---|---|\n");
        for row in rows {
            let status = if row.satisfied {
                "✅ satisfies".to_owned()
            } else {
                format!("❌ {}", md(&row.findings.join("; ")))
            };
            out.push_str(&format!(
                "| {status} | {} | {} | {} | {} | {} |\n",
                md(&row.target),
                resource_markdown(&row.resource, row.key.as_ref()),
                md(&row.evidence),
                md(&row.observed_at),
                code(&row.at)
            ));
        }
    }
    out
}

pub fn html(report: &DriftReport, controls: &ControlMap) -> String {
    let mut body = String::new();
    for target in report.targets.iter().filter(|t| t.error.is_some()) {
        body.push_str(&format!(
            "<p class=\"error\"><strong>{} could not be checked:</strong> {}</p>\n",
            escape::html(&target.target),
            escape::html(target.error.as_deref().unwrap_or(""))
        ));
    }
    body.push_str("<nav><h2>Controls</h2><ul>\n");
    let all = rows(report, controls);
    for (control, rows) in &all {
        let failing = rows.iter().filter(|r| !r.satisfied).count();
        body.push_str(&format!(
            "<li><a href=\"#control-{}\">{} {}</a> <span class=\"{}\">{}</span></li>\n",
            escape::html(&control.id),
            escape::html(&control.id),
            escape::html(&control.name),
            if failing > 0 { "fail" } else { "pass" },
            if failing > 0 {
                format!("{failing} failing")
            } else {
                format!("{} passing", rows.len())
            }
        ));
    }
    body.push_str("</ul></nav>\n");
    for (control, rows) in all {
        body.push_str(&format!(
            "<section id=\"control-{}\">\n<h2>{} {}</h2>\n<p class=\"requirements\">{}</p>\n",
            escape::html(&control.id),
            escape::html(&control.id),
            escape::html(&control.name),
            escape::html(&requirements(&control))
        ));
        if rows.is_empty() {
            body.push_str("<p>No resource in scope.</p>\n</section>\n");
            continue;
        }
        body.push_str("<table>\n<thead><tr><th>Status</th><th>Target</th><th>Resource</th><th>Evidence</th><th>Observed</th><th>Declared at</th></tr></thead>\n<tbody>\n");
        for row in rows {
            let status = if row.satisfied {
                "<td class=\"pass\">satisfies</td>".to_owned()
            } else {
                format!(
                    "<td class=\"fail\">does not satisfy: {}</td>",
                    escape::html(&row.findings.join("; "))
                )
            };
            body.push_str(&format!(
                "<tr>{status}<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
                escape::html(&row.target),
                resource_html(&row.resource, row.key.as_ref()),
                escape::html(&row.evidence),
                escape::html(&row.observed_at),
                escape::html(&row.at)
            ));
        }
        body.push_str("</tbody>\n</table>\n</section>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>kmsctl compliance report</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }}\n\
         table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }}\n\
         th, td {{ border: 1px solid #d0d0d5; padding: .35rem .5rem; text-align: left; vertical-align: top; font-size: .9rem; }}\n\
         th {{ background: #f2f2f5; }}\n\
         .pass {{ color: #126b2a; }}\n.fail {{ color: #a11a1a; font-weight: 600; }}\n.error {{ color: #a11a1a; }}\n\
         .requirements {{ color: #55555a; }}\n.note {{ background: #fff8e1; padding: .5rem 1rem; border-left: 4px solid #e0b000; }}\n\
         </style>\n</head>\n<body>\n<header>\n<h1>kmsctl compliance report</h1>\n<p>Generated {} by kmsctl {} over {} target(s): {} violation(s), {} drift, {} unmanaged.</p>\n<p class=\"note\">{}</p>\n</header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape::html(&report.started_at),
        escape::html(&report.kmsctl_version),
        report.summary.targets,
        report.summary.violations,
        report.summary.drift,
        report.summary.unmanaged,
        escape::html(DISCLAIMER)
    )
}
