//! Guard findings: what an offline check found, where, and how to fix it.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rule::{Control, Rule, Severities};

/// How bad a finding is. Errors refuse a plan (exit 3); warnings never change the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Where a finding points: a file, and inside it a line and/or a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl Location {
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Self {
            file: file.into(),
            line: None,
            pointer: None,
        }
    }

    pub fn at_line(file: impl Into<PathBuf>, line: usize) -> Self {
        Self {
            file: file.into(),
            line: Some(line),
            pointer: None,
        }
    }

    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        match self.pointer.as_deref() {
            // The empty JSON pointer is the whole document.
            Some("") => write!(f, " (the whole document)")?,
            Some(pointer) => write!(f, " ({pointer})")?,
            None => {}
        }
        Ok(())
    }
}

/// The KMS key a finding is about, as AWS showed it: what an operator knows the key by (its
/// aliases) and what names it everywhere (its ARN), beside kmsctl's address and the key id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct KeyRef {
    pub key_id: String,
    /// Absent when AWS did not say (a key the deployer may not describe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Every alias that points to the key (`alias/prod-db-payments-encryption`).
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl KeyRef {
    /// The names `subject` lacks: the aliases, then the ARN (not when it is the subject; the
    /// key id stands in for an unknown ARN).
    pub fn names_beside(&self, subject: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self.aliases.iter().map(String::as_str).collect();
        match self.arn.as_deref() {
            Some(arn) if arn != subject => names.push(arn),
            Some(_) => {}
            None if self.key_id != subject => names.push(&self.key_id),
            None => {}
        }
        names
    }

    /// `kms_key.app (alias/prod-app, arn:aws:kms:…)`: `subject` with the names it lacks.
    pub fn label(&self, subject: &str) -> String {
        let names = self.names_beside(subject);
        if names.is_empty() {
            subject.to_owned()
        } else {
            format!("{subject} ({})", names.join(", "))
        }
    }
}

/// One result of a guard: the rule it broke, where, why, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable rule name, e.g. `deletion-window`; users grep and suppress by it.
    pub rule: String,
    pub message: String,
    pub location: Location,
    /// What to change to satisfy the rule.
    pub fix: String,
    /// The control the rule enforces, as its registry entry says (not part of the JSON form).
    #[serde(skip)]
    pub control: Option<Control>,
    /// The live key the finding is about, when a check of the live state found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyRef>,
}

impl Finding {
    /// A finding of `rule`, at the rule's severity (an error for a rule that may be either).
    pub fn of(
        rule: &Rule,
        location: Location,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        let severity = match rule.severity {
            Severities::Warning => Severity::Warning,
            Severities::Error | Severities::ErrorOrWarning | Severities::DriftOnly => {
                Severity::Error
            }
        };
        Self::at(severity, rule, location, message, fix)
    }

    /// The warning of a rule that may be an error or a warning.
    pub fn warning_of(
        rule: &Rule,
        location: Location,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::at(Severity::Warning, rule, location, message, fix)
    }

    fn at(
        severity: Severity,
        rule: &Rule,
        location: Location,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        debug_assert!(
            rule.severity.allows(severity),
            "rule {} is declared {:?}, not {severity:?}",
            rule.id,
            rule.severity
        );
        Self {
            severity,
            rule: rule.id.to_owned(),
            message: message.into(),
            location,
            fix: fix.into(),
            control: rule.control,
            key: None,
        }
    }

    /// The same finding, about this live key.
    pub fn with_key(mut self, key: KeyRef) -> Self {
        self.key = Some(key);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when any finding refuses the plan.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::is_error)
}
