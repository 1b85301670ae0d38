//! `TaggingLag`: `tagging:GetResources` answers with each resource's tags as they were a while ago.
//!
//! The proxy keeps a history of tags per ARN, from KMS writes (`CreateKey`, `TagResource`,
//! `UntagResource`) and from the `GetResources` answers themselves (a resource first seen there has had
//! its tags forever; one that stops being listed is recorded as gone at that moment).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::request::kms_normal;
use super::{Call, Scope, State};

/// Tags sorted by key.
type Tags = Vec<(String, String)>;

struct Change {
    /// `None`: since before the proxy knew.
    at: Option<Instant>,
    /// `None`: not listed (no tags, or gone).
    tags: Option<Tags>,
}

/// Tag history per ARN.
#[derive(Default)]
pub(crate) struct History(HashMap<String, Vec<Change>>);

impl History {
    /// The latest known state: `None` if the ARN has no history.
    fn latest(&self, arn: &str) -> Option<&Option<Tags>> {
        self.0.get(arn)?.last().map(|c| &c.tags)
    }

    fn push(&mut self, arn: &str, at: Option<Instant>, tags: Option<Tags>, keep: Duration) {
        let tags = tags.filter(|t| !t.is_empty());
        let changes = self.0.entry(arn.to_string()).or_default();
        if changes.last().is_some_and(|last| last.tags == tags) {
            return;
        }
        changes.push(Change { at, tags });
        // Only the last change older than `keep` is still needed.
        if let Some(cutoff) = at.and_then(|at| at.checked_sub(keep)) {
            let old = changes
                .iter()
                .rposition(|c| c.at.is_none_or(|at| at <= cutoff));
            if let Some(old) = old {
                changes.drain(..old);
            }
        }
    }

    /// The tags of `arn` at `t` (`None`: long ago): `None` if it was not listed then.
    fn at(&self, arn: &str, t: Option<Instant>) -> Option<&Tags> {
        self.0
            .get(arn)?
            .iter()
            .rev()
            .find(|c| match (c.at, t) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(at), Some(t)) => at <= t,
            })?
            .tags
            .as_ref()
    }
}

fn sorted(mut tags: Tags) -> Tags {
    tags.sort();
    tags
}

/// `[{"TagKey": k, "TagValue": v}]` (KMS) or `[{"Key": k, "Value": v}]` (tagging) → tags.
fn parse_tags(value: Option<&Value>, key: &str, val: &str) -> Tags {
    sorted(
        value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|tag| {
                Some((
                    tag.get(key)?.as_str()?.to_string(),
                    tag.get(val)?.as_str()?.to_string(),
                ))
            })
            .collect(),
    )
}

/// Records the tags a successful KMS write gave a key.
pub(super) fn observe_kms_write(
    state: &mut State,
    call: &Call<'_>,
    answer: Option<&Value>,
    now: Instant,
    keep: Duration,
) {
    let arn_of = |state: &State| {
        let value = call.body.str("KeyId")?;
        let id = state.keys.key_id(&call.scope, value)?;
        Some(state.keys.arn(&call.scope, kms_normal(id)))
    };
    match call.action {
        "CreateKey" => {
            let Some(arn) = answer
                .and_then(|a| a.get("KeyMetadata")?.get("Arn"))
                .and_then(Value::as_str)
            else {
                return;
            };
            let tags = parse_tags(
                call.body.json().and_then(|b| b.get("Tags")),
                "TagKey",
                "TagValue",
            );
            state.tags.push(arn, Some(now), Some(tags), keep);
        }
        "TagResource" | "UntagResource" => {
            let Some(arn) = arn_of(state) else { return };
            // Without a known previous state, the next GetResources answer records the change.
            let Some(previous) = state.tags.latest(&arn) else {
                return;
            };
            let mut tags: HashMap<String, String> =
                previous.clone().unwrap_or_default().into_iter().collect();
            if call.action == "TagResource" {
                let added = parse_tags(
                    call.body.json().and_then(|b| b.get("Tags")),
                    "TagKey",
                    "TagValue",
                );
                tags.extend(added);
            } else {
                for key in call.body.strs("TagKeys") {
                    tags.remove(key);
                }
            }
            let tags = sorted(tags.into_iter().collect());
            state.tags.push(&arn, Some(now), Some(tags), keep);
        }
        _ => {}
    }
}

