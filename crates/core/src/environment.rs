//! Settings of an environment that every domain reads: identity, variables, tags and guard rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Guard rules of an environment (`[rules]`). The defaults are the framework's controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Control 3.1.1: tags every key must carry.
    pub required_tags: Vec<String>,
    /// This tag must equal the environment name (the boundary SCPs rely on it).
    pub environment_tag: String,
    /// Control 3.4.1: AWS allows 7–30 days.
    pub min_deletion_window_days: i64,
    /// Control 3.3.1: for keys AWS can rotate (symmetric, origin AWS_KMS).
    pub require_rotation: bool,
    pub max_rotation_period_days: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            required_tags: [
                "BU",
                "BusinessOwner",
                "TechnicalOwner",
                "Project",
                "Owner",
                "Environment",
            ]
            .map(String::from)
            .to_vec(),
            environment_tag: "Environment".into(),
            min_deletion_window_days: 30,
            require_rotation: true,
            max_rotation_period_days: 365,
        }
    }
}

/// `environment.toml` less the domain tables: who, where, and the shared settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentSettings {
    pub name: String,
    pub account_id: String,
    pub region: String,
    pub assume_role_arn: Option<String>,
    pub variables: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub rules: Rules,
    /// What `organization/organization.toml` says about the environment's account, when the
    /// project has one that parses.
    #[serde(default)]
    pub organization: Option<OrganizationPlace>,
}

/// The environment's account as the organization's files place it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationPlace {
    /// organization.toml's `deployer_role_arn` (`arn:aws:iam::*:role/kmsctl-deployer`).
    pub deployer_role_arn: Option<String>,
    /// From organization.toml's `[tree]`.
    pub org_id: Option<String>,
    /// The account's `aws:PrincipalOrgPaths` value, from `[tree]`.
    pub org_path: Option<String>,
}

impl EnvironmentSettings {
    /// Variables for `{{ name }}` in policy files: the declared ones plus the built-ins.
    pub fn template_variables(&self) -> BTreeMap<String, String> {
        let mut vars = self.variables.clone();
        vars.insert("account_id".into(), self.account_id.clone());
        vars.insert("region".into(), self.region.clone());
        vars.insert("environment".into(), self.name.clone());
        vars.insert("partition".into(), partition_of(&self.region).into());
        vars
    }
}

impl EnvironmentSettings {
    /// The role kmsctl applies this environment as, for the lockout guard: `assume_role_arn`;
    /// else organization.toml's `deployer_role_arn`, its `*` account being this environment's;
    /// else `arn:PARTITION:iam::ACCOUNT:role/kmsctl-deployer`. `key_tags`: the key's tags.
    pub fn deployer(&self, key_tags: &BTreeMap<String, String>) -> crate::policy::Deployer {
        let place = self.organization.clone().unwrap_or_default();
        let partition = partition_of(&self.region);
        let (arn, source) = match (&self.assume_role_arn, &place.deployer_role_arn) {
            (Some(arn), _) => (arn.clone(), format!("env/{}'s assume_role_arn", self.name)),
            (None, Some(arn)) => (
                arn.replacen(":*:", &format!(":{}:", self.account_id), 1),
                "organization.toml's deployer_role_arn".to_owned(),
            ),
            (None, None) => (
                format!(
                    "arn:{partition}:iam::{}:role/{}",
                    self.account_id,
                    crate::policy::deployer::DEFAULT_DEPLOYER_ROLE
                ),
                format!(
                    "env/{} sets no assume_role_arn and no organization.toml names a deployer_role_arn: kmsctl's default role name",
                    self.name
                ),
            ),
        };
        crate::policy::Deployer {
            arn,
            account: self.account_id.clone(),
            region: self.region.clone(),
            org_id: place.org_id,
            org_paths: place.org_path.into_iter().collect(),
            key_tags: key_tags.clone(),
            source,
        }
    }
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_override_nothing_the_user_cannot_see() {
        let settings = EnvironmentSettings {
            name: "prod".into(),
            account_id: "222222222222".into(),
            region: "cn-north-1".into(),
            assume_role_arn: None,
            variables: BTreeMap::from([("db_admin_role".into(), "r".into())]),
            tags: BTreeMap::new(),
            rules: Rules::default(),
            organization: None,
        };
        let vars = settings.template_variables();
        assert_eq!(vars["partition"], "aws-cn");
        assert_eq!(vars["environment"], "prod");
        assert_eq!(vars["db_admin_role"], "r");
    }
}
