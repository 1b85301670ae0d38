//! The policy grammar of each type, from AWS's documentation: which elements a statement must
//! have and may have in a key policy, an SCP, an RCP and an IAM identity policy. The same
//! structural rules (Version, unknown elements, unique Sids, Effect, the element pairs) apply to
//! every type; what differs is [`PolicyKind::elements`].

use std::collections::BTreeMap;
use std::path::Path;

use super::model::{PolicyDocument, Principals, Statement};
use crate::finding::{Finding, Location};
use crate::rule::Rule;

/// The only policy language version that supports policy variables and current features.
pub const POLICY_LANGUAGE_VERSION: &str = "2012-10-17";

pub const POLICY_VERSION: Rule = Rule::error("policy-version", None, "Version is 2012-10-17");
pub const POLICY_UNKNOWN_FIELD: Rule = Rule::error(
    "policy-unknown-field",
    None,
    "every element is one AWS knows (Version, Id, Statement, Sid, Effect, ...)",
);
pub const POLICY_SID_UNIQUE: Rule = Rule::error("policy-sid-unique", None, "no Sid used twice");
pub const POLICY_STATEMENT: Rule = Rule::error(
    "policy-statement",
    None,
    "every statement has Effect, Action or NotAction, and what its type requires (Principal in a key policy, Resource in a key, identity or organization policy)",
);
pub const POLICY_ELEMENT: Rule = Rule::error(
    "policy-element",
    None,
    "no element the policy type does not support (Principal in an SCP or identity policy; NotAction or NotPrincipal in an RCP)",
);

pub const SCP_PRINCIPAL: Rule = Rule::error("scp-principal", None, "an SCP takes no Principal");

/// What kind of policy a file is: the grammar and the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A KMS key policy (a resource policy on one key).
    Key,
    /// A service control policy (AWS Organizations).
    Scp,
    /// A resource control policy (AWS Organizations).
    Rcp,
    /// An IAM identity policy (attached to a user, group or role).
    Identity,
}

/// Whether a statement element is required, allowed or refused by a policy type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Required,
    Allowed,
    Refused,
}

/// The statement elements of a type that differ between types.
struct Elements {
    principal: Use,
    not_principal: Use,
    not_action: Use,
}

impl PolicyKind {
    /// How people name the type in messages: "a key policy", "an SCP".
    pub fn label(self) -> &'static str {
        match self {
            Self::Key => "a key policy",
            Self::Scp => "an SCP",
            Self::Rcp => "an RCP",
            Self::Identity => "an identity policy",
        }
    }

    fn elements(self) -> Elements {
        use Use::{Allowed, Refused, Required};
        match self {
            Self::Key => Elements {
                principal: Required,
                not_principal: Allowed,
                not_action: Allowed,
            },
            // Organizations user guide, "SCP syntax": no Principal or NotPrincipal.
            Self::Scp => Elements {
                principal: Refused,
                not_principal: Refused,
                not_action: Allowed,
            },
            // Organizations user guide, "RCP syntax": Principal ("*") required; the elements
            // table has no NotAction and no NotPrincipal.
            Self::Rcp => Elements {
                principal: Required,
                not_principal: Refused,
                not_action: Refused,
            },
            // IAM user guide: an identity policy's principal is the identity it is attached to.
            Self::Identity => Elements {
                principal: Refused,
                not_principal: Refused,
                not_action: Allowed,
            },
        }
    }

    fn principal_fix(self) -> &'static str {
        match self {
            Self::Rcp => {
                "add \"Principal\": \"*\" and narrow it with conditions such as aws:PrincipalOrgID"
            }
            _ => {
                "a key policy statement must name who it applies to, e.g. \
                 \"Principal\": {\"AWS\": \"arn:aws:iam::111122223333:root\"}"
            }
        }
    }

    fn resource_fix(self) -> &'static str {
        match self {
            Self::Key => "add \"Resource\": \"*\"; in a key policy \"*\" means this key",
            _ => "add \"Resource\": \"*\" or the ARNs the statement is about",
        }
    }

    fn refused_fix(self, element: &str) -> String {
        match (self, element) {
            (Self::Scp | Self::Identity, "Principal" | "NotPrincipal") => format!(
                "remove {element}: {} applies to the principals it is attached to; scope the statement with conditions (aws:PrincipalArn) instead",
                self.label()
            ),
            (Self::Rcp, "NotAction") => {
                "list the actions to deny in Action (service:* wildcards are allowed); RCPs do not support NotAction".to_owned()
            }
            _ => format!(
                "remove {element}; use Principal \"*\" with conditions such as aws:PrincipalArn"
            ),
        }
    }
}

