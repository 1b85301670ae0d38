//! `fault-proxy --upstream URL [--port N] [--seed N] [--rules FILE.json] [--realistic MS]
//! [--exit-on-stdin-close]`
//!
//! Starts the fault-injection proxy, prints one line `fault-proxy listening on http://127.0.0.1:PORT` and
//! serves until killed (or, with `--exit-on-stdin-close`, until its standard input closes). Configure it over
//! HTTP: see the `fault_proxy` library's documentation for the control endpoint. `--realistic MS` starts
//! with the realistic-AWS preset (`fault_proxy::realistic(MS)`), followed by the rules of `--rules` if any.

use std::io::{Read, Write};
use std::process::ExitCode;

use fault_proxy::{Proxy, parse_rules, realistic};

const USAGE: &str = "usage: fault-proxy --upstream http://127.0.0.1:PORT [--port N] [--seed N] \
                     [--rules FILE.json] [--realistic MS] [--exit-on-stdin-close]";

struct Options {
    upstream: String,
    port: u16,
    seed: u64,
    rules: Option<String>,
    /// The window of the realistic-AWS preset.
    realistic: Option<u64>,
    exit_on_stdin_close: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut upstream = None;
    let mut port = 0;
    let mut seed = 0;
    let mut rules = None;
    let mut realistic = None;
    let mut exit_on_stdin_close = false;
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_string(), Some(value.to_string()))
            }
            _ => (arg, None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "--upstream" => upstream = Some(value("a URL")?),
            "--port" => {
                port = value("a port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?;
            }
            "--seed" => {
                seed = value("a number")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?;
            }
            "--rules" => rules = Some(value("a file")?),
            "--realistic" => {
                realistic = Some(
                    value("a window in milliseconds")?
                        .parse()
                        .map_err(|e| format!("--realistic: {e}"))?,
                );
            }
            "--exit-on-stdin-close" => exit_on_stdin_close = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Options {
        upstream: upstream.ok_or("--upstream is required")?,
        port,
        seed,
        rules,
        realistic,
        exit_on_stdin_close,
    })
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fault-proxy: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut rules = options.realistic.map(realistic).unwrap_or_default();
    rules.extend(match &options.rules {
        None => Vec::new(),
        Some(path) => match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|text| parse_rules(&text).map_err(|e| e.to_string()))
        {
            Ok(rules) => rules,
            Err(e) => {
                eprintln!("fault-proxy: cannot read the rules in {path}: {e}");
                return ExitCode::from(2);
            }
        },
    });
    let proxy = match Proxy::start_on_port(&options.upstream, rules, options.seed, options.port) {
        Ok(proxy) => proxy,
        Err(e) => {
            eprintln!("fault-proxy: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "fault-proxy listening on {}", proxy.endpoint())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);

    if options.exit_on_stdin_close {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        drop(proxy);
        return ExitCode::SUCCESS;
    }
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments() {
        let o = parse(&[
            "--upstream",
            "http://127.0.0.1:1",
            "--port=5",
            "--seed",
            "7",
        ])
        .expect("valid");
        assert_eq!(
            (o.upstream.as_str(), o.port, o.seed, o.exit_on_stdin_close),
            ("http://127.0.0.1:1", 5, 7, false)
        );
        let o =
            parse(&["--upstream=u", "--rules", "r.json", "--exit-on-stdin-close"]).expect("valid");
        assert_eq!(o.rules.as_deref(), Some("r.json"));
        assert!(o.exit_on_stdin_close);
        assert_eq!(o.realistic, None);
        let o = parse(&["--upstream=u", "--realistic", "1500"]).expect("valid");
        assert_eq!(o.realistic, Some(1500));
        let o = parse(&["--upstream=u", "--realistic=20"]).expect("valid");
        assert_eq!(o.realistic, Some(20));
        assert!(parse(&["--upstream=u", "--realistic", "soon"]).is_err());
        assert!(parse(&["--upstream=u", "--realistic"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["--upstream"]).is_err());
        assert!(parse(&["--upstream", "u", "--port", "x"]).is_err());
        assert!(parse(&["--upstream", "u", "--bogus"]).is_err());
        assert_eq!(parse(&["--help"]).err().as_deref(), Some(""));
    }
}
