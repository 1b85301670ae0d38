//! The contract every domain (keys, monitoring, CloudHSM, the organization) implements, so that
//! one engine drives plan, apply and drift for all of them:
//!
//! files → `Desired` ─┐
//!                    ├─ `diff` (pure) → changes → plan → `apply_change`, one change at a time
//! AWS → `Observed` ──┘      └─ fingerprints of what the changes touch (staleness)
//!                           └─ drift: `violations` (live state that breaks a guard), `checked`
//!                              (what was checked under which control), `unmanaged` (live
//!                              resources no file declares), `drift_rule` (how a change is filed),
//!                              `key_of` (the live key a finding is about, for its aliases and ARN)
//!
//! Links between domains (a key store id from hsm to keys, a topic key from keys to monitor) are
//! typed edges the engine applies between domains; a domain never imports another.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::operation::DomainOp;
use crate::{
    Address, Finding, KeyRef, Location, Note, Outputs, ResourceChange, ResourceKind, Rule,
};

/// What a domain's diff found: the changes to make, notes for the reader, and errors only the
/// live state reveals (they refuse the plan like the offline guards).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    pub changes: Vec<ResourceChange>,
    pub notes: Vec<Note>,
    pub findings: Vec<Finding>,
}

/// A domain's part of a plan: what it looked at, what it saw, and what differs.
#[derive(Debug)]
pub struct DomainPlan<D: Domain + ?Sized> {
    pub scope: D::Scope,
    pub observed: D::Observed,
    pub diff: D::Diff,
}

/// Live state that breaks a guard, with the evidence: a drift violation.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The plan address of what breaks it (`kms_key_rotation.db-payments-encryption`).
    pub address: String,
    pub rule: &'static Rule,
    pub message: String,
    pub evidence: BTreeMap<String, Value>,
    /// Where the resource is declared, when it is.
    pub declared: Option<Location>,
    /// The control it breaks, by id, when not its rule's (an organization policy's own
    /// `control` in organization.toml).
    pub control: Option<String>,
    /// The attributes of the resource it is about, as a plan names them (`tags.Environment`):
    /// drift of these is this violation and is not reported apart, drift of the others is. Empty:
    /// the whole resource, so drift of it under the same control is this violation.
    pub attributes: Vec<String>,
}

/// A declared resource as drift reports it checked: under a control, with what was observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub resource: String,
    /// The control's id in the control map: a framework control's (`Control::id`), or one a
    /// file names (an organization policy's `control`).
    pub control: String,
    pub declared: Option<Location>,
    pub evidence: BTreeMap<String, Value>,
}

/// A live resource in the domain's reach that no file declares.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmanaged {
    pub rule: &'static Rule,
    /// What it is (an ARN, `SERVICE_CONTROL_POLICY name (id)`).
    pub resource: String,
    pub message: String,
    /// Where the finding points: the line that puts the resource in reach (the account, the
    /// attachment's target).
    pub declared: Option<Location>,
    pub evidence: BTreeMap<String, Value>,
}

/// How drift files a planned change when the domain knows better than `drift-KIND` under the
/// kind's control: a more precise rule, a control a file names, where it is declared.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DriftRule {
    /// A rule id; `None`: the default.
    pub rule: Option<&'static Rule>,
    /// A control id; `None`: the rule's, else the kind's.
    pub control: Option<String>,
    /// Where the resource is declared, when the change does not say.
    pub declared: Option<Location>,
}

