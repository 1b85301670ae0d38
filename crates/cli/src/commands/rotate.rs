//! `kmsctl rotate env/NAME ALIAS`: manual rotation of a key AWS cannot rotate (a CloudHSM key
//! store key), as a planned and confirmed change: a new key in the same store with the same
//! policy, tags and description; the aliases moved to it; the old key tagged and kept enabled.

use kmsctl_core::Finding;

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
    let _lock = super::apply::lock_for(ctx, &target)?;
    let session = connect(ctx, &target).await?;
    rotate_with(
        ctx,
        &prepared,
        &args.alias,
        EnvClients::new(ctx, &session, prepared.hsm.is_some()),
        args.auto_approve,
    )
    .await
}

/// [`run`] with the clients given: the library entry point tests drive with stubbed clients.
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
    let described = clients
        .keys
        .describe_key
        .describe_key()
        .key_id(&alias)
        .send()
        .await
        .map_err(|e| {
            UserError::new(kmsctl_aws::AwsError::call("kms:DescribeKey", e).to_string())
        })?;
    let metadata = described
        .key_metadata()
        .ok_or_else(|| UserError::new("kms:DescribeKey returned no key"))?;
    let old_key_id = metadata.key_id().to_owned();
    let state = metadata
        .key_state()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if state != "Enabled" {
        return Err(UserError::new(format!(
            "{alias} points to key {old_key_id}, which is {state}: only an enabled key is rotated"
        ))
        .help(format!(
            "make the key enabled first (kmsctl plan {})",
            target.label()
        )));
    }
    let store_id = metadata.custom_key_store_id().map(str::to_owned);
    if let Some(store_id) = &store_id {
        let stores = clients
            .hsm()?
            .kms
            .describe_custom_key_stores()
            .custom_key_store_id(store_id)
            .send()
            .await
            .map_err(|e| {
                UserError::new(
                    kmsctl_aws::AwsError::call("kms:DescribeCustomKeyStores", e).to_string(),
                )
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
            .help(format!("connect it: kmsctl plan {} (with connect = true), then rotate again", target.label())));
        }
    }
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let changes = kmsctl_keys::manual_rotation::plan(key, &old_key_id, store_id.as_deref(), &today);
    let plan = new_plan(target.clone(), changes);
    let options = render_plan::Options {
        style: ctx.style,
        verbose: ctx.verbose,
    };
    println!(
        "Rotating {alias} (key {old_key_id}) by hand: AWS cannot rotate keys of origin {}.",
        metadata.origin().map_or("?", |o| o.as_str())
    );
    print!("{}", render_plan::render(&plan, &options));
    if !auto_approve && !confirm(&target.label())? {
        println!("Rotation cancelled; nothing was changed.");
        return Ok(Exit::Ok);
    }
    Ok(execute(ctx, &plan, &Appliers::Environment(Box::new(clients))).await)
}
