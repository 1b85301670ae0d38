use kmsctl_core::drift::{DriftReport, TargetStatus};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{at, control_line};

/// One test suite per target, one test case per resource checked (and per finding about a
/// resource not in the files, such as an unmanaged key); failures for findings.
pub fn render(report: &DriftReport) -> Result<String, String> {
    let mut junit = Report::new("kmsctl drift");
    for target in &report.targets {
        let mut suite = TestSuite::new(target.target.clone());
        if target.status == TargetStatus::Error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(target.error.clone().unwrap_or_default());
            suite.add_test_case(TestCase::new(format!("{}: checked", target.target), status));
        }
        let mut names: Vec<String> = target
            .resources
            .iter()
            .map(|r| r.resource.clone())
            .collect();
        for finding in &target.findings {
            if !names
                .iter()
                .any(|n| subject(n) == subject(&finding.resource))
            {
                names.push(finding.resource.clone());
            }
        }
        names.dedup();
        let mut seen = std::collections::BTreeSet::new();
        for name in names.into_iter().filter(|n| seen.insert(n.clone())) {
            let findings: Vec<_> = target
                .findings
                .iter()
                .filter(|f| subject(&f.resource) == subject(&name))
                .collect();
            let status = if findings.is_empty() {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_type(
                    findings
                        .iter()
                        .map(|f| f.kind.name())
                        .collect::<Vec<_>>()
                        .join(","),
                );
                status.set_message(
                    findings
                        .iter()
                        .map(|f| f.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                status.set_description(
                    findings
                        .iter()
                        .map(|f| {
                            format!(
                                "{} [{}] {}\n  at {}\n{}  {}",
                                f.kind.name(),
                                f.rule,
                                f.message,
                                at(f.source.as_ref()),
                                f.key.as_ref().map_or(String::new(), |k| format!(
                                    "  key: {}\n",
                                    k.label(&f.resource)
                                )),
                                control_line(f.control.as_ref())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                status
            };
            let mut case = TestCase::new(name.clone(), status);
            case.set_classname(target.target.clone());
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(|e| e.to_string())
}

/// `kms_key_rotation.x` and `kms_key.x` are about the same key.
fn subject(resource: &str) -> &str {
    resource.split_once('.').map_or(resource, |(_, name)| name)
}
