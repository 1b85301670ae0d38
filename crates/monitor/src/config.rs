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
    /// The rule's description (AWS Config's `Description`). Not declared: whatever the rule
    /// holds is left as it is.
    pub description: Option<Spanned<String>>,
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
    /// Overrides of the seed's severity table, by CloudTrail event name (spanned: a name that
    /// is no KMS event is reported at its line).
    #[serde(default)]
    pub severity: BTreeMap<Spanned<String>, Severity>,
    /// The EventBridge target id of the topic on each alert rule (default
    /// [`crate::desired::TARGET_ID`]).
    pub target_id: Option<Spanned<String>>,
    /// The name and description of the alert rule of a severity level.
    #[serde(default)]
    pub rules: AlertRulesDecl,
}

impl AlertsDecl {
    /// The severity overrides by event name, as the severity table takes them.
    pub fn severity_overrides(&self) -> BTreeMap<String, Severity> {
        self.severity
            .iter()
            .map(|(name, severity)| (name.get_ref().clone(), *severity))
            .collect()
    }
}

/// `[alerts.rules.LEVEL]`: what the alert rule of each severity level is called and says.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRulesDecl {
    pub low: Option<Spanned<AlertRuleDecl>>,
    pub medium: Option<Spanned<AlertRuleDecl>>,
    pub high: Option<Spanned<AlertRuleDecl>>,
    pub critical: Option<Spanned<AlertRuleDecl>>,
}

impl AlertRulesDecl {
    /// The declared levels, least severe first.
    pub fn declared(&self) -> impl Iterator<Item = (Severity, &Spanned<AlertRuleDecl>)> {
        [
            (Severity::Low, &self.low),
            (Severity::Medium, &self.medium),
            (Severity::High, &self.high),
            (Severity::Critical, &self.critical),
        ]
        .into_iter()
        .filter_map(|(severity, rule)| rule.as_ref().map(|rule| (severity, rule)))
    }

    pub fn get(&self, severity: Severity) -> Option<&AlertRuleDecl> {
        self.declared()
            .find(|(s, _)| *s == severity)
            .map(|(_, rule)| rule.get_ref())
    }
}

/// One alert rule's settings; each defaults to kmsctl's (`ENV-kms-alerts-LEVEL`, a description
/// naming the level, the environment and the topic).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleDecl {
    /// The EventBridge rule's name (the framework's `kms-key-deletion-alert`).
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
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
        from_text(DECLARATION)
    }

    pub const DECLARATION: &str = r#"
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

    /// The declarations of one monitor.toml (`[alerts]` and `[config_recorder]` optional).
    pub fn from_text(text: &str) -> MonitorDecl {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            config_rule: Vec<Spanned<ConfigRuleDecl>>,
            alerts: Option<Spanned<AlertsDecl>>,
            config_recorder: Option<Spanned<ConfigRecorderDecl>>,
        }
        let file: File = toml::from_str(text).expect("monitor.toml");
        let source = SourceFile::new("environments/prod/monitor.toml", text.to_owned());
        MonitorDecl {
            rules: file
                .config_rule
                .into_iter()
                .map(|r| (source.clone(), r))
                .collect(),
            alerts: file.alerts.map(|a| (source.clone(), a)),
            recorder: file.config_recorder.map(|r| (source, r)),
        }
    }
}
