//! `kmsctl rotate env/NAME ALIAS`: manual rotation of a key AWS cannot rotate (a CloudHSM key
//! store key), as a planned and confirmed change: a new key in the same store with the same
//! policy, tags and description; the aliases moved to it; the old key tagged and kept enabled.
//! Run again after a rotation stopped part way, it finishes that rotation.

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_aws::{AwsError, KmsClients};
use kmsctl_core::Finding;
use kmsctl_keys::DesiredKey;
use kmsctl_keys::desired::TAG_ID;
use kmsctl_keys::list;
use kmsctl_keys::manual_rotation::{self, Unfinished, successor_id, unfinished_rotation};

use super::Context;
use super::apply::{confirm, execute};
use super::plan::report_refusal;
use crate::cli::RotateArgs;
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render::plan as render_plan;
use kmsctl_engine::apply::Appliers;
use kmsctl_engine::plan::{EnvClients, target_of};
use kmsctl_engine::prepare::{Prepared, prepare};
use kmsctl_engine::target::{connect, new_plan};

pub async fn run(ctx: &Context, args: &RotateArgs) -> Result<Exit> {
    let prepared = prepare(ctx, &args.target)?;
    if prepared.findings.iter().any(Finding::is_error) {
        return Ok(report_refusal(
            ctx,
            &target_of(&prepared).label(),
            &prepared.findings,
        ));
    }
    let target = target_of(&prepared);
    let lock = super::apply::lock_for(ctx, &target).await?;
    if let Err(error) = widening_pending(ctx, &args.target).await {
        super::apply::release(ctx, lock).await;
        return Err(error);
    }
    let rotated = match connect(ctx, &target).await {
        Ok(session) => {
            rotate_with(
                ctx,
                &prepared,
                &args.alias,
                EnvClients::new(ctx, &session, prepared.hsm.is_some()),
                args.auto_approve,
            )
            .await
        }
        Err(error) => Err(error.into()),
    };
    super::apply::release(ctx, lock).await;
    rotated
}

/// Dual control: the new key is made with the key policy of the files. When that policy would
/// widen access and `[approvals]` requires an approval for widening, rotation would skip the
/// approval: the change must be applied (approved) first.
async fn widening_pending(ctx: &Context, target: &str) -> Result<()> {
    use kmsctl_core::approval::ApprovalKind;
    let required = kmsctl_engine::team::required(ctx)?;
    if !required.contains(&ApprovalKind::KeyPolicyWidening) {
        return Ok(());
    }
    let loaded = kmsctl_engine::plan::Loaded::load(ctx, target)?;
    let kmsctl_engine::target::Planned::Plan(plan) = loaded.plan(ctx).await? else {
        // Refused by a guard: rotate's own checks say why.
        return Ok(());
    };
    let only = [ApprovalKind::KeyPolicyWidening].into();
    let widening = kmsctl_engine::team::needing_approval(&plan, &only);
    if widening.is_empty() {
        return Ok(());
    }
    Err(UserError::new(format!(
        "the files' key policies widen access ({}), and rotate makes the new key with them: that would skip the approval organization.toml's [approvals] requires; nothing was changed",
        widening
            .iter()
            .map(|s| format!("{}: {}", s.address, s.reason))
            .collect::<Vec<_>>()
            .join("; ")
    ))
    .help(format!(
        "apply the policy change with an approval first (kmsctl plan {target}, kmsctl approve, kmsctl apply --plan-id), then rotate"
    ))
    .refused())
}

