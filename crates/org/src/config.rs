//! `organization/organization.toml` as written.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The section of README.md that documents every field of organization.toml (a test checks it
/// does); parse errors point to it.
pub const REFERENCE: &str = "Organization file reference";

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
    /// Take over a policy of this name made by hand (no `kmsctl:managed` tag): the plan tags it,
    /// then manages its content and description (`kmsctl import organization` writes it).
    #[serde(default)]
    pub adopt: bool,
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
    /// Policy name → its settings; every name must be one the file attaches
    /// (`org-policy-unattached`).
    #[serde(default)]
    pub policy: BTreeMap<Spanned<String>, PolicySettings>,
    /// The organization's ids and where each account sits, for offline answers.
    pub tree: Option<crate::declared_tree::DeclaredTree>,
    /// Dual control: the kinds of change that need a second person's approval.
    #[serde(default)]
    pub approvals: Approvals,
}

/// `[approvals]`: which changes of every target (the organization and each environment) need an
/// approval recorded in the backend by someone other than who planned and who applies them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approvals {
    #[serde(default)]
    pub required_for: Vec<Spanned<kmsctl_core::approval::ApprovalKind>>,
}

impl Approvals {
    /// The kinds required, each once.
    pub fn kinds(&self) -> std::collections::BTreeSet<kmsctl_core::approval::ApprovalKind> {
        self.required_for.iter().map(|k| *k.get_ref()).collect()
    }
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

    /// The `[policy.NAME]` settings of a policy, when the file has them.
    pub fn policy_settings(&self, name: &str) -> Option<&PolicySettings> {
        self.policy
            .iter()
            .find(|(declared, _)| declared.get_ref() == name)
            .map(|(_, settings)| settings)
    }

    /// The deployer's role ARN as written (`*` standing for each account), else kmsctl's
    /// default: `arn:PARTITION:iam::*:role/kmsctl-deployer`.
    pub fn deployer_role_arn(&self) -> String {
        match &self.deployer_role_arn {
            Some(role) => role.get_ref().clone(),
            None => format!(
                "arn:{}:iam::*:role/{}",
                kmsctl_core::environment::partition_of(self.region.get_ref()),
                kmsctl_core::policy::deployer::DEFAULT_DEPLOYER_ROLE
            ),
        }
    }

    /// Variables for `{{ name }}`: the declared ones plus the built-ins known offline
    /// (`deployer_role_arn` has its default when the file sets none).
    pub fn template_variables(&self) -> BTreeMap<String, String> {
        let mut vars = self.variables.clone();
        vars.insert("account_id".into(), self.account_id.get_ref().clone());
        vars.insert("region".into(), self.region.get_ref().clone());
        vars.insert(
            "partition".into(),
            kmsctl_core::environment::partition_of(self.region.get_ref()).into(),
        );
        vars.insert("deployer_role_arn".into(), self.deployer_role_arn());
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use kmsctl_core::serde_fields::fields_of;

    /// Every field of organization.toml, by its TOML path (`rules.require_rotation`,
    /// `policy.NAME.control`, `tree.ous`), from the structs that parse it.
    fn every_field() -> Vec<String> {
        let mut all = Vec::new();
        for (prefix, fields) in [
            ("", fields_of::<OrganizationFile>()),
            ("rules.", fields_of::<OrgRules>()),
            ("policy.NAME.", fields_of::<PolicySettings>()),
            ("tree.", fields_of::<crate::declared_tree::DeclaredTree>()),
            ("approvals.", fields_of::<Approvals>()),
        ] {
            assert!(!fields.is_empty(), "{prefix}: no fields read");
            all.extend(fields.iter().map(|field| format!("{prefix}{field}")));
        }
        all
    }

    /// The section of README.md titled `title`, up to the next heading of its level or above.
    fn readme_section(title: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let mut lines = readme.lines();
        let heading = lines
            .by_ref()
            .find(|line| line.starts_with('#') && line.trim_start_matches('#').trim() == title)
            .unwrap_or_else(|| panic!("README.md has no section {title:?}"));
        let level = heading.chars().take_while(|c| *c == '#').count();
        lines
            .take_while(|line| {
                let hashes = line.chars().take_while(|c| *c == '#').count();
                !(hashes > 0 && hashes <= level && line[hashes..].starts_with(' '))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The fields the reference's tables document: every `name` in a row's first cell, brackets
    /// of table headers taken off (`[tree.ous]` is `tree.ous`, `[policy.NAME]` is `policy`).
    fn documented(section: &str) -> Vec<String> {
        section
            .lines()
            .filter(|line| line.starts_with("| `"))
            .flat_map(|line| {
                let first = line.trim_start_matches('|').split('|').next().unwrap_or("");
                first
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(|name| {
                        let name = name.trim_matches(['[', ']']);
                        // `[policy.NAME]` is the table `policy`, one per policy name.
                        name.strip_suffix(".NAME").unwrap_or(name).to_owned()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The help of a parse error points to this section: every field of the structs is in it,
    /// and nothing it documents is a field they do not have.
    #[test]
    fn the_readme_reference_documents_every_field_and_only_those() {
        let section = readme_section(crate::config::REFERENCE);
        let documented = documented(&section);
        let fields = every_field();
        let missing: Vec<&String> = fields.iter().filter(|f| !documented.contains(f)).collect();
        assert!(
            missing.is_empty(),
            "README.md's {:?} does not document {missing:?}",
            crate::config::REFERENCE
        );
        let unknown: Vec<&String> = documented.iter().filter(|d| !fields.contains(d)).collect();
        assert!(
            unknown.is_empty(),
            "README.md's {:?} documents {unknown:?}, which organization.toml does not have",
            crate::config::REFERENCE
        );
    }

    fn parse(text: &str) -> OrganizationFile {
        toml::from_str(text).expect("parses")
    }

    #[test]
    fn deployer_role_arn_has_its_default_as_a_variable() {
        let org = parse("account_id = \"123456789012\"\nregion = \"us-east-1\"\n");
        assert_eq!(
            org.template_variables()["deployer_role_arn"],
            "arn:aws:iam::*:role/kmsctl-deployer"
        );
        let china = parse("account_id = \"123456789012\"\nregion = \"cn-north-1\"\n");
        assert_eq!(
            china.template_variables()["deployer_role_arn"],
            "arn:aws-cn:iam::*:role/kmsctl-deployer"
        );
        let set = parse(
            "account_id = \"123456789012\"\nregion = \"us-east-1\"\ndeployer_role_arn = \"arn:aws:iam::*:role/ops/deployer\"\n",
        );
        assert_eq!(
            set.template_variables()["deployer_role_arn"],
            "arn:aws:iam::*:role/ops/deployer"
        );
    }
}
