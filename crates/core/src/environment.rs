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

/// A rule of an environment that is looser than its floor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loosened {
    /// The `[rules]` field.
    pub field: &'static str,
    pub message: String,
    pub fix: String,
}

impl Rules {
    /// Where these rules are looser than `floor` (the organization's `[rules]`, or the
    /// framework's defaults): an environment may tighten every rule, never loosen one.
    pub fn loosened_from(&self, floor: &Rules) -> Vec<Loosened> {
        let mut found = Vec::new();
        let missing: Vec<&str> = floor
            .required_tags
            .iter()
            .filter(|tag| !self.required_tags.contains(tag))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            found.push(Loosened {
                field: "required_tags",
                message: format!(
                    "required_tags leaves out {} (control 3.1.1)",
                    missing.join(", ")
                ),
                fix: format!(
                    "list at least {:?}; more tags tighten the rule",
                    floor.required_tags
                ),
            });
        }
        if self.environment_tag != floor.environment_tag {
            found.push(Loosened {
                field: "environment_tag",
                message: format!(
                    "environment_tag = {:?}, but the boundary policies rely on {:?}",
                    self.environment_tag, floor.environment_tag
                ),
                fix: format!(
                    "remove environment_tag or set it to {:?}",
                    floor.environment_tag
                ),
            });
        }
        if self.min_deletion_window_days < floor.min_deletion_window_days {
            found.push(Loosened {
                field: "min_deletion_window_days",
                message: format!(
                    "min_deletion_window_days = {} is below the floor of {} (control 3.4.1)",
                    self.min_deletion_window_days, floor.min_deletion_window_days
                ),
                fix: format!(
                    "set min_deletion_window_days to at least {}",
                    floor.min_deletion_window_days
                ),
            });
        }
        if floor.require_rotation && !self.require_rotation {
            found.push(Loosened {
                field: "require_rotation",
                message: "require_rotation = false, but rotation is required (control 3.3.1)"
                    .to_owned(),
                fix: "set require_rotation = true (or remove it: true is the default)".to_owned(),
            });
        }
        if self.max_rotation_period_days > floor.max_rotation_period_days {
            found.push(Loosened {
                field: "max_rotation_period_days",
                message: format!(
                    "max_rotation_period_days = {} is above the floor of {} (control 3.3.1)",
                    self.max_rotation_period_days, floor.max_rotation_period_days
                ),
                fix: format!(
                    "set max_rotation_period_days to at most {}",
                    floor.max_rotation_period_days
                ),
            });
        }
        found
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
    /// Every OU `[tree]` declares, by its path of names (`root/prod`) → its org path by ids
    /// (`o-…/r-…/ou-…/`): what `{{ ou_path 'root/prod' }}` renders to in a key policy.
    #[serde(default)]
    pub ou_paths: BTreeMap<String, String>,
}

impl EnvironmentSettings {
    /// Variables for `{{ name }}` in policy files: the declared ones plus the built-ins.
    pub fn template_variables(&self) -> BTreeMap<String, String> {
        let mut vars = self.variables.clone();
        vars.insert("account_id".into(), self.account_id.clone());
        vars.insert("region".into(), self.region.clone());
        vars.insert("environment".into(), self.name.clone());
        vars.insert("partition".into(), partition_of(&self.region).into());
        // The role kmsctl applies this environment as, for deployer exemptions in key policies
        // (as organization policies have it); a declared variable of that name wins.
        vars.entry("deployer_role_arn".into())
            .or_insert_with(|| self.deployer(&BTreeMap::new()).arn);
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
    fn every_rule_may_be_tightened_and_none_loosened() {
        let floor = Rules::default();
        let tighter = Rules {
            required_tags: [floor.required_tags.clone(), vec!["CostCenter".into()]].concat(),
            min_deletion_window_days: 30,
            max_rotation_period_days: 180,
            ..Rules::default()
        };
        assert_eq!(tighter.loosened_from(&floor), vec![]);
        let looser = Rules {
            required_tags: vec![],
            environment_tag: "Env".into(),
            min_deletion_window_days: 7,
            require_rotation: false,
            max_rotation_period_days: 2560,
        };
        let fields: Vec<&str> = looser
            .loosened_from(&floor)
            .iter()
            .map(|l| l.field)
            .collect();
        assert_eq!(
            fields,
            [
                "required_tags",
                "environment_tag",
                "min_deletion_window_days",
                "require_rotation",
                "max_rotation_period_days"
            ]
        );
        let one_tag_less = Rules {
            required_tags: floor.required_tags[1..].to_vec(),
            ..Rules::default()
        };
        let found = one_tag_less.loosened_from(&floor);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("leaves out BU"),
            "{}",
            found[0].message
        );
    }

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