/// [`run`] with the clients given: the library entry point tests drive with stubbed clients.
///
/// A rotation an earlier run started and did not finish (its answer lost, the run stopped or
/// killed) is finished, not started again: a successor made under
/// [`successor_id`](kmsctl_keys::manual_rotation::successor_id) is taken, never made twice, and
/// only the steps left are planned.
pub async fn rotate_with(
    ctx: &Context,
    prepared: &Prepared,
    alias: &str,
    clients: EnvClients,
    auto_approve: bool,
) -> Result<Exit> {
    let alias = if alias.starts_with("alias/") {
        alias.to_owned()
    } else {
        format!("alias/{alias}")
    };
    let target = target_of(prepared);
    let key = prepared
        .keys
        .iter()
        .find(|k| k.all_aliases().any(|a| *a == alias))
        .ok_or_else(|| {
            let known: Vec<&str> = prepared.keys.iter().map(|k| k.alias.as_str()).collect();
            UserError::new(format!(
                "{} declares no key with the alias {alias}",
                target.label()
            ))
            .help(format!("declared aliases: {}", known.join(", ")))
        })?;
    if let Some(rotation) = &key.rotation {
        return Err(UserError::new(format!(
            "AWS rotates {alias} itself (enable_key_rotation = {}, every {} days): kmsctl rotate is for keys AWS cannot rotate",
            rotation.enabled, rotation.period_days
        ))
        .help("use it for keys in a CloudHSM key store (custom_key_store) or other keys AWS cannot rotate"));
    }
    let kms = &clients.keys;
    let aliased = describe(kms, &alias)
        .await?
        .ok_or_else(|| UserError::new(format!("{alias} does not exist in AWS")))?;
    if aliased.state != "Enabled" {
        return Err(UserError::new(format!(
            "{alias} points to key {}, which is {}: only an enabled key is rotated",
            aliased.key_id, aliased.state
        ))
        .help(format!(
            "make the key enabled first (kmsctl plan {})",
            target.label()
        )));
    }
    let aliased_tags = tags_of(kms, &aliased.key_id).await?;
    let aliased_id = aliased_tags.get(TAG_ID).map(String::as_str);
    let started_from = aliased_id
        .and_then(unfinished_rotation)
        .filter(|(declared, _)| *declared == key.id)
        .map(|(_, old)| old.to_owned());
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let (intro, changes) = if let Some(old_key_id) = started_from {
        // The aliases moved (some or all); the old key may still carry the declared id.
        let moved_aliases =
            aliases_on(kms, key, (&alias, &aliased.key_id), &aliased.key_id).await?;
        let found = Unfinished {
            old_tags: tags_of(kms, &old_key_id).await?,
            old_key_id,
            successor_key_id: aliased.key_id.clone(),
            successor_tags: aliased_tags,
            moved_aliases,
        };
        (
            format!(
                "Finishing the rotation of key {} started earlier: {alias} already points to its successor {}.",
                found.old_key_id, found.successor_key_id
            ),
            manual_rotation::finish(key, &found, &today),
        )
    } else if let Some(other) = aliased_id.filter(|id| *id != key.id) {
        return Err(UserError::new(format!(
            "{alias} points to key {}, which kmsctl manages as {other}, not as {}: it is not rotated",
            aliased.key_id, key.id
        ))
        .help(format!(
            "kmsctl plan {} shows the conflict and how to fix it",
            target.label()
        )));
    } else {
        let old_key_id = aliased.key_id.clone();
        let fresh_id = successor_id(&key.id, &old_key_id);
        let made = keys_carrying(kms, &fresh_id, &old_key_id, ctx.parallelism).await?;
        match made.as_slice() {
            [] => {
                if let Some(store_id) = &aliased.store_id {
                    check_store_connected(&clients, store_id, &alias, &target.label()).await?;
                }
                (
                    format!(
                        "Rotating {alias} (key {old_key_id}) by hand: AWS cannot rotate keys of origin {}.",
                        aliased.origin
                    ),
                    manual_rotation::plan(key, &old_key_id, aliased.store_id.as_deref(), &today),
                )
            }
            [(successor_key_id, successor_tags)] => {
                // An earlier rotate made the successor and stopped before the aliases moved.
                let successor = describe(kms, successor_key_id).await?.ok_or_else(|| {
                    UserError::new(format!("key {successor_key_id} was listed but is gone"))
                })?;
                if successor.state != "Enabled" {
                    return Err(UserError::new(format!(
                        "key {successor_key_id} carries kmsctl:id {fresh_id} (the successor an earlier kmsctl rotate of {alias} made) and is {}: it cannot take over {alias}",
                        successor.state
                    ))
                    .help(format!(
                        "enable it (aws kms cancel-key-deletion / enable-key), or remove its kmsctl:id tag to have a new successor made, then run kmsctl rotate {} {alias} again",
                        target.label()
                    )));
                }
                let moved_aliases =
                    aliases_on(kms, key, (&alias, &old_key_id), successor_key_id).await?;
                let found = Unfinished {
                    old_key_id,
                    old_tags: aliased_tags,
                    successor_key_id: successor_key_id.clone(),
                    successor_tags: successor_tags.clone(),
                    moved_aliases,
                };
                (
                    format!(
                        "Finishing the rotation of key {} started earlier: its successor {} exists (an earlier kmsctl rotate made it and stopped); no new key is made.",
                        found.old_key_id, found.successor_key_id
                    ),
                    manual_rotation::finish(key, &found, &today),
                )
            }
            several => {
                let ids: Vec<&str> = several.iter().map(|(id, _)| id.as_str()).collect();
                return Err(UserError::new(format!(
                    "{} keys carry kmsctl:id {fresh_id}, the successor identity of {alias}'s key {old_key_id}: {}",
                    several.len(),
                    ids.join(", ")
                ))
                .help(format!(
                    "keep one: schedule the others for deletion in AWS (or remove their kmsctl:id tag), then run kmsctl rotate {} {alias} again",
                    target.label()
                )));
            }
        }
    };
    let plan = new_plan(target.clone(), changes);
    let options = render_plan::Options {
        style: ctx.style,
        verbose: ctx.verbose,
    };
    println!("{intro}");
    print!("{}", render_plan::render(&plan, &options));
    if !auto_approve && !confirm(&target.label()).await? {
        println!("Rotation cancelled; nothing was changed.");
        return Ok(Exit::Ok);
    }
    Ok(execute(ctx, &plan, &Appliers::Environment(Box::new(clients)), None).await)
}

