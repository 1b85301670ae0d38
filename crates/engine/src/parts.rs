//! The generic part of planning any target: each domain's diff, the fingerprints of what its
//! changes touch and its scope, gathered into one plan; for drift, each domain's evidence too.

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_core::domain::{Checked, Domain, DriftRule, Unmanaged, Violation};
use kmsctl_core::{Address, Finding, KeyRef, Observed, Plan, ResourceChange, Target};

use crate::error::{Error, Result};
use crate::target::{Planned, new_plan};

/// The domains' parts of one plan, gathered in order: `findings` starts with the offline
/// guards' (warnings only, or the plan would not have been made).
pub struct Parts {
    pub changes: Vec<kmsctl_core::ResourceChange>,
    pub observed: Vec<Observed>,
    pub notes: Vec<kmsctl_core::Note>,
    pub findings: Vec<Finding>,
    /// The changes dual control requires approval for.
    pub sensitive: Vec<kmsctl_core::approval::Sensitive>,
    /// The kinds `[approvals]` requires (none: nothing is judged, at no cost).
    required: BTreeSet<kmsctl_core::approval::ApprovalKind>,
    scope: BTreeMap<String, serde_json::Value>,
    evidence: Option<Evidence>,
}

/// What drift reports beyond the plan's changes, from every domain of the target.
#[derive(Debug, Default)]
pub struct Evidence {
    pub violations: Vec<Violation>,
    pub checked: Vec<Checked>,
    pub unmanaged: Vec<Unmanaged>,
    /// How each change is filed, where its domain knows better than the default (by address: a
    /// plan holds one change per address); of what is left of it once `subsumed` is taken out.
    pub rules: BTreeMap<Address, DriftRule>,
    /// The attributes of a change that a violation is about (`tags.Environment`): their drift is
    /// that violation, not reported apart; the change's other attributes still are.
    pub subsumed: BTreeMap<Address, BTreeSet<String>>,
    /// The live KMS key each finding's resource is or belongs to (by resource, as findings name
    /// it), for its aliases and ARN.
    pub keys: BTreeMap<String, KeyRef>,
}

/// The attributes of `change` that violations of the same resource are about (a violation of
/// `kms_key.x` or `kms_key_rotation.x` concerns the key `x`).
pub fn subsumed(violations: &[Violation], change: &ResourceChange) -> BTreeSet<String> {
    let subject = |resource: &str| {
        resource
            .split_once('.')
            .map_or(resource, |(_, name)| name)
            .to_owned()
    };
    let name = change.address.name.as_str();
    let named: BTreeSet<&str> = violations
        .iter()
        .filter(|v| subject(&v.address) == name)
        .flat_map(|v| v.attributes.iter().map(String::as_str))
        .collect();
    change
        .attributes
        .iter()
        .filter(|a| named.contains(a.name.as_str()))
        .map(|a| a.name.clone())
        .collect()
}

impl Parts {
    pub fn new(findings: Vec<Finding>) -> Self {
        Self {
            changes: Vec::new(),
            observed: Vec::new(),
            notes: Vec::new(),
            findings,
            sensitive: Vec::new(),
            required: BTreeSet::new(),
            scope: BTreeMap::new(),
            evidence: None,
        }
    }

    /// Judges the changes of the kinds `[approvals]` requires (`Plan::sensitive`).
    pub fn judging(mut self, required: BTreeSet<kmsctl_core::approval::ApprovalKind>) -> Self {
        self.required = required;
        self
    }

    /// With `drift`: also gather each domain's drift evidence.
    pub fn with_evidence(mut self, drift: bool) -> Self {
        self.evidence = drift.then(Evidence::default);
        self
    }

    /// One domain's diff, with the fingerprints of what its changes touch and its scope.
    pub fn add<D: Domain>(
        &mut self,
        desired: &D::Desired,
        scope: &D::Scope,
        observed: &D::Observed,
        diff: impl Into<kmsctl_core::domain::Diff>,
    ) -> Result<()> {
        let diff = diff.into();
        if let Some(evidence) = &mut self.evidence {
            let violations = D::violations(desired, observed);
            let checked = D::checked(desired, observed);
            let no_evidence = BTreeMap::new();
            for change in &diff.changes {
                let covered = subsumed(&violations, change);
                let mut left = change.clone();
                left.attributes.retain(|a| !covered.contains(&a.name));
                let rule = D::drift_rule(desired, &left);
                if rule != DriftRule::default() {
                    evidence.rules.insert(change.address.clone(), rule);
                }
                if !covered.is_empty() {
                    evidence.subsumed.insert(change.address.clone(), covered);
                }
                let resource = change.address.to_string();
                if let Some(key) = D::key_of(desired, observed, &resource, &no_evidence) {
                    evidence.keys.insert(resource, key);
                }
            }
            let named = violations
                .iter()
                .map(|v| (&v.address, &v.evidence))
                .chain(checked.iter().map(|c| (&c.resource, &c.evidence)));
            for (resource, found) in named {
                if let Some(key) = D::key_of(desired, observed, resource, found) {
                    evidence.keys.insert(resource.clone(), key);
                }
            }
            evidence.violations.extend(violations);
            evidence.checked.extend(checked);
        }
        if !self.required.is_empty() {
            use kmsctl_core::approval::ApprovalKind::{GuardrailWeakening, KeyPolicyWidening};
            // The evaluator's judgement costs: only when a kind it judges is required.
            let judged = [KeyPolicyWidening, GuardrailWeakening]
                .iter()
                .any(|kind| self.required.contains(kind));
            for change in &diff.changes {
                let mut found = kmsctl_core::approval::from_operations(change);
                if judged {
                    found.extend(D::sensitive(desired, observed, change));
                }
                found.retain(|s| self.required.contains(&s.kind));
                self.sensitive.extend(found);
            }
        }
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

    /// For drift: the live resources of the domain's reach that no file declares.
    pub async fn add_unmanaged<D: Domain>(
        &mut self,
        clients: &D::Clients,
        desired: &D::Desired,
        observed: &D::Observed,
        parallelism: usize,
    ) -> std::result::Result<(), D::ObserveError> {
        if let Some(evidence) = &mut self.evidence {
            let found = D::unmanaged(clients, desired, observed, parallelism).await?;
            for unmanaged in &found {
                let key = D::key_of(desired, observed, &unmanaged.resource, &unmanaged.evidence);
                if let Some(key) = key {
                    evidence.keys.insert(unmanaged.resource.clone(), key);
                }
            }
            evidence.unmanaged.extend(found);
        }
        Ok(())
    }

    /// The drift evidence gathered (`None` unless [`Parts::with_evidence`]).
    pub fn take_evidence(&mut self) -> Option<Evidence> {
        self.evidence.take()
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
            sensitive: self.sensitive,
            ..new_plan(target, self.changes)
        }))
    }
}
