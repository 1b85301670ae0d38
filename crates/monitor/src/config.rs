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
    /// The rule's scope: the resource types it evaluates (`["AWS::KMS::Key"]`). Empty: the
    /// managed rule's own default.
    #[serde(default)]
    pub resource_types: Vec<String>,
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
    /// The recorder's name; AWS allows one customer-managed recorder per region.
    #[serde(default = "default_recorder_name")]
    pub name: String,
    /// The IAM role AWS Config assumes to read the resources.
    pub role_arn: Spanned<String>,
    /// The S3 bucket of the delivery channel.
    pub delivery_bucket: Spanned<String>,
    /// What the recorder records. The default records KMS keys only, which is what the KMS
    /// managed rules evaluate and keeps Config's per-item cost small; `["*"]` records every
    /// supported resource type.
    #[serde(default = "default_recorded_types")]
    pub resource_types: Vec<Spanned<String>>,
}

fn default_recorder_name() -> String {
    "default".to_owned()
}

fn default_recorded_types() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, "AWS::KMS::Key".to_owned())]
}

/// Everything an environment declares about monitoring.
#[derive(Debug, Clone, Default)]
pub struct MonitorDecl {
    pub rules: Vec<(kmsctl_core::source::SourceFile, Spanned<ConfigRuleDecl>)>,
    pub alerts: Option<(kmsctl_core::source::SourceFile, Spanned<AlertsDecl>)>,
    pub recorder: Option<(kmsctl_core::source::SourceFile, Spanned<ConfigRecorderDecl>)>,
}

#[cfg(test)]
pub(crate) mod tests_support {
    use kmsctl_core::source::SourceFile;

    use super::*;

    /// A monitor.toml with a recorder, two rules and alerts, as one file declares them.
    pub fn declaration() -> MonitorDecl {
        #[derive(Deserialize)]
        struct File {
            config_rule: Vec<Spanned<ConfigRuleDecl>>,
            alerts: Spanned<AlertsDecl>,
            config_recorder: Spanned<ConfigRecorderDecl>,
        }
        let text = r#"
[[config_rule]]
name = "kms-cmk-not-scheduled-for-deletion"
identifier = "KMS_CMK_NOT_SCHEDULED_FOR_DELETION"

[[config_rule]]
name = "kms-key-rotation-enabled"
identifier = "CMK_BACKING_KEY_ROTATION_ENABLED"
maximum_execution_frequency = "TwentyFour_Hours"

[alerts]
topic = "prod-kms-security-alerts"
topic_key = "alerts"
subscriptions = ["email:secops@example.com"]
min_severity = "high"

[config_recorder]
role_arn = "arn:aws:iam::222222222222:role/aws-config-recorder"
delivery_bucket = "prod-config-history"
"#;
        let file: File = toml::from_str(text).expect("monitor.toml");
        let source = SourceFile::new("environments/prod/monitor.toml", text.to_owned());
        MonitorDecl {
            rules: file
                .config_rule
                .into_iter()
                .map(|r| (source.clone(), r))
                .collect(),
            alerts: Some((source.clone(), file.alerts)),
            recorder: Some((source, file.config_recorder)),
        }
    }
}
