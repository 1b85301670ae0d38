//! Strings from AWS and from files, hostile ones included, render inert in every Markdown and
//! HTML output: the drift report (`drift --format markdown`) and the compliance report
//! (`report --format markdown|html`).

use std::collections::BTreeMap;

use kmsctl_core::drift::{
    CheckedResource, ControlMap, ControlRef, DriftFinding, DriftReport, KeyRef, Kind, SourceRef,
    TargetReport, TargetStatus,
};
use serde_json::json;

use super::{compliance, drift};
use crate::cli::ReportFormat;
use crate::render::style::Style;

const IMG: &str = "<img src=x onerror=alert(1)>";
const ROW: &str = "| injected | row |";
const LINK: &str = "[click](javascript:alert(1))";

fn control() -> ControlRef {
    ControlRef {
        id: "3.6.1".into(),
        name: "Key management <b>procedures</b>".into(),
        pci_dss_v4: vec!["3.6.1".into()],
        nist_800_53_r5: vec!["SC-12".into()],
        nist_800_57_pt1: vec![],
    }
}

/// A report whose every AWS- or file-sourced string carries markup: tag values and
/// descriptions (evidence, messages), alias-like resource names, error messages, file paths.
fn hostile() -> DriftReport {
    let evidence: BTreeMap<String, serde_json::Value> = [
        ("description".to_owned(), json!(format!("{IMG} {LINK}"))),
        (
            "tag:Team".to_owned(),
            json!(format!("{ROW}\n| second | row |")),
        ),
        (
            "tag:`Owner`".to_owned(),
            json!("**bold** _em_ ~~gone~~ `code`"),
        ),
    ]
    .into();
    // An alias is a name anyone with kms:CreateAlias chooses.
    let key = Some(KeyRef {
        key_id: "k-1".into(),
        arn: Some("arn:aws:kms:us-east-1:111111111111:key/k-1".into()),
        aliases: vec![format!("alias/{IMG}"), format!("alias/{ROW}")],
    });
    let source = Some(SourceRef {
        file: "environments/dev/<script>alert(1)</script>|.toml".into(),
        line: Some(3),
    });
    let checked = TargetReport {
        target: "env/dev<img src=x>".into(),
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
        status: TargetStatus::Checked,
        error: None,
        observed_at: "2026-11-28T20:00:00Z".into(),
        resources: vec![CheckedResource {
            resource: "kms_key.app`</code><img src=x onerror=alert(1)>".into(),
            key: key.clone(),
            control: control(),
            source: source.clone(),
            evidence: evidence.clone(),
        }],
        findings: vec![DriftFinding {
            kind: Kind::Drift,
            rule: "key-tags".into(),
            resource: "kms_key.app`</code><img src=x onerror=alert(1)>".into(),
            key,
            message: format!("tag Team is \"{IMG}\" in AWS, \"{ROW}\" in the files\n## heading"),
            control: Some(control()),
            source,
            evidence,
        }],
    };
    let failed = TargetReport {
        target: "env/prod".into(),
        account_id: "222222222222".into(),
        region: "us-east-1".into(),
        status: TargetStatus::Error,
        error: Some(format!("AccessDenied: {IMG} {LINK}")),
        observed_at: "2026-11-28T20:00:00Z".into(),
        resources: vec![],
        findings: vec![],
    };
    DriftReport::new("0.1.0", "2026-11-28T20:00:00Z", vec![checked, failed])
}

/// No raw tag, no link, no extra table row: what a Markdown renderer (GitHub's) would act on.
fn assert_inert_markdown(markdown: &str) {
    for raw in [
        "<img",
        "<script",
        "<b>",
        "[click](",
        "\n| second",
        "\n## heading",
    ] {
        assert!(!markdown.contains(raw), "{raw} in\n{markdown}");
    }
    // Every table row has exactly the cells of its header: no `|` got in unescaped.
    let mut columns = None;
    for line in markdown.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells = unescaped_pipes(line);
        match columns {
            None => columns = Some(cells),
            Some(n) => assert_eq!(cells, n, "{line}"),
        }
    }
}

fn unescaped_pipes(line: &str) -> usize {
    let mut count = 0;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => count += 1,
            _ => escaped = false,
        }
    }
    count
}

#[test]
fn drift_markdown_escapes_what_came_from_aws_and_files() {
    let out = drift::render(
        ReportFormat::Markdown,
        &hostile(),
        std::path::Path::new("."),
        Style { color: false },
    )
    .expect("renders");
    assert_inert_markdown(&out);
    assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn compliance_markdown_escapes_what_came_from_aws_and_files() {
    let out = compliance::markdown(&hostile(), &ControlMap::built_in());
    assert_inert_markdown(&out);
    assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn compliance_html_escapes_what_came_from_aws_and_files() {
    let out = compliance::html(&hostile(), &ControlMap::built_in());
    for raw in ["<img", "<script", "<b>", "onerror=alert(1)>"] {
        assert!(!out.contains(raw), "{raw} in\n{out}");
    }
    assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;"), "{out}");
    assert!(out.contains("&lt;/code&gt;&lt;img"), "{out}");
    // Only the report's own elements.
    let tags: std::collections::BTreeSet<&str> = out
        .split('<')
        .skip(1)
        .filter_map(|t| t.split([' ', '>']).next())
        .map(|t| t.trim_start_matches('/'))
        .collect();
    for tag in &tags {
        assert!(
            [
                "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "header", "h1", "p",
                "main", "nav", "h2", "ul", "li", "a", "span", "section", "table", "thead", "tr",
                "th", "tbody", "td", "code", "strong",
            ]
            .contains(tag),
            "<{tag}> in\n{out}"
        );
    }
}
