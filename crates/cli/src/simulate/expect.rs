//! Boundary tests: `[[expect]]` tables (in `expect.toml` of an environment folder or of
//! `organization/`) that state an access decision the policies must give. `validate` and `plan`
//! answer each offline; one that does not hold is a violation naming the deciding statements.

use std::collections::BTreeMap;

use kmsctl_core::policy::eval::Outcome;
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Finding, Rule};
use serde::Deserialize;
use toml::Spanned;

use super::{Answer, Identity, Question, World};

pub const EXPECT_FAILED: Rule = Rule::error(
    "expect-failed",
    None,
    "a boundary test ([[expect]]) gets the decision it states",
);
pub const EXPECT_INVALID: Rule = Rule::error(
    "expect-invalid",
    None,
    "a boundary test can be answered (its principal, key and OU are known)",
);

/// The decision an expectation (or `simulate --expect`) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
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

impl ExpectDecl {
    pub fn question(&self) -> Question {
        Question {
            principal: self.principal.arn.clone(),
            ou: self.principal.ou.clone(),
            principal_tags: self.principal.tags.clone(),
            mfa: self.principal.mfa,
            source_ip: self.principal.source_ip.clone(),
            action: self.action.clone(),
            key: self.key.clone(),
            environment: self.environment.clone(),
            context: self
                .context
                .iter()
                .map(|(k, v)| (k.clone(), v.values()))
                .collect(),
            identity: match &self.identity_policies {
                None => Identity::AssumedAllow,
                Some(files) => Identity::Files(files.iter().map(Into::into).collect()),
            },
        }
    }
}

/// What checking a file's expectations found.
#[derive(Debug, Default)]
pub struct Checked {
    pub held: usize,
    pub findings: Vec<Finding>,
}

/// Answers every expectation; one that does not hold (or cannot be answered) is an error.
pub fn check(world: &mut World<'_>, file: &SourceFile, decls: &[&Spanned<ExpectDecl>]) -> Checked {
    let mut checked = Checked::default();
    for decl in decls {
        let expect = decl.get_ref();
        let at = file.location(expect.name.span());
        let name = expect.name.get_ref();
        match world.answer(&expect.question()) {
            Err(why) => checked.findings.push(Finding::of(
                &EXPECT_INVALID,
                at,
                format!("expectation {name:?} cannot be answered: {}", why.message),
                why.fix,
            )),
            Ok(answer) if expect.decision.met_by(answer.decision.outcome) => checked.held += 1,
            Ok(answer) => checked.findings.push(Finding::of(
                &EXPECT_FAILED,
                at,
                failure(name, expect.decision, &answer),
                "change the policies so they give the expected decision (the statements named decide it), or correct the expectation if the intent changed",
            )),
        }
    }
    checked
}

fn failure(name: &str, expected: Expected, answer: &Answer) -> String {
    let mut text = format!(
        "expectation {name:?} does not hold: expected {}, but {} is {}: {}",
        expected.name(),
        answer.headline(),
        answer.decision.outcome.name(),
        answer.decision.why,
    );
    if !answer.decision.deciding.is_empty() {
        text.push_str("; deciding: ");
        let deciding: Vec<String> = answer
            .decision
            .deciding
            .iter()
            .map(|d| format!("{} {:?} ({})", d.policy, d.statement, d.why))
            .collect();
        text.push_str(&deciding.join("; "));
    }
    for note in &answer.off_path_denials {
        text.push_str("; note: ");
        text.push_str(note);
    }
    text
}
