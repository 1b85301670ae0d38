//! `kmsctl`: plan and apply AWS KMS keys, policies and guardrails from TOML files in git.

// `UserError` carries the source text for miette; it travels once per run, on the way out.
#![allow(clippy::result_large_err)]

use std::process::ExitCode;

use clap::error::ErrorKind;

use kmsctl::cli::{Cli, Command, EventsCommand};
use kmsctl::commands::{self, Context};
use kmsctl::error::UserError;
use kmsctl::exit::Exit;
use kmsctl_engine::project::Project;

fn main() -> ExitCode {
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // Help and version are successes; every usage error is 1, never 2 ("changes" to CI).
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Ok.into(),
                _ => Exit::Error.into(),
            };
        }
    };
    init_tracing(cli.global.verbose);
    // Long lines stay whole: CI logs and grep need `file:line: message` on one line.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    match run(&cli) {
        Ok(exit) => exit.into(),
        Err(error) => {
            let exit = error.exit;
            eprintln!("{:?}", miette::Report::new(error));
            exit.into()
        }
    }
}

fn init_tracing(verbose: bool) {
    let default = if verbose {
        "kmsctl=info,kmsctl_keys=info,warn"
    } else {
        "error"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KMSCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn run(cli: &Cli) -> Result<Exit, UserError> {
    // Lint reads only the files it names: it works outside a project too.
    if let Command::Lint(args) = &cli.command {
        return commands::lint::run(commands::err_style(&cli.global), args);
    }
    let project = Project::discover(cli.global.root.as_deref())?;
    let ctx = Context::new(project, &cli.global);
    // Offline commands: no runtime, no AWS configuration, no call.
    match &cli.command {
        Command::Validate { target } => return commands::validate::run(&ctx, target),
        Command::Events(EventsCommand::Test { target, event }) => {
            return commands::events::test(&ctx, target, event);
        }
        Command::Simulate(args) if !args.live => return commands::simulate::run(&ctx, args),
        Command::Schema {
            which: kmsctl::cli::SchemaKind::DriftReport,
        } => {
            let schema = kmsctl_core::drift::DriftReport::schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            return Ok(Exit::Ok);
        }
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| UserError::new(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match &cli.command {
            Command::Validate { .. }
            | Command::Events(_)
            | Command::Schema { .. }
            | Command::Lint(_) => {
                unreachable!("offline, handled above")
            }
            Command::Drift(args) => commands::drift::run(&ctx, args).await,
            Command::Report(args) => commands::drift::report(&ctx, args).await,
            Command::Plan(args) => commands::plan::run(&ctx, args).await,
            Command::Apply(args) => commands::apply::run(&ctx, args).await,
            Command::Rotate(args) => commands::rotate::run(&ctx, args).await,
            Command::Approve(args) => commands::team::approve(&ctx, args).await,
            Command::Unlock(args) => commands::team::unlock(&ctx, args).await,
            Command::Import(args) => commands::import::run(&ctx, args).await,
            Command::Simulate(args) => commands::simulate::run_live(&ctx, args).await,
        }
    })
}
