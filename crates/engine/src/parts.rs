//! The generic part of planning any target: each domain's diff, the fingerprints of what its
//! changes touch and its scope, gathered into one plan.

use std::collections::BTreeMap;

use kmsctl_core::domain::Domain;
use kmsctl_core::{Finding, Observed, Plan, Target};

use crate::error::{Error, Result};
use crate::target::{Planned, new_plan};

/// The domains' parts of one plan, gathered in order: `findings` starts with the offline
/// guards' (warnings only, or the plan would not have been made).
pub struct Parts {
    pub changes: Vec<kmsctl_core::ResourceChange>,
    pub observed: Vec<Observed>,
    pub notes: Vec<kmsctl_core::Note>,
    pub findings: Vec<Finding>,
    scope: BTreeMap<String, serde_json::Value>,
}

impl Parts {
    pub fn new(findings: Vec<Finding>) -> Self {
        Self {
            changes: Vec::new(),
            observed: Vec::new(),
            notes: Vec::new(),
            findings,
            scope: BTreeMap::new(),
        }
    }

    /// One domain's diff, with the fingerprints of what its changes touch and its scope.
    pub fn add<D: Domain>(
        &mut self,
        scope: &D::Scope,
        observed: &D::Observed,
        diff: impl Into<kmsctl_core::domain::Diff>,
    ) -> Result<()> {
        let diff = diff.into();
        let prints = D::fingerprints(scope, observed, &diff.changes);
        self.observed
            .extend(diff.changes.iter().map(|change| Observed {
                address: change.address.clone(),
                fingerprint: prints.get(&change.address).cloned().flatten(),
            }));
        let scope = serde_json::to_value(scope).map_err(|e| Error::new(e.to_string()))?;
        if !scope.is_null() {
            self.scope.insert(D::NAME.to_owned(), scope);
        }
        self.changes.extend(diff.changes);
        self.notes.extend(diff.notes);
        self.findings.extend(diff.findings);
        Ok(())
    }

    /// A plan, or a refusal when a domain found an error only the live state reveals.
    pub fn into_planned(self, target: Target) -> Planned {
        if self.findings.iter().any(Finding::is_error) {
            return Planned::Refused(self.findings);
        }
        Planned::Plan(Box::new(Plan {
            scope: self.scope,
            observed: self.observed,
            notes: self.notes,
            warnings: self.findings,
            ..new_plan(target, self.changes)
        }))
    }
}
