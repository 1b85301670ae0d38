//! The Organizations calls a plan can contain, and how apply makes them. Writes run one at a
//! time (Organizations answers parallel writes with ConcurrentModificationException).

use std::collections::BTreeMap;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{PolicyType as ApiPolicyType, PolicyTypeStatus, Tag};
pub use kmsctl_aws::ApplyError;
use kmsctl_aws::{AwsError, Produced, failed};
use kmsctl_core::semantics::{Confirm, LostAnswer, NotYet};
use kmsctl_core::{DomainOp, Outputs, Ref, ResourceChange, Semantics};
use serde::{Deserialize, Serialize};

/// One Organizations call. `Id` is how a policy is named: as planned, a [`Ref`] (its id, or the
/// output of the change creating it); once apply has resolved the references, the id itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum OrgOp<Id = Ref<String>> {
    EnablePolicyType {
        root_id: String,
        policy_type: String,
    },
    CreatePolicy {
        name: String,
        description: String,
        policy_type: String,
        content: String,
        tags: BTreeMap<String, String>,
    },
    UpdatePolicy {
        policy_id: Id,
        content: String,
        description: String,
    },
    AttachPolicy {
        policy_id: Id,
        target_id: String,
    },
    DetachPolicy {
        policy_id: Id,
        target_id: String,
    },
    DeletePolicy {
        policy_id: Id,
    },
    /// Adoption of a policy made by hand (`adopt = true`): kmsctl's tag, then it is managed.
    TagPolicy {
        policy_id: Id,
        tags: BTreeMap<String, String>,
    },
}

/// Organizations answers a write made while another is in progress with this: nothing was done.
/// The client's retry classifier repeats it (`kmsctl_aws::retry_codes::ORGANIZATIONS_BUSY`);
/// past the SDK's attempts, the apply loop goes on repeating it within the propagation window.
const BUSY: &[&str] = &["ConcurrentModificationException"];

/// AttachPolicy: also a policy type whose enabling is still PENDING_ENABLE, and a policy made
/// seconds ago that is not found yet (terraform-provider-aws retries both,
/// `internal/service/organizations/policy_attachment.go`).
const ATTACH_NOT_YET: &[&str] = &[
    "ConcurrentModificationException",
    "PolicyTypeNotEnabledException",
    "PolicyNotFoundException",
];

/// UpdatePolicy: also a policy made seconds ago.
const UPDATE_NOT_YET: &[&str] = &["ConcurrentModificationException", "PolicyNotFoundException"];

/// DeletePolicy: also detachments made seconds ago that are not visible yet (PolicyInUse).
const DELETE_NOT_YET: &[&str] = &["ConcurrentModificationException", "PolicyInUseException"];

/// The "already done" answers of a repeat after a lost answer (`LostAnswer::RepeatIsChecked`).
const ALREADY_ENABLED: &str = "PolicyTypeAlreadyEnabledException";
const DUPLICATE_POLICY: &str = "DuplicatePolicyException";
const ALREADY_ATTACHED: &str = "DuplicatePolicyAttachmentException";
const NOT_ATTACHED: &str = "PolicyNotAttachedException";
const GONE: &str = "PolicyNotFoundException";

