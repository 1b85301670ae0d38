//! `kmsctl simulate`'s answer, for people and for machines.

use kmsctl_core::policy::eval::Outcome;
use serde_json::json;

use super::style::Style;
use crate::simulate::Answer;

pub fn human(answer: &Answer, style: Style) -> String {
    let mut out = format!(
        "{} by {}{} on {}\n",
        answer.action,
        answer.principal,
        answer
            .principal_ou
            .as_ref()
            .map_or_else(String::new, |ou| format!(" ({ou})")),
        answer.key.as_deref().unwrap_or(&answer.resource),
    );
    let outcome = answer.decision.outcome.name();
    let painted = match answer.decision.outcome {
        Outcome::Allowed => style.green(&style.bold(outcome)),
        Outcome::ImplicitlyDenied => style.yellow(&style.bold(outcome)),
        Outcome::ExplicitlyDenied => style.red(&style.bold(outcome)),
    };
    out.push_str(&format!("{painted}: {}\n", answer.decision.why));
    for decider in &answer.decision.deciding {
        out.push_str(&format!(
            "  {} {}\n      {}\n",
            decider.policy,
            style.bold(&format!("{:?}", decider.statement)),
            decider.why
        ));
    }
    for note in &answer.notes {
        out.push_str(&format!("{} {note}\n", style.cyan("note:")));
    }
    out
}

pub fn json(answer: &Answer, expected: Option<&str>, met: Option<bool>) -> String {
    let value = json!({
        "principal": answer.principal,
        "principal_ou": answer.principal_ou,
        "action": answer.action,
        "key": answer.key,
        "resource": answer.resource,
        "decision": answer.decision.outcome.name(),
        "why": answer.decision.why,
        "deciding": answer.decision.deciding.iter().map(|d| json!({
            "policy": d.policy,
            "statement": d.statement,
            "why": d.why,
        })).collect::<Vec<_>>(),
        "notes": answer.notes,
        "expected": expected,
        "met": met,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