fn name(st: &Statement) -> String {
    st.sid_name().map_or_else(
        || format!("statement {}", st.pointer),
        |sid| format!("statement \"{sid}\""),
    )
}

/// The structural rules of a policy of `kind`: `policy-version`, `policy-unknown-field`,
/// `policy-sid-unique`, `policy-statement` and `policy-element`.
pub fn structure(doc: &PolicyDocument, kind: PolicyKind, file: &Path) -> Vec<Finding> {
    let at = |line: usize, pointer: &str| Location::at_line(file, line).with_pointer(pointer);
    let mut findings = Vec::new();
    version(doc, &at, &mut findings);
    for (pointer, line) in &doc.unknown_fields {
        let element = pointer.rsplit('/').next().unwrap_or(pointer);
        let nearest =
            nearest_element(element).map_or(String::new(), |n| format!("did you mean {n}? "));
        findings.push(Finding::of(
            &POLICY_UNKNOWN_FIELD,
            at(*line, pointer),
            format!("\"{element}\" is not a policy element; AWS rejects the policy"),
            format!(
                "{nearest}fix the spelling (elements are case-sensitive: Version, Id, Statement, Sid, Effect, \
                 Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition) or \
                 remove it"
            ),
        ));
    }
    let mut sids: BTreeMap<&str, &Statement> = BTreeMap::new();
    for st in &doc.statements {
        let Some(sid) = st.sid_name() else { continue };
        if let Some(first) = sids.get(sid) {
            findings.push(Finding::of(
                &POLICY_SID_UNIQUE,
                at(st.line_of("Sid"), &format!("{}/Sid", st.pointer)),
                format!(
                    "Sid \"{sid}\" is already used by the statement at {}",
                    first.pointer
                ),
                "give every statement a distinct Sid; the diff and plan identify statements by \
                 Sid",
            ));
        } else {
            sids.insert(sid, st);
        }
    }
    if doc.statements.is_empty() {
        findings.push(Finding::of(
            &POLICY_STATEMENT,
            at(doc.line_of("Statement"), "/Statement"),
            "the policy has no statement",
            "add \"Statement\": [ ... ] with at least one statement",
        ));
    }
    for st in &doc.statements {
        statement_shape(st, kind, &at, &mut findings);
    }
    findings
}

