//! `kmsctl simulate`: one access question answered offline from the files.

use std::collections::BTreeMap;

use super::Context;
use crate::cli::{SimulateArgs, SimulateFormat};
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render;
use kmsctl_engine::simulate::expect::Expected;
use kmsctl_engine::simulate::{Identity, Question, World};

fn pair(text: &str, flag: &str) -> Result<(String, String)> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| {
            UserError::new(format!("{flag} {text:?} is not KEY=VALUE"))
                .help(format!("e.g. {flag} aws:RequestTag/BU=Finance"))
        })
}

fn question(args: &SimulateArgs) -> Result<Question> {
    let mut context: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for text in &args.context {
        let (key, values) = pair(text, "--context")?;
        context.insert(
            key,
            values.split(',').map(|v| v.trim().to_owned()).collect(),
        );
    }
    let mut principal_tags = BTreeMap::new();
    for text in &args.principal_tags {
        let (key, value) = pair(text, "--principal-tag")?;
        principal_tags.insert(key, value);
    }
    Ok(Question {
        principal: args.principal.clone(),
        ou: args.ou.clone(),
        principal_tags,
        mfa: args.mfa,
        source_ip: args.source_ip.clone(),
        action: args.action.clone(),
        key: args.key.clone(),
        environment: args.environment.clone(),
        context,
        identity: if args.no_identity_policy || !args.identity_policies.is_empty() {
            Identity::Files(args.identity_policies.clone())
        } else {
            Identity::AssumedAllow
        },
    })
}

pub fn run(ctx: &Context, args: &SimulateArgs) -> Result<Exit> {
    answer(ctx, args, World::new(ctx))
}

/// `--live`: the organization's ids and account places from AWS Organizations; the policies
/// still come from the files (rendered with the live ids, as plan renders them).
pub async fn run_live(ctx: &Context, args: &SimulateArgs) -> Result<Exit> {
    let (file, org) = kmsctl_engine::config::organization::load(ctx)?;
    let session =
        kmsctl_engine::target::connect(ctx, &kmsctl_engine::organization::target(&org)).await?;
    let client = kmsctl_org::client(&session);
    let failed =
        |e: kmsctl_aws::AwsError| UserError::new(format!("reading the organization failed: {e}"));
    let (tree, _) = kmsctl_org::observe::observe_tree(&client)
        .await
        .map_err(failed)?;
    tree.check_unique()
        .map_err(|e| UserError::new(e.to_string()))?;
    let places = kmsctl_org::observe::account_places(&client, &tree)
        .await
        .map_err(failed)?;
    let (rendered, findings) =
        kmsctl_org::guards::check(&ctx.project.files, &file, &org, Some(&tree));
    if let Some(error) = findings.iter().find(|f| f.is_error()) {
        return Err(
            UserError::new(format!("{}: {}", error.location, error.message))
                .help("run `kmsctl validate organization` and fix what it reports"),
        );
    }
    let view = kmsctl_engine::simulate::world::OrgView::live(file, org, rendered, tree, &places);
    answer(ctx, args, World::new(ctx).with_organization(view))
}

fn answer(ctx: &Context, args: &SimulateArgs, mut world: World<'_>) -> Result<Exit> {
    let question = question(args)?;
    let answer = world
        .answer(&question)
        .map_err(|why| UserError::new(why.message).help(why.fix))?;
    let expected = args.expect.map(|arg| arg.0);
    let met = expected.map(|e| e.met_by(answer.decision.outcome));
    match args.format {
        SimulateFormat::Human => print!("{}", render::simulate::human(&answer, ctx.style)),
        SimulateFormat::Json => println!(
            "{}",
            render::simulate::json(&answer, expected.map(Expected::name), met, args.show_inputs)
        ),
    }
    if met == Some(false) {
        eprintln!(
            "{} expected {}, got {}.",
            ctx.err_style.red(&ctx.err_style.bold("Not met:")),
            expected.map(Expected::name).unwrap_or_default(),
            answer.decision.outcome.name()
        );
        return Ok(Exit::Refused);
    }
    Ok(Exit::Ok)
}
