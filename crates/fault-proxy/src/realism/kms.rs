//! KMS: new keys and aliases (`Unseen`), key policies naming principals AWS does not know yet
//! (`NewPrincipals`), and what the proxy learns of keys (ARNs, aliases).

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

use super::request::kms_normal;
use super::resources::{Res, retain_items, str_at};
use super::{Call, Scope, State};
use crate::answers;

/// What the proxy knows of keys: their ARNs and the aliases pointing at them.
#[derive(Default)]
pub(crate) struct Keys {
    /// Key id → ARN.
    arns: HashMap<String, String>,
    /// Alias name (`alias/x`) → key id.
    aliases: HashMap<Scope, HashMap<String, String>>,
}

impl Keys {
    /// The ARN of key `id`: as seen in an answer, else as AWS builds it.
    pub fn arn(&self, scope: &Scope, id: &str) -> String {
        self.arns
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("arn:aws:kms:{}:{}:key/{id}", scope.region, scope.account))
    }

    /// The key id that `value` (a key id, key ARN, alias name or alias ARN) names, if known.
    pub fn key_id<'a>(&'a self, scope: &Scope, value: &'a str) -> Option<&'a str> {
        let name = kms_normal(value);
        if name.starts_with("alias/") {
            self.aliases
                .get(scope)
                .and_then(|aliases| aliases.get(name))
                .map(String::as_str)
        } else {
            Some(name)
        }
    }

    fn set_alias(&mut self, scope: &Scope, alias: &str, target: &str) {
        let target = match self.key_id(scope, target) {
            Some(id) => id.to_string(),
            None => return,
        };
        self.aliases
            .entry(scope.clone())
            .or_default()
            .insert(kms_normal(alias).to_string(), target);
    }

    /// Learns key ARNs and aliases from a KMS request and its (successful) answer.
    pub fn learn(&mut self, call: &Call<'_>, answer: Option<&Value>) {
        let mut remember = |key: Option<&Value>, id_field: &str, arn_field: &str| {
            if let Some(key) = key
                && let (Some(id), Some(arn)) = (
                    key.get(id_field).and_then(Value::as_str),
                    key.get(arn_field).and_then(Value::as_str),
                )
            {
                self.arns.insert(id.to_string(), arn.to_string());
            }
        };
        match call.action {
            "CreateKey" | "DescribeKey" => {
                remember(answer.and_then(|a| a.get("KeyMetadata")), "KeyId", "Arn");
            }
            "ListKeys" => {
                for key in answer
                    .and_then(|a| a.get("Keys"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    remember(Some(key), "KeyId", "KeyArn");
                }
            }
            "CreateAlias" | "UpdateAlias" => {
                if let (Some(alias), Some(target)) =
                    (call.body.str("AliasName"), call.body.str("TargetKeyId"))
                {
                    self.set_alias(&call.scope, alias, target);
                }
            }
            "DeleteAlias" => {
                if let Some(alias) = call.body.str("AliasName")
                    && let Some(aliases) = self.aliases.get_mut(&call.scope)
                {
                    aliases.remove(kms_normal(alias));
                }
            }
            "ListAliases" => {
                let listed: Vec<(String, String)> = answer
                    .and_then(|a| a.get("Aliases"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|alias| {
                        Some((
                            alias.get("AliasName")?.as_str()?.to_string(),
                            alias.get("TargetKeyId")?.as_str()?.to_string(),
                        ))
                    })
                    .collect();
                for (alias, target) in listed {
                    self.set_alias(&call.scope, &alias, &target);
                }
            }
            _ => {}
        }
    }
}

/// The fields that name a key (by id, ARN or alias).
const KEY_FIELDS: &[&str] = &["KeyId", "TargetKeyId", "DestinationKeyId", "SourceKeyId"];

/// `Unseen`: a KMS request (read or write, but the create itself) naming a hidden key or alias answers
/// `NotFoundException`.
pub(super) fn refuse(state: &State, call: &Call<'_>, now: Instant) -> Option<Response<Bytes>> {
    if call.action == "CreateKey" {
        return None;
    }
    let scope = &call.scope;
    let mut values: Vec<&str> = KEY_FIELDS
        .iter()
        .flat_map(|field| call.body.strs(field))
        .collect();
    if call.action != "CreateAlias" {
        values.extend(call.body.strs("AliasName"));
    }
    for value in values {
        let name = kms_normal(value);
        if name.starts_with("alias/") && state.hidden.is_hidden(scope, Res::Alias, name, now) {
            let arn = format!("arn:aws:kms:{}:{}:{name}", scope.region, scope.account);
            return Some(not_found(&format!("Alias {arn} is not found.")));
        }
        if let Some(id) = state.keys.key_id(scope, value)
            && state.hidden.is_hidden(scope, Res::Key, id, now)
        {
            let arn = state.keys.arn(scope, id);
            return Some(not_found(&format!("Key '{arn}' does not exist")));
        }
    }
    None
}

fn not_found(message: &str) -> Response<Bytes> {
    answers::error("kms", StatusCode::BAD_REQUEST, "NotFoundException", message)
}

/// `Unseen`: hides what a successful `CreateKey` or `CreateAlias` created, until `until`.
pub(super) fn track(
    state: &mut State,
    call: &Call<'_>,
    answer: Option<&Value>,
    until: Option<Instant>,
) {
    let Some(until) = until else { return };
    match call.action {
        "CreateKey" => {
            if let Some(id) = answer.and_then(|a| str_at(a, &["KeyMetadata", "KeyId"])) {
                state.hidden.hide(&call.scope, Res::Key, id, until);
            }
        }
        "CreateAlias" => {
            if let Some(alias) = call.body.str("AliasName") {
                state
                    .hidden
                    .hide(&call.scope, Res::Alias, kms_normal(alias), until);
            }
        }
        _ => {}
    }
}

/// `Unseen`: leaves hidden keys out of `ListKeys` and hidden aliases out of `ListAliases`.
pub(super) fn filter(state: &State, call: &Call<'_>, answer: &mut Value, now: Instant) -> usize {
    let hidden = |res: Res, item: &Value, field: &str| {
        item.get(field)
            .and_then(Value::as_str)
            .is_some_and(|id| state.hidden.is_hidden(&call.scope, res, id, now))
    };
    match call.action {
        "ListKeys" => retain_items(answer, &["Keys"], |key| !hidden(Res::Key, key, "KeyId")),
        "ListAliases" => retain_items(answer, &["Aliases"], |alias| {
            !hidden(Res::Alias, alias, "AliasName")
        }),
        _ => 0,
    }
}

/// Whether the key policy `policy` (a JSON text) names one of `arns` as a principal.
pub(super) fn names_principal(policy: &str, arns: &[String]) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    };
    let mut principals = Vec::new();
    for statement in statements {
        for field in ["Principal", "NotPrincipal"] {
            if let Some(principal) = statement.get(field) {
                strings(principal, &mut principals);
            }
        }
    }
    principals
        .iter()
        .any(|principal| arns.iter().any(|arn| arn == principal))
}

fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// KMS's answer to a policy naming a principal it does not know (AWS's message for that case, not the
/// lockout safety check's).
pub(super) fn invalid_principals() -> Response<Bytes> {
    answers::error(
        "kms",
        StatusCode::BAD_REQUEST,
        "MalformedPolicyDocumentException",
        "Policy contains a statement with one or more invalid principals.",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call<'a>(op: &'a str, body: &str) -> Call<'a> {
        Call::test("111", op, body)
    }

    #[test]
    fn principals_in_policies() {
        let arns = vec!["arn:aws:iam::1:role/new".to_string()];
        let policy = |principal: Value| {
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*", "Resource": "*"},
                {"Effect": "Allow", "Principal": principal, "Action": "kms:Decrypt", "Resource": "*"}]})
            .to_string()
        };
        assert!(names_principal(
            &policy(serde_json::json!({"AWS": "arn:aws:iam::1:role/new"})),
            &arns
        ));
        assert!(names_principal(
            &policy(
                serde_json::json!({"AWS": ["arn:aws:iam::1:role/x", "arn:aws:iam::1:role/new"]})
            ),
            &arns
        ));
        assert!(!names_principal(
            &policy(serde_json::json!({"AWS": "arn:aws:iam::1:role/newer"})),
            &arns
        ));
        assert!(!names_principal(&policy(serde_json::json!("*")), &arns));
        let single =
            r#"{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::1:role/new"}}}"#;
        assert!(names_principal(single, &arns));
        assert!(!names_principal("not json", &arns));
        let r = invalid_principals();
        assert_eq!(r.status(), 400);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["__type"], "MalformedPolicyDocumentException");
        assert_eq!(
            body["message"],
            "Policy contains a statement with one or more invalid principals."
        );
    }

    #[test]
    fn hidden_keys_and_aliases() {
        let mut state = State::default();
        let now = Instant::now();
        let until = Some(now + Duration::from_secs(1));
        let create = call("kms:CreateKey", "{}");
        let answer = serde_json::json!({"KeyMetadata": {"KeyId": "k1", "Arn": "arn:aws:kms:us-east-1:111:key/k1"}});
        state.keys.learn(&create, Some(&answer));
        track(&mut state, &create, Some(&answer), until);

        for body in [
            r#"{"KeyId":"k1"}"#,
            r#"{"KeyId":"arn:aws:kms:us-east-1:111:key/k1"}"#,
        ] {
            let refusal = refuse(&state, &call("kms:DescribeKey", body), now).unwrap();
            let message: Value = serde_json::from_slice(refusal.body()).unwrap();
            assert_eq!(message["__type"], "NotFoundException");
            assert_eq!(
                message["message"],
                "Key 'arn:aws:kms:us-east-1:111:key/k1' does not exist"
            );
        }
        let rotation = call("kms:EnableKeyRotation", r#"{"KeyId":"k1"}"#);
        assert!(refuse(&state, &rotation, now).is_some(), "writes too");
        let alias = call(
            "kms:CreateAlias",
            r#"{"AliasName":"alias/a","TargetKeyId":"k1"}"#,
        );
        assert!(refuse(&state, &alias, now).is_some(), "alias to a new key");
        assert!(refuse(&state, &call("kms:DescribeKey", r#"{"KeyId":"k2"}"#), now).is_none());
        assert!(refuse(&state, &create, now).is_none());
        let later = now + Duration::from_secs(1);
        assert!(
            refuse(&state, &rotation, later).is_none(),
            "the window ends"
        );

        // An alias created on an older key is hidden itself.
        let alias = call(
            "kms:CreateAlias",
            r#"{"AliasName":"alias/b","TargetKeyId":"k2"}"#,
        );
        state.keys.learn(&alias, None);
        track(&mut state, &alias, None, until);
        assert!(
            refuse(&state, &alias, now).is_none(),
            "the create itself passes"
        );
        let by_alias = call("kms:DescribeKey", r#"{"KeyId":"alias/b"}"#);
        let refusal = refuse(&state, &by_alias, now).unwrap();
        let message: Value = serde_json::from_slice(refusal.body()).unwrap();
        assert_eq!(
            message["message"],
            "Alias arn:aws:kms:us-east-1:111:alias/b is not found."
        );

        let mut keys = serde_json::json!({"Keys": [{"KeyId": "k0"}, {"KeyId": "k1"}]});
        assert_eq!(
            filter(&state, &call("kms:ListKeys", "{}"), &mut keys, now),
            1
        );
        assert_eq!(keys, serde_json::json!({"Keys": [{"KeyId": "k0"}]}));
        let mut aliases =
            serde_json::json!({"Aliases": [{"AliasName": "alias/b"}, {"AliasName": "alias/c"}]});
        assert_eq!(
            filter(&state, &call("kms:ListAliases", "{}"), &mut aliases, now),
            1
        );
        assert_eq!(aliases["Aliases"][0]["AliasName"], "alias/c");
    }
}