/// What DescribeKey says of a key.
struct Described {
    key_id: String,
    state: String,
    store_id: Option<String>,
    origin: String,
}

/// DescribeKey of a key id or alias; `None` when it does not exist.
async fn describe(kms: &KmsClients, key_id: &str) -> Result<Option<Described>> {
    let described = match kms.describe_key.describe_key().key_id(key_id).send().await {
        Ok(described) => described,
        Err(error) => {
            let error = AwsError::call("kms:DescribeKey", error);
            if error.code() == Some("NotFoundException") {
                return Ok(None);
            }
            return Err(UserError::new(error.to_string()));
        }
    };
    let metadata = described
        .key_metadata()
        .ok_or_else(|| UserError::new("kms:DescribeKey returned no key"))?;
    Ok(Some(Described {
        key_id: metadata.key_id().to_owned(),
        state: metadata
            .key_state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        store_id: metadata.custom_key_store_id().map(str::to_owned),
        origin: metadata.origin().map_or("?", |o| o.as_str()).to_owned(),
    }))
}

/// A key's tags, read with ListResourceTags (consistent).
async fn tags_of(kms: &KmsClients, key_id: &str) -> Result<BTreeMap<String, String>> {
    let tags = list::list_resource_tags(&kms.list_resource_tags, key_id)
        .await
        .map_err(|e| UserError::new(e.to_string()))?;
    Ok(tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect())
}

/// The keys but `except` carrying `kmsctl:id = id`, with their tags: ListKeys, then
/// ListResourceTags of every key (the tagging API may not show a key made seconds ago).
async fn keys_carrying(
    kms: &KmsClients,
    id: &str,
    except: &str,
    parallelism: usize,
) -> Result<Vec<(String, BTreeMap<String, String>)>> {
    let keys = list::list_keys(&kms.list)
        .await
        .map_err(|e| UserError::new(e.to_string()))?;
    let key_ids: Vec<String> = keys
        .iter()
        .filter_map(|k| k.key_id())
        .filter(|key_id| *key_id != except)
        .map(str::to_owned)
        .collect();
    let read = kmsctl_aws::map_bounded(key_ids, parallelism, |key_id| async move {
        match list::list_resource_tags(&kms.list_resource_tags, &key_id).await {
            Ok(tags) => Ok(Some((key_id, tags))),
            // Deleted since it was listed, or not readable by kmsctl: not a key it made.
            Err(error)
                if matches!(
                    error.code(),
                    Some(
                        "NotFoundException" | "AccessDeniedException" | "KMSInvalidStateException"
                    )
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    })
    .await
    .map_err(|e| UserError::new(e.to_string()))?;
    Ok(read
        .into_iter()
        .flatten()
        .map(|(key_id, tags)| {
            let tags: BTreeMap<String, String> =
                tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect();
            (key_id, tags)
        })
        .filter(|(_, tags)| tags.get(TAG_ID).map(String::as_str) == Some(id))
        .collect())
}

/// The aliases of `key` that point to `successor`; `known` is an alias whose key was read.
async fn aliases_on(
    kms: &KmsClients,
    key: &DesiredKey,
    known: (&str, &str),
    successor: &str,
) -> Result<BTreeSet<String>> {
    let mut moved = BTreeSet::new();
    for name in key.all_aliases() {
        let points_to = if name == known.0 {
            Some(known.1.to_owned())
        } else {
            describe(kms, name).await?.map(|d| d.key_id)
        };
        if points_to.as_deref() == Some(successor) {
            moved.insert(name.clone());
        }
    }
    Ok(moved)
}

/// A new key can be made in a CloudHSM key store only while it is CONNECTED.
async fn check_store_connected(
    clients: &EnvClients,
    store_id: &str,
    alias: &str,
    label: &str,
) -> Result<()> {
    let stores = clients
        .hsm()?
        .kms
        .describe_custom_key_stores()
        .custom_key_store_id(store_id)
        .send()
        .await
        .map_err(|e| {
            UserError::new(AwsError::call("kms:DescribeCustomKeyStores", e).to_string())
        })?;
    let connection = stores
        .custom_key_stores()
        .first()
        .and_then(|s| s.connection_state())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if connection != "CONNECTED" {
        return Err(UserError::new(format!(
            "the key store {store_id} of {alias} is {connection}: a new key can be made in it only when it is CONNECTED"
        ))
        .help(format!("connect it: kmsctl plan {label} (with connect = true), then rotate again")));
    }
    Ok(())
}
