//! CloudHSM clusters and their KMS key stores under the engine's contract
//! (`kmsctl_core::domain::Domain`).

use std::collections::BTreeMap;

use kmsctl_aws::{ApplyError, AwsError};
use kmsctl_core::domain::{self, Checked, Domain};
use kmsctl_core::{Address, Outputs, ResourceChange};

use crate::{Clients, DesiredHsm, HsmDiff, ObservedHsmSetup, Scope};

pub struct Hsm;

impl From<HsmDiff> for domain::Diff {
    fn from(diff: HsmDiff) -> Self {
        Self {
            changes: diff.changes,
            notes: diff.notes,
            findings: diff.findings,
        }
    }
}

impl Domain for Hsm {
    const NAME: &'static str = crate::DOMAIN;
    const KINDS: &'static [kmsctl_core::ResourceKind] = &crate::kinds::KINDS;
    const RULES: &'static [&'static kmsctl_core::Rule] = crate::RULES;

    type Clients = Clients;
    type Desired = DesiredHsm;
    type Scope = Scope;
    type Observed = ObservedHsmSetup;
    /// Carries the key store's readiness, which decides which of the store's keys are planned.
    type Diff = HsmDiff;
    type Op = crate::ops::HsmOp;
    type ObserveError = AwsError;
    type ApplyError = ApplyError;

    fn scope(desired: &DesiredHsm) -> Scope {
        Scope::of(desired)
    }

    /// One cluster and one store: nothing to read in parallel.
    async fn observe(
        clients: &Clients,
        scope: &Scope,
        _parallelism: usize,
    ) -> Result<ObservedHsmSetup, AwsError> {
        crate::observe(clients, scope).await
    }

    fn diff(desired: &DesiredHsm, observed: &ObservedHsmSetup) -> HsmDiff {
        crate::diff(desired, observed)
    }

    fn fingerprints(
        scope: &Scope,
        observed: &ObservedHsmSetup,
        changes: &[ResourceChange],
    ) -> BTreeMap<Address, Option<String>> {
        let prints = observed.fingerprints(scope);
        changes
            .iter()
            .map(|c| (c.address.clone(), prints.get(&c.address).cloned()))
            .collect()
    }

    async fn apply_change(
        clients: &Clients,
        change: &ResourceChange,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, ApplyError> {
        crate::ops::apply_change(clients, change, outputs).await
    }

    fn checked(desired: &DesiredHsm, observed: &ObservedHsmSetup) -> Vec<Checked> {
        crate::drift::checked(desired, observed)
    }
}
