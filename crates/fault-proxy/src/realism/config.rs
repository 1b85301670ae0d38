//! Config: new rules (`Unseen`). `PutConfigRule` creates a rule only if the proxy has not seen the name
//! before (in a `DescribeConfigRules` answer or an earlier put): otherwise it is an update.

use std::time::Instant;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

use super::request::Kind;
use super::resources::{Res, retain_items, str_at};
use super::{Call, State};
use crate::answers;

/// `Unseen`: a read naming a hidden rule answers `NoSuchConfigRuleException`.
pub(super) fn refuse(state: &State, call: &Call<'_>, now: Instant) -> Option<Response<Bytes>> {
    if call.kind() != Kind::Read {
        return None;
    }
    let mut names = call.body.strs("ConfigRuleNames");
    names.extend(call.body.strs("ConfigRuleName"));
    let name = names.into_iter().find(|name| {
        state
            .hidden
            .is_hidden(&call.scope, Res::ConfigRule, name, now)
    })?;
    Some(answers::error(
        "config",
        StatusCode::BAD_REQUEST,
        "NoSuchConfigRuleException",
        &format!(
            "The ConfigRule '{name}' provided in the request is invalid. Please check the configRule name"
        ),
    ))
}

/// Learns rule names; hides a new rule until `until` (when the rule fired).
pub(super) fn track(
    state: &mut State,
    call: &Call<'_>,
    answer: Option<&Value>,
    until: Option<Instant>,
) {
    let scope = &call.scope;
    match call.action {
        "PutConfigRule" => {
            if let Some(name) = call
                .body
                .json()
                .and_then(|b| str_at(b, &["ConfigRule", "ConfigRuleName"]))
            {
                let new = state.known.add(scope, Res::ConfigRule, name);
                if new && let Some(until) = until {
                    state.hidden.hide(scope, Res::ConfigRule, name, until);
                }
            }
        }
        "DeleteConfigRule" => {
            if let Some(name) = call.body.str("ConfigRuleName") {
                state.known.remove(scope, Res::ConfigRule, name);
            }
        }
        "DescribeConfigRules" => {
            for rule in answer
                .and_then(|a| a.get("ConfigRules"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = rule.get("ConfigRuleName").and_then(Value::as_str) {
                    state.known.add(scope, Res::ConfigRule, name);
                }
            }
        }
        _ => {}
    }
}

/// `Unseen`: leaves hidden rules out of `DescribeConfigRules` without names.
pub(super) fn filter(state: &State, call: &Call<'_>, answer: &mut Value, now: Instant) -> usize {
    if call.action != "DescribeConfigRules" || !call.body.strs("ConfigRuleNames").is_empty() {
        return 0;
    }
    retain_items(answer, &["ConfigRules"], |rule| {
        !rule
            .get("ConfigRuleName")
            .and_then(Value::as_str)
            .is_some_and(|name| {
                state
                    .hidden
                    .is_hidden(&call.scope, Res::ConfigRule, name, now)
            })
    })
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
    fn only_new_rules_are_hidden() {
        let mut state = State::default();
        let now = Instant::now();
        let until = Some(now + Duration::from_secs(1));
        let describe_all = call("config:DescribeConfigRules", "{}");
        track(
            &mut state,
            &describe_all,
            Some(&serde_json::json!({"ConfigRules": [{"ConfigRuleName": "old"}]})),
            None,
        );
        for name in ["old", "new"] {
            let put = format!(r#"{{"ConfigRule":{{"ConfigRuleName":"{name}"}}}}"#);
            track(&mut state, &call("config:PutConfigRule", &put), None, until);
        }
        let named = |name: &str| format!(r#"{{"ConfigRuleNames":["{name}"]}}"#);
        let old = named("old");
        assert!(refuse(&state, &call("config:DescribeConfigRules", &old), now).is_none());
        let new = named("new");
        let refusal = refuse(&state, &call("config:DescribeConfigRules", &new), now).unwrap();
        let body: Value = serde_json::from_slice(refusal.body()).unwrap();
        assert_eq!(body["__type"], "NoSuchConfigRuleException");

        let mut all = serde_json::json!({"ConfigRules": [{"ConfigRuleName": "old"}, {"ConfigRuleName": "new"}]});
        assert_eq!(filter(&state, &describe_all, &mut all, now), 1);
        assert_eq!(all["ConfigRules"][0]["ConfigRuleName"], "old");
        let mut all = serde_json::json!({"ConfigRules": [{"ConfigRuleName": "new"}]});
        assert_eq!(
            filter(
                &state,
                &describe_all,
                &mut all,
                now + Duration::from_secs(1)
            ),
            0
        );
    }
}
