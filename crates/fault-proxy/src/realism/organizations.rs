//! Organizations: new policies and attachments (`Unseen`), policy types that take a while to enable
//! (`PendingEnable`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

use super::request::Kind;
use super::resources::{Res, retain_items, str_at};
use super::{Call, Scope, State};
use crate::answers;

const PENDING: &str = "PENDING_ENABLE";

/// Policy types, learned from answers, and the types being enabled.
#[derive(Default)]
pub(crate) struct Org {
    /// Policy id → policy type.
    types: HashMap<String, String>,
    /// Policy type → the end of its `PENDING_ENABLE`.
    pending: HashMap<Scope, HashMap<String, Instant>>,
}

impl Org {
    /// Learns policy types from `CreatePolicy`, `DescribePolicy`, `UpdatePolicy`, `ListPolicies` and
    /// `ListPoliciesForTarget` answers.
    pub fn learn_types(&mut self, answer: Option<&Value>) {
        let Some(answer) = answer else { return };
        let mut learn = |summary: &Value| {
            if let (Some(id), Some(kind)) = (
                summary.get("Id").and_then(Value::as_str),
                summary.get("Type").and_then(Value::as_str),
            ) {
                self.types.insert(id.to_string(), kind.to_string());
            }
        };
        if let Some(summary) = answer.get("Policy").and_then(|p| p.get("PolicySummary")) {
            learn(summary);
        }
        if let Some(Value::Array(policies)) = answer.get("Policies") {
            policies.iter().for_each(&mut learn);
        }
    }

    fn pending_types(&self, scope: &Scope, now: Instant) -> Vec<&str> {
        self.pending
            .get(scope)
            .into_iter()
            .flatten()
            .filter(|(_, until)| now < **until)
            .map(|(kind, _)| kind.as_str())
            .collect()
    }

    /// `PendingEnable`: an `AttachPolicy` of a policy whose type is pending (or of unknown type while any
    /// type is pending) answers `PolicyTypeNotEnabledException`.
    pub fn refuse_attach(&self, call: &Call<'_>, now: Instant) -> Option<Response<Bytes>> {
        let pending = self.pending_types(&call.scope, now);
        if pending.is_empty() {
            return None;
        }
        let refused = match call.body.str("PolicyId").and_then(|id| self.types.get(id)) {
            Some(kind) => pending.contains(&kind.as_str()),
            None => true,
        };
        refused.then(|| {
            answers::error(
                "organizations",
                StatusCode::BAD_REQUEST,
                "PolicyTypeNotEnabledException",
                "The specified policy type isn't currently enabled in this root. You can't attach policies \
                 of the specified type to entities in a root until you enable that type in the root.",
            )
        })
    }

    /// `PendingEnable` after a successful answer: starts the pending window of an `EnablePolicyType`
    /// (`pending_ms`: the rule fired), ends it on `DisablePolicyType`, and shows pending types as
    /// `PENDING_ENABLE` in the `EnablePolicyType` and `ListRoots` answers. True if `answer` changed.
    pub fn after(
        &mut self,
        call: &Call<'_>,
        pending_ms: Option<u64>,
        answer: &mut Value,
        now: Instant,
    ) -> bool {
        let kind = call.body.str("PolicyType");
        match call.action {
            "EnablePolicyType" => {
                if let (Some(ms), Some(kind)) = (pending_ms, kind) {
                    self.pending
                        .entry(call.scope.clone())
                        .or_default()
                        .insert(kind.to_string(), now + Duration::from_millis(ms));
                }
                let pending: Vec<String> = self
                    .pending_types(&call.scope, now)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                match answer.get_mut("Root") {
                    Some(root) => set_pending(root, &pending),
                    None => false,
                }
            }
            "DisablePolicyType" => {
                if let (Some(kind), Some(pending)) = (kind, self.pending.get_mut(&call.scope)) {
                    pending.remove(kind);
                }
                false
            }
            "ListRoots" => {
                let pending: Vec<String> = self
                    .pending_types(&call.scope, now)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                if pending.is_empty() {
                    return false;
                }
                let mut changed = false;
                if let Some(Value::Array(roots)) = answer.get_mut("Roots") {
                    for root in roots {
                        changed |= set_pending(root, &pending);
                    }
                }
                changed
            }
            _ => false,
        }
    }
}

