//! Realistic AWS: the eventual consistency and the slow background work that the emulator does not have.
//!
//! The rules `Unseen`, `StaleReads`, `TaggingLag`, `NewPrincipals` and `PendingEnable` are stateful: their
//! state lives here, in the rule set, and starts afresh when the rules are replaced. The server calls
//! [`Realism::before`] before forwarding a request of a service this knows (it may answer instead), then
//! [`Realism::after`] with the whole of a successful answer (it may rewrite it).
//!
//! Everything is scoped by account and region ([`Scope`]): the account of a request is learned from the
//! `sts:AssumeRole` answers that went through the proxy (else the emulator's default account).

mod config;
mod events;
mod kms;
mod organizations;
mod request;
mod resources;
mod sns;
mod stale;
mod tagging;
mod xml;

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Response};
use serde_json::Value;

use crate::counts::OpCounts;
use crate::op;
use crate::prng::Prng;
use crate::rules::{Fault, Rule, RuleSet};

pub(crate) use request::Body;
use request::Kind;
use resources::{Hidden, Known};

/// The emulator's account for credentials it did not issue.
pub(crate) const DEFAULT_ACCOUNT: &str = "123456789012";

/// Whose resources a request sees: an account in a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    pub fn new(account: &str, region: &str) -> Scope {
        Scope {
            account: account.to_string(),
            region: region.to_string(),
        }
    }
}

/// Whether realism looks at requests of `service`.
pub(crate) fn handles(service: &str) -> bool {
    matches!(
        service,
        "kms" | "organizations" | "config" | "events" | "sns" | "tagging"
    )
}

/// One request, as realism sees it.
pub(crate) struct Call<'a> {
    /// `service:Operation`.
    pub op: &'a str,
    pub service: &'a str,
    /// `Operation`.
    pub action: &'a str,
    pub scope: Scope,
    /// The request body as sent (the key of cached answers).
    pub raw: Bytes,
    pub body: Body,
}

