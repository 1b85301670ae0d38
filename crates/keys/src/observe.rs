//! Reads the live state of the keys an environment manages.
//!
//! About three requests per key: ListAliases and the Resource Groups Tagging API (100 keys a
//! call) find the keys in scope with their tags; DescribeKey, GetKeyPolicy and
//! GetKeyRotationStatus then read each one. The tagging API is eventually consistent, so nothing
//! that decides a change rests on it alone: a declared key it does not show is looked for with
//! ListKeys + ListResourceTags (a key made seconds ago must be found, not made twice), and the
//! tags of a key about to change are read again with ListResourceTags (`confirm_tags`).
//! Reads run concurrently, bounded.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, OriginType};
use kmsctl_aws::{AwsError, KmsClients, Reported, map_bounded};
use serde::{Deserialize, Serialize};

use crate::desired::{DesiredKey, TAG_ENVIRONMENT, TAG_ID, TAG_MANAGED};
use crate::spec;

/// What to observe: the environment and the keys and aliases it declares. Saved in the plan so
/// apply can observe the same resources again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    pub environment: String,
    pub keys: Vec<ScopeKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeKey {
    pub name: String,
    pub id: String,
    pub aliases: Vec<String>,
    /// The existing key the declaration adopts by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt_key_id: Option<String>,
}

impl Scope {
    pub fn of(environment: &str, keys: &[DesiredKey]) -> Self {
        Self {
            environment: environment.to_owned(),
            keys: keys
                .iter()
                .map(|k| ScopeKey {
                    name: k.name.clone(),
                    id: k.id.clone(),
                    aliases: k.all_aliases().cloned().collect(),
                    adopt_key_id: k.adopt_key_id.clone(),
                })
                .collect(),
        }
    }

    fn aliases(&self) -> BTreeSet<&str> {
        self.keys
            .iter()
            .flat_map(|k| k.aliases.iter().map(String::as_str))
            .collect()
    }
}

/// A customer managed key as AWS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedKey {
    pub key_id: String,
    pub arn: String,
    pub description: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: Reported<KeyState>,
    pub spec: Reported<KeySpec>,
    pub usage: Reported<KeyUsageType>,
    pub origin: Reported<OriginType>,
    pub multi_region: bool,
    pub deletion_date: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub policy: Option<String>,
    /// `None` when AWS does not say (a key that cannot rotate, or a state that hides it).
    pub rotation_enabled: Option<bool>,
    /// `None` when AWS omits it (older API answers; the emulator always does).
    pub rotation_period_days: Option<i64>,
    pub aliases: Vec<String>,
    /// The tags were read with ListResourceTags (consistent), not the tagging API.
    #[serde(skip)]
    pub tags_confirmed: bool,
}

impl ObservedKey {
    pub fn is_managed(&self) -> bool {
        self.tags.get(TAG_MANAGED).is_some_and(|v| v == "true")
    }

    pub fn managed_id(&self) -> Option<&str> {
        if self.is_managed() {
            self.tags.get(TAG_ID).map(String::as_str)
        } else {
            None
        }
    }

    pub fn managed_environment(&self) -> Option<&str> {
        if self.is_managed() {
            self.tags.get(TAG_ENVIRONMENT).map(String::as_str)
        } else {
            None
        }
    }

    pub fn pending_deletion(&self) -> bool {
        self.state == KeyState::PendingDeletion
    }

    /// Whether AWS can rotate the key; `false` when it did not say what the key is.
    pub fn rotatable(&self) -> bool {
        self.spec
            .get()
            .zip(self.origin.get())
            .is_some_and(|(spec, origin)| spec::rotatable(spec, origin))
    }
}

/// The observed account, as far as the scope needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Observation {
    /// Keys in scope (targets of declared aliases, and keys tagged for this environment), by id.
    pub keys: BTreeMap<String, ObservedKey>,
    /// Every alias of the account and the key it points to.
    pub aliases: BTreeMap<String, Option<String>>,
    /// Keys that could not be read, with the reason; reported, never touched.
    pub unreadable: BTreeMap<String, String>,
    /// The `kmsctl:id` the tagging API gives unreadable keys → the key: a declared key that is
    /// one of them is unreadable, not absent (a plan must not create it a second time).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable_ids: BTreeMap<String, String>,
}