const ELEMENTS: &[&str] = &[
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// The element a misspelt one meant (`Statment`, `effect`, `Conditon`).
fn nearest_element(written: &str) -> Option<&'static str> {
    let lowered = written.to_lowercase();
    ELEMENTS
        .iter()
        .map(|e| {
            (
                crate::template::levenshtein(&lowered, &e.to_lowercase()),
                *e,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e)
}

fn version(
    doc: &PolicyDocument,
    at: &impl Fn(usize, &str) -> Location,
    findings: &mut Vec<Finding>,
) {
    match doc.version.as_deref() {
        Some(POLICY_LANGUAGE_VERSION) => {}
        Some(other) => findings.push(Finding::of(
            &POLICY_VERSION,
            at(doc.line_of("Version"), "/Version"),
            format!("the policy Version is \"{other}\", not \"{POLICY_LANGUAGE_VERSION}\""),
            format!(
                "set \"Version\": \"{POLICY_LANGUAGE_VERSION}\"; older versions do not support policy \
                 variables such as ${{aws:username}}"
            ),
        )),
        None => findings.push(Finding::of(
            &POLICY_VERSION,
            at(1, "/Version"),
            "the policy has no Version",
            format!(
                "add \"Version\": \"{POLICY_LANGUAGE_VERSION}\" at the top level; without it IAM uses the \
                 2008 language, which treats policy variables as literal text"
            ),
        )),
    }
}

fn statement_shape(
    st: &Statement,
    kind: PolicyKind,
    at: &impl Fn(usize, &str) -> Location,
    findings: &mut Vec<Finding>,
) {
    let who = name(st);
    let mut push = |rule: &'static Rule, field: Option<&str>, message: String, fix: &str| {
        let (line, pointer) = match field {
            Some(field) => (st.line_of(field), format!("{}/{field}", st.pointer)),
            None => (st.line, st.pointer.clone()),
        };
        findings.push(Finding::of(rule, at(line, &pointer), message, fix));
    };

    match st.effect.as_deref() {
        Some("Allow" | "Deny") => {}
        Some(other) => push(
            &POLICY_STATEMENT,
            Some("Effect"),
            format!("{who} has Effect \"{other}\""),
            "Effect must be exactly \"Allow\" or \"Deny\" (case-sensitive)",
        ),
        None => push(
            &POLICY_STATEMENT,
            None,
            format!("{who} has no Effect"),
            "add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"",
        ),
    }

    let elements = kind.elements();
    let refused = [
        ("Principal", st.principal.is_some(), elements.principal),
        (
            "NotPrincipal",
            st.not_principal.is_some(),
            elements.not_principal,
        ),
        ("NotAction", st.not_action.is_some(), elements.not_action),
    ];
    for (element, present, usage) in refused {
        if present && usage == Use::Refused {
            let scp_principal = kind == PolicyKind::Scp && element.ends_with("Principal");
            push(
                if scp_principal {
                    &SCP_PRINCIPAL
                } else {
                    &POLICY_ELEMENT
                },
                Some(element),
                format!(
                    "{who} has {element}, which {} does not support",
                    kind.label()
                ),
                &kind.refused_fix(element),
            );
        }
    }

    let principal_fix = kind.principal_fix();
    let resource_fix = kind.resource_fix();
    let action_fix = if kind == PolicyKind::Key {
        "add \"Action\": [...] listing the kms: actions the statement allows or denies"
    } else {
        "add \"Action\": [...] listing the actions the statement allows or denies"
    };
    // Each pair: one of the two is required (Principal only where the type requires it).
    let pairs = [
        (elements.principal == Use::Required).then_some((
            "Principal",
            st.principal.is_some(),
            "NotPrincipal",
            st.not_principal.is_some(),
            principal_fix,
        )),
        Some((
            "Action",
            st.action.is_some(),
            "NotAction",
            st.not_action.is_some(),
            action_fix,
        )),
        Some((
            "Resource",
            st.resource.is_some(),
            "NotResource",
            st.not_resource.is_some(),
            resource_fix,
        )),
    ];
    for (positive, has_positive, negative, has_negative, fix) in pairs.into_iter().flatten() {
        match (has_positive, has_negative) {
            (false, false) => push(
                &POLICY_STATEMENT,
                None,
                format!("{who} has neither {positive} nor {negative}"),
                fix,
            ),
            (true, true) => push(
                &POLICY_STATEMENT,
                Some(negative),
                format!("{who} has both {positive} and {negative}"),
                &format!("keep only one of {positive} and {negative}"),
            ),
            _ => {}
        }
    }

    let empty_sets = [
        ("Action", st.action.as_ref().is_some_and(|s| s.is_empty())),
        (
            "NotAction",
            st.not_action.as_ref().is_some_and(|s| s.is_empty()),
        ),
        (
            "Resource",
            st.resource.as_ref().is_some_and(|s| s.is_empty()),
        ),
        (
            "NotResource",
            st.not_resource.as_ref().is_some_and(|s| s.is_empty()),
        ),
        (
            "Principal",
            st.principal.as_ref().is_some_and(no_principals),
        ),
        (
            "NotPrincipal",
            st.not_principal.as_ref().is_some_and(no_principals),
        ),
    ];
    for (field, empty) in empty_sets {
        if empty {
            push(
                &POLICY_STATEMENT,
                Some(field),
                format!("{who} has an empty {field}"),
                "list at least one value, or remove the element",
            );
        }
    }
}

fn no_principals(principals: &Principals) -> bool {
    match principals {
        Principals::Wildcard => false,
        Principals::Map(map) => map.values().all(|set| set.is_empty()),
    }
}