/// `arn:partition:service:region:account:resource` → (service, region, account, resource type).
fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let kind = resource.split(['/', ':']).next().unwrap_or_default();
    Some((service, region, account, kind))
}

struct Filters {
    types: Vec<String>,
    arns: Vec<String>,
    /// (key, values; empty: any value)
    tags: Vec<(String, Vec<String>)>,
}

impl Filters {
    fn of(call: &Call<'_>) -> Filters {
        let tags = call
            .body
            .json()
            .and_then(|b| b.get("TagFilters"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| {
                let key = f.get("Key")?.as_str()?.to_string();
                let values = f
                    .get("Values")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                Some((key, values))
            })
            .collect();
        Filters {
            types: call
                .body
                .strs("ResourceTypeFilters")
                .into_iter()
                .map(str::to_string)
                .collect(),
            arns: call
                .body
                .strs("ResourceARNList")
                .into_iter()
                .map(str::to_string)
                .collect(),
            tags,
        }
    }

    /// Whether `arn` is one the request asks about in `scope`, tags aside.
    fn covers(&self, scope: &Scope, arn: &str) -> bool {
        let Some((service, region, account, kind)) = arn_parts(arn) else {
            return false;
        };
        region == scope.region
            && account == scope.account
            && (self.arns.is_empty() || self.arns.iter().any(|a| a == arn))
            && (self.types.is_empty()
                || self.types.iter().any(|t| match t.split_once(':') {
                    Some((s, k)) => s == service && k == kind,
                    None => t == service,
                }))
    }

    fn matches_tags(&self, tags: &Tags) -> bool {
        self.tags.iter().all(|(key, values)| {
            tags.iter()
                .any(|(k, v)| k == key && (values.is_empty() || values.contains(v)))
        })
    }
}

/// A `GetResources` answer: records what it shows; with `lag`, rewrites it to the tags of `lag` ago.
/// True if `answer` changed.
pub(super) fn get_resources(
    state: &mut State,
    call: &Call<'_>,
    answer: &mut Value,
    lag: Option<Duration>,
    now: Instant,
    keep: Duration,
) -> bool {
    let filters = Filters::of(call);
    let paginated = call
        .body
        .str("PaginationToken")
        .is_some_and(|t| !t.is_empty())
        || answer
            .get("PaginationToken")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty());
    let Some(Value::Array(list)) = answer.get_mut("ResourceTagMappingList") else {
        return false;
    };
    let listed: Vec<(String, Tags)> = list
        .iter()
        .filter_map(|item| {
            let arn = item.get("ResourceARN")?.as_str()?.to_string();
            Some((arn, parse_tags(item.get("Tags"), "Key", "Value")))
        })
        .collect();

    // Record what the answer shows.
    let history = &mut state.tags;
    for (arn, tags) in &listed {
        let at = if history.latest(arn).is_some() {
            Some(now)
        } else {
            None
        };
        history.push(arn, at, Some(tags.clone()), keep);
    }
    let mut vanished = Vec::new();
    if !paginated {
        for (arn, changes) in &history.0 {
            let was_listed = changes
                .last()
                .and_then(|c| c.tags.as_ref())
                .is_some_and(|tags| filters.matches_tags(tags));
            if was_listed
                && filters.covers(&call.scope, arn)
                && !listed.iter().any(|(a, _)| a == arn)
            {
                vanished.push(arn.clone());
            }
        }
        for arn in &vanished {
            history.push(arn, Some(now), None, keep);
        }
    }

