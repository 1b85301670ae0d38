//! `[[key]]` entries as written in an environment's TOML files.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The lifecycle state a key is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredState {
    Enabled,
    Disabled,
    /// Deletion scheduled with the key's `deletion_window_in_days`.
    PendingDeletion,
}

/// One `[[key]]` table. Spans let guard findings name the line of the offending field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDecl {
    pub function: Spanned<String>,
    pub team: Spanned<String>,
    pub purpose: Spanned<String>,
    pub description: Option<String>,
    /// A file under `policies/kms/`; without it the key gets AWS's default key policy.
    pub policy: Option<Spanned<String>>,
    pub spec: Option<Spanned<String>>,
    pub usage: Option<Spanned<String>>,
    pub multi_region: Option<Spanned<bool>>,
    pub enable_key_rotation: Option<Spanned<bool>>,
    pub rotation_period_in_days: Option<Spanned<i64>>,
    pub deletion_window_in_days: Option<Spanned<i64>>,
    pub state: Option<Spanned<DeclaredState>>,
    /// Overrides the default alias `alias/{environment}-{function}-{team}-{purpose}`.
    pub alias: Option<Spanned<String>>,
    #[serde(default)]
    pub aliases: Vec<Spanned<String>>,
    #[serde(default)]
    pub adopt: bool,
    /// With `adopt = true`: the id of an existing key without an alias to take over (written by
    /// `kmsctl import` for such keys); the plan gives it the key's alias.
    pub key_id: Option<Spanned<String>>,
    /// The `[hsm.key_store]` the key is created in (origin `AWS_CLOUDHSM`).
    pub custom_key_store: Option<Spanned<String>>,
    /// How often the operator rotates a key AWS cannot rotate (`kmsctl rotate`).
    pub manual_rotation_days: Option<Spanned<i64>>,
    #[serde(default)]
    pub tags: BTreeMap<Spanned<String>, Spanned<String>>,
}