impl Observation {
    pub fn key_of_alias(&self, alias: &str) -> Option<&str> {
        self.aliases.get(alias).and_then(|target| target.as_deref())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ObserveError(#[from] pub AwsError);

/// A key's state does not let AWS answer: the key is gone, or kmsctl may not read it.
fn skippable(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("NotFoundException" | "AccessDeniedException" | "KMSInvalidStateException")
    )
}

/// How to observe. The tagging API finds the keys; what decides a change is confirmed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub parallelism: usize,
}

impl Options {
    /// For a plan (apply recomputes the plan, so it observes the same way).
    pub fn plan(parallelism: usize) -> Self {
        Self { parallelism }
    }
}

pub async fn observe(
    clients: &KmsClients,
    scope: &Scope,
    options: Options,
) -> Result<Observation, ObserveError> {
    let (aliases, tagged) = futures::try_join!(
        crate::list::list_aliases(&clients.list),
        crate::list::tagged_keys(&clients.tagging, TAG_ENVIRONMENT, &scope.environment)
    )?;
    let mut observation = Observation::default();
    let mut aliases_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for alias in &aliases {
        let Some(name) = alias.alias_name() else {
            continue;
        };
        observation
            .aliases
            .insert(name.to_owned(), alias.target_key_id().map(str::to_owned));
        if let Some(target) = alias.target_key_id() {
            aliases_of
                .entry(target.to_owned())
                .or_default()
                .push(name.to_owned());
        }
    }

    // Candidates: keys tagged as managed by this environment, and the targets of declared aliases.
    let mut candidates: BTreeMap<String, Option<BTreeMap<String, String>>> = tagged
        .into_iter()
        .filter(|(_, tags)| tags.get(TAG_MANAGED).is_some_and(|v| v == "true"))
        .map(|(id, tags)| (id, Some(tags)))
        .collect();
    // Keys adopted by id count as declared: read them like an alias's target.
    let alias_targets: BTreeSet<String> = scope
        .aliases()
        .iter()
        .filter_map(|alias| observation.key_of_alias(alias))
        .map(str::to_owned)
        .chain(scope.keys.iter().filter_map(|k| k.adopt_key_id.clone()))
        .collect();
    for target in &alias_targets {
        candidates.entry(target.clone()).or_insert(None);
    }

    // A declared key found neither by alias nor by the tagging API may still exist (made seconds
    // ago, its alias never created): look for it through consistent APIs before calling it absent.
    let found_ids: BTreeSet<&str> = candidates
        .values()
        .flatten()
        .filter_map(|tags| tags.get(TAG_ID).map(String::as_str))
        .collect();
    let unaccounted = scope.keys.iter().any(|k| {
        let by_alias = k
            .aliases
            .first()
            .is_some_and(|a| observation.key_of_alias(a).is_some());
        !by_alias && !found_ids.contains(k.id.as_str())
    });
    if unaccounted {
        let scanned =
            scan_for_environment(clients, scope, &candidates, &aliases_of, options).await?;
        candidates.extend(scanned.into_iter().map(|(id, tags)| (id, Some(tags))));
    }

    let read = map_bounded(
        candidates.into_iter().collect(),
        options.parallelism,
        |(key_id, tags)| {
            let aliases = aliases_of.get(&key_id).cloned().unwrap_or_default();
            let id_tag = tags
                .as_ref()
                .and_then(|t| t.get(crate::desired::TAG_ID).cloned());
            async move {
                let (key_id, result) = describe(clients, key_id, tags, aliases).await?;
                Ok::<_, AwsError>((key_id, result, id_tag))
            }
        },
    )
    .await?;
    for (key_id, result, id_tag) in read {
        match result {
            Ok(Some(key)) => {
                observation.keys.insert(key_id, key);
            }
            // Gone since it was listed, or an AWS managed key: nothing to manage.
            Ok(None) => {}
            Err(reason) if alias_targets.contains(&key_id) || id_tag.is_some() => {
                if let Some(id) = id_tag {
                    observation.unreadable_ids.insert(id, key_id.clone());
                }
                observation.unreadable.insert(key_id, reason);
            }
            Err(reason) => tracing::info!(key_id, reason, "skipped a key kmsctl cannot read"),
        }
    }
    Ok(observation)
}

/// ListKeys, then ListResourceTags on every key not yet accounted for: the managed keys of this
/// environment, with consistent tags.
async fn scan_for_environment(
    clients: &KmsClients,
    scope: &Scope,
    known: &BTreeMap<String, Option<BTreeMap<String, String>>>,
    aliases_of: &BTreeMap<String, Vec<String>>,
    options: Options,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    let keys = crate::list::list_keys(&clients.list).await?;
    // AWS managed keys carry only alias/aws/* aliases; skip them without a call.
    let unknown: Vec<String> = keys
        .iter()
        .filter_map(|k| k.key_id())
        .filter(|id| !known.contains_key(*id))
        .filter(|id| {
            !aliases_of
                .get(*id)
                .is_some_and(|a| a.iter().all(|n| n.starts_with("alias/aws/")))
        })
        .map(str::to_owned)
        .collect();
    let tagged = map_bounded(unknown, options.parallelism, |key_id| async move {
        match crate::list::list_resource_tags(&clients.list_resource_tags, &key_id).await {
            Ok(tags) => Ok(Some((key_id, tags))),
            Err(error) if skippable(error.code()) => Ok(None),
            Err(error) => Err(error),
        }
    })
    .await?;
    Ok(tagged
        .into_iter()
        .flatten()
        .map(|(id, tags)| {
            (
                id,
                tags.into_iter()
                    .map(|t| (t.tag_key, t.tag_value))
                    .collect::<BTreeMap<_, _>>(),
            )
        })
        .filter(|(_, tags)| {
            tags.get(TAG_MANAGED).is_some_and(|v| v == "true")
                && tags
                    .get(TAG_ENVIRONMENT)
                    .is_some_and(|e| *e == scope.environment)
        })
        .collect())
}

/// Reads the tags of `keys` again with ListResourceTags, replacing what the tagging API said.
pub async fn confirm_tags(
    clients: &KmsClients,
    observation: &mut Observation,
    keys: &BTreeSet<String>,
    parallelism: usize,
) -> Result<(), ObserveError> {
    let unconfirmed: Vec<String> = keys
        .iter()
        .filter(|id| observation.keys.get(*id).is_some_and(|k| !k.tags_confirmed))
        .cloned()
        .collect();
    let read = map_bounded(unconfirmed, parallelism, |key_id| async move {
        let tags = crate::list::list_resource_tags(&clients.list_resource_tags, &key_id).await?;
        Ok::<_, AwsError>((key_id, tags))
    })
    .await?;
    for (key_id, tags) in read {
        if let Some(key) = observation.keys.get_mut(&key_id) {
            key.tags = tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect();
            key.tags_confirmed = true;
        }
    }
    Ok(())
}

/// DescribeKey, GetKeyPolicy and GetKeyRotationStatus of one key (and ListResourceTags when its
/// tags are not known yet). `Ok(None)` for a key that is gone or AWS managed; `Err(reason)` for
/// one AWS will not describe.
pub(crate) async fn describe(
    clients: &KmsClients,
    key_id: String,
    tags: Option<BTreeMap<String, String>>,
    aliases: Vec<String>,
) -> Result<(String, Result<Option<ObservedKey>, String>), AwsError> {
    let metadata = match clients
        .describe_key
        .describe_key()
        .key_id(&key_id)
        .send()
        .await
    {
        Ok(output) => output.key_metadata,
        Err(error) if error.code() == Some("NotFoundException") => return Ok((key_id, Ok(None))),
        Err(error) if skippable(error.code()) => {
            let reason = AwsError::call("kms:DescribeKey", error).to_string();
            return Ok((key_id, Err(reason)));
        }
        Err(error) => return Err(AwsError::call("kms:DescribeKey", error)),
    };
    let Some(metadata) = metadata else {
        return Ok((key_id, Err("kms:DescribeKey returned no metadata".into())));
    };
    if metadata.key_manager().is_some_and(|m| m.as_str() == "AWS") {
        return Ok((key_id, Ok(None)));
    }
    let (tags, tags_confirmed) = match tags {
        Some(tags) => (tags, false),
        None => match crate::list::list_resource_tags(&clients.list_resource_tags, &key_id).await {
            Ok(tags) => (
                tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect(),
                true,
            ),
            Err(error) if skippable(error.code()) => return Ok((key_id, Err(error.to_string()))),
            Err(error) => return Err(error),
        },
    };
    let policy = match clients
        .get_key_policy
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
    {
        Ok(output) => output.policy,
        Err(error) if skippable(error.code()) => None,
        Err(error) => return Err(AwsError::call("kms:GetKeyPolicy", error)),
    };
    let rotatable = metadata
        .key_spec()
        .zip(metadata.origin())
        .is_some_and(|(spec, origin)| spec::rotatable(spec, origin));
    let (rotation_enabled, rotation_period_days) = if rotatable {
        match clients
            .get_key_rotation_status
            .get_key_rotation_status()
            .key_id(&key_id)
            .send()
            .await
        {
            Ok(output) => (
                Some(output.key_rotation_enabled),
                output.rotation_period_in_days.map(i64::from),
            ),
            Err(error) if skippable(error.code()) => (None, None),
            Err(error) => return Err(AwsError::call("kms:GetKeyRotationStatus", error)),
        }
    } else {
        (None, None)
    };
    let key = ObservedKey {
        arn: metadata.arn().unwrap_or_default().to_owned(),
        description: metadata.description().unwrap_or_default().to_owned(),
        state: metadata.key_state().cloned().into(),
        spec: metadata.key_spec().cloned().into(),
        usage: metadata.key_usage().cloned().into(),
        origin: metadata.origin().cloned().into(),
        multi_region: metadata.multi_region().unwrap_or(false),
        deletion_date: metadata.deletion_date().map(|d| d.to_string()),
        tags,
        policy,
        rotation_enabled,
        rotation_period_days,
        aliases,
        tags_confirmed,
        key_id: key_id.clone(),
    };
    Ok((key_id, Ok(Some(key))))
}
