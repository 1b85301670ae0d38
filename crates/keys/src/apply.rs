//! Carrying out one planned change: each call in order, through the one apply loop.

use std::collections::BTreeMap;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::Tag;
use kmsctl_aws::{KmsClients, Produced, failed};
use kmsctl_core::{Outputs, ResourceChange};

use crate::create_key;
use crate::ops::{ApplyError, KeyOp};

/// Runs the change's operations; returns its outputs (`key_id`, `arn` for a key).
pub async fn apply_change(
    clients: &KmsClients,
    change: &ResourceChange,
    outputs: &Outputs,
) -> Result<Produced, ApplyError> {
    kmsctl_aws::apply_operations::<KeyOp, _, _>(change, outputs, &clients.propagation, |op| {
        run(clients, op)
    })
    .await
}

fn tag_list(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ApplyError> {
    kmsctl_aws::sdk_tags(tags, |k, v| Tag::builder().tag_key(k).tag_value(v).build())
}

/// Whether `alias_name` names the key `key_id`, read as soon as the alias is visible.
async fn alias_names_key(clients: &KmsClients, alias_name: &str, key_id: &str) -> Result<(), ()> {
    let target = clients
        .propagation
        .wait_until(&format!("{alias_name} to be readable"), || async {
            match clients
                .describe_key
                .describe_key()
                .key_id(alias_name)
                .send()
                .await
            {
                Ok(described) => Ok(Some(described.key_metadata.map(|m| m.key_id))),
                Err(error) if error.code() == Some("NotFoundException") => Ok(None),
                Err(_) => Err(()),
            }
        })
        .await?;
    if target.flatten().as_deref() == Some(key_id) {
        Ok(())
    } else {
        Err(())
    }
}

/// Makes the call; returns the outputs it produced (`key_id`, `arn`).
async fn run(clients: &KmsClients, op: KeyOp<String>) -> Result<Produced, ApplyError> {
    // Every call but CreateKey acts on a key or an alias that already has its name.
    let (output, value) = match op {
        KeyOp::CreateKey {
            id,
            description,
            key_spec,
            key_usage,
            multi_region,
            policy,
            tags,
            custom_key_store_id,
        } => {
            let request = create_key::Request {
                id,
                description,
                key_spec,
                key_usage,
                multi_region,
                policy,
                tags: tag_list(&tags)?,
                custom_key_store_id,
            };
            return create_key::create_key(clients, request).await;
        }
        KeyOp::UpdateKeyDescription {
            key_id,
            description,
        } => {
            clients
                .write
                .update_key_description()
                .key_id(&key_id)
                .description(description)
                .send()
                .await
                .map_err(failed("kms:UpdateKeyDescription"))?;
            ("key_id", key_id)
        }
        KeyOp::TagResource { key_id, tags } => {
            clients
                .write
                .tag_resource()
                .key_id(&key_id)
                .set_tags(Some(tag_list(&tags)?))
                .send()
                .await
                .map_err(failed("kms:TagResource"))?;
            ("key_id", key_id)
        }
        KeyOp::UntagResource { key_id, tag_keys } => {
            clients
                .write
                .untag_resource()
                .key_id(&key_id)
                .set_tag_keys(Some(tag_keys))
                .send()
                .await
                .map_err(failed("kms:UntagResource"))?;
            ("key_id", key_id)
        }
        KeyOp::EnableKey { key_id } => {
            clients
                .write
                .enable_key()
                .key_id(&key_id)
                .send()
                .await
                .map_err(failed("kms:EnableKey"))?;
            ("key_id", key_id)
        }
        KeyOp::DisableKey { key_id } => {
            clients
                .write
                .disable_key()
                .key_id(&key_id)
                .send()
                .await
                .map_err(failed("kms:DisableKey"))?;
            ("key_id", key_id)
        }
        KeyOp::ScheduleKeyDeletion {
            key_id,
            pending_window_in_days,
        } => {
            clients
                .write
                .schedule_key_deletion()
                .key_id(&key_id)
                .pending_window_in_days(pending_window_in_days)
                .send()
                .await
                .map_err(failed("kms:ScheduleKeyDeletion"))?;
            ("key_id", key_id)
        }
        KeyOp::CancelKeyDeletion { key_id } => {
            clients
                .write
                .cancel_key_deletion()
                .key_id(&key_id)
                .send()
                .await
                .map_err(failed("kms:CancelKeyDeletion"))?;
            ("key_id", key_id)
        }
        KeyOp::PutKeyPolicy { key_id, policy } => {
            clients
                .write
                .put_key_policy()
                .key_id(&key_id)
                .policy_name("default")
                .policy(policy)
                .send()
                .await
                .map_err(failed("kms:PutKeyPolicy"))?;
            ("key_id", key_id)
        }
        KeyOp::EnableKeyRotation {
            key_id,
            rotation_period_in_days,
        } => {
            clients
                .write
                .enable_key_rotation()
                .key_id(&key_id)
                .set_rotation_period_in_days(rotation_period_in_days)
                .send()
                .await
                .map_err(failed("kms:EnableKeyRotation"))?;
            ("key_id", key_id)
        }
        KeyOp::DisableKeyRotation { key_id } => {
            clients
                .write
                .disable_key_rotation()
                .key_id(&key_id)
                .send()
                .await
                .map_err(failed("kms:DisableKeyRotation"))?;
            ("key_id", key_id)
        }
        KeyOp::CreateAlias {
            alias_name,
            target_key_id,
        } => {
            let made = clients
                .write
                .create_alias()
                .alias_name(&alias_name)
                .target_key_id(&target_key_id)
                .send()
                .await
                .map_err(failed("kms:CreateAlias"));
            match made {
                Ok(_) => {}
                // The SDK repeated a call whose answer was lost (its semantics): the first made
                // the alias. Taken only when it names the planned key.
                Err(error) if error.code() == Some("AlreadyExistsException") => {
                    alias_names_key(clients, &alias_name, &target_key_id)
                        .await
                        .map_err(|()| error)?;
                }
                Err(error) => return Err(error.into()),
            }
            ("alias_name", alias_name)
        }
        KeyOp::UpdateAlias {
            alias_name,
            target_key_id,
        } => {
            clients
                .write
                .update_alias()
                .alias_name(&alias_name)
                .target_key_id(target_key_id)
                .send()
                .await
                .map_err(failed("kms:UpdateAlias"))?;
            ("alias_name", alias_name)
        }
    };
    Ok(BTreeMap::from([(output.to_owned(), value)]))
}
