//! Why an answer is what it is, as data: where each deciding statement's policy bears on the
//! request, and, for a statement that names the action and the principal but does not apply,
//! which of its conditions is false beside the request's value.

use std::fmt;
use std::path::Path;

/// Where a policy bears on the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An SCP attached to `target` (`root`, `root/prod`, an account).
    Scp {
        target: String,
    },
    /// An RCP attached to `target`.
    Rcp {
        target: String,
    },
    KeyPolicy,
    Identity,
}

impl Source {
    /// `SCP environment_boundaries on root`, `the key policy`, `identity policy app.json`: SCPs
    /// and RCPs by their name (the policy file's stem, as organization.toml names them).
    pub fn describe(&self, policy: &str) -> String {
        let stem = || {
            Path::new(policy)
                .file_stem()
                .map_or_else(|| policy.to_owned(), |s| s.to_string_lossy().into_owned())
        };
        match self {
            Self::Scp { target } => format!("SCP {} on {target}", stem()),
            Self::Rcp { target } => format!("RCP {} on {target}", stem()),
            Self::KeyPolicy => "the key policy".to_owned(),
            Self::Identity => format!("identity policy {policy}"),
        }
    }

    /// What a statement of this policy is matched on besides its conditions: resource
    /// policies name their principals; SCPs and identity policies apply to whom they are
    /// attached to.
    fn matched(&self) -> &'static str {
        match self {
            Self::KeyPolicy | Self::Rcp { .. } => "the action and principal",
            Self::Scp { .. } | Self::Identity => "the action and resource",
        }
    }
}

/// One condition of a statement that is false for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FalseCondition {
    /// As written: `StringEquals`, `ForAllValues:StringNotLike`...
    pub operator: String,
    /// As written: `kms:ViaService`.
    pub key: String,
    /// The policy's values, as written (before policy variables are substituted).
    pub values: Vec<String>,
    /// The request's values; `None` when the request has no such key.
    pub request: Option<Vec<String>>,
}

impl fmt::Display for FalseCondition {
    /// `StringEquals kms:ViaService = ["s3.us-east-1.amazonaws.com"] is false: the request's
    /// kms:ViaService is "ec2.us-east-1.amazonaws.com"` (or `the request has no kms:ViaService`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} = {:?} is false: ",
            self.operator, self.key, self.values
        )?;
        match self.request.as_deref() {
            None | Some([]) => write!(f, "the request has no {}", self.key),
            Some([one]) => write!(f, "the request's {} is {one:?}", self.key),
            Some(many) => write!(f, "the request's {} is {many:?}", self.key),
        }
    }
}

/// A statement that names the action, the resource and the principal, but does not apply
/// because some of its conditions are false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// The policy's name (its file).
    pub policy: String,
    pub source: Source,
    /// The Sid, or `statement N` for a statement without one.
    pub statement: String,
    /// Never empty.
    pub conditions: Vec<FalseCondition>,
}

impl Unmet {
    /// `statement "AllowUseInProd" of the key policy matches the action and principal, but its
    /// condition StringEquals kms:ViaService = [...] is false: the request's kms:ViaService is
    /// "..."`.
    pub fn explain(&self) -> String {
        let conditions: Vec<String> = self.conditions.iter().map(ToString::to_string).collect();
        format!(
            "{} of {} matches {}, but its condition {}",
            statement_phrase(&self.statement),
            self.source.describe(&self.policy),
            self.source.matched(),
            conditions.join("; and its condition ")
        )
    }
}

/// `statement "Sid"`, or `statement 3` for the label of a statement without a Sid.
pub fn statement_phrase(label: &str) -> String {
    let numbered = label
        .strip_prefix("statement ")
        .is_some_and(|n| n.parse::<usize>().is_ok());
    if numbered {
        label.to_owned()
    } else {
        format!("statement {label:?}")
    }
}

/// `statement "A" of SCP x on root denies it` / `statements "A" of … and "B" of … deny it`.
pub fn denied_by(named: &[(String, String)]) -> String {
    let parts: Vec<String> = named
        .iter()
        .map(|(statement, within)| format!("{} of {within}", statement_phrase(statement)))
        .collect();
    match parts.as_slice() {
        [one] => format!("{one} denies it"),
        _ => {
            let stripped: Vec<String> = parts
                .iter()
                .map(|p| p.trim_start_matches("statement ").to_owned())
                .collect();
            format!("statements {} deny it", stripped.join(" and "))
        }
    }
}
