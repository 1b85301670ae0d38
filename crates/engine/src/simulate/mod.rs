//! Offline access questions: may this principal call this action on this key? The answer comes
//! from the files: SCPs along the principal's account path and RCPs along the key's (from
//! `organization/organization.toml` and its `[tree]`), the key's policy and tags (from its
//! environment), and identity policies (files, or one assumed to allow the action). The pure
//! evaluation is `kmsctl_core::policy::eval`; this module gathers what it needs.

pub mod as_written;
pub mod expect;
mod names;
mod request;
pub mod world;

use std::collections::BTreeMap;
use std::path::PathBuf;

use kmsctl_core::policy::eval::Decision;

pub use world::World;

/// What is asked, whether from `kmsctl simulate` flags or an `[[expect]]` table.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// `arn:aws:iam::111111111111:role/app`, or a service principal (`rds.amazonaws.com`).
    pub principal: String,
    /// The OU the principal's account sits in (`root/dev` or `ou-…`); default: where
    /// organization.toml's `[tree.accounts]` places the account.
    pub ou: Option<String>,
    pub principal_tags: BTreeMap<String, String>,
    /// `aws:MultiFactorAuthPresent`; a role session without MFA has it `false` (the default).
    pub mfa: bool,
    pub source_ip: Option<String>,
    pub action: String,
    /// An alias of an environment's key (`alias/prod-db-payments-encryption`); none for actions
    /// on no key (`kms:CreateKey`).
    pub key: Option<String>,
    /// The environment the key (or, without a key, the call) belongs to; default: the one
    /// being checked, or the only environment that has the alias.
    pub environment: Option<String>,
    /// Further context keys and their values.
    pub context: BTreeMap<String, Vec<String>>,
    pub identity: Identity,
}

/// The principal's identity policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Identity {
    /// One that allows the action on every resource: the question becomes "would the
    /// guardrails and the key policy stop it, whatever IAM grants?".
    #[default]
    AssumedAllow,
    /// These files (relative to the project root); none at all when empty.
    Files(Vec<PathBuf>),
}

/// A question kmsctl cannot answer from the files, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswerable {
    pub message: String,
    pub fix: String,
    /// The environment whose files do not load, when that is why: the error is that
    /// environment's, not the question's.
    pub environment: Option<String>,
}

impl Unanswerable {
    fn new(message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            fix: fix.into(),
            environment: None,
        }
    }

    /// The question needs `environment`, whose files do not load.
    fn in_environment(mut self, environment: &str) -> Self {
        self.environment = Some(environment.to_owned());
        self
    }
}

/// The answer, with what it was computed from.
#[derive(Debug, Clone)]
pub struct Answer {
    pub decision: Decision,
    pub principal: String,
    /// `root/prod` (the principal's account's place), when known.
    pub principal_ou: Option<String>,
    pub action: String,
    /// `env/prod alias/prod-db-payments-encryption`.
    pub key: Option<String>,
    pub resource: String,
    /// What the answer was computed from.
    pub policies: kmsctl_core::policy::eval::Policies,
    pub request: kmsctl_core::policy::eval::Request,
    /// Assumptions the answer rests on.
    pub notes: Vec<String>,
    /// Deny statements that would have denied but are attached where they restrict nobody here
    /// (not reported when the answer is an explicit deny anyway).
    pub off_path_denials: Vec<String>,
    /// Lint errors of the files the answer was computed from: `kmsctl validate` refuses them,
    /// and the answer is what AWS would decide with them as written.
    pub lint_errors: Vec<kmsctl_core::Finding>,
}

impl Answer {
    /// `kms:Decrypt by arn:… (root/prod) on env/dev alias/…`
    pub fn headline(&self) -> String {
        format!(
            "{} by {}{} on {}",
            self.action,
            self.principal,
            self.principal_ou
                .as_ref()
                .map_or_else(String::new, |ou| format!(" ({ou})")),
            self.key.as_deref().unwrap_or(&self.resource),
        )
    }
}