/// One domain: its resource kinds, how it reads AWS, its pure diff and how it applies a change.
///
/// The futures are not `Send`: the engine joins the domains within one task.
#[allow(async_fn_in_trait)]
pub trait Domain {
    /// The domain's key in a plan's `scope`.
    const NAME: &'static str;
    /// Every resource kind (an address's `kind`) this domain plans and applies, with the control
    /// its drift concerns.
    const KINDS: &'static [ResourceKind];
    /// Every rule its checks report (guards, diff findings, violations): the registry's part.
    const RULES: &'static [&'static Rule];

    /// The SDK clients it calls.
    type Clients;
    /// What the files declare, resolved and checked.
    type Desired;
    /// What observe reads: recorded in the plan, so apply knows what was looked at.
    type Scope: serde::Serialize;
    /// The live state.
    type Observed;
    /// The diff, with whatever the engine passes on to other domains (a key store's readiness).
    type Diff: Into<Diff>;
    /// Its AWS calls: a change's operations are these, each declaring its AWS semantics.
    type Op: DomainOp;
    type ObserveError: std::error::Error + Send + Sync + 'static;
    type ApplyError: std::error::Error + Send + Sync + 'static;

    fn owns(kind: &str) -> bool {
        Self::KINDS.iter().any(|k| k.name == kind)
    }

    fn scope(desired: &Self::Desired) -> Self::Scope;

    async fn observe(
        clients: &Self::Clients,
        scope: &Self::Scope,
        parallelism: usize,
    ) -> Result<Self::Observed, Self::ObserveError>;

    /// Pure: the same desired and observed state give the same diff.
    fn diff(desired: &Self::Desired, observed: &Self::Observed) -> Self::Diff;

    /// Observe, then diff. A domain whose reads are eventually consistent may read again what
    /// a change depends on before it settles on the diff.
    async fn plan(
        clients: &Self::Clients,
        desired: &Self::Desired,
        parallelism: usize,
    ) -> Result<DomainPlan<Self>, Self::ObserveError> {
        let scope = Self::scope(desired);
        let observed = Self::observe(clients, &scope, parallelism).await?;
        let diff = Self::diff(desired, &observed);
        Ok(DomainPlan {
            scope,
            observed,
            diff,
        })
    }

    /// A fingerprint of each changed resource as observed (`None`: it does not exist yet), so a
    /// saved plan is refused once what it was made from has changed.
    fn fingerprints(
        scope: &Self::Scope,
        observed: &Self::Observed,
        changes: &[ResourceChange],
    ) -> BTreeMap<Address, Option<String>>;

    /// Carries out one planned change of this domain (its operations, each decoded as `Op`, in
    /// order, through the one apply loop of the AWS layer); returns its outputs (`key_id`,
    /// `arn`...) for the changes that reference them.
    async fn apply_change(
        clients: &Self::Clients,
        change: &ResourceChange,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, Self::ApplyError>;

    /// Live resources that break a guard although they match the files (drift violations).
    fn violations(_desired: &Self::Desired, _observed: &Self::Observed) -> Vec<Violation> {
        Vec::new()
    }

    /// Every declared resource under each control it falls under, with what was observed: the
    /// drift report's evidence that a control was checked, not only that nothing was found.
    fn checked(_desired: &Self::Desired, _observed: &Self::Observed) -> Vec<Checked> {
        Vec::new()
    }

    /// The changes of a kind dual control can require approval for that only this domain can
    /// judge (a key policy widened, a guardrail weakened), from the desired and observed state.
    /// Deletion and disabling are read from the calls by `approval::from_operations`.
    fn sensitive(
        _desired: &Self::Desired,
        _observed: &Self::Observed,
        _change: &ResourceChange,
    ) -> Vec<crate::approval::Sensitive> {
        Vec::new()
    }

    /// How drift files a planned change of this domain, where it knows better than the default.
    fn drift_rule(_desired: &Self::Desired, _change: &ResourceChange) -> DriftRule {
        DriftRule::default()
    }

    /// The live KMS key `resource` (a plan address of this domain, or the id or ARN of a live
    /// resource it reported, with that finding's evidence) is or belongs to, as observed: every
    /// finding about a key carries its aliases and ARN, which is how operators know it.
    fn key_of(
        _desired: &Self::Desired,
        _observed: &Self::Observed,
        _resource: &str,
        _evidence: &BTreeMap<String, Value>,
    ) -> Option<KeyRef> {
        None
    }

    /// Live resources in the domain's reach that no file declares (may read AWS again).
    async fn unmanaged(
        _clients: &Self::Clients,
        _desired: &Self::Desired,
        _observed: &Self::Observed,
        _parallelism: usize,
    ) -> Result<Vec<Unmanaged>, Self::ObserveError> {
        Ok(Vec::new())
    }
}
