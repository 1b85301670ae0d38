//! `organization/organization.toml` as written.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyType {
    ServiceControlPolicy,
    ResourceControlPolicy,
}

impl PolicyType {
    pub const ALL: [Self; 2] = [Self::ServiceControlPolicy, Self::ResourceControlPolicy];

    pub fn api_name(self) -> &'static str {
        match self {
            Self::ServiceControlPolicy => "SERVICE_CONTROL_POLICY",
            Self::ResourceControlPolicy => "RESOURCE_CONTROL_POLICY",
        }
    }

    /// Where its files live, under `policies/org/`.
    pub fn folder(self) -> &'static str {
        match self {
            Self::ServiceControlPolicy => "service_control_policy",
            Self::ResourceControlPolicy => "resource_control_policy",
        }
    }

    /// The table that attaches it in organization.toml.
    pub fn table(self) -> &'static str {
        match self {
            Self::ServiceControlPolicy => "service_control_policies",
            Self::ResourceControlPolicy => "resource_control_policies",
        }
    }

    /// The AWS-managed policy AWS attaches everywhere when the type is enabled.
    pub fn aws_managed(self) -> &'static str {
        match self {
            Self::ServiceControlPolicy => "FullAWSAccess",
            Self::ResourceControlPolicy => "RCPFullAWSAccess",
        }
    }
}

/// Floors for every environment: an environment may tighten them, never loosen them. A rule
/// the organization does not set has the framework's default as its floor; only here, reviewed
/// by the organization's owners, can a rule be loosened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgRules {
    pub required_tags: Option<Vec<String>>,
    pub environment_tag: Option<String>,
    pub min_deletion_window_days: Option<i64>,
    pub require_rotation: Option<bool>,
    pub max_rotation_period_days: Option<i64>,
}

impl OrgRules {
    /// The floor every environment's `[rules]` must meet.
    pub fn floor(&self) -> kmsctl_core::environment::Rules {
        let defaults = kmsctl_core::environment::Rules::default();
        kmsctl_core::environment::Rules {
            required_tags: self.required_tags.clone().unwrap_or(defaults.required_tags),
            environment_tag: self
                .environment_tag
                .clone()
                .unwrap_or(defaults.environment_tag),
            min_deletion_window_days: self
                .min_deletion_window_days
                .unwrap_or(defaults.min_deletion_window_days),
            require_rotation: self.require_rotation.unwrap_or(defaults.require_rotation),
            max_rotation_period_days: self
                .max_rotation_period_days
                .unwrap_or(defaults.max_rotation_period_days),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    pub description: Option<String>,
    /// The framework control the policy enforces (`3.2.4` for an MFA policy); drift findings
    /// and the compliance report carry it. Default: 3.2.2, environment boundaries.
    pub control: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationFile {
    /// The management account: plan and apply refuse another caller account.
    pub account_id: Spanned<String>,
    pub region: Spanned<String>,
    /// Assumed before any call, like an environment's (optional).
    pub assume_role_arn: Option<Spanned<String>>,
    #[serde(default)]
    pub enabled_policy_types: Vec<Spanned<PolicyType>>,
    /// The role kmsctl applies with, in every account (`arn:aws:iam::*:role/kmsctl-deployer`).
    pub deployer_role_arn: Option<Spanned<String>>,
    /// Actions kmsctl needs to restore a control (`crate::deployer::RESTORE_ACTIONS`) that an
    /// SCP or RCP denies the deployer on purpose (`["kms:CreateKey"]`): their denial is then a
    /// warning, not an error (`org-deployer-denied`).
    #[serde(default)]
    pub deployer_knowingly_denied: Vec<Spanned<String>>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub rules: OrgRules,
    /// Target → policy names (file stems under `policies/org/service_control_policy/`).
    #[serde(default)]
    pub service_control_policies: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    pub resource_control_policies: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    pub policy: BTreeMap<String, PolicySettings>,
    /// The organization's ids and where each account sits, for offline answers.
    pub tree: Option<crate::declared_tree::DeclaredTree>,
}

impl OrganizationFile {
    pub fn attachments(
        &self,
        kind: PolicyType,
    ) -> &BTreeMap<Spanned<String>, Vec<Spanned<String>>> {
        match kind {
            PolicyType::ServiceControlPolicy => &self.service_control_policies,
            PolicyType::ResourceControlPolicy => &self.resource_control_policies,
        }
    }

    /// Variables for `{{ name }}`: the declared ones plus the built-ins known offline.
    pub fn template_variables(&self) -> BTreeMap<String, String> {
        let mut vars = self.variables.clone();
        vars.insert("account_id".into(), self.account_id.get_ref().clone());
        vars.insert("region".into(), self.region.get_ref().clone());
        vars.insert(
            "partition".into(),
            kmsctl_core::environment::partition_of(self.region.get_ref()).into(),
        );
        if let Some(role) = &self.deployer_role_arn {
            vars.insert("deployer_role_arn".into(), role.get_ref().clone());
        }
        vars
    }
}