impl<Id> OrgOp<Id> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::EnablePolicyType { .. } => "EnablePolicyType",
            Self::CreatePolicy { .. } => "CreatePolicy",
            Self::UpdatePolicy { .. } => "UpdatePolicy",
            Self::AttachPolicy { .. } => "AttachPolicy",
            Self::DetachPolicy { .. } => "DetachPolicy",
            Self::DeletePolicy { .. } => "DeletePolicy",
            Self::TagPolicy { .. } => "TagPolicy",
        }
    }

    /// How each call is made on an eventually consistent Organizations: the SDK's standard
    /// retries repeat a call after a lost answer, and the repeat's "already done" answer is
    /// checked and taken as done.
    pub fn semantics(&self) -> Semantics {
        let (lost_answer, not_yet, confirm) = match self {
            Self::UpdatePolicy { .. } => (
                LostAnswer::Repeat,
                UPDATE_NOT_YET,
                ("organizations:DescribePolicy", "the content is the new one"),
            ),
            Self::EnablePolicyType { .. } => (
                LostAnswer::RepeatIsChecked(
                    "a repeat fails with PolicyTypeAlreadyEnabledException: taken as done",
                ),
                BUSY,
                (
                    "organizations:ListRoots",
                    "the type is ENABLED, not PENDING_ENABLE (waited for before the next call)",
                ),
            ),
            Self::CreatePolicy { .. } => (
                LostAnswer::RepeatIsChecked(
                    "a repeat fails with DuplicatePolicyException: the policy of that name is looked up (ListPolicies, polled until it is listed) and taken when its content is the planned one",
                ),
                BUSY,
                ("organizations:ListPolicies", "the policy is listed"),
            ),
            Self::AttachPolicy { .. } => (
                LostAnswer::RepeatIsChecked(
                    "a repeat fails with DuplicatePolicyAttachmentException: the policy is attached, taken as done",
                ),
                ATTACH_NOT_YET,
                (
                    "organizations:ListPoliciesForTarget",
                    "the policy is listed",
                ),
            ),
            Self::DetachPolicy { .. } => (
                LostAnswer::RepeatIsChecked(
                    "a repeat fails with PolicyNotAttachedException: the policy is detached, taken as done",
                ),
                BUSY,
                ("organizations:ListPoliciesForTarget", "the policy is gone"),
            ),
            // Setting a tag again is harmless: a lost answer is repeated.
            Self::TagPolicy { .. } => (
                LostAnswer::Repeat,
                BUSY,
                ("organizations:ListTagsForResource", "the tags are set"),
            ),
            Self::DeletePolicy { .. } => (
                LostAnswer::RepeatIsChecked(
                    "a repeat fails with PolicyNotFoundException: the policy is gone, taken as done",
                ),
                DELETE_NOT_YET,
                ("organizations:ListPolicies", "the policy is gone"),
            ),
        };
        Semantics {
            lost_answer,
            not_yet: NotYet::RepeatedByApply(not_yet),
            confirm: Some(Confirm {
                read: confirm.0,
                until: confirm.1,
            }),
        }
    }
}

impl DomainOp for OrgOp {
    type Resolved = OrgOp<String>;

    fn name(&self) -> &'static str {
        OrgOp::name(self)
    }

    fn semantics(&self) -> Semantics {
        OrgOp::semantics(self)
    }
}

/// Runs the change's operations in order; returns its outputs (`policy_id` for a new policy).
/// ConcurrentModificationException is retried by the apply loop (the operations' semantics);
/// throttling (TooManyRequestsException) is the SDK's to retry.
pub async fn apply_change(
    clients: &crate::Clients,
    change: &ResourceChange,
    outputs: &Outputs,
) -> Result<Produced, ApplyError> {
    kmsctl_aws::apply_operations::<OrgOp, _, _>(
        change,
        outputs,
        &clients.propagation,
        |op| async move { run(clients, &op).await },
    )
    .await
}

