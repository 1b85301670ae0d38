//! `[[expect]]` tables as declared (in an environment's files or `organization/expect.toml`):
//! an access decision the policies must give. `simulate` answers them.

use std::collections::BTreeMap;

use kmsctl_core::policy::eval::Outcome;
use serde::Deserialize;
use toml::Spanned;

/// The decision an expectation (or `simulate --expect`) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expected {
    Allow,
    /// Denied, explicitly or implicitly.
    Deny,
    /// Denied by a Deny statement (a guardrail), not merely for want of an Allow.
    ExplicitDeny,
    ImplicitDeny,
}

impl Expected {
    pub const ALL: [Self; 4] = [
        Self::Allow,
        Self::Deny,
        Self::ExplicitDeny,
        Self::ImplicitDeny,
    ];

    /// What the decision means, for `--help`, where the name alone does not say it.
    pub fn meaning(self) -> Option<&'static str> {
        match self {
            Self::Allow | Self::ImplicitDeny => None,
            Self::Deny => Some("Denied, explicitly or implicitly"),
            Self::ExplicitDeny => {
                Some("Denied by a Deny statement (a guardrail), not merely for want of an Allow")
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::ExplicitDeny => "explicit-deny",
            Self::ImplicitDeny => "implicit-deny",
        }
    }

    pub fn met_by(self, outcome: Outcome) -> bool {
        matches!(
            (self, outcome),
            (Self::Allow, Outcome::Allowed)
                | (
                    Self::Deny,
                    Outcome::ExplicitlyDenied | Outcome::ImplicitlyDenied
                )
                | (Self::ExplicitDeny, Outcome::ExplicitlyDenied)
                | (Self::ImplicitDeny, Outcome::ImplicitlyDenied)
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalDecl {
    pub arn: String,
    pub ou: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub mfa: bool,
    pub source_ip: Option<String>,
}

/// A context value: a string, a list of strings, a boolean or a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    One(String),
    Many(Vec<String>),
    Bool(bool),
    Number(i64),
}

impl ContextValue {
    pub fn values(&self) -> Vec<String> {
        match self {
            Self::One(v) => vec![v.clone()],
            Self::Many(v) => v.clone(),
            Self::Bool(b) => vec![b.to_string()],
            Self::Number(n) => vec![n.to_string()],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDecl {
    pub name: Spanned<String>,
    pub principal: PrincipalDecl,
    pub action: String,
    pub key: Option<String>,
    pub environment: Option<String>,
    pub decision: Expected,
    #[serde(default)]
    pub context: BTreeMap<String, ContextValue>,
    /// Files relative to the project root; absent: one allowing the action is assumed.
    pub identity_policies: Option<Vec<String>>,
}

/// `organization/expect.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFile {
    #[serde(default)]
    pub expect: Vec<Spanned<ExpectDecl>>,
}
