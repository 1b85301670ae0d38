//! EventBridge: new rules and targets (`Unseen`). `PutRule` creates a rule, and `PutTargets` a target,
//! only if the proxy has not seen it before (in a list or describe answer, or an earlier put).

use std::time::Instant;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

use super::request::{Kind, event_bus, event_rule};
use super::resources::{Res, retain_items};
use super::{Call, State};
use crate::answers;

fn target_id(bus: &str, rule: &str, id: &str) -> String {
    format!("{bus}|{rule}|{id}")
}

/// `Unseen`: `DescribeRule` or `ListTargetsByRule` of a hidden rule answers `ResourceNotFoundException`.
pub(super) fn refuse(state: &State, call: &Call<'_>, now: Instant) -> Option<Response<Bytes>> {
    if call.kind() != Kind::Read {
        return None;
    }
    let name = call.body.str("Name").or_else(|| call.body.str("Rule"))?;
    let bus = event_bus(&call.body);
    state
        .hidden
        .is_hidden(&call.scope, Res::Rule, &event_rule(bus, name), now)
        .then(|| {
            answers::error(
                "events",
                StatusCode::BAD_REQUEST,
                "ResourceNotFoundException",
                &format!("Rule {name} does not exist on EventBus {bus}."),
            )
        })
}

