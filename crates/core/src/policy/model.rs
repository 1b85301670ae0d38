//! The semantic model of an IAM policy document, and its canonical form.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Condition block: operator (as written, e.g. `StringEquals`) → condition key (as written,
/// e.g. `kms:ViaService`) → values. Condition keys are case-insensitive in IAM; the canonical
/// form and the diff compare them lowercased.
pub type Conditions = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// A parsed policy document (a KMS key policy today; SCPs and RCPs share the grammar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
    /// Members that are not part of the policy grammar (e.g. a misspelled `Conditon`), as
    /// (JSON pointer, 1-based line). Their values are not kept and not compared.
    pub unknown_fields: Vec<(String, usize)>,
    /// 1-based line of each top-level member that is present: `Version`, `Id`, `Statement`.
    pub field_lines: BTreeMap<String, usize>,
}

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// 0-based position in the document.
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Option<String>,
    pub principal: Option<Principals>,
    pub not_principal: Option<Principals>,
    pub action: Option<BTreeSet<String>>,
    pub not_action: Option<BTreeSet<String>>,
    pub resource: Option<BTreeSet<String>>,
    pub not_resource: Option<BTreeSet<String>>,
    /// Empty when the statement has no `Condition`.
    pub condition: Conditions,
    /// JSON pointer of the statement: `/Statement/2`, or `/Statement` when `Statement` is a
    /// single object.
    pub pointer: String,
    /// 1-based line where the statement's object starts.
    pub line: usize,
    /// 1-based line of each member that is present, keyed by member name (`"Action"`).
    pub field_lines: BTreeMap<String, usize>,
}

/// A `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PrincipalsRepr", into = "PrincipalsRepr")]
pub enum Principals {
    /// `"Principal": "*"`: everyone.
    Wildcard,
    /// Principal type (`AWS`, `Service`, `Federated`, `CanonicalUser`) → principals.
    /// `{"AWS": "*"}` is kept as a map holding `"*"`; see [`Principals::is_public`].
    Map(BTreeMap<String, BTreeSet<String>>),
}

impl Principals {
    /// True for `"*"` and for an `AWS` principal list that contains `"*"`: both mean anyone.
    pub fn is_public(&self) -> bool {
        match self {
            Principals::Wildcard => true,
            Principals::Map(map) => map.get("AWS").is_some_and(|set| set.contains("*")),
        }
    }

    /// True when some principal other than the public `"*"` is named.
    pub fn names_specific_principal(&self) -> bool {
        match self {
            Principals::Wildcard => false,
            Principals::Map(map) => map.values().flatten().any(|p| p != "*"),
        }
    }

