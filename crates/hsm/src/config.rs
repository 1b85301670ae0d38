//! `[hsm.cluster]` and `[hsm.key_store]` in an environment's `hsm.toml`.

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HsmDecl {
    pub cluster: Spanned<ClusterDecl>,
    pub key_store: Option<Spanned<KeyStoreDecl>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterDecl {
    /// Found by its `Name` tag.
    pub name: Spanned<String>,
    pub hsm_type: Spanned<String>,
    /// Private subnets in at least 2 Availability Zones.
    pub subnet_ids: Spanned<Vec<Spanned<String>>>,
    /// Spread across the AZs; at least 2.
    pub hsm_count: Spanned<i64>,
    pub source_backup_id: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyStoreDecl {
    pub name: Spanned<String>,
    /// A PEM certificate, relative to the environment folder.
    pub trust_anchor_certificate: Spanned<String>,
    /// The variable holding the `kmsuser` password, read at apply time only.
    pub password_env: Spanned<String>,
    /// Keep the store connected (the default); `false` disconnects it.
    #[serde(default = "yes")]
    pub connect: bool,
    /// Recognised so it can be refused: the value is never kept (the loader has blanked it).
    pub password: Option<Spanned<IgnoredAny>>,
}

fn yes() -> bool {
    true
}
