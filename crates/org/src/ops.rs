//! The Organizations calls a plan can contain, and how apply makes them. Writes run one at a
//! time (Organizations answers parallel writes with ConcurrentModificationException).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{PolicyType as ApiPolicyType, Tag};
pub use kmsctl_aws::ApplyError;
use kmsctl_aws::failed;
use kmsctl_core::{Outputs, ResourceChange};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
enum OrgOp {
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
        policy_id: String,
        content: String,
        description: String,
    },
    AttachPolicy {
        policy_id: String,
        target_id: String,
    },
    DetachPolicy {
        policy_id: String,
        target_id: String,
    },
    DeletePolicy {
        policy_id: String,
    },
}

/// Runs the change's operations in order; returns its outputs (`policy_id` for a new policy).
pub async fn apply_change(
    client: &Client,
    change: &ResourceChange,
    outputs: &Outputs,
) -> Result<BTreeMap<String, String>, ApplyError> {
    kmsctl_aws::apply_operations(change, outputs, |op: OrgOp| async move {
        run_with_retry(client, &op).await
    })
    .await
}

/// ConcurrentModificationException is Organizations saying "another write is in progress": the
/// SDK does not retry it, so this loop does (the named case), with backoff, a bounded number
/// of times. Throttling (TooManyRequestsException) is the SDK's to retry.
async fn run_with_retry(
    client: &Client,
    op: &OrgOp,
) -> Result<BTreeMap<String, String>, ApplyError> {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match run(client, op).await {
            Err(ApplyError::Aws(error))
                if error.code() == Some("ConcurrentModificationException") && attempt < 6 =>
            {
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            other => return other,
        }
    }
}

async fn run(client: &Client, op: &OrgOp) -> Result<BTreeMap<String, String>, ApplyError> {
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