/// The call's error, unless it is the "already done" answer `done` (a repeat after a lost
/// answer, or a state AWS reached by itself).
fn unless_done<T>(result: Result<T, AwsError>, done: &str) -> Result<(), AwsError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(done) => {
            tracing::info!(%error, "already done");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

async fn run(clients: &crate::Clients, op: &OrgOp<String>) -> Result<Produced, ApplyError> {
    let client: &Client = clients;
    match op {
        OrgOp::EnablePolicyType {
            root_id,
            policy_type,
        } => {
            let enabled = client
                .enable_policy_type()
                .root_id(root_id)
                .policy_type(ApiPolicyType::from(policy_type.as_str()))
                .send()
                .await
                .map_err(failed("organizations:EnablePolicyType"));
            unless_done(enabled, ALREADY_ENABLED)?;
            // Enabling is asynchronous: AttachPolicy of the type fails until it is ENABLED.
            wait_policy_type_enabled(clients, root_id, policy_type).await?;
        }
        OrgOp::CreatePolicy {
            name,
            description,
            policy_type,
            content,
            tags,
        } => {
            let tags = kmsctl_aws::sdk_tags(tags, |k, v| Tag::builder().key(k).value(v).build())?;
            let created = client
                .create_policy()
                .name(name)
                .description(description)
                .r#type(ApiPolicyType::from(policy_type.as_str()))
                .content(content)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(failed("organizations:CreatePolicy"));
            let id = match created {
                Ok(created) => created
                    .policy()
                    .and_then(|p| p.policy_summary())
                    .and_then(|s| s.id())
                    .unwrap_or_default()
                    .to_owned(),
                Err(error) if error.code() == Some(DUPLICATE_POLICY) => {
                    made_by_lost_answer(clients, name, policy_type, content)
                        .await?
                        .ok_or(error)?
                }
                Err(error) => return Err(error.into()),
            };
            return Ok(BTreeMap::from([("policy_id".to_owned(), id)]));
        }
        OrgOp::UpdatePolicy {
            policy_id,
            content,
            description,
        } => {
            client
                .update_policy()
                .policy_id(policy_id)
                .content(content)
                .description(description)
                .send()
                .await
                .map_err(failed("organizations:UpdatePolicy"))?;
        }
        OrgOp::AttachPolicy {
            policy_id,
            target_id,
        } => {
            let attached = client
                .attach_policy()
                .policy_id(policy_id)
                .target_id(target_id)
                .send()
                .await
                .map_err(failed("organizations:AttachPolicy"));
            unless_done(attached, ALREADY_ATTACHED)?;
        }
        OrgOp::DetachPolicy {
            policy_id,
            target_id,
        } => {
            let detached = client
                .detach_policy()
                .policy_id(policy_id)
                .target_id(target_id)
                .send()
                .await
                .map_err(failed("organizations:DetachPolicy"));
            unless_done(detached, NOT_ATTACHED)?;
        }
        OrgOp::TagPolicy { policy_id, tags } => {
            let tags = kmsctl_aws::sdk_tags(tags, |k, v| Tag::builder().key(k).value(v).build())?;
            client
                .tag_resource()
                .resource_id(policy_id)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(failed("organizations:TagResource"))?;
        }
        OrgOp::DeletePolicy { policy_id } => {
            let deleted = client
                .delete_policy()
                .policy_id(policy_id)
                .send()
                .await
                .map_err(failed("organizations:DeletePolicy"));
            unless_done(deleted, GONE)?;
        }
    }
    Ok(BTreeMap::new())
}

/// Waits until the root shows `policy_type` ENABLED (EnablePolicyType answers while it is
/// still PENDING_ENABLE).
async fn wait_policy_type_enabled(
    clients: &crate::Clients,
    root_id: &str,
    policy_type: &str,
) -> Result<(), AwsError> {
    let what = format!("the policy type {policy_type} to be ENABLED on {root_id}");
    let enabled = clients
        .propagation
        .wait_until(&what, || async {
            let roots = clients
                .list_roots()
                .send()
                .await
                .map_err(failed("organizations:ListRoots"))?;
            let status = roots
                .roots()
                .iter()
                .filter(|r| r.id() == Some(root_id))
                .flat_map(|r| r.policy_types())
                .find(|t| t.r#type().is_some_and(|t| t.as_str() == policy_type))
                .and_then(|t| t.status().cloned());
            Ok::<_, AwsError>((status == Some(PolicyTypeStatus::Enabled)).then_some(()))
        })
        .await?;
    enabled.ok_or_else(|| AwsError::Call {
        operation: "organizations:EnablePolicyType".into(),
        code: None,
        message: format!(
            "{policy_type} is still not ENABLED on {root_id} after {}s; run the plan again later",
            clients.propagation.timeout.as_secs()
        ),
    })
}

/// The id of the policy named `name` that a CreatePolicy whose answer was lost made: looked up
/// until it is listed, and taken only when its content is the planned one (same JSON).
async fn made_by_lost_answer(
    clients: &crate::Clients,
    name: &str,
    policy_type: &str,
    content: &str,
) -> Result<Option<String>, AwsError> {
    let planned: Option<serde_json::Value> = serde_json::from_str(content).ok();
    let what = format!("the policy {name} a lost CreatePolicy answer made");
    let found = clients
        .propagation
        .wait_until(&what, || async {
            let pages: Vec<_> = clients
                .list_policies()
                .filter(ApiPolicyType::from(policy_type))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(failed("organizations:ListPolicies"))?;
            let id = pages
                .iter()
                .flat_map(|p| p.policies())
                .find(|p| p.name() == Some(name))
                .and_then(|p| p.id())
                .map(str::to_owned);
            Ok::<_, AwsError>(id)
        })
        .await?;
    let Some(id) = found else { return Ok(None) };
    // Listed does not mean readable yet.
    let described = clients
        .propagation
        .retry(
            "organizations:DescribePolicy",
            |e: &AwsError| e.code() == Some(GONE),
            || async {
                clients
                    .describe_policy()
                    .policy_id(&id)
                    .send()
                    .await
                    .map_err(failed("organizations:DescribePolicy"))
            },
        )
        .await?;
    let live: Option<serde_json::Value> = described
        .policy()
        .and_then(|p| p.content())
        .and_then(|c| serde_json::from_str(c).ok());
    let tags = clients
        .list_tags_for_resource()
        .resource_id(&id)
        .send()
        .await
        .map_err(failed("organizations:ListTagsForResource"))?;
    // kmsctl's own (CreatePolicy carried the managed tag), not a namesake someone else made.
    let managed = tags
        .tags()
        .iter()
        .any(|t| t.key() == crate::observe::TAG_MANAGED && t.value() == "true");
    Ok((managed && live.is_some() && live == planned).then_some(id))
}

#[cfg(test)]
mod tests;