impl<'a> Call<'a> {
    pub fn new(op: &'a str, scope: Scope, raw: Bytes) -> Call<'a> {
        let (service, action) = op.split_once(':').unwrap_or((op, ""));
        Call {
            op,
            service,
            action,
            scope,
            body: Body::parse(service, &raw),
            raw,
        }
    }

    fn kind(&self) -> Kind {
        request::kind(self.action)
    }

    /// A call in `account`, us-east-1, with this body: what the service modules' tests feed.
    #[cfg(test)]
    pub fn test(account: &str, op: &'a str, body: &str) -> Call<'a> {
        Call::new(
            op,
            Scope::new(account, "us-east-1"),
            Bytes::from(body.to_string()),
        )
    }
}

/// What [`Realism::before`] decided.
pub(crate) enum Before {
    /// Answer this instead of forwarding.
    Answer(Response<Bytes>),
    /// Forward, then call [`Realism::after`] with this.
    Forward(After),
}

/// What the rules decided before forwarding, for [`Realism::after`] (probabilities are drawn once).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct After {
    /// A create to hide for this long.
    unseen_ms: Option<u64>,
    /// A write whose resources read stale for this long.
    stale_ms: Option<u64>,
    /// A `tagging:GetResources` to answer as of this long ago.
    lag_ms: Option<u64>,
    /// An `EnablePolicyType` pending for this long.
    pending_ms: Option<u64>,
}

#[derive(Default)]
struct State {
    hidden: Hidden,
    known: Known,
    keys: kms::Keys,
    org: organizations::Org,
    stale: stale::Stale,
    tags: tagging::History,
}

/// The realistic rules' state.
pub(crate) struct Realism {
    started: Instant,
    unseen: bool,
    stale: bool,
    lag: bool,
    principals: bool,
    pending: bool,
    /// The longest `TaggingLag`: how much tag history to keep.
    max_lag: Duration,
    state: Mutex<State>,
}

impl Realism {
    /// The state for `rules`, if one of them is realistic.
    pub fn for_rules(rules: &[Rule]) -> Option<Realism> {
        let has = |f: fn(&Fault) -> bool| rules.iter().any(|r| f(&r.fault));
        let realism = Realism {
            started: Instant::now(),
            unseen: has(|f| matches!(f, Fault::Unseen { .. })),
            stale: has(|f| matches!(f, Fault::StaleReads { .. })),
            lag: has(|f| matches!(f, Fault::TaggingLag { .. })),
            principals: has(|f| matches!(f, Fault::NewPrincipals { .. })),
            pending: has(|f| matches!(f, Fault::PendingEnable { .. })),
            max_lag: Duration::from_millis(
                rules
                    .iter()
                    .filter_map(|r| match r.fault {
                        Fault::TaggingLag { ms } => Some(ms),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0),
            ),
            state: Mutex::new(State::default()),
        };
        (realism.unseen || realism.stale || realism.lag || realism.principals || realism.pending)
            .then_some(realism)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Before forwarding: answers instead (counted in `counts`), or says what to do with the answer.
    pub fn before(
        &self,
        rules: &RuleSet,
        prng: &Prng,
        call: &Call<'_>,
        now: Instant,
        counts: &mut OpCounts,
    ) -> Before {
        let mut after = After::default();
        let state = self.state();

        if self.principals
            && matches!(call.op, "kms:CreateKey" | "kms:PutKeyPolicy")
            && let Some(policy) = call.body.str("Policy")
        {
            let elapsed = now.saturating_duration_since(self.started);
            let refused = rules.fire(call.op, prng, |fault| match fault {
                Fault::NewPrincipals { arns, ms }
                    if elapsed < Duration::from_millis(*ms)
                        && kms::names_principal(policy, arns) =>
                {
                    Some(())
                }
                _ => None,
            });
            if refused.is_some() {
                counts.injected += 1;
                return Before::Answer(kms::invalid_principals());
            }
        }

        if self.pending
            && call.op == "organizations:AttachPolicy"
            && let Some(answer) = state.org.refuse_attach(call, now)
        {
            counts.pending += 1;
            return Before::Answer(answer);
        }

        if self.unseen {
            let refusal = match call.service {
                "kms" => kms::refuse(&state, call, now),
                "organizations" => organizations::refuse(&state, call, now),
                "config" => config::refuse(&state, call, now),
                "events" => events::refuse(&state, call, now),
                "sns" => sns::refuse(&state, call, now),
                _ => None,
            };
            if let Some(answer) = refusal {
                counts.unseen += 1;
                return Before::Answer(answer);
            }
        }

        if self.stale {
            match call.kind() {
                Kind::Read => {
                    let ids = request::named(call.service, &call.body);
                    if !ids.is_empty()
                        && state.stale.is_stale(&call.scope, &ids, now)
                        && let Some(answer) = state.stale.answer(&call.scope, call.op, &call.raw)
                    {
                        counts.stale += 1;
                        return Before::Answer(answer);
                    }
                }
                Kind::Write => {
                    after.stale_ms = rules.fire(call.op, prng, |fault| match fault {
                        Fault::StaleReads { ms } => Some(*ms),
                        _ => None,
                    });
                }
                Kind::Neither => {}
            }
        }
        drop(state);

        if self.unseen && is_tracked_create(call.op) {
            after.unseen_ms = rules.fire(call.op, prng, |fault| match fault {
                Fault::Unseen { ms } => Some(*ms),
                _ => None,
            });
        }
        if self.lag && call.op == "tagging:GetResources" {
            after.lag_ms = rules.fire(call.op, prng, |fault| match fault {
                Fault::TaggingLag { ms } => Some(*ms),
                _ => None,
            });
        }
        if self.pending && call.op == "organizations:EnablePolicyType" {
            after.pending_ms = rules.fire(call.op, prng, |fault| match fault {
                Fault::PendingEnable { ms } => Some(*ms),
                _ => None,
            });
        }
        Before::Forward(after)
    }

    /// With the whole answer: learns from it and returns it rewritten if a rule changes it. `status` must be
    /// a success (the caller checks).
    pub fn after(
        &self,
        call: &Call<'_>,
        after: &After,
        headers: &HeaderMap,
        answer: &Bytes,
        now: Instant,
        counts: &mut OpCounts,
    ) -> Option<Bytes> {
        let mut state = self.state();
        let state = &mut *state;
        let mut json: Option<Value> = if op::is_json_protocol(call.service) {
            serde_json::from_slice(answer).ok()
        } else {
            None
        };
        let mut xml: Option<String> = if op::is_json_protocol(call.service) {
            None
        } else {
            std::str::from_utf8(answer).ok().map(str::to_string)
        };
        let mut json_changed = false;
        let mut xml_changed = false;

        // What exists, whatever the rules.
        if call.service == "kms" {
            state.keys.learn(call, json.as_ref());
        }
        if self.pending && call.service == "organizations" {
            state.org.learn_types(json.as_ref());
        }
        if self.lag && call.service == "kms" {
            tagging::observe_kms_write(state, call, json.as_ref(), now, self.max_lag);
        }

        if self.unseen {
            let until = after.unseen_ms.map(|ms| now + Duration::from_millis(ms));
            match call.service {
                "kms" => kms::track(state, call, json.as_ref(), until),
                "organizations" => organizations::track(state, call, json.as_ref(), until),
                "config" => config::track(state, call, json.as_ref(), until),
                "events" => events::track(state, call, json.as_ref(), until),
                "sns" => sns::track(state, call, xml.as_deref(), until),
                _ => {}
            }
            if state.hidden.any(&call.scope, now) {
                let dropped = match (call.service, json.as_mut(), xml.as_mut()) {
                    ("kms", Some(json), _) => kms::filter(state, call, json, now),
                    ("organizations", Some(json), _) => {
                        organizations::filter(state, call, json, now)
                    }
                    ("config", Some(json), _) => config::filter(state, call, json, now),
                    ("events", Some(json), _) => events::filter(state, call, json, now),
                    ("sns", _, Some(xml)) => sns::filter(state, call, xml, now),
                    _ => 0,
                };
                if dropped > 0 {
                    counts.unseen += 1;
                    json_changed |= json.is_some();
                    xml_changed |= xml.is_some();
                }
            }
        }

        if self.pending
            && call.service == "organizations"
            && let Some(json) = json.as_mut()
            && state.org.after(call, after.pending_ms, json, now)
        {
            counts.pending += 1;
            json_changed = true;
        }

        if self.lag
            && call.op == "tagging:GetResources"
            && let Some(json) = json.as_mut()
        {
            let lag = after.lag_ms.map(Duration::from_millis);
            if tagging::get_resources(state, call, json, lag, now, self.max_lag) {
                counts.lagged += 1;
                json_changed = true;
            }
        }

        let rewritten = if json_changed {
            json.and_then(|json| serde_json::to_vec(&json).ok())
                .map(Bytes::from)
        } else if xml_changed {
            xml.map(Bytes::from)
        } else {
            None
        };

        if self.stale {
            match call.kind() {
                Kind::Read => {
                    let ids = request::named(call.service, &call.body);
                    if !ids.is_empty() {
                        let body = rewritten.clone().unwrap_or_else(|| answer.clone());
                        state
                            .stale
                            .remember(&call.scope, call.op, &call.raw, headers, body);
                    }
                }
                Kind::Write => {
                    if let Some(ms) = after.stale_ms {
                        let ids = request::named(call.service, &call.body);
                        let until = now + Duration::from_millis(ms);
                        state.stale.mark(&call.scope, &ids, until);
                    }
                }
                Kind::Neither => {}
            }
        }
        rewritten
    }
}

/// The creates `Unseen` tracks.
fn is_tracked_create(op: &str) -> bool {
    matches!(
        op,
        "kms:CreateKey"
            | "kms:CreateAlias"
            | "organizations:CreatePolicy"
            | "organizations:AttachPolicy"
            | "config:PutConfigRule"
            | "sns:CreateTopic"
            | "sns:Subscribe"
            | "events:PutRule"
            | "events:PutTargets"
    )
}

/// The operations `Unseen` tracks, for [`crate::lost_create_answers`].
pub(crate) const TRACKED_CREATES: &[&str] = &[
    "kms:CreateKey",
    "kms:CreateAlias",
    "organizations:CreatePolicy",
    "organizations:AttachPolicy",
    "config:PutConfigRule",
    "sns:CreateTopic",
    "sns:Subscribe",
    "events:PutRule",
    "events:PutTargets",
];

/// The account in an `sts:AssumeRole` answer, with the access key id it issued.
pub(crate) fn assumed_role(answer: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(answer).ok()?;
    let key = xml::text(text, "AccessKeyId")?;
    let user = text.split("<AssumedRoleUser>").nth(1)?;
    let arn = xml::text(user, "Arn")?;
    let account = arn.split(':').nth(4)?;
    (!account.is_empty()).then(|| (key, account.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_realistic_rules_make_state() {
        assert!(Realism::for_rules(&[Rule::always("*", Fault::Throttle)]).is_none());
        let r = Realism::for_rules(&[
            Rule::always("*", Fault::TaggingLag { ms: 5 }),
            Rule::always("kms:*", Fault::TaggingLag { ms: 9 }),
        ])
        .unwrap();
        assert!(r.lag && !r.unseen && !r.stale && !r.pending && !r.principals);
        assert_eq!(r.max_lag, Duration::from_millis(9));
        for op in TRACKED_CREATES {
            assert!(is_tracked_create(op));
        }
    }

    #[test]
    fn assume_role_answers() {
        let answer = b"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>\
            </Credentials><AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId>\
            <Arn>arn:aws:sts::111111111111:assumed-role/x/s</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";
        assert_eq!(
            assumed_role(answer),
            Some(("ASIA1".to_string(), "111111111111".to_string()))
        );
        assert_eq!(assumed_role(b"<Error/>"), None);
    }
}
