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
        };
        let vars = settings.template_variables();
        assert_eq!(vars["partition"], "aws-cn");
        assert_eq!(vars["environment"], "prod");
        assert_eq!(vars["db_admin_role"], "r");
    }
}
