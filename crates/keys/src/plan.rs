//! Observe and diff, with the tagging API's answers confirmed wherever they would decide a change.

use std::collections::BTreeSet;

use kmsctl_aws::KmsClients;

use crate::desired::DesiredKey;
use crate::diff::{KeysDiff, diff};
use crate::matching::find_declared;
use crate::observe::{self, Observation, ObserveError, Options, Scope};
use crate::{alias, key, key_policy, rotation};

/// The observation and diff a plan is made of. A clean environment costs about three requests
/// per key; when the diff finds work, the keys involved get their tags read again through
/// ListResourceTags (consistent) and the diff is made again on those.
pub async fn plan(
    clients: &KmsClients,
    environment: &str,
    keys: &[DesiredKey],
    parallelism: usize,
) -> Result<(Scope, Observation, KeysDiff), ObserveError> {
    let scope = Scope::of(environment, keys);
    let mut observation = observe::observe(clients, &scope, Options::plan(parallelism)).await?;
    let first = diff(environment, keys, &observation);
    if first.changes.is_empty() && first.findings.is_empty() {
        return Ok((scope, observation, first));
    }
    let involved = involved_keys(keys, &first, &observation);
    if involved
        .iter()
        .all(|id| observation.keys.get(id).is_none_or(|k| k.tags_confirmed))
    {
        return Ok((scope, observation, first));
    }
    observe::confirm_tags(clients, &mut observation, &involved, parallelism).await?;
    let confirmed = diff(environment, keys, &observation);
    Ok((scope, observation, confirmed))
}

/// Live keys whose tags a change or finding depends on: the keys of declared keys with a change,
/// and the keys their aliases point to now. Any finding involves every key.
fn involved_keys(
    keys: &[DesiredKey],
    first: &KeysDiff,
    observation: &Observation,
) -> BTreeSet<String> {
    if !first.findings.is_empty() {
        return observation.keys.keys().cloned().collect();
    }
    let changed: BTreeSet<(&str, &str)> = first
        .changes
        .iter()
        .map(|c| (c.address.kind.as_str(), c.address.name.as_str()))
        .collect();
    let mut involved = BTreeSet::new();
    for desired in keys {
        let own = [key::KIND, key_policy::KIND, rotation::KIND]
            .iter()
            .any(|kind| changed.contains(&(kind, desired.name.as_str())));
        let aliased = desired
            .all_aliases()
            .any(|a| changed.contains(&(alias::KIND, a.as_str())));
        if !own && !aliased {
            continue;
        }
        if let Some(live) = find_declared(observation, desired).key() {
            involved.insert(live.key_id.clone());
        }
        involved.extend(
            desired
                .all_aliases()
                .filter_map(|a| observation.key_of_alias(a))
                .map(str::to_owned),
        );
    }
    involved
}
