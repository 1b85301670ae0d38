//! `kmsctl events test env/NAME EVENT.json`: which alert rule a CloudTrail event would fire.

use std::path::Path;

use kmsctl_monitor::{pattern, severity};

use super::Context;
use crate::error::{Result, UserError};
use crate::exit::Exit;
use kmsctl_engine::prepare::prepare;

pub fn test(ctx: &Context, target: &str, event_file: &Path) -> Result<Exit> {
    let prepared = prepare(ctx, target)?;
    let env = &prepared.env;
    let Some((file, alerts)) = &env.monitor.alerts else {
        return Err(
            UserError::new(format!("env/{} declares no [alerts]", env.settings.name)).help(
                "declare [alerts] with a topic and min_severity in the environment's monitor.toml",
            ),
        );
    };
    // An event file is given on the command line: anywhere, but a regular file of sane size.
    let text = kmsctl_core::project_files::read_text_outside_project(
        event_file,
        kmsctl_core::project_files::POLICY,
    )
    .map_err(|e| kmsctl_engine::project::file_error(&e))?;
    let event: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UserError::new(format!(
            "{}:{}:{}: not a JSON event: {e}",
            event_file.display(),
            e.line(),
            e.column()
        ))
    })?;
    let alerts = alerts.get_ref();
    let table = severity::table(&alerts.severity);
    let name = event
        .pointer("/detail/eventName")
        .and_then(|v| v.as_str())
        .unwrap_or("(no eventName)");
    // The rules exactly as plan deploys them, most severe first.
    let rules = prepared
        .monitor
        .alerts
        .iter()
        .flat_map(|a| a.rules.iter().rev());
    for rule in rules {
        if pattern::matches(&rule.pattern, &event) {
            println!(
                "{name}: fires {} (severity {}) and publishes to {} ({})",
                rule.name,
                rule.severity.name(),
                alerts.topic.get_ref(),
                file.path.display()
            );
            return Ok(Exit::Ok);
        }
    }
    let known = table
        .get(name)
        .map_or("not in the severity table".to_owned(), |s| {
            format!("severity {}", s.name())
        });
    println!(
        "{name}: no rule fires ({known}; alerts go out at {} and above)",
        alerts.min_severity.name()
    );
    Ok(Exit::Ok)
}
