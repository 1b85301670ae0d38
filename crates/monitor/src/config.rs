//! `[[config_rule]]`, `[alerts]` and `[config_recorder]` in an environment's TOML files.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::severity::Severity;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRuleDecl {
    pub name: Spanned<String>,
    /// An AWS managed rule identifier (`CMK_BACKING_KEY_ROTATION_ENABLED`).
    pub identifier: Spanned<String>,
    /// InputParameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    pub maximum_execution_frequency: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsDecl {
    /// The SNS topic kmsctl creates and manages.
    pub topic: Spanned<String>,
    /// A key of this environment, by purpose or alias, to encrypt the topic.
    pub topic_key: Option<Spanned<String>>,
    #[serde(default)]
    pub subscriptions: Vec<Spanned<String>>,
    /// Events at or above it are published to the topic.
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// Overrides of the seed's severity table, by event name.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
}

fn default_min_severity() -> Severity {
    Severity::High
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRecorderDecl {
    pub role_arn: Spanned<String>,
    pub delivery_bucket: Spanned<String>,
}

/// Everything an environment declares about monitoring.
#[derive(Debug, Clone, Default)]
pub struct MonitorDecl {
    pub rules: Vec<(kmsctl_core::source::SourceFile, Spanned<ConfigRuleDecl>)>,
    pub alerts: Option<(kmsctl_core::source::SourceFile, Spanned<AlertsDecl>)>,
    pub recorder: Option<(kmsctl_core::source::SourceFile, Spanned<ConfigRecorderDecl>)>,
}
