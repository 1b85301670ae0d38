//! `kmsctl simulate`'s answer, for people and for machines.

use kmsctl_core::policy::eval::Outcome;
use serde_json::json;

use super::style::Style;
use kmsctl_engine::simulate::Answer;

pub fn human(answer: &Answer, style: Style) -> String {
    let mut out = format!("{}\n", answer.headline());
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
    for unmet in &answer.decision.unmet {
        out.push_str(&format!(
            "  {} {}\n",
            unmet.policy,
            style.bold(&format!("{:?}", unmet.statement))
        ));
        for condition in &unmet.conditions {
            out.push_str(&format!("      not applied: {condition}\n"));
        }
    }
    for note in answer.off_path_denials.iter().chain(&answer.notes) {
        out.push_str(&format!("{} {note}\n", style.cyan("note:")));
    }
    if !answer.lint_errors.is_empty() {
        out.push_str(&format!(
            "\n{} these files have lint errors; `kmsctl validate` refuses them. The answer is for the files as written:\n\n",
            style.yellow(&style.bold("warning:"))
        ));
        out.push_str(&super::findings::render(&answer.lint_errors, style));
    }
    out
}

/// What the answer was computed from, in the shape policy simulators take: the request with
/// every context key, and the policies that bear on it (SCP and RCP levels root first;
/// documents in canonical form).
pub fn inputs(answer: &Answer) -> serde_json::Value {
    let policies = &answer.policies;
    let request = &answer.request;
    let named = |p: &kmsctl_core::policy::eval::NamedPolicy| json!({ "name": p.name, "document": p.document.canonical() });
    let levels = |levels: &[(String, Vec<kmsctl_core::policy::eval::NamedPolicy>)]| {
        levels
            .iter()
            .map(|(name, list)| json!({ "level": name, "policies": list.iter().map(named).collect::<Vec<_>>() }))
            .collect::<Vec<_>>()
    };
    let scps = if request.scps_apply(policies.management_account.as_deref()) {
        levels(&policies.scps)
    } else {
        Vec::new()
    };
    json!({
        "principal": request.principal.arn,
        "action": request.action,
        "resource": request.resource,
        "resource_account": request.resource_account,
        "context": request.context_values(),
        "scps": scps,
        "rcps": levels(&policies.rcps),
        "key_policy": policies.key_policy.as_ref().map(|p| p.document.canonical()),
        "identity": policies.identity.iter().map(|p| p.document.canonical()).collect::<Vec<_>>(),
    })
}

pub fn json(
    answer: &Answer,
    expected: Option<&str>,
    met: Option<bool>,
    show_inputs: bool,
) -> String {
    let mut value = json!({
        "principal": answer.principal,
        "principal_ou": answer.principal_ou,
        "action": answer.action,
        "key": answer.key,
        "resource": answer.resource,
        "decision": answer.decision.outcome.name(),
        "why": answer.decision.why,
        "deciding": answer.decision.deciding.iter().map(|d| json!({
            "policy": d.policy,
            "source": d.source.describe(&d.policy),
            "statement": d.statement,
            "why": d.why,
        })).collect::<Vec<_>>(),
        "unmet": answer.decision.unmet.iter().map(|u| json!({
            "policy": u.policy,
            "source": u.source.describe(&u.policy),
            "statement": u.statement,
            "why": u.explain(),
            "conditions": u.conditions.iter().map(|c| json!({
                "operator": c.operator,
                "key": c.key,
                "values": c.values,
                "request": c.request,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "lint_errors": answer.lint_errors,
        "notes": answer.notes,
        "off_path_denials": answer.off_path_denials,
        "expected": expected,
        "met": met,
    });
    if show_inputs {
        value["inputs"] = inputs(answer);
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