    let Some(lag) = lag else { return false };
    let then = now.checked_sub(lag);
    let mut out = Vec::with_capacity(list.len());
    let mut changed = false;
    for (item, (arn, tags)) in list.iter().zip(&listed) {
        match history.at(arn, then) {
            Some(past) if filters.matches_tags(past) => {
                if past == tags {
                    out.push(item.clone());
                } else {
                    out.push(mapping(arn, past));
                    changed = true;
                }
            }
            _ => changed = true,
        }
    }
    if !paginated {
        let mut kept: Vec<&String> = history
            .0
            .keys()
            .filter(|arn| {
                filters.covers(&call.scope, arn) && !listed.iter().any(|(a, _)| a == *arn)
            })
            .collect();
        kept.sort();
        for arn in kept {
            if let Some(past) = history.at(arn, then)
                && filters.matches_tags(past)
            {
                out.push(mapping(arn, past));
                changed = true;
            }
        }
    }
    if changed {
        *list = out;
    }
    changed
}

fn mapping(arn: &str, tags: &Tags) -> Value {
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
        .collect();
    serde_json::json!({"ResourceARN": arn, "Tags": tags})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:us-east-1:1:key/k1";
    const OLD: &str = "arn:aws:kms:us-east-1:1:key/k0";

    fn call<'a>(op: &'a str, body: &str) -> Call<'a> {
        Call::test("1", op, body)
    }

    fn resources(items: &[(&str, &[(&str, &str)])]) -> Value {
        let list: Vec<Value> = items
            .iter()
            .map(|(arn, tags)| {
                let tags: Vec<Value> = tags
                    .iter()
                    .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
                    .collect();
                serde_json::json!({"ResourceARN": arn, "Tags": tags})
            })
            .collect();
        serde_json::json!({"ResourceTagMappingList": list})
    }

    #[test]
    fn tags_lag_and_gone_resources_stay() {
        let mut state = State::default();
        let keep = Duration::from_secs(10);
        let lag = Some(Duration::from_secs(1));
        let t0 = Instant::now();
        let get = call("tagging:GetResources", r#"{"ResourceTypeFilters":["kms"]}"#);

        // A key the proxy first sees in an answer has had its tags forever.
        let mut answer = resources(&[(OLD, &[("env", "prod")])]);
        assert!(!get_resources(&mut state, &get, &mut answer, lag, t0, keep));

        // A new key with tags: absent for a second.
        let create = call(
            "kms:CreateKey",
            r#"{"Tags":[{"TagKey":"env","TagValue":"dev"}]}"#,
        );
        let created = serde_json::json!({"KeyMetadata": {"KeyId": "k1", "Arn": ARN}});
        state.keys.learn(&create, Some(&created));
        observe_kms_write(&mut state, &create, Some(&created), t0, keep);
        let t1 = t0 + Duration::from_millis(500);
        let mut answer = resources(&[(OLD, &[("env", "prod")]), (ARN, &[("env", "dev")])]);
        assert!(get_resources(&mut state, &get, &mut answer, lag, t1, keep));
        assert_eq!(answer, resources(&[(OLD, &[("env", "prod")])]));

        // Tagged again: the old tags for a second.
        let t2 = t0 + Duration::from_millis(1500);
        let tag = call(
            "kms:TagResource",
            r#"{"KeyId":"k1","Tags":[{"TagKey":"team","TagValue":"a"}]}"#,
        );
        observe_kms_write(&mut state, &tag, None, t2, keep);
        let mut answer = resources(&[
            (OLD, &[("env", "prod")]),
            (ARN, &[("env", "dev"), ("team", "a")]),
        ]);
        assert!(get_resources(&mut state, &get, &mut answer, lag, t2, keep));
        assert_eq!(
            answer,
            resources(&[(OLD, &[("env", "prod")]), (ARN, &[("env", "dev")])])
        );

        // The old key disappears (its tags went): still listed for a second with its last tags.
        let t3 = t0 + Duration::from_millis(3000);
        let mut answer = resources(&[(ARN, &[("env", "dev"), ("team", "a")])]);
        assert!(get_resources(&mut state, &get, &mut answer, lag, t3, keep));
        assert_eq!(
            answer,
            resources(&[
                (ARN, &[("env", "dev"), ("team", "a")]),
                (OLD, &[("env", "prod")])
            ])
        );
        let t4 = t3 + Duration::from_millis(1000);
        let mut answer = resources(&[(ARN, &[("env", "dev"), ("team", "a")])]);
        assert!(
            !get_resources(&mut state, &get, &mut answer, lag, t4, keep),
            "caught up"
        );

        // Without the rule firing, answers are only recorded.
        let untag = call("kms:UntagResource", r#"{"KeyId":"k1","TagKeys":["team"]}"#);
        observe_kms_write(&mut state, &untag, None, t4, keep);
        let mut answer = resources(&[(ARN, &[("env", "dev")])]);
        assert!(!get_resources(
            &mut state,
            &get,
            &mut answer,
            None,
            t4,
            keep
        ));
        let mut answer = resources(&[(ARN, &[("env", "dev")])]);
        assert!(get_resources(&mut state, &get, &mut answer, lag, t4, keep));
        assert_eq!(
            answer,
            resources(&[(ARN, &[("env", "dev"), ("team", "a")])])
        );
    }

    #[test]
    fn filters() {
        let scope = Scope::new("1", "us-east-1");
        let get = call(
            "tagging:GetResources",
            r#"{"ResourceTypeFilters":["kms:key"],"TagFilters":[{"Key":"env","Values":["prod"]}]}"#,
        );
        let f = Filters::of(&get);
        assert!(f.covers(&scope, ARN));
        assert!(
            !f.covers(&scope, "arn:aws:kms:us-east-1:2:key/k1"),
            "other account"
        );
        assert!(
            !f.covers(&scope, "arn:aws:kms:eu-west-1:1:key/k1"),
            "other region"
        );
        assert!(!f.covers(&scope, "arn:aws:sns:us-east-1:1:topic"));
        assert!(f.matches_tags(&vec![("env".into(), "prod".into())]));
        assert!(!f.matches_tags(&vec![("env".into(), "dev".into())]));
        assert!(!f.matches_tags(&vec![]));

        // A resource whose tags stop matching the filter leaves the answer: kept for the lag.
        let mut state = State::default();
        let t0 = Instant::now();
        let keep = Duration::from_secs(10);
        let mut answer = resources(&[(ARN, &[("env", "prod")])]);
        get_resources(&mut state, &get, &mut answer, None, t0, keep);
        let mut answer = resources(&[]);
        let t1 = t0 + Duration::from_millis(10);
        assert!(get_resources(
            &mut state,
            &get,
            &mut answer,
            Some(Duration::from_secs(1)),
            t1,
            keep
        ));
        assert_eq!(answer, resources(&[(ARN, &[("env", "prod")])]));

        // Paginated answers are lagged, not completed.
        let mut state = State::default();
        let paged = call("tagging:GetResources", r#"{"PaginationToken":"x"}"#);
        let mut answer = resources(&[(ARN, &[("env", "prod")])]);
        get_resources(&mut state, &paged, &mut answer, None, t0, keep);
        let mut answer = resources(&[]);
        assert!(!get_resources(
            &mut state,
            &paged,
            &mut answer,
            Some(Duration::from_secs(1)),
            t1,
            keep
        ));
    }

    #[test]
    fn history_is_bounded() {
        let mut history = History::default();
        let t0 = Instant::now();
        let keep = Duration::from_secs(1);
        for i in 0..100u64 {
            let tags = vec![("n".to_string(), i.to_string())];
            history.push(
                ARN,
                Some(t0 + Duration::from_millis(100 * i)),
                Some(tags),
                keep,
            );
        }
        assert!(history.0[ARN].len() <= 12, "{}", history.0[ARN].len());
        let then = t0 + Duration::from_millis(9_350);
        assert_eq!(history.at(ARN, Some(then)).unwrap()[0].1, "93");
    }
}
