//! Rules, faults, and the decision the proxy takes for one request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::Response;
use serde::{Deserialize, Serialize};

use crate::answers;
use crate::prng::Prng;
use crate::realism::Realism;

/// What a rule does to a request it matches.
///
/// Serialised with an internal tag: `{"kind": "Throttle"}`, `{"kind": "Latency", "ms": 200}`,
/// `{"kind": "Quota", "per_second": 5.0, "burst": 5}`...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Fault {
    /// Waits this long before forwarding (or before answering with another fault). Latency rules add up.
    Latency { ms: u64 },
    /// Answers with the service's own throttling error, without forwarding.
    Throttle,
    /// Answers with this HTTP status (500, 503...) and a small error body, without forwarding.
    Status { code: u16 },
    /// Closes the client connection abruptly (RST), without forwarding and without answering.
    Reset,
    /// Forwards (the change happens), reads the whole answer, then closes the client connection without
    /// sending anything.
    DropResponse,
    /// A token bucket per operation: `burst` tokens, refilled at `per_second`; a request that finds no token
    /// gets the throttling answer and is not forwarded.
    Quota { per_second: f64, burst: u32 },
    /// Re-serialises the policy document in answers of `kms:GetKeyPolicy` (`Policy`) and
    /// `organizations:DescribePolicy` (`Policy.Content`) with shuffled keys and other whitespace.
    ShufflePolicies,
    /// Answers the service's error `code` with HTTP `status` (and `message`, or a default one), without
    /// forwarding: `{"kind": "Error", "code": "ConcurrentModificationException", "status": 400}`.
    Error {
        code: String,
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Realistic AWS: a resource created by a matching operation (`kms:CreateKey`, `kms:CreateAlias`,
    /// `organizations:CreatePolicy`, `organizations:AttachPolicy`, `config:PutConfigRule` of a new rule,
    /// `sns:CreateTopic`, `sns:Subscribe`, `events:PutRule` of a new rule, `events:PutTargets` of new
    /// targets) stays invisible for `ms` after the create's answer: reads naming it answer the service's
    /// not-found error, list answers leave it out, and KMS writes naming a new key answer `NotFoundException`.
    Unseen { ms: u64 },
    /// Realistic AWS: for `ms` after a successful matching write naming a resource, reads naming that
    /// resource answer what the same read (same operation, same body) answered before, when the proxy has
    /// that answer.
    StaleReads { ms: u64 },
    /// Realistic AWS: matching `tagging:GetResources` answers give each resource's tags as they were `ms` ago
    /// (a resource that disappeared less than `ms` ago is still listed with its last tags).
    TaggingLag { ms: u64 },
    /// Realistic AWS: for `ms` after the rules are set, a matching `kms:CreateKey` or `kms:PutKeyPolicy`
    /// whose policy names one of `arns` as a principal answers `MalformedPolicyDocumentException` (AWS
    /// does not know a principal created moments ago), without forwarding.
    NewPrincipals { arns: Vec<String>, ms: u64 },
    /// Realistic AWS: a matching `organizations:EnablePolicyType` is forwarded, but for `ms` the type shows
    /// `PENDING_ENABLE` in the root (its answer, `ListRoots`) and `AttachPolicy` of a policy of that type
    /// answers `PolicyTypeNotEnabledException`.
    PendingEnable { ms: u64 },
}

impl Fault {
    /// The stage at which the fault applies, in evaluation order.
    fn stage(&self) -> Stage {
        match self {
            Fault::Latency { .. } => Stage::Latency,
            Fault::Quota { .. } => Stage::Quota,
            Fault::Throttle
            | Fault::Status { .. }
            | Fault::Reset
            | Fault::DropResponse
            | Fault::Error { .. } => Stage::Answer,
            Fault::ShufflePolicies => Stage::Shuffle,
            Fault::Unseen { .. }
            | Fault::StaleReads { .. }
            | Fault::TaggingLag { .. }
            | Fault::NewPrincipals { .. }
            | Fault::PendingEnable { .. } => Stage::Realism,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Latency,
    Quota,
    Answer,
    Shuffle,
    /// Stateful, applied by [`crate::realism`].
    Realism,
}

fn default_probability() -> f64 {
    1.0
}

/// One fault-injection rule.
///
/// `operation` is `service:Operation` exactly (`kms:CreateKey`), every operation of a service (`kms:*`), or
/// every request (`*`). The service is the SigV4 signing name (`kms`, `sts`, `organizations`, `tagging`,
/// `cloudhsm`, `config`, `events`, `sns`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub operation: String,
    pub fault: Fault,
    /// The chance that the rule fires on a matching request (default 1.0).
    #[serde(default = "default_probability")]
    pub probability: f64,
    /// At most this many injections, then the rule no longer fires (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

impl Rule {
    /// A rule that fires on every matching request.
    pub fn always(operation: impl Into<String>, fault: Fault) -> Rule {
        Rule {
            operation: operation.into(),
            fault,
            probability: 1.0,
            times: None,
        }
    }

    /// A rule that fires with probability `probability` (0.0 to 1.0).
    pub fn with_probability(operation: impl Into<String>, fault: Fault, probability: f64) -> Rule {
        Rule {
            probability,
            ..Rule::always(operation, fault)
        }
    }

    /// A rule that fires on the first `times` matching requests, then never again.
    pub fn times(operation: impl Into<String>, fault: Fault, times: u64) -> Rule {
        Rule {
            times: Some(times),
            ..Rule::always(operation, fault)
        }
    }

    /// Whether the rule's operation pattern covers `op` (`service:Operation`).
    pub fn matches(&self, op: &str) -> bool {
        operation_matches(&self.operation, op)
    }
}

/// `*` matches everything, `svc:*` every operation of `svc`, anything else only itself.
pub(crate) fn operation_matches(pattern: &str, op: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(service) = pattern.strip_suffix(":*") {
        return op
            .strip_prefix(service)
            .is_some_and(|rest| rest.starts_with(':'));
    }
    pattern == op
}

/// What to do with one request, decided before forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub latency_ms: u64,
    pub action: Action,
    pub shuffle: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Forward,
    /// Throttled by a `Throttle` rule or by a `Quota` without a token.
    Throttle,
    Status(u16),
    Reset,
    DropResponse,
    /// An `Error` rule fired: the index of the rule in the rule set.
    Error(usize),
}

impl Plan {
    pub const PASS: Plan = Plan {
        latency_ms: 0,
        action: Action::Forward,
        shuffle: false,
    };
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

struct ActiveRule {
    rule: Rule,
    stage: Stage,
    fired: AtomicU64,
    /// Only for `Quota`: one bucket per operation.
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl ActiveRule {
    /// Draws the probability (only when below 1) and takes one of the `times` slots. True if it fires.
    fn fires(&self, prng: &Prng) -> bool {
        let p = self.rule.probability;
        if p < 1.0 && prng.next_f64() >= p {
            return false;
        }
        match self.rule.times {
            None => {
                self.fired.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(limit) => self
                .fired
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < limit).then_some(n + 1)
                })
                .is_ok(),
        }
    }

    fn exhausted(&self) -> bool {
        self.rule
            .times
            .is_some_and(|limit| self.fired.load(Ordering::Acquire) >= limit)
    }

    /// Takes a token from `op`'s bucket; false when there is none.
    fn take_token(&self, op: &str, per_second: f64, burst: u32, now: Instant) -> bool {
        let burst = f64::from(burst);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = match buckets.get_mut(op) {
            Some(bucket) => bucket,
            None => buckets.entry(op.to_string()).or_insert(Bucket {
                tokens: burst,
                last: now,
            }),
        };
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second.max(0.0)).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The rules in force, with their counters (`times`) and token buckets.
pub(crate) struct RuleSet {
    rules: Vec<ActiveRule>,
    /// The state of the realistic-AWS rules; `None` when there is none.
    realism: Option<Realism>,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        let realism = Realism::for_rules(&rules);
        RuleSet {
            realism,
            rules: rules
                .into_iter()
                .map(|rule| ActiveRule {
                    stage: rule.fault.stage(),
                    rule,
                    fired: AtomicU64::new(0),
                    buckets: Mutex::new(HashMap::new()),
                })
                .collect(),
        }
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.rules.iter().map(|r| r.rule.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The realistic-AWS state, when a realistic rule is in force.
    pub fn realism(&self) -> Option<&Realism> {
        self.realism.as_ref()
    }

    /// The first realistic rule matching `op` that `select` accepts (it returns what the caller needs of
    /// the fault) and that fires (probability drawn, `times` taken).
    pub fn fire<T>(
        &self,
        op: &str,
        prng: &Prng,
        select: impl Fn(&Fault) -> Option<T>,
    ) -> Option<T> {
        self.rules
            .iter()
            .filter(|r| r.stage == Stage::Realism && r.rule.matches(op) && !r.exhausted())
            .find_map(|r| select(&r.rule.fault).filter(|_| r.fires(prng)))
    }

    /// The answer of the `Error` rule at `index` (see [`Action::Error`]).
    pub fn error_answer(&self, index: usize, service: &str) -> Response<Bytes> {
        match self.rules.get(index).map(|r| &r.rule.fault) {
            Some(Fault::Error {
                code,
                status,
                message,
            }) => answers::injected_error(service, *status, code, message.as_deref()),
            _ => answers::status(service, 500),
        }
    }

    /// Decides what happens to a request for `op`. `shufflable` says whether the answer carries a policy.
    pub fn plan(&self, op: &str, shufflable: bool, prng: &Prng) -> Plan {
        self.plan_at(op, shufflable, prng, Instant::now())
    }

    pub fn plan_at(&self, op: &str, shufflable: bool, prng: &Prng, now: Instant) -> Plan {
        let mut plan = Plan::PASS;
        if self.rules.is_empty() {
            return plan;
        }
        let matching = || self.rules.iter().filter(|r| r.rule.matches(op));

        for rule in matching().filter(|r| r.stage == Stage::Latency) {
            if let Fault::Latency { ms } = rule.rule.fault
                && rule.fires(prng)
            {
                plan.latency_ms = plan.latency_ms.saturating_add(ms);
            }
        }

        if let Some(rule) = matching().find(|r| r.stage == Stage::Quota)
            && let Fault::Quota { per_second, burst } = rule.rule.fault
            && !rule.exhausted()
            && !rule.take_token(op, per_second, burst, now)
            && rule.fires(prng)
        {
            plan.action = Action::Throttle;
            return plan;
        }

        for (index, rule) in self.rules.iter().enumerate() {
            if rule.stage != Stage::Answer
                || !rule.rule.matches(op)
                || rule.exhausted()
                || !rule.fires(prng)
            {
                continue;
            }
            plan.action = match rule.rule.fault {
                Fault::Throttle => Action::Throttle,
                Fault::Status { code } => Action::Status(code),
                Fault::Reset => Action::Reset,
                Fault::Error { .. } => Action::Error(index),
                _ => Action::DropResponse,
            };
            break;
        }

        if shufflable && plan.action != Action::Reset {
            plan.shuffle = matching()
                .filter(|r| r.stage == Stage::Shuffle)
                .any(|r| !r.exhausted() && r.fires(prng));
        }
        plan
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn patterns() {
        assert!(operation_matches("*", "kms:CreateKey"));
        assert!(operation_matches("kms:*", "kms:CreateKey"));
        assert!(!operation_matches("kms:*", "kmsx:CreateKey"));
        assert!(!operation_matches("kms:*", "sts:AssumeRole"));
        assert!(operation_matches("kms:CreateKey", "kms:CreateKey"));
        assert!(!operation_matches("kms:CreateKey", "kms:CreateKeys"));
    }

    #[test]
    fn serde_format() {
        let json = r#"[{"operation":"kms:CreateKey","fault":{"kind":"Throttle"},"times":2},
            {"operation":"*","fault":{"kind":"Latency","ms":20},"probability":0.5},
            {"operation":"kms:DescribeKey","fault":{"kind":"Quota","per_second":5.0,"burst":5}},
            {"operation":"kms:*","fault":{"kind":"Status","code":503}},
            {"operation":"kms:*","fault":{"kind":"ShufflePolicies"}}]"#;
        let rules: Vec<Rule> = serde_json::from_str(json).unwrap();
        assert_eq!(
            rules[0],
            Rule::times("kms:CreateKey", Fault::Throttle, 2),
            "probability defaults to 1"
        );
        assert_eq!(
            rules[1],
            Rule::with_probability("*", Fault::Latency { ms: 20 }, 0.5)
        );
        assert_eq!(
            rules[2].fault,
            Fault::Quota {
                per_second: 5.0,
                burst: 5
            }
        );
        let back: Vec<Rule> =
            serde_json::from_str(&serde_json::to_string(&rules).unwrap()).unwrap();
        assert_eq!(back, rules);
    }

    #[test]
    fn realistic_faults_serde_format() {
        let json = r#"[{"operation":"organizations:*","fault":{"kind":"Error","code":"ConcurrentModificationException","status":400},"probability":0.05},
            {"operation":"*","fault":{"kind":"Unseen","ms":1500}},
            {"operation":"*","fault":{"kind":"StaleReads","ms":1500}},
            {"operation":"tagging:GetResources","fault":{"kind":"TaggingLag","ms":4500}},
            {"operation":"kms:*","fault":{"kind":"NewPrincipals","arns":["arn:aws:iam::1:role/r"],"ms":1500}},
            {"operation":"organizations:EnablePolicyType","fault":{"kind":"PendingEnable","ms":1500}}]"#;
        let rules: Vec<Rule> = serde_json::from_str(json).unwrap();
        assert_eq!(
            rules[0],
            Rule::with_probability(
                "organizations:*",
                Fault::Error {
                    code: "ConcurrentModificationException".into(),
                    status: 400,
                    message: None
                },
                0.05
            )
        );
        assert_eq!(rules[1].fault, Fault::Unseen { ms: 1500 });
        assert_eq!(
            rules[4].fault,
            Fault::NewPrincipals {
                arns: vec!["arn:aws:iam::1:role/r".into()],
                ms: 1500
            }
        );
        let text = serde_json::to_string(&rules).unwrap();
        assert!(!text.contains("message"), "no message: none written");
        let back: Vec<Rule> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, rules);
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"Error","code":"X"}"#).is_err());
    }

    #[test]
    fn error_rules_answer_and_realistic_rules_fire_only_through_fire() {
        let set = RuleSet::new(vec![
            Rule::always("kms:*", Fault::Unseen { ms: 5 }),
            Rule::times(
                "kms:ListKeys",
                Fault::Error {
                    code: "KMSInternalException".into(),
                    status: 500,
                    message: Some("boom".into()),
                },
                1,
            ),
        ]);
        let prng = Prng::new(1);
        let plan = set.plan("kms:ListKeys", false, &prng);
        assert_eq!(plan.action, Action::Error(1));
        let answer = set.error_answer(1, "kms");
        assert_eq!(answer.status(), 500);
        assert_eq!(
            answer.body().as_ref(),
            br#"{"__type":"KMSInternalException","message":"boom"}"#
        );
        assert_eq!(set.plan("kms:ListKeys", false, &prng), Plan::PASS, "times");
        assert_eq!(set.plan("kms:CreateKey", false, &prng), Plan::PASS);
        assert!(set.realism().is_some());
        let unseen = |f: &Fault| match f {
            Fault::Unseen { ms } => Some(*ms),
            _ => None,
        };
        assert_eq!(set.fire("kms:CreateKey", &prng, unseen), Some(5));
        assert_eq!(set.fire("sns:CreateTopic", &prng, unseen), None);
        assert!(RuleSet::new(vec![]).realism().is_none());
    }

    #[test]
    fn times_limits_injections_and_first_answer_rule_wins() {
        let set = RuleSet::new(vec![
            Rule::times("kms:ListKeys", Fault::Throttle, 2),
            Rule::always("kms:*", Fault::Status { code: 503 }),
        ]);
        let prng = Prng::new(1);
        let actions: Vec<Action> = (0..4)
            .map(|_| set.plan("kms:ListKeys", false, &prng).action)
            .collect();
        assert_eq!(
            actions,
            [
                Action::Throttle,
                Action::Throttle,
                Action::Status(503),
                Action::Status(503)
            ]
        );
        assert_eq!(set.plan("sts:AssumeRole", false, &prng), Plan::PASS);
    }

    #[test]
    fn latencies_add_up_and_do_not_stop_other_rules() {
        let set = RuleSet::new(vec![
            Rule::always("*", Fault::Latency { ms: 10 }),
            Rule::always("kms:*", Fault::Latency { ms: 5 }),
            Rule::always("kms:CreateKey", Fault::DropResponse),
        ]);
        let plan = set.plan("kms:CreateKey", false, &Prng::new(1));
        assert_eq!(plan.latency_ms, 15);
        assert_eq!(plan.action, Action::DropResponse);
        let plan = set.plan("sts:AssumeRole", false, &Prng::new(1));
        assert_eq!(plan.latency_ms, 10);
        assert_eq!(plan.action, Action::Forward);
    }

    #[test]
    fn probability_is_roughly_respected_and_repeatable() {
        let run = |seed| {
            let set = RuleSet::new(vec![Rule::with_probability("*", Fault::Reset, 0.25)]);
            let prng = Prng::new(seed);
            (0..4000)
                .filter(|_| set.plan("kms:ListKeys", false, &prng).action == Action::Reset)
                .count()
        };
        let n = run(42);
        assert!((850..1150).contains(&n), "{n} resets out of 4000");
        assert_eq!(run(42), n, "same seed, same draws");
    }

    #[test]
    fn quota_is_a_token_bucket_per_operation() {
        let set = RuleSet::new(vec![Rule::always(
            "kms:*",
            Fault::Quota {
                per_second: 2.0,
                burst: 3,
            },
        )]);
        let prng = Prng::new(7);
        let t0 = Instant::now();
        let at = |op: &str, ms: u64| {
            set.plan_at(op, false, &prng, t0 + Duration::from_millis(ms))
                .action
        };
        for _ in 0..3 {
            assert_eq!(at("kms:DescribeKey", 0), Action::Forward);
        }
        assert_eq!(at("kms:DescribeKey", 0), Action::Throttle);
        assert_eq!(at("kms:ListKeys", 0), Action::Forward, "own bucket");
        assert_eq!(at("kms:DescribeKey", 400), Action::Throttle, "0.8 token");
        assert_eq!(at("kms:DescribeKey", 500), Action::Forward, "1 token");
        assert_eq!(at("kms:DescribeKey", 500), Action::Throttle);
        // Refill stops at the burst.
        for _ in 0..3 {
            assert_eq!(at("kms:DescribeKey", 60_000), Action::Forward);
        }
        assert_eq!(at("kms:DescribeKey", 60_000), Action::Throttle);
    }

    #[test]
    fn shuffle_only_where_a_policy_comes_back_and_not_after_reset() {
        let set = RuleSet::new(vec![Rule::times("*", Fault::ShufflePolicies, 1)]);
        let prng = Prng::new(3);
        assert!(!set.plan("kms:ListKeys", false, &prng).shuffle);
        assert!(set.plan("kms:GetKeyPolicy", true, &prng).shuffle);
        assert!(!set.plan("kms:GetKeyPolicy", true, &prng).shuffle, "times");
    }
}
