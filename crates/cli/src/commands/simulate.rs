//! `kmsctl simulate`: one access question answered offline from the files.

use std::collections::BTreeMap;

use super::Context;
use crate::cli::{SimulateArgs, SimulateFormat};
use crate::error::{Result, UserError};
use crate::exit::Exit;
use crate::render;
use kmsctl_engine::simulate::expect::Expected;
use kmsctl_engine::simulate::{Identity, Question, World, as_written};

fn pair(text: &str, flag: &str) -> Result<(String, String)> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| {
            UserError::new(format!("{flag} {text:?} is not KEY=VALUE"))
                .help(format!("e.g. {flag} aws:RequestTag/BU=Finance"))
        })
}

/// `--context KEY=V1,V2`: one key, its values separated by commas. A value that itself reads
/// `prefix:Name=…` is a second key written in the same flag: refused, never guessed.
fn context_entry(text: &str) -> Result<(String, Vec<String>)> {
    let (key, values) = pair(text, "--context")?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_owned()).collect();
    if let Some(second) = values.iter().find(|v| looks_like_key(v)) {
        let first: Vec<&str> = values
            .iter()
            .take_while(|v| *v != second)
            .map(String::as_str)
            .collect();
        return Err(UserError::new(format!(
            "--context {text:?}: {second:?} is another context key, not a value of {key} (commas separate the values of one key)"
        ))
        .help(format!(
            "repeat --context for each key: --context {key}={} --context {}",
            first.join(","),
            values[first.len()..].join(",")
        )));
    }
    Ok((key, values))
}

/// `aws:RequestTag/BU=Finance`, `kms:EncryptionContext:aws:s3:arn=…`: a condition key (a
/// service prefix, a colon, a name) and `=`. ARNs (`arn:aws:…`) are values.
fn looks_like_key(value: &str) -> bool {
    let Some((name, _)) = value.split_once('=') else {
        return false;
    };
    let Some((prefix, rest)) = name.split_once(':') else {
        return false;
    };
    !prefix.is_empty()
        && prefix != "arn"
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && !rest.contains(char::is_whitespace)
}

fn question(args: &SimulateArgs) -> Result<Question> {
    let mut context: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for text in &args.context {
        let (key, values) = context_entry(text)?;
        if let Some(given) = context.keys().find(|k| k.eq_ignore_ascii_case(&key)) {
            return Err(
                UserError::new(format!("--context {key} is given twice")).help(format!(
                    "give its values in one flag, separated by commas: --context {given}={},{}",
                    context[given].join(","),
                    values.join(",")
                )),
            );
        }
        context.insert(key, values);
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
    answer(ctx, args, World::new(ctx).as_written())
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
    let lint_errors = as_written::organization_errors(&findings, &rendered)
        .map_err(|why| UserError::new(why.message).help(why.fix))?;
    let view = kmsctl_engine::simulate::world::OrgView::live(file, org, rendered, tree, &places)
        .with_lint_errors(lint_errors);
    answer(
        ctx,
        args,
        World::new(ctx).with_organization(view).as_written(),
    )
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
    }
    if !answer.lint_errors.is_empty() {
        eprintln!(
            "{} the answer is for the files as written, and they have {} lint error(s), which `kmsctl validate` refuses.",
            ctx.err_style.red(&ctx.err_style.bold("Lint errors:")),
            answer.lint_errors.len()
        );
    }
    if met == Some(false) || !answer.lint_errors.is_empty() {
        return Ok(Exit::Refused);
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_flag_is_one_key_with_its_values() {
        let (key, values) = context_entry("aws:RequestTag/BU = Finance, Payments").expect("ok");
        assert_eq!(key, "aws:RequestTag/BU");
        assert_eq!(values, ["Finance", "Payments"]);
        let (_, arns) = context_entry("aws:SourceArn=arn:aws:s3:::a=b,arn:aws:s3:::c").expect("ok");
        assert_eq!(arns, ["arn:aws:s3:::a=b", "arn:aws:s3:::c"]);
        let (_, plain) = context_entry("aws:RequestTag/Note=a=b").expect("ok");
        assert_eq!(plain, ["a=b"]);
    }

    #[test]
    fn a_second_key_in_one_context_flag_is_refused_with_the_flags_to_write() {
        for text in [
            "aws:RequestTag/BU=Finance,aws:RequestTag/Project=X",
            "kms:CallerAccount=1,kms:EncryptionContext:aws:s3:arn=arn:aws:s3:::b",
        ] {
            let error = context_entry(text).expect_err(text);
            assert!(
                error.message.contains("is another context key"),
                "{}",
                error.message
            );
        }
        let error = context_entry("aws:RequestTag/BU=Finance,aws:RequestTag/Project=X")
            .expect_err("two keys");
        assert_eq!(
            error.help.as_deref(),
            Some(
                "repeat --context for each key: --context aws:RequestTag/BU=Finance --context aws:RequestTag/Project=X"
            )
        );
    }
}
