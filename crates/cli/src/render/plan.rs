//! The human plan, Terraform style: `+` create, `~` update, `-` delete, a summary line, and
//! "No changes." when there is nothing to do.

use std::fmt::Write;

use kmsctl_core::plan::Summary;
use kmsctl_core::{Action, AttributeChange, NoteLevel, Plan, ResourceChange};
use serde_json::Value;

use super::findings;
use super::style::Style;

pub struct Options {
    pub style: Style,
    pub verbose: bool,
}

pub fn render(plan: &Plan, options: &Options) -> String {
    let style = options.style;
    let mut out = String::new();
    let target = &plan.target;
    let _ = writeln!(
        out,
        "{} (account {}, {})\n",
        style.bold(&format!("Plan for {}", target.label())),
        target.account_id,
        target.region
    );
    if plan.changes.is_empty() {
        let _ = writeln!(
            out,
            "{} {} matches its configuration.",
            style.green(&style.bold("No changes.")),
            target.label()
        );
    } else {
        out.push_str("kmsctl will perform the following actions:\n\n");
        for change in &plan.changes {
            render_change(change, style, &mut out);
        }
        let _ = writeln!(out, "{}", style.bold(&summary_line(&plan.summary())));
        render_destructive(plan, style, &mut out);
    }
    render_notes(plan, options, &mut out);
    if !plan.warnings.is_empty() {
        out.push('\n');
        out.push_str(&findings::render(&plan.warnings, style));
    }
    out
}

pub fn summary_line(summary: &Summary) -> String {
    let mut line = format!(
        "Plan: {} to add, {} to change, {} to destroy",
        summary.add, summary.change, summary.destroy
    );
    if summary.adopt > 0 {
        let _ = write!(line, ", {} to adopt", summary.adopt);
    }
    line.push('.');
    line
}

/// Destructive calls named for what they do, from the calls themselves: an `update` that
/// disables a key says so.
fn render_destructive(plan: &Plan, style: Style, out: &mut String) {
    let destructive = plan.destructive();
    if destructive.is_empty() {
        return;
    }
    let listed: Vec<String> = destructive
        .iter()
        .map(|(verb, address)| format!("{verb} {address}"))
        .collect();
    let _ = writeln!(
        out,
        "{} {}",
        style.red(&style.bold("Destructive:")),
        listed.join("; ")
    );
}

fn symbol(action: Action, style: Style) -> String {
    match action {
        Action::Create => style.green("+"),
        Action::Update | Action::CancelDeletion => style.yellow("~"),
        Action::Adopt => style.cyan("<="),
        Action::Delete | Action::ScheduleDeletion => style.red("-"),
    }
}

fn render_change(change: &ResourceChange, style: Style, out: &mut String) {
    let _ = writeln!(
        out,
        "  {}",
        style.bold(&format!(
            "# {} {}",
            change.address,
            change.action.describe()
        ))
    );
    let _ = writeln!(
        out,
        "  {} {} {{",
        symbol(change.action, style),
        change.address
    );
    let width = change
        .attributes
        .iter()
        .filter(|a| !is_list_change(a))
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    for attribute in &change.attributes {
        render_attribute(attribute, width, style, out);
    }
    let _ = writeln!(out, "    }}\n");
}

fn is_list_change(attribute: &AttributeChange) -> bool {
    matches!(attribute.before, Some(Value::Array(_)))
        || matches!(attribute.after, Some(Value::Array(_)))
}

fn render_attribute(attribute: &AttributeChange, width: usize, style: Style, out: &mut String) {
    let name = &attribute.name;
    if is_list_change(attribute) {
        let _ = writeln!(out, "      {} {name}", style.yellow("~"));
        for (sign, value) in [("-", &attribute.before), ("+", &attribute.after)] {
            let items = match value {
                Some(Value::Array(items)) => items.clone(),
                Some(other) => vec![other.clone()],
                None => vec![],
            };
            for item in items {
                let painted = if sign == "-" {
                    style.red(sign)
                } else {
                    style.green(sign)
                };
                let _ = writeln!(out, "          {painted} {}", show(&item));
            }
        }
        return;
    }
    let line = match (
        &attribute.before,
        &attribute.after,
        attribute.known_after_apply,
    ) {
        (None, _, true) => format!("{} {name:<width$} = (known after apply)", style.green("+")),
        (Some(before), _, true) => format!(
            "{} {name:<width$} = {} -> (known after apply)",
            style.yellow("~"),
            show(before)
        ),
        (None, Some(after), false) => {
            format!("{} {name:<width$} = {}", style.green("+"), show(after))
        }
        (Some(before), None, false) => {
            format!("{} {name:<width$} = {}", style.red("-"), show(before))
        }
        (Some(before), Some(after), false) => {
            format!(
                "{} {name:<width$} = {} -> {}",
                style.yellow("~"),
                show(before),
                show(after)
            )
        }
        (None, None, false) => format!("  {name}"),
    };
    let _ = writeln!(out, "      {line}");
}

