//! The plan: pure data. Only its changes drive apply; renderers only print it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Address;
use crate::finding::{Finding, Location};
use crate::operation::Operation;

/// Version of the plan file and of `plan --format json`. Bump it on any incompatible change.
pub const PLAN_FORMAT_VERSION: u32 = 2;

/// What a change does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    /// Take over an existing resource: tag it as managed, then manage it.
    Adopt,
    Delete,
    /// KMS keys are never deleted at once: deletion is scheduled with a waiting period.
    ScheduleDeletion,
    CancelDeletion,
}

impl Action {
    /// The plan symbol, as Terraform prints it.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Create => "+",
            Self::Update | Self::CancelDeletion => "~",
            Self::Adopt => "<=",
            Self::Delete | Self::ScheduleDeletion => "-",
        }
    }

    /// "will be created", for the line above each change.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Create => "will be created",
            Self::Update => "will be updated in-place",
            Self::Adopt => "will be adopted (tagged as managed, then updated)",
            Self::Delete => "will be deleted",
            Self::ScheduleDeletion => "will be scheduled for deletion",
            Self::CancelDeletion => "will have its scheduled deletion cancelled",
        }
    }
}

/// One attribute's value before and after. `None` means absent; `known_after_apply` marks a
/// value AWS assigns (a new key's ARN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known_after_apply: bool,
}

impl AttributeChange {
    pub fn new(name: impl Into<String>, before: Option<Value>, after: Option<Value>) -> Self {
        Self {
            name: name.into(),
            before,
            after,
            known_after_apply: false,
        }
    }

    pub fn added(name: impl Into<String>, after: impl Into<Value>) -> Self {
        Self::new(name, None, Some(after.into()))
    }

    pub fn after_apply(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            before: None,
            after: None,
            known_after_apply: true,
        }
    }
}

/// One change to one resource, with everything apply needs to carry it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: Address,
    pub action: Action,
    /// What a person reads: the attributes that differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttributeChange>,
    /// Changes that must be applied first. References inside `operations` add to these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
    /// The API calls to make, each a domain's typed operation encoded (`Operation::encode`).
    pub operations: Vec<Operation>,
    /// The file and line that declare the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Location>,
}

impl ResourceChange {
    /// Addresses whose outputs this change's operations use: they must be applied first.
    pub fn referenced(&self) -> BTreeSet<Address> {
        let mut all: BTreeSet<Address> = self
            .operations
            .iter()
            .flat_map(Operation::references)
            .map(|reference| reference.address)
            .collect();
        all.remove(&self.address);
        all
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteLevel {
    /// Shown with `--verbose` only.
    Verbose,
    Info,
    Warning,
}

/// Something the plan wants a person to know that is not a change (an orphaned key, an unknown
/// rotation period).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub level: NoteLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub message: String,
}

impl Note {
    pub fn new(level: NoteLevel, address: Option<Address>, message: impl Into<String>) -> Self {
        Self {
            level,
            address,
            message: message.into(),
        }
    }
}

/// What a plan is for and how to reach it: enough for apply to run from the plan file alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// `environment` (later `organization`).
    pub kind: String,
    pub name: String,
    /// The folder the plan was made from, relative to the project root.
    pub path: String,
    pub account_id: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role_arn: Option<String>,
}

