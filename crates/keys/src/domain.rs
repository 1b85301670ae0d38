//! The KMS keys domain under the engine's contract (`kmsctl_core::domain::Domain`).

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_aws::{ApplyError, KmsClients};
use kmsctl_core::approval::Sensitive;
use kmsctl_core::domain::{self, Checked, Domain, DomainPlan, DriftRule, Unmanaged, Violation};
use kmsctl_core::environment::Rules;
use kmsctl_core::{Address, KeyRef, Location, Outputs, ResourceChange};
use serde_json::Value;

use crate::desired::DesiredKey;
use crate::diff::KeysDiff;
use crate::observe::{Observation, ObserveError, Options, Scope};

/// The keys of one environment. The lifetime is that of the declared keys it borrows.
pub struct Keys<'a>(std::marker::PhantomData<&'a ()>);

/// An environment's declared keys, borrowed: the plan never copies them.
#[derive(Debug, Clone, Copy)]
pub struct DesiredKeys<'a> {
    pub environment: &'a str,
    pub account_id: &'a str,
    /// The line declaring the account: where account-wide drift findings point.
    pub account_location: &'a Location,
    pub rules: &'a Rules,
    pub keys: &'a [DesiredKey],
}

impl From<KeysDiff> for domain::Diff {
    fn from(diff: KeysDiff) -> Self {
        Self {
            changes: diff.changes,
            notes: diff.notes,
            findings: diff.findings,
        }
    }
}

impl<'a> Domain for Keys<'a> {
    const NAME: &'static str = crate::DOMAIN;
    const KINDS: &'static [kmsctl_core::ResourceKind] = &crate::kinds::KINDS;
    const RULES: &'static [&'static kmsctl_core::Rule] = crate::RULES;

    type Clients = KmsClients;
    type Desired = DesiredKeys<'a>;
    type Scope = Scope;
    type Observed = Observation;
    type Diff = KeysDiff;
    type Op = crate::ops::KeyOp;
    type ObserveError = ObserveError;
    type ApplyError = ApplyError;

    fn scope(desired: &Self::Desired) -> Scope {
        Scope::of(desired.environment, desired.keys)
    }

    async fn observe(
        clients: &KmsClients,
        scope: &Scope,
        parallelism: usize,
    ) -> Result<Observation, ObserveError> {
        crate::observe::observe(clients, scope, Options::plan(parallelism)).await
    }

    fn diff(desired: &Self::Desired, observed: &Observation) -> KeysDiff {
        crate::diff::diff(desired.environment, desired.keys, observed)
    }

    /// The tagging API lags: the keys a change depends on get their tags read again before the
    /// diff is final (see `crate::plan`).
    async fn plan(
        clients: &KmsClients,
        desired: &Self::Desired,
        parallelism: usize,
    ) -> Result<DomainPlan<Self>, ObserveError> {
        let (scope, observed, diff) =
            crate::plan::plan(clients, desired.environment, desired.keys, parallelism).await?;
        Ok(DomainPlan {
            scope,
            observed,
            diff,
        })
    }

    fn fingerprints(
        scope: &Scope,
        observed: &Observation,
        changes: &[ResourceChange],
    ) -> BTreeMap<Address, Option<String>> {
        let touched: BTreeSet<&Address> = changes.iter().map(|c| &c.address).collect();
        crate::diff::fingerprints(scope, observed, &touched)
    }

    async fn apply_change(
        clients: &KmsClients,
        change: &ResourceChange,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, ApplyError> {
        crate::apply::apply_change(clients, change, outputs).await
    }

    fn violations(desired: &Self::Desired, observed: &Observation) -> Vec<Violation> {
        crate::drift::violations(desired, observed)
    }

    fn checked(desired: &Self::Desired, observed: &Observation) -> Vec<Checked> {
        crate::drift::checked(desired.rules, desired.keys, observed)
    }

    fn sensitive(
        _desired: &Self::Desired,
        observed: &Observation,
        change: &ResourceChange,
    ) -> Vec<Sensitive> {
        crate::key_policy::sensitive(observed, change)
    }

    fn drift_rule(_desired: &Self::Desired, change: &ResourceChange) -> DriftRule {
        crate::drift::drift_rule(change)
    }

    fn key_of(
        desired: &Self::Desired,
        observed: &Observation,
        resource: &str,
        evidence: &BTreeMap<String, Value>,
    ) -> Option<KeyRef> {
        crate::identity::key_of(desired, observed, resource, evidence)
    }

    async fn unmanaged(
        clients: &KmsClients,
        desired: &Self::Desired,
        observed: &Observation,
        parallelism: usize,
    ) -> Result<Vec<Unmanaged>, ObserveError> {
        let keys = crate::drift::unmanaged_keys(clients, observed, parallelism).await?;
        Ok(keys
            .into_iter()
            .map(|k| crate::drift::unmanaged(k, desired.account_id, desired.account_location))
            .collect())
    }
}