fn show(value: &Value) -> String {
    match value {
        Value::String(text) if text.contains('\n') => format!("<<EOT\n{text}\nEOT"),
        other => other.to_string(),
    }
}

fn render_notes(plan: &Plan, options: &Options, out: &mut String) {
    let shown: Vec<_> = plan
        .notes
        .iter()
        .filter(|n| options.verbose || n.level != NoteLevel::Verbose)
        .collect();
    if shown.is_empty() {
        return;
    }
    out.push('\n');
    for note in shown {
        let label = match note.level {
            NoteLevel::Warning => options.style.yellow("Warning:"),
            NoteLevel::Info => options.style.cyan("Note:"),
            NoteLevel::Verbose => "Detail:".to_owned(),
        };
        match &note.address {
            Some(address) => {
                let _ = writeln!(out, "{label} {address}: {}", note.message);
            }
            None => {
                let _ = writeln!(out, "{label} {}", note.message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use kmsctl_core::plan::PLAN_FORMAT_VERSION;
    use kmsctl_core::{Address, Note, Target};
    use serde_json::json;

    use super::*;

    fn change(
        kind: &str,
        name: &str,
        action: Action,
        attributes: Vec<AttributeChange>,
    ) -> ResourceChange {
        ResourceChange {
            address: Address::new(kind, name),
            action,
            attributes,
            depends_on: vec![],
            operations: vec![],
            source: None,
        }
    }

    fn plan(changes: Vec<ResourceChange>) -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            kmsctl_version: "0.1.0".into(),
            created_at: "2026-11-28T20:00:00Z".into(),
            target: Target {
                kind: "environment".into(),
                name: "prod".into(),
                path: "environments/prod".into(),
                account_id: "222222222222".into(),
                region: "us-east-1".into(),
                assume_role_arn: None,
            },
            changes,
            scope: Default::default(),
            observed: vec![],
            notes: vec![
                Note::new(
                    NoteLevel::Warning,
                    None,
                    "orphaned key k-9 (kmsctl:id prod/x/y/z) is managed by this environment but no file declares it",
                ),
                Note::new(
                    NoteLevel::Verbose,
                    Some(Address::new("kms_key_rotation", "db-payments-encryption")),
                    "period unknown",
                ),
            ],
            warnings: vec![],
            inputs: Default::default(),
            sensitive: vec![],
            planned_by: None,
        }
    }

    #[test]
    fn every_kind_of_change() {
        let changes = vec![
            change(
                "kms_key",
                "app-orders-signing",
                Action::Create,
                vec![
                    AttributeChange::after_apply("arn"),
                    AttributeChange::added("alias", "alias/prod-app-orders-signing"),
                    AttributeChange::added("multi_region", false),
                ],
            ),
            change(
                "kms_key_policy",
                "db-payments-encryption",
                Action::Update,
                vec![AttributeChange::new(
                    "statement \"Allow DB Admin Role to Use the Key\": Action",
                    Some(json!(["kms:Decrypt"])),
                    Some(json!(["kms:Decrypt*"])),
                )],
            ),
            change(
                "kms_key",
                "db-payments-encryption",
                Action::Update,
                vec![
                    AttributeChange::new(
                        "tags.Owner",
                        Some(json!("DBA")),
                        Some(json!("Payments Team")),
                    ),
                    AttributeChange::new("tags.Temp", Some(json!("x")), None),
                ],
            ),
            change(
                "kms_key",
                "old-payments-encryption",
                Action::ScheduleDeletion,
                vec![AttributeChange::new(
                    "state",
                    Some(json!("Enabled")),
                    Some(json!("PendingDeletion")),
                )],
            ),
        ];
        // What the calls do names the destructive ones, whatever a change's label says.
        let mut changes = changes;
        use kmsctl_core::Operation;
        use kmsctl_keys::ops::KeyOp;
        changes[2].operations = vec![
            Operation::encode(&KeyOp::UntagResource {
                key_id: "k-1".to_owned().into(),
                tag_keys: vec!["Temp".into()],
            }),
            Operation::encode(&KeyOp::DisableKey {
                key_id: "k-1".to_owned().into(),
            }),
        ];
        changes[3].operations = vec![Operation::encode(&KeyOp::ScheduleKeyDeletion {
            key_id: "k-2".to_owned().into(),
            pending_window_in_days: 30,
        })];
        let options = Options {
            style: Style { color: false },
            verbose: false,
        };
        insta::assert_snapshot!(render(&plan(changes), &options));
    }

    #[test]
    fn no_changes_and_verbose_notes() {
        let options = Options {
            style: Style { color: false },
            verbose: true,
        };
        insta::assert_snapshot!(render(&plan(vec![]), &options));
    }
}
