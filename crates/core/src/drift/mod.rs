//! The drift report: what `kmsctl drift` found in each target, in a versioned, documented
//! form (`schemas/drift-report.schema.json` is generated from these types). Pure data; the
//! CLI renders it as human text, JSON, SARIF, JUnit and Markdown.

pub mod controls;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::finding::KeyRef;
pub use controls::{ControlEntry, ControlMap};

/// Version of the report's JSON form. Bump it on any incompatible change.
pub const REPORT_FORMAT_VERSION: u32 = 2;

/// What a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A managed resource differs from the files.
    Drift,
    /// The live state breaks a guard even though the files are right.
    Violation,
    /// A resource kmsctl does not manage where it should be the only manager.
    Unmanaged,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Drift => "drift",
            Self::Violation => "violation",
            Self::Unmanaged => "unmanaged",
        }
    }
}

/// A file and line in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceRef {
    /// Relative to the project root, `/`-separated.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// The control a finding concerns, with the requirements it maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ControlRef {
    /// The framework's control (`3.3.1`), or `HSM` / `MON`.
    pub id: String,
    pub name: String,
    pub pci_dss_v4: Vec<String>,
    pub nist_800_53_r5: Vec<String>,
    pub nist_800_57_pt1: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriftFinding {
    pub kind: Kind,
    /// A stable code: `rotation-required`, `drift-tags`, `unmanaged-key`, ...
    pub rule: String,
    /// The resource's plan address (`kms_key_rotation.db-payments-encryption`) or AWS id.
    pub resource: String,
    /// The KMS key the resource is or belongs to, as observed: its id, ARN and aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyRef>,
    pub message: String,
    /// The control the finding concerns; absent when it concerns none of the framework's
    /// controls (an alias moved, a key's description changed, a key kmsctl cannot read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<ControlRef>,
    /// Where the files declare the resource (for an unmanaged resource: its account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    /// What was observed: the values that make this a finding.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, Value>,
}

/// One resource checked in a target, with the findings about it (none: it is as declared).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckedResource {
    pub resource: String,
    /// The KMS key the resource is or belongs to, as observed: its id, ARN and aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyRef>,
    pub control: ControlRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    /// Observed values, for the compliance report.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    Checked,
    /// The target could not be checked (files invalid, AWS unreachable): see `error`.
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetReport {
    /// `organization` or `env/NAME`.
    pub target: String,
    pub account_id: String,
    pub region: String,
    pub status: TargetStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RFC 3339: when the live state was read.
    pub observed_at: String,
    pub resources: Vec<CheckedResource>,
    pub findings: Vec<DriftFinding>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub targets: usize,
    pub errors: usize,
    pub resources: usize,
    pub drift: usize,
    pub violations: usize,
    pub unmanaged: usize,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DriftReport {
    pub format_version: u32,
    pub kmsctl_version: String,
    /// RFC 3339.
    pub started_at: String,
    pub summary: Summary,
    pub targets: Vec<TargetReport>,
}

impl DriftReport {
    /// The report of these targets, counted. Each target's findings are final: drift that a
    /// violation subsumes was left out when they were made (`kmsctl_engine::drift`).
    pub fn new(kmsctl_version: &str, started_at: &str, targets: Vec<TargetReport>) -> Self {
        let count = |kind: Kind| {
            targets
                .iter()
                .flat_map(|t| &t.findings)
                .filter(|f| f.kind == kind)
                .count()
        };
        let summary = Summary {
            targets: targets.len(),
            errors: targets
                .iter()
                .filter(|t| t.status == TargetStatus::Error)
                .count(),
            resources: targets.iter().map(|t| t.resources.len()).sum(),
            drift: count(Kind::Drift),
            violations: count(Kind::Violation),
            unmanaged: count(Kind::Unmanaged),
        };
        Self {
            format_version: REPORT_FORMAT_VERSION,
            kmsctl_version: kmsctl_version.to_owned(),
            started_at: started_at.to_owned(),
            summary,
            targets,
        }
    }

    pub fn findings(&self) -> impl Iterator<Item = (&TargetReport, &DriftFinding)> {
        self.targets
            .iter()
            .flat_map(|t| t.findings.iter().map(move |f| (t, f)))
    }

    /// The JSON Schema of the report, as shipped in `schemas/drift-report.schema.json`.
    pub fn schema() -> Value {
        serde_json::to_value(schemars::schema_for!(DriftReport)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