impl Target {
    /// `env/prod`, as users type it.
    pub fn label(&self) -> String {
        match self.kind.as_str() {
            "environment" => format!("env/{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// File stem for this target's plan and lock under `.kmsctl/`.
    pub fn file_stem(&self) -> String {
        match self.kind.as_str() {
            "environment" => format!("env-{}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Fingerprint of the observed state of one resource the plan touches; `None` = it did not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub address: Address,
    pub fingerprint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub kmsctl_version: String,
    /// RFC 3339.
    pub created_at: String,
    pub target: Target,
    pub changes: Vec<ResourceChange>,
    /// Per domain, what apply must observe again to check the plan is not stale.
    #[serde(default)]
    pub scope: BTreeMap<String, Value>,
    #[serde(default)]
    pub observed: Vec<Observed>,
    #[serde(default)]
    pub notes: Vec<Note>,
    /// Warnings of the guards (errors refuse the plan, so a saved plan never has them).
    #[serde(default)]
    pub warnings: Vec<Finding>,
    /// Every file the plan was made from (relative to the project root) → its SHA-256: apply
    /// refuses the plan when any differs.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// The changes of a kind `[approvals] required_for` can put under dual control, and why
    /// (computed by kmsctl from the files and AWS; apply judges the plan it recomputes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<crate::approval::Sensitive>,
    /// Who made the plan (`sts:GetCallerIdentity`), when a backend is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_by: Option<Identity>,
}

/// An AWS caller as `sts:GetCallerIdentity` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `arn:aws:iam::111122223333:user/alice`, `arn:aws:sts::111122223333:assumed-role/ops/alice`.
    pub arn: String,
    /// `AIDA...` for a user, `AROA...:SESSION` for a role session.
    pub user_id: String,
    pub account: String,
}

/// Operation names (`op`) that destroy or weaken something, by prefix, and what to call them.
const DESTRUCTIVE: &[(&str, &str)] = &[
    ("ScheduleKeyDeletion", "schedule deletion"),
    ("Delete", "delete"),
    ("Disable", "disable"),
    ("Detach", "detach"),
    ("Disconnect", "disconnect"),
    ("Remove", "remove"),
    ("Untag", "remove tags"),
    ("Unsubscribe", "unsubscribe"),
    ("Stop", "stop"),
];

/// What an operation destroys or weakens ("schedule deletion", "disable"...), from the call it
/// makes: a change's `action` label is not trusted for this.
pub fn destructive_verb(operation: &Operation) -> Option<&'static str> {
    let op = operation.name()?;
    DESTRUCTIVE
        .iter()
        .find(|(prefix, _)| op.starts_with(prefix))
        .map(|(_, verb)| *verb)
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub adopt: usize,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.action {
                Action::Create => summary.add += 1,
                Action::Update | Action::CancelDeletion => summary.change += 1,
                Action::Delete | Action::ScheduleDeletion => summary.destroy += 1,
                Action::Adopt => summary.adopt += 1,
            }
        }
        summary
    }

    /// Every destructive operation of the plan: (what it does, the resource), in plan order.
    pub fn destructive(&self) -> Vec<(&'static str, &Address)> {
        self.changes
            .iter()
            .flat_map(|change| {
                change
                    .operations
                    .iter()
                    .filter_map(destructive_verb)
                    .map(move |verb| (verb, &change.address))
            })
            .collect()
    }

    /// Indices of `changes` in an order where every change follows what it depends on;
    /// among independent changes, the plan's own order.
    pub fn apply_order(&self) -> Result<Vec<usize>, OrderError> {
        apply_order(&self.changes)
    }

    /// For each change, the changes of this plan it waits for (see [`dependencies`]).
    pub fn dependencies(&self) -> Result<Vec<BTreeSet<usize>>, OrderError> {
        dependencies(&self.changes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("{from} depends on {to}, which is not part of the plan and not applied")]
    MissingDependency { from: Address, to: Address },
    #[error("changes depend on each other in a cycle: {0}")]
    Cycle(String),
}

/// For each change, the indices of the changes it waits for: its declared dependencies in the
/// plan, and every change whose output its operations reference.
pub fn dependencies(changes: &[ResourceChange]) -> Result<Vec<BTreeSet<usize>>, OrderError> {
    let index: BTreeMap<&Address, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.address, i))
        .collect();
    let mut waiting_on: Vec<BTreeSet<usize>> = Vec::with_capacity(changes.len());
    for change in changes {
        // A declared dependency outside the plan already exists and needs nothing; a referenced
        // output must be produced by a change of this plan.
        let mut deps: BTreeSet<usize> = change
            .depends_on
            .iter()
            .filter_map(|d| index.get(d).copied())
            .collect();
        for dependency in change.referenced() {
            match index.get(&dependency) {
                Some(&i) => {
                    deps.insert(i);
                }
                None => {
                    return Err(OrderError::MissingDependency {
                        from: change.address.clone(),
                        to: dependency,
                    });
                }
            }
        }
        deps.remove(&waiting_on.len());
        waiting_on.push(deps);
    }
    Ok(waiting_on)
}

/// Orders changes so that dependencies run first (Kahn's algorithm, stable by plan order).
pub fn apply_order(changes: &[ResourceChange]) -> Result<Vec<usize>, OrderError> {
    let waiting_on = dependencies(changes)?;
    let mut order = Vec::with_capacity(changes.len());
    let mut done = vec![false; changes.len()];
    while order.len() < changes.len() {
        let ready =
            (0..changes.len()).find(|&i| !done[i] && waiting_on[i].iter().all(|&d| done[d]));
        match ready {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let stuck: Vec<String> = (0..changes.len())
                    .filter(|&i| !done[i])
                    .map(|i| changes[i].address.to_string())
                    .collect();
                return Err(OrderError::Cycle(stuck.join(", ")));
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::reference::Reference;

    fn change(kind: &str, name: &str, operations: Vec<Value>) -> ResourceChange {
        ResourceChange {
            address: Address::new(kind, name),
            action: Action::Create,
            attributes: vec![],
            depends_on: vec![],
            operations: operations
                .into_iter()
                .map(Operation::raw_for_tests)
                .collect(),
            source: None,
        }
    }

    #[test]
    fn references_order_changes_across_domains() {
        let key = Address::new("kms_key", "alerts");
        let topic = change(
            "sns_topic",
            "alerts",
            vec![json!({"kms_master_key_id": Reference::new(key.clone(), "arn").to_value()})],
        );
        let alias = change(
            "kms_alias",
            "alias/alerts",
            vec![json!({"key": Reference::new(key.clone(), "key_id").to_value()})],
        );
        let changes = vec![
            topic,
            alias,
            change("kms_key", "alerts", vec![json!({"op": "CreateKey"})]),
        ];
        assert_eq!(apply_order(&changes).expect("acyclic"), vec![2, 0, 1]);
    }

    #[test]
    fn cycle_is_an_error_naming_the_resources() {
        let mut a = change("kms_key", "a", vec![]);
        let mut b = change("kms_key", "b", vec![]);
        a.depends_on.push(b.address.clone());
        b.depends_on.push(a.address.clone());
        let err = apply_order(&[a, b]).expect_err("cycle");
        assert_eq!(err, OrderError::Cycle("kms_key.a, kms_key.b".into()));
    }

    #[test]
    fn reference_outside_the_plan_is_an_error_but_a_declared_dependency_is_not() {
        let key = Address::new("kms_key", "x");
        let mut declared = change("kms_alias", "alias/x", vec![]);
        declared.depends_on.push(key.clone());
        assert_eq!(
            apply_order(std::slice::from_ref(&declared)).expect("existing key"),
            vec![0]
        );
        let referencing = change(
            "kms_alias",
            "alias/x",
            vec![json!({"key": Reference::new(key, "key_id").to_value()})],
        );
        assert!(matches!(
            apply_order(&[referencing]),
            Err(OrderError::MissingDependency { .. })
        ));
    }
}
