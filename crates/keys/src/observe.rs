//! Reads the live state of the keys an environment manages.
//!
//! ListAliases and ListKeys list the account; ListResourceTags on every key finds the ones kmsctl
//! manages (consistent per key, unlike the Resource Groups tagging API); DescribeKey, GetKeyPolicy
//! and GetKeyRotationStatus then run only on the keys in scope. Reads run concurrently, bounded.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata;
use kmsctl_aws::{AwsError, kms, map_bounded};
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
    pub state: String,
    pub spec: String,
    pub usage: String,
    pub origin: String,
    pub multi_region: bool,
    pub deletion_date: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub policy: Option<String>,
    /// `None` when AWS does not say (a key that cannot rotate, or a state that hides it).
    pub rotation_enabled: Option<bool>,
    /// `None` when AWS omits it (older API answers; the emulator always does).
    pub rotation_period_days: Option<i64>,
    pub aliases: Vec<String>,
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
        self.state == "PendingDeletion"
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

pub async fn observe(
    client: &Client,
    scope: &Scope,
    parallelism: usize,
) -> Result<Observation, ObserveError> {
    let (aliases, keys) = futures::try_join!(kms::list_aliases(client), kms::list_keys(client))?;
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
    // AWS managed keys carry only alias/aws/* aliases; skip them without a call.
    let key_ids: Vec<String> = keys
        .iter()
        .filter_map(|k| k.key_id())
        .filter(|id| {
            !aliases_of
                .get(*id)
                .is_some_and(|a| a.iter().all(|n| n.starts_with("alias/aws/")))
        })
        .map(str::to_owned)
        .collect();

    let declared_aliases = scope.aliases();
    let alias_targets: BTreeSet<String> = declared_aliases
        .iter()
        .filter_map(|alias| observation.key_of_alias(alias))
        .map(str::to_owned)
        .collect();
    let tagged = map_bounded(key_ids, parallelism, |key_id| async move {
        match kms::list_resource_tags(client, &key_id).await {
            Ok(tags) => Ok((key_id, Ok(tags))),
            Err(error) if skippable(error.code()) => Ok((key_id, Err(error.to_string()))),
            Err(error) => Err(error),
        }
    })
    .await?;

    let mut in_scope = Vec::new();
    for (key_id, tags) in tagged {
        let tags = match tags {
            Ok(tags) => tags
                .into_iter()
                .map(|t| (t.tag_key, t.tag_value))
                .collect::<BTreeMap<_, _>>(),
            Err(reason) => {
                if alias_targets.contains(&key_id) {
                    observation.unreadable.insert(key_id, reason);
                }
                continue;
            }
        };
        let ours = tags.get(TAG_MANAGED).is_some_and(|v| v == "true")
            && tags
                .get(TAG_ENVIRONMENT)
                .is_some_and(|e| *e == scope.environment);
        if ours || alias_targets.contains(&key_id) {
            in_scope.push((key_id, tags));
        }
    }

    let described = map_bounded(in_scope, parallelism, |(key_id, tags)| {
        let aliases = aliases_of.get(&key_id).cloned().unwrap_or_default();
        async move { describe(client, key_id, tags, aliases).await }
    })
    .await?;
    for (key_id, result) in described {
        match result {
            Ok(key) => {
                observation.keys.insert(key_id, key);
            }
            Err(reason) => {
                observation.unreadable.insert(key_id, reason);
            }
        }
    }
    Ok(observation)
}

/// DescribeKey, GetKeyPolicy and GetKeyRotationStatus of one key. `Ok(Err(reason))` for a key
/// AWS will not describe (denied by its policy, deleted meanwhile).
async fn describe(
    client: &Client,
    key_id: String,
    tags: BTreeMap<String, String>,
    aliases: Vec<String>,
) -> Result<(String, Result<ObservedKey, String>), AwsError> {
    let metadata = match client.describe_key().key_id(&key_id).send().await {
        Ok(output) => output.key_metadata,
        Err(error) if skippable(error.code()) => {
            let reason = AwsError::call("kms:DescribeKey", error).to_string();
            return Ok((key_id, Err(reason)));
        }
        Err(error) => return Err(AwsError::call("kms:DescribeKey", error)),
    };
    let Some(metadata) = metadata else {
        return Ok((key_id, Err("kms:DescribeKey returned no metadata".into())));
    };
    let spec_name = metadata
        .key_spec()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let origin = metadata
        .origin()
        .map(|o| o.as_str().to_owned())
        .unwrap_or_default();
    let policy = match client
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
    let (rotation_enabled, rotation_period_days) = if spec::rotatable(&spec_name, &origin) {
        match client
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
        state: metadata
            .key_state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        spec: spec_name,
        usage: metadata
            .key_usage()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_default(),
        origin,
        multi_region: metadata.multi_region().unwrap_or(false),
        deletion_date: metadata.deletion_date().map(|d| d.to_string()),
        tags,
        policy,
        rotation_enabled,
        rotation_period_days,
        aliases,
        key_id: key_id.clone(),
    };
    Ok((key_id, Ok(key)))
}
