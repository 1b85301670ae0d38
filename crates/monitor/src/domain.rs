//! Monitoring (AWS Config, EventBridge alerts to SNS) under the engine's contract
//! (`kmsctl_core::domain::Domain`).

use std::collections::BTreeMap;

use kmsctl_aws::{ApplyError, AwsError};
use kmsctl_core::domain::{self, Checked, Domain};
use kmsctl_core::{Address, Outputs, ResourceChange};

use crate::{Clients, DesiredMonitor, MonitorDiff, ObservedMonitor, Scope};

pub struct Monitor;

impl From<MonitorDiff> for domain::Diff {
    fn from(diff: MonitorDiff) -> Self {
        Self {
            changes: diff.changes,
            notes: diff.notes,
            findings: diff.findings,
        }
    }
}

impl Domain for Monitor {
    const NAME: &'static str = crate::DOMAIN;
    const KINDS: &'static [kmsctl_core::ResourceKind] = &crate::kinds::KINDS;
    const RULES: &'static [&'static kmsctl_core::Rule] = crate::RULES;

    type Clients = Clients;
    type Desired = DesiredMonitor;
    type Scope = Scope;
    type Observed = ObservedMonitor;
    type Diff = MonitorDiff;
    type Op = crate::ops::MonitorOp;
    type ObserveError = AwsError;
    type ApplyError = ApplyError;

    fn scope(desired: &DesiredMonitor) -> Scope {
        Scope::of(desired)
    }

    async fn observe(
        clients: &Clients,
        scope: &Scope,
        parallelism: usize,
    ) -> Result<ObservedMonitor, AwsError> {
        crate::observe(clients, scope, parallelism).await
    }

    fn diff(desired: &DesiredMonitor, observed: &ObservedMonitor) -> MonitorDiff {
        crate::diff(desired, observed)
    }

    fn fingerprints(
        _scope: &Scope,
        observed: &ObservedMonitor,
        changes: &[ResourceChange],
    ) -> BTreeMap<Address, Option<String>> {
        let prints = observed.fingerprints();
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

    fn checked(desired: &DesiredMonitor, _observed: &ObservedMonitor) -> Vec<Checked> {
        crate::drift::checked(desired)
    }
}
