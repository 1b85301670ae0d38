//! Rules and the framework's controls. Every rule kmsctl reports is a constant declared beside
//! its check (`pub const DELETION_WINDOW: Rule = ...`); findings are built from the constant, so
//! a misspelt rule does not compile. Each crate lists its rules in `RULES`; the engine, which sees
//! every crate, assembles the registry (`kmsctl_engine::rules`).

use crate::finding::Severity;

/// A control of the framework: the seed's "AWS KMS Policy" sections (3.1.1 … 3.4.1), HSM and
/// MON. `data/controls.toml` maps each to PCI DSS and NIST requirements by [`Control::id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Control {
    /// 3.1.1 Tag-based access control.
    TagAccess,
    /// 3.2.2 Environment boundaries.
    EnvironmentBoundaries,
    /// 3.2.3 Administrative isolation.
    AdministrativeIsolation,
    /// 3.2.4 MFA for critical operations.
    Mfa,
    /// 3.3.1 Automatic key rotation.
    Rotation,
    /// 3.4.1 Key deletion protection.
    DeletionProtection,
    /// HSM-backed key storage (CloudHSM).
    Hsm,
    /// Monitoring and alerting (Config, EventBridge).
    Monitoring,
}

impl Control {
    pub const ALL: [Self; 8] = [
        Self::TagAccess,
        Self::EnvironmentBoundaries,
        Self::AdministrativeIsolation,
        Self::Mfa,
        Self::Rotation,
        Self::DeletionProtection,
        Self::Hsm,
        Self::Monitoring,
    ];

    /// The id the control map and reports use.
    pub const fn id(self) -> &'static str {
        match self {
            Self::TagAccess => "3.1.1",
            Self::EnvironmentBoundaries => "3.2.2",
            Self::AdministrativeIsolation => "3.2.3",
            Self::Mfa => "3.2.4",
            Self::Rotation => "3.3.1",
            Self::DeletionProtection => "3.4.1",
            Self::Hsm => "HSM",
            Self::Monitoring => "MON",
        }
    }
}

/// What a rule's findings can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severities {
    Error,
    Warning,
    /// An error or a warning by what the check found (the rule's summary says which).
    ErrorOrWarning,
    /// Never a guard finding: only the drift report names it (drift, a violation only the
    /// live state shows, a resource kmsctl does not manage).
    DriftOnly,
}

impl Severities {
    /// Whether a finding of `severity` may carry this rule.
    pub fn allows(self, severity: Severity) -> bool {
        matches!(
            (self, severity),
            (Self::Error | Self::ErrorOrWarning, Severity::Error)
                | (Self::Warning | Self::ErrorOrWarning, Severity::Warning)
        )
    }
}

/// A rule: its stable id (users grep and suppress by it), what its findings can be, the control
/// it enforces and one line on what it checks.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severities,
    /// `None`: the rule enforces none of the framework's controls (an AWS limit, syntax,
    /// kmsctl's own safety), and says so here rather than by omission.
    pub control: Option<Control>,
    pub summary: &'static str,
}

impl Rule {
    pub const fn error(id: &'static str, control: Option<Control>, summary: &'static str) -> Self {
        Self::new(id, Severities::Error, control, summary)
    }

    pub const fn warning(
        id: &'static str,
        control: Option<Control>,
        summary: &'static str,
    ) -> Self {
        Self::new(id, Severities::Warning, control, summary)
    }

    pub const fn error_or_warning(
        id: &'static str,
        control: Option<Control>,
        summary: &'static str,
    ) -> Self {
        Self::new(id, Severities::ErrorOrWarning, control, summary)
    }

    pub const fn drift(id: &'static str, control: Option<Control>, summary: &'static str) -> Self {
        Self::new(id, Severities::DriftOnly, control, summary)
    }

    const fn new(
        id: &'static str,
        severity: Severities,
        control: Option<Control>,
        summary: &'static str,
    ) -> Self {
        Self {
            id,
            severity,
            control,
            summary,
        }
    }
}

/// A resource kind as plan addresses name it (`kms_key_rotation`), with the control its drift
/// concerns: a drift finding `drift-KIND` carries it.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceKind {
    pub name: &'static str,
    /// `None`: drift of this kind concerns none of the framework's controls.
    pub control: Option<Control>,
}

impl ResourceKind {
    /// The control of `kind` in `kinds` (a domain's table, or all of them); a kind not found
    /// concerns no control.
    pub fn control_in<'a>(
        kinds: impl IntoIterator<Item = &'a ResourceKind>,
        kind: &str,
    ) -> Option<Control> {
        kinds
            .into_iter()
            .find(|k| k.name == kind)
            .and_then(|k| k.control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_or_warning_rule_allows_both_and_a_drift_rule_neither() {
        assert!(Severities::ErrorOrWarning.allows(Severity::Error));
        assert!(Severities::ErrorOrWarning.allows(Severity::Warning));
        assert!(!Severities::Error.allows(Severity::Warning));
        assert!(!Severities::Warning.allows(Severity::Error));
        assert!(!Severities::DriftOnly.allows(Severity::Error));
        assert!(!Severities::DriftOnly.allows(Severity::Warning));
    }

    #[test]
    fn every_control_is_in_the_built_in_control_map_and_nothing_else_is() {
        let map = crate::drift::ControlMap::built_in();
        let ids: Vec<&str> = map.controls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, Control::ALL.map(Control::id));
    }
}