/// Shows each of `kinds` as `PENDING_ENABLE` in `root.PolicyTypes`. True if something changed.
fn set_pending(root: &mut Value, kinds: &[String]) -> bool {
    let Some(root) = root.as_object_mut() else {
        return false;
    };
    if kinds.is_empty() {
        return false;
    }
    let types = root
        .entry("PolicyTypes")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(types) = types else {
        return false;
    };
    let mut changed = false;
    for kind in kinds {
        match types
            .iter_mut()
            .find(|t| t.get("Type").and_then(Value::as_str) == Some(kind))
        {
            Some(entry) => {
                if entry.get("Status").and_then(Value::as_str) != Some(PENDING) {
                    entry["Status"] = Value::from(PENDING);
                    changed = true;
                }
            }
            None => {
                types.push(serde_json::json!({"Type": kind, "Status": PENDING}));
                changed = true;
            }
        }
    }
    changed
}

/// `Unseen`: a read naming a hidden policy answers `PolicyNotFoundException`.
pub(super) fn refuse(state: &State, call: &Call<'_>, now: Instant) -> Option<Response<Bytes>> {
    if call.kind() != Kind::Read {
        return None;
    }
    let id = call.body.str("PolicyId")?;
    state
        .hidden
        .is_hidden(&call.scope, Res::Policy, id, now)
        .then(|| {
            answers::error(
                "organizations",
                StatusCode::BAD_REQUEST,
                "PolicyNotFoundException",
                "You specified a policy that doesn't exist.",
            )
        })
}

/// `Unseen`: hides a new policy (`CreatePolicy`) or attachment (`AttachPolicy`) until `until`.
pub(super) fn track(
    state: &mut State,
    call: &Call<'_>,
    answer: Option<&Value>,
    until: Option<Instant>,
) {
    let Some(until) = until else { return };
    match call.action {
        "CreatePolicy" => {
            if let Some(id) = answer.and_then(|a| str_at(a, &["Policy", "PolicySummary", "Id"])) {
                state.hidden.hide(&call.scope, Res::Policy, id, until);
            }
        }
        "AttachPolicy" => {
            if let (Some(policy), Some(target)) =
                (call.body.str("PolicyId"), call.body.str("TargetId"))
            {
                let attachment = format!("{policy}|{target}");
                state
                    .hidden
                    .hide(&call.scope, Res::Attachment, &attachment, until);
            }
        }
        _ => {}
    }
}