    fn canonical(&self) -> Value {
        match self {
            Principals::Wildcard => Value::String("*".to_owned()),
            Principals::Map(map) => Value::Object(
                map.iter()
                    .map(|(kind, set)| (kind.clone(), set_value(set)))
                    .collect(),
            ),
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum PrincipalsRepr {
    Star(String),
    Map(BTreeMap<String, BTreeSet<String>>),
}

impl TryFrom<PrincipalsRepr> for Principals {
    type Error = String;

    fn try_from(repr: PrincipalsRepr) -> Result<Self, Self::Error> {
        match repr {
            PrincipalsRepr::Star(s) if s == "*" => Ok(Principals::Wildcard),
            PrincipalsRepr::Star(s) => Err(format!("principal string must be \"*\", not {s:?}")),
            PrincipalsRepr::Map(map) => Ok(Principals::Map(map)),
        }
    }
}

impl From<Principals> for PrincipalsRepr {
    fn from(principals: Principals) -> Self {
        match principals {
            Principals::Wildcard => PrincipalsRepr::Star("*".to_owned()),
            Principals::Map(map) => PrincipalsRepr::Map(map),
        }
    }
}

/// One value as a string, several as a sorted array: the form AWS itself returns.
fn set_value(set: &BTreeSet<String>) -> Value {
    match set.len() {
        1 => set
            .iter()
            .next()
            .map_or(Value::Null, |s| Value::String(s.clone())),
        _ => Value::Array(set.iter().cloned().map(Value::String).collect()),
    }
}

impl Statement {
    /// The Sid, unless absent or empty (an empty Sid identifies nothing).
    pub fn sid_name(&self) -> Option<&str> {
        self.sid.as_deref().filter(|s| !s.is_empty())
    }

    /// True when `Effect` is exactly `Allow`.
    pub fn is_allow(&self) -> bool {
        self.effect.as_deref() == Some("Allow")
    }

    /// True when `Effect` is exactly `Deny`.
    pub fn is_deny(&self) -> bool {
        self.effect.as_deref() == Some("Deny")
    }

    /// The 1-based line of a member, falling back to the statement's own line.
    pub fn line_of(&self, field: &str) -> usize {
        self.field_lines.get(field).copied().unwrap_or(self.line)
    }

    /// Canonical JSON of the statement: fixed member order, sets sorted, one-element sets
    /// as plain strings, condition keys lowercased, empty `Condition` omitted.
    pub fn canonical(&self) -> Value {
        let mut out = Map::new();
        if let Some(sid) = &self.sid {
            out.insert("Sid".into(), Value::String(sid.clone()));
        }
        if let Some(effect) = &self.effect {
            out.insert("Effect".into(), Value::String(effect.clone()));
        }
        if let Some(p) = &self.principal {
            out.insert("Principal".into(), p.canonical());
        }
        if let Some(p) = &self.not_principal {
            out.insert("NotPrincipal".into(), p.canonical());
        }
        let sets = [
            ("Action", &self.action),
            ("NotAction", &self.not_action),
            ("Resource", &self.resource),
            ("NotResource", &self.not_resource),
        ];
        for (name, set) in sets {
            if let Some(set) = set {
                out.insert(name.into(), set_value(set));
            }
        }
        if !self.condition.is_empty() {
            out.insert("Condition".into(), canonical_conditions(&self.condition));
        }
        Value::Object(out)
    }
}

fn canonical_conditions(conditions: &Conditions) -> Value {
    let mut operators = Map::new();
    for (operator, keys) in conditions {
        // Lowercase the keys; keys equal but for case are merged (the parser rejects them).
        let mut lowered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (key, values) in keys {
            lowered
                .entry(key.to_lowercase())
                .or_default()
                .extend(values.iter().cloned());
        }
        let keys = lowered
            .iter()
            .map(|(key, values)| (key.clone(), set_value(values)))
            .collect();
        operators.insert(operator.clone(), Value::Object(keys));
    }
    Value::Object(operators)
}

impl PolicyDocument {
    /// Canonical JSON form: two documents that differ only by member order, whitespace,
    /// string vs one-element array, statement order, order inside sets or the case of
    /// condition keys have equal canonical forms.
    ///
    /// Statements with a Sid come first, sorted by Sid; Sid-less ones follow, sorted by
    /// their canonical JSON text. Unknown members are not part of the canonical form.
    pub fn canonical(&self) -> Value {
        let mut statements: Vec<(Option<&str>, String, Value)> = self
            .statements
            .iter()
            .map(|st| {
                let value = st.canonical();
                (st.sid.as_deref(), value.to_string(), value)
            })
            .collect();
        statements.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
        let mut out = Map::new();
        if let Some(version) = &self.version {
            out.insert("Version".into(), Value::String(version.clone()));
        }
        if let Some(id) = &self.id {
            out.insert("Id".into(), Value::String(id.clone()));
        }
        out.insert(
            "Statement".into(),
            Value::Array(statements.into_iter().map(|(_, _, v)| v).collect()),
        );
        Value::Object(out)
    }

    /// 1-based line of a top-level member (`Version`, `Id`, `Statement`), or 1.
    pub fn line_of(&self, field: &str) -> usize {
        self.field_lines.get(field).copied().unwrap_or(1)
    }
}

/// True when the two documents grant the same thing as far as their canonical forms tell:
/// see [`PolicyDocument::canonical`].
pub fn semantically_equal(a: &PolicyDocument, b: &PolicyDocument) -> bool {
    a.canonical() == b.canonical()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::parse;
    use crate::policy::test_fixtures::DEFAULT_KEY_POLICY;

    fn principals(pairs: &[(&str, &[&str])]) -> Principals {
        Principals::Map(
            pairs
                .iter()
                .map(|(k, vs)| {
                    (
                        (*k).to_owned(),
                        vs.iter().map(|v| (*v).to_owned()).collect(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn is_public_for_star_and_aws_star_only() {
        assert!(Principals::Wildcard.is_public());
        assert!(principals(&[("AWS", &["*"])]).is_public());
        assert!(principals(&[("AWS", &["*", "arn:aws:iam::1:root"])]).is_public());
        assert!(!principals(&[("AWS", &["arn:aws:iam::1:root"])]).is_public());
        assert!(!principals(&[("Service", &["*"])]).is_public());
    }

    #[test]
    fn names_specific_principal() {
        assert!(!Principals::Wildcard.names_specific_principal());
        assert!(!principals(&[("AWS", &["*"])]).names_specific_principal());
        assert!(principals(&[("AWS", &["*", "arn:aws:iam::1:root"])]).names_specific_principal());
        assert!(principals(&[("Service", &["logs.amazonaws.com"])]).names_specific_principal());
    }

    #[test]
    fn principals_serde_round_trip() {
        let star = serde_json::to_value(Principals::Wildcard).unwrap();
        assert_eq!(star, serde_json::json!("*"));
        assert_eq!(
            serde_json::from_value::<Principals>(star).unwrap(),
            Principals::Wildcard
        );
        let map = principals(&[("AWS", &["b", "a"])]);
        let value = serde_json::to_value(&map).unwrap();
        assert_eq!(value, serde_json::json!({"AWS": ["a", "b"]}));
        assert_eq!(serde_json::from_value::<Principals>(value).unwrap(), map);
        assert!(serde_json::from_value::<Principals>(serde_json::json!("x")).is_err());
    }

    #[test]
    fn canonical_of_default_policy() {
        let doc = parse(DEFAULT_KEY_POLICY).unwrap();
        assert_eq!(
            doc.canonical(),
            serde_json::json!({
                "Version": "2012-10-17",
                "Id": "key-default-1",
                "Statement": [{
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": "kms:*",
                    "Resource": "*"
                }]
            })
        );
    }

    #[test]
    fn canonical_sorts_sets_lowercases_condition_keys_and_orders_statements() {
        let doc = parse(
            r#"{"Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"},
                {"Sid": "B", "Effect": "Allow", "Principal": {"AWS": ["r2", "r1"]},
                 "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
                 "Condition": {"StringEquals": {"kms:ViaService": ["s3", "ec2"]}}},
                {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": "r1"},
                 "Action": "kms:Encrypt", "Resource": ["*"]}
            ]}"#,
        )
        .unwrap();
        let canonical = doc.canonical();
        let statements = canonical["Statement"].as_array().unwrap();
        assert_eq!(statements[0]["Sid"], "A");
        assert_eq!(statements[0]["Resource"], "*");
        assert_eq!(statements[1]["Sid"], "B");
        assert_eq!(
            statements[1]["Action"],
            serde_json::json!(["kms:Decrypt", "kms:Encrypt"])
        );
        assert_eq!(
            statements[1]["Principal"]["AWS"],
            serde_json::json!(["r1", "r2"])
        );
        assert_eq!(
            statements[1]["Condition"]["StringEquals"]["kms:viaservice"],
            serde_json::json!(["ec2", "s3"])
        );
        assert_eq!(statements[2].get("Sid"), None);
        assert!(canonical.get("Version").is_none());
    }

    #[test]
    fn empty_condition_is_omitted_from_canonical() {
        let a = parse(r#"{"Statement": {"Effect": "Allow", "Condition": {}}}"#).unwrap();
        let b = parse(r#"{"Statement": {"Effect": "Allow"}}"#).unwrap();
        assert!(semantically_equal(&a, &b));
        assert_eq!(
            a.statements[0].canonical(),
            serde_json::json!({"Effect": "Allow"})
        );
    }

    #[test]
    fn sid_name_ignores_empty_sid() {
        let doc = parse(r#"{"Statement": [{"Sid": ""}, {"Sid": "x"}, {}]}"#).unwrap();
        let names: Vec<_> = doc.statements.iter().map(Statement::sid_name).collect();
        assert_eq!(names, vec![None, Some("x"), None]);
    }

    #[test]
    fn line_of_falls_back_to_statement_line() {
        let doc = parse("{\n\"Statement\": [\n {\n  \"Effect\": \"Allow\"\n }\n]\n}").unwrap();
        let st = &doc.statements[0];
        assert_eq!(st.line, 3);
        assert_eq!(st.line_of("Effect"), 4);
        assert_eq!(st.line_of("Action"), 3);
        assert_eq!(doc.line_of("Statement"), 2);
        assert_eq!(doc.line_of("Version"), 1);
    }
}
