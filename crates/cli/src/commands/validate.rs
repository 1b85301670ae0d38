//! `kmsctl validate TARGET`: files and guards, offline. No AWS call is made.

use kmsctl_core::Severity;

use super::Context;
use crate::error::Result;
use crate::exit::Exit;
use crate::render::findings;
use kmsctl_engine::prepare::prepare;

pub fn run(ctx: &Context, target: &str) -> Result<Exit> {
    if target == "organization" {
        return organization(ctx);
    }
    let prepared = prepare(ctx, target)?;
    let errors = findings::count(&prepared.findings, Severity::Error);
    let warnings = findings::count(&prepared.findings, Severity::Warning);
    eprint!("{}", findings::render(&prepared.findings, ctx.err_style));
    let label = format!("env/{}", prepared.env.settings.name);
    if errors > 0 {
        eprintln!(
            "{} {label}: {errors} error(s), {warnings} warning(s) found by the guards.",
            ctx.err_style.red(&ctx.err_style.bold("Refused."))
        );
        return Ok(Exit::Refused);
    }
    let monitor = &prepared.monitor;
    let mut monitoring = String::new();
    if !monitor.rules.is_empty() {
        monitoring.push_str(&format!(", {} config rule(s)", monitor.rules.len()));
    }
    if let Some(alerts) = &monitor.alerts {
        monitoring.push_str(&format!(
            ", {} alert rule(s) to {}",
            alerts.rules.len(),
            alerts.topic_name
        ));
    }
    println!(
        "{} {label}: {} key(s){monitoring}{}, {} file(s), {warnings} warning(s).",
        ctx.style.green(&ctx.style.bold("Valid.")),
        prepared.keys.len(),
        expectations(prepared.expectations_held),
        prepared.env.files.len()
    );
    Ok(Exit::Ok)
}

/// `kmsctl validate organization`: organization.toml and the policies it attaches, offline.
fn organization(ctx: &Context) -> Result<Exit> {
    let (file, org) = kmsctl_engine::config::organization::load(ctx)?;
    let (policies, mut found) = kmsctl_engine::organization::offline_check(ctx, &file, &org);
    let mut held = 0;
    if !found.iter().any(kmsctl_core::Finding::is_error) {
        let checked = kmsctl_engine::organization::check_expectations(ctx, &file, &org, &policies)?;
        held = checked.held;
        found.extend(checked.findings);
    }
    eprint!("{}", findings::render(&found, ctx.err_style));
    let errors = findings::count(&found, Severity::Error);
    if errors > 0 {
        eprintln!(
            "{} organization: {errors} error(s) found by the guards.",
            ctx.err_style.red(&ctx.err_style.bold("Refused."))
        );
        return Ok(Exit::Refused);
    }
    println!(
        "{} organization: {} policies{}.",
        ctx.style.green(&ctx.style.bold("Valid.")),
        policies.len(),
        expectations(held)
    );
    for policy in &policies {
        println!(
            "  {:<24} {:<24} {:>5} characters as uploaded ({} as written)",
            policy.kind.api_name(),
            policy.name,
            kmsctl_org::minify::size(&policy.minified),
            policy.written_size
        );
    }
    Ok(Exit::Ok)
}

/// ", 9 expectation(s) hold" when there are boundary tests.
fn expectations(held: usize) -> String {
    if held == 0 {
        String::new()
    } else {
        format!(", {held} expectation(s) hold")
    }
}
