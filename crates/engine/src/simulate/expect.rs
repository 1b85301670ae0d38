//! Boundary tests: `[[expect]]` tables (in `expect.toml` of an environment folder or of
//! `organization/`) that state an access decision the policies must give. `validate` and `plan`
//! answer each offline; one that does not hold is a violation naming the deciding statements.

use kmsctl_core::source::SourceFile;
use kmsctl_core::{Finding, Rule};
use toml::Spanned;

pub use crate::config::expect::{ContextValue, ExpectDecl, ExpectFile, Expected, PrincipalDecl};

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

/// The question an expectation asks.
pub fn question_of(decl: &ExpectDecl) -> Question {
    Question {
        principal: decl.principal.arn.clone(),
        ou: decl.principal.ou.clone(),
        principal_tags: decl.principal.tags.clone(),
        mfa: decl.principal.mfa,
        source_ip: decl.principal.source_ip.clone(),
        action: decl.action.clone(),
        key: decl.key.clone(),
        environment: decl.environment.clone(),
        context: decl
            .context
            .iter()
            .map(|(k, v)| (k.clone(), v.values()))
            .collect(),
        identity: match &decl.identity_policies {
            None => Identity::AssumedAllow,
            Some(files) => Identity::Files(files.iter().map(Into::into).collect()),
        },
    }
}

/// What checking a file's expectations found.
#[derive(Debug, Default)]
pub struct Checked {
    pub held: usize,
    pub findings: Vec<Finding>,
    /// For each of `findings`, the environment it could not be answered without, when that is
    /// why (its files do not load).
    pub blocked_by: Vec<Option<String>>,
}

impl Checked {
    /// Adds what another file's expectations found.
    pub fn extend(&mut self, other: Checked) {
        self.held += other.held;
        self.findings.extend(other.findings);
        self.blocked_by.extend(other.blocked_by);
    }

    /// The findings but those that only say an environment of `reported` does not load: a run
    /// that reports that environment's own error (drift of every target) does not report it
    /// again as every other target's.
    pub fn findings_besides(self, reported: &std::collections::BTreeSet<String>) -> Vec<Finding> {
        self.findings
            .into_iter()
            .zip(self.blocked_by)
            .filter(|(_, env)| !env.as_ref().is_some_and(|e| reported.contains(e)))
            .map(|(finding, _)| finding)
            .collect()
    }
}

/// Answers every expectation; one that does not hold (or cannot be answered) is an error.
pub fn check(world: &mut World<'_>, file: &SourceFile, decls: &[&Spanned<ExpectDecl>]) -> Checked {
    let mut checked = Checked::default();
    for decl in decls {
        let expect = decl.get_ref();
        let at = file.location(expect.name.span());
        let name = expect.name.get_ref();
        match world.answer(&question_of(expect)) {
            Err(why) => {
                checked.findings.push(Finding::of(
                    &EXPECT_INVALID,
                    at,
                    format!("expectation {name:?} cannot be answered: {}", why.message),
                    why.fix,
                ));
                checked.blocked_by.push(why.environment);
            }
            Ok(answer) if expect.decision.met_by(answer.decision.outcome) => checked.held += 1,
            Ok(answer) => {
                checked.findings.push(Finding::of(
                    &EXPECT_FAILED,
                    at,
                    failure(name, expect.decision, &answer),
                    "change the policies so they give the expected decision (the statements named decide it), or correct the expectation if the intent changed",
                ));
                checked.blocked_by.push(None);
            }
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