/// Learns rules and targets; hides new ones until `until` (when the rule fired).
pub(super) fn track(
    state: &mut State,
    call: &Call<'_>,
    answer: Option<&Value>,
    until: Option<Instant>,
) {
    let scope = &call.scope;
    let bus = event_bus(&call.body);
    let items = |field: &str| {
        answer
            .and_then(|a| a.get(field))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    match call.action {
        "PutRule" => {
            if let Some(name) = call.body.str("Name") {
                let id = event_rule(bus, name);
                if state.known.add(scope, Res::Rule, &id)
                    && let Some(until) = until
                {
                    state.hidden.hide(scope, Res::Rule, &id, until);
                }
            }
        }
        "PutTargets" => {
            let Some(rule) = call.body.str("Rule") else {
                return;
            };
            let failed: Vec<String> = items("FailedEntries")
                .iter()
                .filter_map(|f| f.get("TargetId")?.as_str().map(str::to_string))
                .collect();
            let targets = call
                .body
                .json()
                .and_then(|b| b.get("Targets"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for target in &targets {
                let Some(id) = target.get("Id").and_then(Value::as_str) else {
                    continue;
                };
                if failed.iter().any(|f| f == id) {
                    continue;
                }
                let id = target_id(bus, rule, id);
                if state.known.add(scope, Res::Target, &id)
                    && let Some(until) = until
                {
                    state.hidden.hide(scope, Res::Target, &id, until);
                }
            }
        }
        "DeleteRule" => {
            if let Some(name) = call.body.str("Name") {
                state.known.remove(scope, Res::Rule, &event_rule(bus, name));
            }
        }
        "RemoveTargets" => {
            if let Some(rule) = call.body.str("Rule") {
                for id in call.body.strs("Ids") {
                    state
                        .known
                        .remove(scope, Res::Target, &target_id(bus, rule, id));
                }
            }
        }
        "ListRules" => {
            for rule in items("Rules") {
                if let Some(name) = rule.get("Name").and_then(Value::as_str) {
                    let rule_bus = rule
                        .get("EventBusName")
                        .and_then(Value::as_str)
                        .unwrap_or(bus);
                    state
                        .known
                        .add(scope, Res::Rule, &event_rule(rule_bus, name));
                }
            }
        }
        "DescribeRule" => {
            if let Some(name) = answer.and_then(|a| a.get("Name")).and_then(Value::as_str) {
                state.known.add(scope, Res::Rule, &event_rule(bus, name));
            }
        }
        "ListTargetsByRule" => {
            if let Some(rule) = call.body.str("Rule") {
                for target in items("Targets") {
                    if let Some(id) = target.get("Id").and_then(Value::as_str) {
                        state
                            .known
                            .add(scope, Res::Target, &target_id(bus, rule, id));
                    }
                }
            }
        }
        _ => {}
    }
}

/// `Unseen`: leaves hidden rules out of `ListRules` and hidden targets out of `ListTargetsByRule`.
pub(super) fn filter(state: &State, call: &Call<'_>, answer: &mut Value, now: Instant) -> usize {
    let bus = event_bus(&call.body);
    let hidden = |res: Res, id: &str| state.hidden.is_hidden(&call.scope, res, id, now);
    match call.action {
        "ListRules" => retain_items(answer, &["Rules"], |rule| {
            let name = rule.get("Name").and_then(Value::as_str).unwrap_or_default();
            let rule_bus = rule
                .get("EventBusName")
                .and_then(Value::as_str)
                .unwrap_or(bus);
            !hidden(Res::Rule, &event_rule(rule_bus, name))
        }),
        "ListTargetsByRule" => {
            let rule = call.body.str("Rule").unwrap_or_default();
            retain_items(answer, &["Targets"], |target| {
                let id = target.get("Id").and_then(Value::as_str).unwrap_or_default();
                !hidden(Res::Target, &target_id(bus, rule, id))
            })
        }
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call<'a>(op: &'a str, body: &str) -> Call<'a> {
        Call::test("1", op, body)
    }

    #[test]
    fn new_rules_and_targets_are_hidden() {
        let mut state = State::default();
        let now = Instant::now();
        let until = Some(now + Duration::from_secs(1));
        let list = call("events:ListRules", "{}");
        track(
            &mut state,
            &list,
            Some(&serde_json::json!({"Rules": [{"Name": "old", "EventBusName": "default"}]})),
            None,
        );
        track(
            &mut state,
            &call("events:PutRule", r#"{"Name":"old"}"#),
            None,
            until,
        );
        track(
            &mut state,
            &call("events:PutRule", r#"{"Name":"new"}"#),
            None,
            until,
        );
        let put_targets = call(
            "events:PutTargets",
            r#"{"Rule":"old","Targets":[{"Id":"t1","Arn":"a"},{"Id":"t2","Arn":"b"}]}"#,
        );
        track(
            &mut state,
            &put_targets,
            Some(
                &serde_json::json!({"FailedEntryCount": 1, "FailedEntries": [{"TargetId": "t2"}]}),
            ),
            until,
        );

        let describe = |name: &str| format!(r#"{{"Name":"{name}"}}"#);
        let old = describe("old");
        assert!(refuse(&state, &call("events:DescribeRule", &old), now).is_none());
        let new = describe("new");
        let refusal = refuse(&state, &call("events:DescribeRule", &new), now).unwrap();
        let body: Value = serde_json::from_slice(refusal.body()).unwrap();
        assert_eq!(body["__type"], "ResourceNotFoundException");
        assert_eq!(
            body["message"],
            "Rule new does not exist on EventBus default."
        );
        let put_again = call("events:PutRule", &new);
        assert!(refuse(&state, &put_again, now).is_none(), "writes pass");

        let mut rules = serde_json::json!({"Rules": [{"Name": "old"}, {"Name": "new", "EventBusName": "default"}]});
        assert_eq!(filter(&state, &list, &mut rules, now), 1);
        assert_eq!(rules["Rules"][0]["Name"], "old");
        let by_rule = call("events:ListTargetsByRule", r#"{"Rule":"old"}"#);
        let mut targets =
            serde_json::json!({"Targets": [{"Id": "t1"}, {"Id": "t2"}, {"Id": "t0"}]});
        assert_eq!(filter(&state, &by_rule, &mut targets, now), 1);
        assert_eq!(
            targets,
            serde_json::json!({"Targets": [{"Id": "t2"}, {"Id": "t0"}]}),
            "t2 failed, so it was not created"
        );
        let mut targets = serde_json::json!({"Targets": [{"Id": "t1"}]});
        assert_eq!(
            filter(&state, &by_rule, &mut targets, now + Duration::from_secs(1)),
            0
        );
    }
}
