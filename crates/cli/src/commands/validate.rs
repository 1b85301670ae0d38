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
    let nothing = if policies.is_empty() {
        " (nothing is attached: list policy names per target under [service_control_policies] or [resource_control_policies])"
    } else {
        ""
    };
    println!(
        "{} organization: {} policies{}{nothing}.",
        ctx.style.green(&ctx.style.bold("Valid.")),
        policies.len(),
        expectations(held)
    );
    if !policies.is_empty() {
        print!("{}", sizes_table(&policies));
    }
    Ok(Exit::Ok)
}

/// The policies and their sizes, one aligned row each under a header: the size AWS counts (as
/// uploaded, minified) against its limit, and the size of the file as written.
fn sizes_table(policies: &[kmsctl_org::guards::RenderedPolicy]) -> String {
    let limit = kmsctl_core::limits::MAX_ORG_POLICY_CHARS;
    let mut rows = vec![[
        "type".to_owned(),
        "policy".to_owned(),
        "characters as uploaded".to_owned(),
        "as written".to_owned(),
    ]];
    rows.extend(policies.iter().map(|policy| {
        let uploaded = kmsctl_org::minify::size(&policy.minified);
        [
            policy.kind.api_name().to_owned(),
            policy.name.clone(),
            format!("{uploaded} of {limit}"),
            policy.written_size.to_string(),
        ]
    }));
    aligned(&rows, [false, false, true, true])
}

/// Rows as columns two spaces apart, indented by two: text left-aligned, numbers (`right`)
/// right-aligned, each column as wide as its widest cell.
fn aligned<const N: usize>(rows: &[[String; N]], right: [bool; N]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .zip(right)
            .map(|((cell, width), right)| {
                if right {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// ", 9 expectation(s) hold" when there are boundary tests.
fn expectations(held: usize) -> String {
    if held == 0 {
        String::new()
    } else {
        format!(", {held} expectation(s) hold")
    }
}

#[cfg(test)]
mod tests {
    use super::aligned;

    #[test]
    fn columns_align_whatever_the_widths() {
        let row = |a: &str, b: &str, n: &str| [a.to_owned(), b.to_owned(), n.to_owned()];
        let table = aligned(
            &[
                row("type", "policy", "size"),
                row(
                    "SERVICE_CONTROL_POLICY",
                    "a_name_longer_than_twenty_four",
                    "5",
                ),
                row("RESOURCE_CONTROL_POLICY", "b", "1000"),
            ],
            [false, false, true],
        );
        assert_eq!(
            table,
            "  type                     policy                          size\n  \
             SERVICE_CONTROL_POLICY   a_name_longer_than_twenty_four     5\n  \
             RESOURCE_CONTROL_POLICY  b                               1000\n"
        );
    }
}
