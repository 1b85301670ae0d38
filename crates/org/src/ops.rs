//! The Organizations calls a plan can contain, and how apply makes them. Writes run one at a
//! time (Organizations answers parallel writes with ConcurrentModificationException).

use std::collections::BTreeMap;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{PolicyType as ApiPolicyType, Tag};
pub use kmsctl_aws::ApplyError;
use kmsctl_aws::{Produced, failed};
use kmsctl_core::semantics::{LostAnswer, NotYet};
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
}

/// Organizations answers a write made while another is in progress with this: nothing was done,
/// and the SDK does not retry it, so the apply loop makes the call again.
const BUSY: &[&str] = &["ConcurrentModificationException"];

impl<Id> OrgOp<Id> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::EnablePolicyType { .. } => "EnablePolicyType",
            Self::CreatePolicy { .. } => "CreatePolicy",
            Self::UpdatePolicy { .. } => "UpdatePolicy",
            Self::AttachPolicy { .. } => "AttachPolicy",
            Self::DetachPolicy { .. } => "DetachPolicy",
            Self::DeletePolicy { .. } => "DeletePolicy",
        }
    }

    /// What kmsctl relies on today: the SDK's standard retries repeat a call after a lost
    /// answer; nothing is looked up or read back.
    pub fn semantics(&self) -> Semantics {
        let lost_answer = match self {
            Self::UpdatePolicy { .. } => LostAnswer::Repeat,
            Self::EnablePolicyType { .. } => LostAnswer::Unrecovered(
                "a repeat fails with PolicyTypeAlreadyEnabledException; the next plan sees the type enabled",
            ),
            Self::CreatePolicy { .. } => LostAnswer::Unrecovered(
                "a repeat fails with DuplicatePolicyException; the next plan finds the policy by name (tagged managed) and updates it",
            ),
            Self::AttachPolicy { .. } => LostAnswer::Unrecovered(
                "a repeat fails with DuplicatePolicyAttachmentException; the next plan sees the policy attached",
            ),
            Self::DetachPolicy { .. } => LostAnswer::Unrecovered(
                "a repeat fails with PolicyNotAttachedException; the next plan sees the policy detached",
            ),
            Self::DeletePolicy { .. } => LostAnswer::Unrecovered(
                "a repeat fails with PolicyNotFoundException; the next plan no longer sees the policy",
            ),
        };
        Semantics {
            lost_answer,
            not_yet: NotYet::RepeatedByApply(BUSY),
            confirm: None,
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
    client: &Client,
    change: &ResourceChange,
    outputs: &Outputs,
) -> Result<Produced, ApplyError> {
    kmsctl_aws::apply_operations::<OrgOp, _, _>(change, outputs, |op| async move {
        run(client, &op).await
    })
    .await
}

async fn run(client: &Client, op: &OrgOp<String>) -> Result<Produced, ApplyError> {
    match op {
        OrgOp::EnablePolicyType {
            root_id,
            policy_type,
        } => {
            client
                .enable_policy_type()
                .root_id(root_id)
                .policy_type(ApiPolicyType::from(policy_type.as_str()))
                .send()
                .await
                .map_err(failed("organizations:EnablePolicyType"))?;
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
                .map_err(failed("organizations:CreatePolicy"))?;
            let id = created
                .policy()
                .and_then(|p| p.policy_summary())
                .and_then(|s| s.id())
                .unwrap_or_default();
            return Ok(BTreeMap::from([("policy_id".to_owned(), id.to_owned())]));
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
            client
                .attach_policy()
                .policy_id(policy_id)
                .target_id(target_id)
                .send()
                .await
                .map_err(failed("organizations:AttachPolicy"))?;
        }
        OrgOp::DetachPolicy {
            policy_id,
            target_id,
        } => {
            client
                .detach_policy()
                .policy_id(policy_id)
                .target_id(target_id)
                .send()
                .await
                .map_err(failed("organizations:DetachPolicy"))?;
        }
        OrgOp::DeletePolicy { policy_id } => {
            client
                .delete_policy()
                .policy_id(policy_id)
                .send()
                .await
                .map_err(failed("organizations:DeletePolicy"))?;
        }
    }
    Ok(BTreeMap::new())
}

#[cfg(test)]
mod tests;
