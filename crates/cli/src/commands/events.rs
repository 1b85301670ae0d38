//! `kmsctl events test env/NAME EVENT.json`: which alert rule a CloudTrail event would fire. The
//! file holds an event as EventBridge delivers it, a CloudTrail record (wrapped in the envelope
//! EventBridge would put around it, with a note), or a CloudTrail log file (each record tested).

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
    let (shape, events) = pattern::delivered_events(&event).map_err(|why| {
        UserError::new(format!(
            "{}: not a CloudTrail event: {why}",
            event_file.display()
        ))
        .help("give an event as EventBridge delivers it, a CloudTrail record, or a CloudTrail log file ({\"Records\": [...]}); samples are in tests/fixtures/cloudtrail/")
    })?;
    match shape {
        pattern::EventShape::Delivered => {}
        pattern::EventShape::Record => eprintln!(
            "{} {} is a CloudTrail record, not an EventBridge event: tested as EventBridge delivers it, wrapped in its envelope (source {}, detail-type {:?}, the record as detail)",
            ctx.err_style.cyan("note:"),
            event_file.display(),
            events[0]["source"].as_str().unwrap_or("?"),
            events[0]["detail-type"].as_str().unwrap_or("?"),
        ),
        pattern::EventShape::Log => eprintln!(
            "{} {} is a CloudTrail log file: each of its {} records tested as EventBridge delivers it, wrapped in its envelope (source aws.SERVICE, detail-type \"AWS API Call via CloudTrail\", the record as detail)",
            ctx.err_style.cyan("note:"),
            event_file.display(),
            events.len()
        ),
    }
    let alerts = alerts.get_ref();
    let table = severity::table(&alerts.severity_overrides());
    for (index, event) in events.iter().enumerate() {
        let prefix = match shape {
            pattern::EventShape::Log => format!("Records[{index}] "),
            _ => String::new(),
        };
        let name = event
            .pointer("/detail/eventName")
            .and_then(|v| v.as_str())
            .unwrap_or("(no eventName)");
        // The rules exactly as plan deploys them, most severe first.
        let fired = prepared
            .monitor
            .alerts
            .iter()
            .flat_map(|a| a.rules.iter().rev())
            .find(|rule| pattern::matches(&rule.pattern, event));
        if let Some(rule) = fired {
            println!(
                "{prefix}{name}: fires {} (severity {}) and publishes to {} ({})",
                rule.name,
                rule.severity.name(),
                alerts.topic.get_ref(),
                file.path.display()
            );
            continue;
        }
        let known = table
            .get(name)
            .map_or("not in the severity table".to_owned(), |s| {
                format!("severity {}", s.name())
            });
        let source = event["source"].as_str().unwrap_or("(no source)");
        let detail_type = event["detail-type"].as_str().unwrap_or("(no detail-type)");
        let why = if source != "aws.kms" {
            format!("{known}; the alert rules match source aws.kms, not {source}")
        } else if detail_type != "AWS API Call via CloudTrail" {
            format!(
                "{known}; the alert rules match \"AWS API Call via CloudTrail\", not {detail_type:?}"
            )
        } else {
            format!(
                "{known}; alerts go out at {} and above",
                alerts.min_severity.name()
            )
        };
        println!("{prefix}{name}: no rule fires ({why})");
    }
    Ok(Exit::Ok)
}