/// `Unseen`: leaves hidden policies and attachments out of `ListPolicies`, `ListPoliciesForTarget` and
/// `ListTargetsForPolicy`.
pub(super) fn filter(state: &State, call: &Call<'_>, answer: &mut Value, now: Instant) -> usize {
    let hidden = |res: Res, id: &str| state.hidden.is_hidden(&call.scope, res, id, now);
    let id_of = |item: &Value, field: &str| {
        item.get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match call.action {
        "ListPolicies" => retain_items(answer, &["Policies"], |p| {
            !hidden(Res::Policy, &id_of(p, "Id"))
        }),
        "ListPoliciesForTarget" => {
            let target = call.body.str("TargetId").unwrap_or_default();
            retain_items(answer, &["Policies"], |p| {
                let id = id_of(p, "Id");
                !hidden(Res::Policy, &id) && !hidden(Res::Attachment, &format!("{id}|{target}"))
            })
        }
        "ListTargetsForPolicy" => {
            let policy = call.body.str("PolicyId").unwrap_or_default();
            retain_items(answer, &["Targets"], |t| {
                !hidden(
                    Res::Attachment,
                    &format!("{policy}|{}", id_of(t, "TargetId")),
                )
            })
        }
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn call<'a>(op: &'a str, body: &str) -> Call<'a> {
        Call::test("1", op, body)
    }

    #[test]
    fn pending_types() {
        let mut org = Org::default();
        let now = Instant::now();
        org.learn_types(Some(&serde_json::json!({"Policy": {"PolicySummary": {"Id": "p-scp", "Type": "SERVICE_CONTROL_POLICY"}}})));
        org.learn_types(Some(
            &serde_json::json!({"Policies": [{"Id": "p-rcp", "Type": "RESOURCE_CONTROL_POLICY"}]}),
        ));
        let attach = |policy: &str| format!(r#"{{"PolicyId":"{policy}","TargetId":"r-1"}}"#);
        let attach_scp = attach("p-scp");
        let attach_scp = call("organizations:AttachPolicy", &attach_scp);
        assert!(
            org.refuse_attach(&attach_scp, now).is_none(),
            "nothing pending"
        );

        let enable = call(
            "organizations:EnablePolicyType",
            r#"{"RootId":"r-1","PolicyType":"SERVICE_CONTROL_POLICY"}"#,
        );
        let mut answer = serde_json::json!({"Root": {"Id": "r-1", "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}});
        assert!(org.after(&enable, Some(1000), &mut answer, now));
        assert_eq!(answer["Root"]["PolicyTypes"][0]["Status"], PENDING);

        let refusal = org.refuse_attach(&attach_scp, now).unwrap();
        let body: Value = serde_json::from_slice(refusal.body()).unwrap();
        assert_eq!(body["__type"], "PolicyTypeNotEnabledException");
        let attach_rcp = attach("p-rcp");
        assert!(
            org.refuse_attach(&call("organizations:AttachPolicy", &attach_rcp), now)
                .is_none(),
            "another type"
        );
        let attach_unknown = attach("p-unknown");
        assert!(
            org.refuse_attach(&call("organizations:AttachPolicy", &attach_unknown), now)
                .is_some(),
            "unknown type while one is pending"
        );

        let mut roots = serde_json::json!({"Roots": [{"Id": "r-1", "PolicyTypes": []}]});
        assert!(org.after(
            &call("organizations:ListRoots", "{}"),
            None,
            &mut roots,
            now
        ));
        assert_eq!(
            roots["Roots"][0]["PolicyTypes"],
            serde_json::json!([{"Type": "SERVICE_CONTROL_POLICY", "Status": PENDING}])
        );

        let later = now + Duration::from_millis(1000);
        assert!(
            org.refuse_attach(&attach_scp, later).is_none(),
            "the window ends"
        );
        let mut roots = serde_json::json!({"Roots": [{"Id": "r-1", "PolicyTypes": []}]});
        assert!(!org.after(
            &call("organizations:ListRoots", "{}"),
            None,
            &mut roots,
            later
        ));

        // Disabling ends it at once.
        let mut answer = serde_json::json!({"Root": {"Id": "r-1", "PolicyTypes": []}});
        assert!(org.after(&enable, Some(1000), &mut answer, now));
        assert!(org.refuse_attach(&attach_scp, now).is_some());
        let disable = call(
            "organizations:DisablePolicyType",
            r#"{"RootId":"r-1","PolicyType":"SERVICE_CONTROL_POLICY"}"#,
        );
        assert!(!org.after(&disable, None, &mut answer, now));
        assert!(org.refuse_attach(&attach_scp, now).is_none());
    }

    #[test]
    fn hidden_policies_and_attachments() {
        let mut state = State::default();
        let now = Instant::now();
        let until = Some(now + Duration::from_secs(1));
        let create = call("organizations:CreatePolicy", "{}");
        let created = serde_json::json!({"Policy": {"PolicySummary": {"Id": "p-new"}}});
        track(&mut state, &create, Some(&created), until);
        let attach = call(
            "organizations:AttachPolicy",
            r#"{"PolicyId":"p-old","TargetId":"r-1"}"#,
        );
        track(&mut state, &attach, None, until);

        let describe = call("organizations:DescribePolicy", r#"{"PolicyId":"p-new"}"#);
        assert!(refuse(&state, &describe, now).is_some());
        assert!(refuse(&state, &describe, now + Duration::from_secs(1)).is_none());
        let update = call("organizations:UpdatePolicy", r#"{"PolicyId":"p-new"}"#);
        assert!(refuse(&state, &update, now).is_none(), "reads only");

        let mut list = serde_json::json!({"Policies": [{"Id": "p-old"}, {"Id": "p-new"}]});
        assert_eq!(
            filter(
                &state,
                &call("organizations:ListPolicies", "{}"),
                &mut list,
                now
            ),
            1
        );
        assert_eq!(list, serde_json::json!({"Policies": [{"Id": "p-old"}]}));
        let mut for_target = serde_json::json!({"Policies": [{"Id": "p-full"}, {"Id": "p-old"}]});
        let request = call(
            "organizations:ListPoliciesForTarget",
            r#"{"TargetId":"r-1"}"#,
        );
        assert_eq!(filter(&state, &request, &mut for_target, now), 1);
        assert_eq!(for_target["Policies"][0]["Id"], "p-full");
        let mut targets =
            serde_json::json!({"Targets": [{"TargetId": "r-1"}, {"TargetId": "ou-1"}]});
        let request = call(
            "organizations:ListTargetsForPolicy",
            r#"{"PolicyId":"p-old"}"#,
        );
        assert_eq!(filter(&state, &request, &mut targets, now), 1);
        assert_eq!(targets["Targets"][0]["TargetId"], "ou-1");
    }
}
