//! Strict JSON parsing of policy documents into the model, with source lines.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jsonc_parser::ast::{Array, Object, ObjectProp, Value};
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};
use serde::{Deserialize, Serialize};

use super::model::{Conditions, PolicyDocument, Principals, Statement};
use crate::limits::{MAX_KEY_POLICY_BYTES, MAX_ORG_POLICY_CHARS};
use crate::source::LineIndex;

/// Why a policy document could not be parsed: a JSON syntax error or a member of the
/// wrong type. Line and column are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for PolicyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for PolicyParseError {}

/// Strict JSON: no comments, trailing commas or other JSON5/JSONC extensions.
fn strict_options() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// The most policy text kmsctl parses, in bytes: twice the largest policy AWS accepts (a key
/// policy of 32 KiB; an SCP or RCP is at most 5,120 characters minified). Larger text is refused
/// by its length, before any parsing: parsing it would cost time and memory for nothing.
pub const MAX_POLICY_TEXT_BYTES: usize = 64 * 1024;

/// Parses a policy document into the model.
///
/// The text must be strict JSON (no comments, trailing commas or other JSON5 extensions).
/// Duplicate member names and members of the wrong type (e.g. `"Action": 3`) are errors, with
/// the line and column of the offending value. Members outside the policy grammar are not
/// errors: they are listed in [`PolicyDocument::unknown_fields`]. Text longer than
/// [`MAX_POLICY_TEXT_BYTES`] is an error before anything is parsed.
pub fn parse(text: &str) -> Result<PolicyDocument, PolicyParseError> {
    if text.len() > MAX_POLICY_TEXT_BYTES {
        return Err(PolicyParseError {
            line: 1,
            column: 1,
            message: too_large_message(text.len()),
        });
    }
    let ast = parse_to_ast(text, &CollectOptions::default(), &strict_options()).map_err(|e| {
        PolicyParseError {
            line: e.line_display(),
            column: e.column_display(),
            message: e.kind().to_string(),
        }
    })?;
    let Some(root) = ast.value else {
        return Err(PolicyParseError {
            line: 1,
            column: 1,
            message: "the policy document is empty".into(),
        });
    };
    // Anything the tokenizer tolerates that JSON does not (e.g. raw control characters).
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        return Err(PolicyParseError {
            line: e.line(),
            column: e.column(),
            message,
        });
    }
    let lines = LineIndex::new(text);
    let parser = Parser {
        lines: &lines,
        text,
    };
    match root {
        Value::Object(root) => parser.document(&root),
        other => Err(parser.error(
            start(&other),
            format!(
                "a policy document must be a JSON object, found {}",
                kind(&other)
            ),
        )),
    }
}

/// Why text of `len` bytes is not parsed.
pub(crate) fn too_large_message(len: usize) -> String {
    format!(
        "the policy is {len} bytes; kmsctl parses at most {MAX_POLICY_TEXT_BYTES} bytes of policy \
         text (AWS accepts at most {MAX_KEY_POLICY_BYTES} bytes for a key policy, \
         {MAX_ORG_POLICY_CHARS} characters for an SCP or RCP)"
    )
}

/// The 1-based line of the member or element a JSON pointer names (for a member, the line of
/// its name). Tolerates JSONC. `""` is the root.
pub fn line_of_pointer(text: &str, pointer: &str) -> Option<usize> {
    let ast = parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default()).ok()?;
    let lines = LineIndex::new(text);
    let mut value = ast.value?;
    let mut offset = start(&value);
    if pointer.is_empty() {
        return Some(lines.line(offset));
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        let next = match value {
            Value::Object(obj) => {
                let prop = obj
                    .properties
                    .into_iter()
                    .find(|p| p.name.as_str() == token)?;
                offset = prop.range.start;
                prop.value
            }
            Value::Array(arr) => {
                let index: usize = token.parse().ok()?;
                let element = arr.elements.into_iter().nth(index)?;
                offset = start(&element);
                element
            }
            _ => return None,
        };
        value = next;
    }
    Some(lines.line(offset))
}

/// Escapes a member name for use in a JSON pointer.
pub(crate) fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn start(value: &Value<'_>) -> usize {
    match value {
        Value::StringLit(v) => v.range.start,
        Value::NumberLit(v) => v.range.start,
        Value::BooleanLit(v) => v.range.start,
        Value::Object(v) => v.range.start,
        Value::Array(v) => v.range.start,
        Value::NullKeyword(v) => v.range.start,
    }
}

fn kind(value: &Value<'_>) -> &'static str {
    match value {
        Value::StringLit(_) => "a string",
        Value::NumberLit(_) => "a number",
        Value::BooleanLit(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::NullKeyword(_) => "null",
    }
}

type PResult<T> = Result<T, PolicyParseError>;

struct Parser<'a, 't> {
    lines: &'a LineIndex,
    text: &'t str,
}

impl Parser<'_, '_> {
    fn error(&self, offset: usize, message: impl Into<String>) -> PolicyParseError {
        let (line, column) = self.lines.line_column(self.text, offset);
        PolicyParseError {
            line,
            column,
            message: message.into(),
        }
    }

    /// The object's members, refusing duplicate names (JSON parsers silently keep the last).
    fn members<'o, 'a>(&self, obj: &'o Object<'a>) -> PResult<Vec<(&'o str, &'o ObjectProp<'a>)>> {
        let mut seen = BTreeSet::new();
        let mut members = Vec::with_capacity(obj.properties.len());
        for prop in &obj.properties {
            let name = prop.name.as_str();
            if !seen.insert(name) {
                return Err(self.error(prop.range.start, format!("duplicate member \"{name}\"")));
            }
            members.push((name, prop));
        }
        Ok(members)
    }

    fn document(&self, root: &Object<'_>) -> PResult<PolicyDocument> {
        let mut doc = PolicyDocument {
            version: None,
            id: None,
            statements: Vec::new(),
            unknown_fields: Vec::new(),
            field_lines: BTreeMap::new(),
        };
        for (name, prop) in self.members(root)? {
            let line = self.lines.line(prop.range.start);
            match name {
                "Version" => doc.version = Some(self.string(&prop.value, "Version")?),
                "Id" => doc.id = Some(self.string(&prop.value, "Id")?),
                "Statement" => match &prop.value {
                    Value::Object(obj) => {
                        let statement = self.statement(obj, 0, "/Statement".into(), &mut doc)?;
                        doc.statements.push(statement);
                    }
                    Value::Array(arr) => {
                        for (index, element) in arr.elements.iter().enumerate() {
                            let Value::Object(obj) = element else {
                                return Err(self.error(
                                    start(element),
                                    format!(
                                        "Statement[{index}] must be an object, found {}",
                                        kind(element)
                                    ),
                                ));
                            };
                            let pointer = format!("/Statement/{index}");
                            let statement = self.statement(obj, index, pointer, &mut doc)?;
                            doc.statements.push(statement);
                        }
                    }
                    other => {
                        return Err(self.error(
                            start(other),
                            format!(
                                "Statement must be an object or an array of objects, found {}",
                                kind(other)
                            ),
                        ));
                    }
                },
                _ => {
                    doc.unknown_fields
                        .push((format!("/{}", escape_pointer_token(name)), line));
                    continue;
                }
            }
            doc.field_lines.insert(name.to_owned(), line);
        }
        Ok(doc)
    }

    fn statement(
        &self,
        obj: &Object<'_>,
        index: usize,
        pointer: String,
        doc: &mut PolicyDocument,
    ) -> PResult<Statement> {
        let mut st = Statement {
            index,
            sid: None,
            effect: None,
            principal: None,
            not_principal: None,
            action: None,
            not_action: None,
            resource: None,
            not_resource: None,
            condition: Conditions::new(),
            pointer,
            line: self.lines.line(obj.range.start),
            field_lines: BTreeMap::new(),
        };
        for (name, prop) in self.members(obj)? {
            let line = self.lines.line(prop.range.start);
            let value = &prop.value;
            match name {
                "Sid" => st.sid = Some(self.string(value, name)?),
                "Effect" => st.effect = Some(self.string(value, name)?),
                "Principal" => st.principal = Some(self.principals(value, name)?),
                "NotPrincipal" => st.not_principal = Some(self.principals(value, name)?),
                "Action" => st.action = Some(self.string_set(value, name)?),
                "NotAction" => st.not_action = Some(self.string_set(value, name)?),
                "Resource" => st.resource = Some(self.string_set(value, name)?),
                "NotResource" => st.not_resource = Some(self.string_set(value, name)?),
                "Condition" => st.condition = self.conditions(value)?,
                _ => {
                    let pointer = format!("{}/{}", st.pointer, escape_pointer_token(name));
                    doc.unknown_fields.push((pointer, line));
                    continue;
                }
            }
            st.field_lines.insert(name.to_owned(), line);
        }
        Ok(st)
    }

    fn string(&self, value: &Value<'_>, what: &str) -> PResult<String> {
        match value {
            Value::StringLit(s) => Ok(s.value.to_string()),
            other => Err(self.error(
                start(other),
                format!("{what} must be a string, found {}", kind(other)),
            )),
        }
    }

    /// A string or an array of strings.
    fn string_set(&self, value: &Value<'_>, what: &str) -> PResult<BTreeSet<String>> {
        match value {
            Value::StringLit(s) => Ok(BTreeSet::from([s.value.to_string()])),
            Value::Array(arr) => self.elements(arr, what, |v| match v {
                Value::StringLit(s) => Some(s.value.to_string()),
                _ => None,
            }),
            other => Err(self.error(
                start(other),
                format!(
                    "{what} must be a string or an array of strings, found {}",
                    kind(other)
                ),
            )),
        }
    }

    fn elements(
        &self,
        arr: &Array<'_>,
        what: &str,
        convert: impl Fn(&Value<'_>) -> Option<String>,
    ) -> PResult<BTreeSet<String>> {
        let mut set = BTreeSet::new();
        for (index, element) in arr.elements.iter().enumerate() {
            let Some(s) = convert(element) else {
                return Err(self.error(
                    start(element),
                    format!("{what}[{index}] must be a string, found {}", kind(element)),
                ));
            };
            set.insert(s);
        }
        Ok(set)
    }

    fn principals(&self, value: &Value<'_>, what: &str) -> PResult<Principals> {
        match value {
            Value::StringLit(s) if s.value == "*" => Ok(Principals::Wildcard),
            Value::StringLit(s) => Err(self.error(
                s.range.start,
                format!(
                    "{what} must be \"*\" or an object such as {{\"AWS\": \"{}\"}}",
                    s.value
                ),
            )),
            Value::Object(obj) => {
                let mut map = BTreeMap::new();
                for (kind_name, prop) in self.members(obj)? {
                    let set = self.string_set(&prop.value, &format!("{what}.{kind_name}"))?;
                    map.insert(kind_name.to_owned(), set);
                }
                Ok(Principals::Map(map))
            }
            other => Err(self.error(
                start(other),
                format!("{what} must be \"*\" or an object, found {}", kind(other)),
            )),
        }
    }

    fn conditions(&self, value: &Value<'_>) -> PResult<Conditions> {
        let Value::Object(obj) = value else {
            return Err(self.error(
                start(value),
                format!("Condition must be an object, found {}", kind(value)),
            ));
        };
        let mut conditions = Conditions::new();
        for (operator, prop) in self.members(obj)? {
            let Value::Object(keys_obj) = &prop.value else {
                return Err(self.error(
                    start(&prop.value),
                    format!(
                        "Condition.{operator} must be an object of condition keys, found {}",
                        kind(&prop.value)
                    ),
                ));
            };
            let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            let mut lowered: BTreeMap<String, &str> = BTreeMap::new();
            for (key, key_prop) in self.members(keys_obj)? {
                if let Some(previous) = lowered.insert(key.to_lowercase(), key) {
                    return Err(self.error(
                        key_prop.range.start,
                        format!(
                            "Condition.{operator} has both \"{previous}\" and \"{key}\"; \
                             condition keys are case-insensitive"
                        ),
                    ));
                }
                let what = format!("Condition.{operator}.{key}");
                let values = match &key_prop.value {
                    Value::Array(arr) => self.elements(arr, &what, condition_scalar)?,
                    other => BTreeSet::from([condition_scalar(other).ok_or_else(|| {
                        self.error(
                            start(other),
                            format!(
                                "{what} must be a string, number, boolean or an array of \
                                 them, found {}",
                                kind(other)
                            ),
                        )
                    })?]),
                };
                keys.insert(key.to_owned(), values);
            }
            conditions.insert(operator.to_owned(), keys);
        }
        Ok(conditions)
    }
}

/// Condition values: strings, and numbers and booleans in their string form, as AWS does.
fn condition_scalar(value: &Value<'_>) -> Option<String> {
    match value {
        Value::StringLit(s) => Some(s.value.to_string()),
        Value::NumberLit(n) => Some(n.value.to_owned()),
        Value::BooleanLit(b) => Some(b.value.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::test_fixtures::DEFAULT_KEY_POLICY;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn err(text: &str) -> PolicyParseError {
        parse(text).expect_err("expected a parse error")
    }

    #[test]
    fn parses_the_default_key_policy() {
        let doc = parse(DEFAULT_KEY_POLICY).unwrap();
        assert_eq!(doc.version.as_deref(), Some("2012-10-17"));
        assert_eq!(doc.id.as_deref(), Some("key-default-1"));
        assert!(doc.unknown_fields.is_empty());
        assert_eq!(doc.field_lines["Version"], 2);
        assert_eq!(doc.field_lines["Statement"], 4);
        assert_eq!(doc.statements.len(), 1);
        let st = &doc.statements[0];
        assert_eq!(st.index, 0);
        assert_eq!(st.pointer, "/Statement/0");
        assert_eq!(st.line, 5);
        assert_eq!(st.sid.as_deref(), Some("Enable IAM User Permissions"));
        assert_eq!(st.effect.as_deref(), Some("Allow"));
        assert_eq!(
            st.principal,
            Some(Principals::Map(BTreeMap::from([(
                "AWS".to_owned(),
                set(&["arn:aws:iam::111122223333:root"])
            )])))
        );
        assert_eq!(st.action, Some(set(&["kms:*"])));
        assert_eq!(st.resource, Some(set(&["*"])));
        assert_eq!(st.not_action, None);
        assert!(st.condition.is_empty());
        assert_eq!(st.field_lines["Sid"], 6);
        assert_eq!(st.field_lines["Principal"], 8);
        assert_eq!(st.field_lines["Action"], 9);
        assert_eq!(st.field_lines["Resource"], 10);
    }

    #[test]
    fn single_statement_object_is_legal() {
        let doc = parse(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": ["kms:Encrypt"]}}"#,
        )
        .unwrap();
        assert_eq!(doc.statements.len(), 1);
        assert_eq!(doc.statements[0].pointer, "/Statement");
        assert_eq!(doc.statements[0].principal, Some(Principals::Wildcard));
        assert_eq!(doc.statements[0].action, Some(set(&["kms:Encrypt"])));
    }

    #[test]
    fn strings_and_arrays_are_sets() {
        let doc = parse(
            r#"{"Statement": [{"NotAction": ["b", "a", "b"], "NotResource": "r",
                "NotPrincipal": {"AWS": "x", "Service": ["s2", "s1"]}}]}"#,
        )
        .unwrap();
        let st = &doc.statements[0];
        assert_eq!(st.not_action, Some(set(&["a", "b"])));
        assert_eq!(st.not_resource, Some(set(&["r"])));
        assert_eq!(
            st.not_principal,
            Some(Principals::Map(BTreeMap::from([
                ("AWS".to_owned(), set(&["x"])),
                ("Service".to_owned(), set(&["s1", "s2"])),
            ])))
        );
    }

    #[test]
    fn condition_scalars_become_strings_and_keys_keep_their_case() {
        let doc = parse(
            r#"{"Statement": [{"Condition": {
                "Bool": {"aws:SecureTransport": false},
                "NumericLessThan": {"kms:RecipientAttestation:Foo": [30, 1.5]},
                "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
            }}]}"#,
        )
        .unwrap();
        let c = &doc.statements[0].condition;
        assert_eq!(c["Bool"]["aws:SecureTransport"], set(&["false"]));
        assert_eq!(
            c["NumericLessThan"]["kms:RecipientAttestation:Foo"],
            set(&["1.5", "30"])
        );
        assert_eq!(
            c["StringEquals"]["kms:ViaService"],
            set(&["s3.eu-west-1.amazonaws.com"])
        );
    }

    #[test]
    fn unknown_members_are_recorded_with_pointer_and_line() {
        let doc = parse(
            "{\n \"Version\": \"2012-10-17\",\n \"Extra\": 1,\n \"Statement\": [\n  {\"Effect\": \"Allow\",\n   \"Conditon\": {}, \"a/b\": 2}\n ]\n}",
        )
        .unwrap();
        assert_eq!(
            doc.unknown_fields,
            vec![
                ("/Extra".to_owned(), 3),
                ("/Statement/0/Conditon".to_owned(), 6),
                ("/Statement/0/a~1b".to_owned(), 6),
            ]
        );
        assert!(!doc.statements[0].field_lines.contains_key("Conditon"));
    }

    #[test]
    fn rejects_comments_and_trailing_commas() {
        let e = err("{\n  // comment\n  \"Version\": \"2012-10-17\"\n}");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "Comments are not allowed")
        );
        let e = err("{\n  \"Version\": \"2012-10-17\",\n}");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("Trailing commas"), "{e}");
        let e = err("{\"Statement\": [{},]}");
        assert!(e.message.contains("Trailing commas"), "{e}");
    }

    #[test]
    fn rejects_other_json_extensions() {
        assert_eq!(err("{Version: \"x\"}").line, 1);
        assert!(parse("{\"Id\": 'x'}").is_err());
        assert!(parse("{\"Id\": \"a\" \"Version\": \"b\"}").is_err());
        assert!(parse("{\"Statement\": [{\"Condition\": {\"N\": {\"k\": 0x1F}}}]}").is_err());
        assert!(parse("{\"Statement\": [{\"Condition\": {\"N\": {\"k\": +1}}}]}").is_err());
        // A raw tab inside a string is not JSON.
        let e = err("{\n\"Id\": \"a\tb\"}");
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("control character"), "{e}");
        assert!(!e.message.contains(" at line "), "{e}");
    }

    #[test]
    fn syntax_error_display_has_line_and_column() {
        let e = err("{\n  \"Version\": \"2012-10-17\"\n  \"Id\": \"x\"\n}");
        assert_eq!(e.to_string(), "line 2, column 26: Expected comma");
        assert_eq!((e.line, e.column), (2, 26));
    }

    #[test]
    fn empty_and_non_object_documents() {
        assert_eq!(err("").message, "the policy document is empty");
        let e = err("\n\n[1]");
        assert_eq!((e.line, e.column), (3, 1));
        assert_eq!(
            e.message,
            "a policy document must be a JSON object, found an array"
        );
    }

    #[test]
    fn type_errors_have_lines() {
        let e = err("{\n \"Statement\": [\n  {\"Action\": 3}\n ]\n}");
        assert_eq!((e.line, e.column), (3, 14));
        assert_eq!(
            e.message,
            "Action must be a string or an array of strings, found a number"
        );

        let e = err("{\"Statement\": [{\"Resource\": [\"a\",\n null]}]}");
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "Resource[1] must be a string, found null");

        let e = err("{\"Version\": 2012}");
        assert_eq!(e.message, "Version must be a string, found a number");

        let e = err("{\"Statement\": [{\"Sid\": [\"a\"]}]}");
        assert_eq!(e.message, "Sid must be a string, found an array");

        let e = err("{\"Statement\": \"x\"}");
        assert!(
            e.message
                .starts_with("Statement must be an object or an array")
        );

        let e = err("{\"Statement\": [{}, 7]}");
        assert_eq!(e.message, "Statement[1] must be an object, found a number");
    }

    #[test]
    fn principal_type_errors() {
        let e = err(r#"{"Statement": [{"Principal": "arn:aws:iam::1:root"}]}"#);
        assert_eq!(
            e.message,
            "Principal must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::1:root\"}"
        );
        let e = err(r#"{"Statement": [{"NotPrincipal": {"AWS": [1]}}]}"#);
        assert_eq!(
            e.message,
            "NotPrincipal.AWS[0] must be a string, found a number"
        );
        let e = err(r#"{"Statement": [{"Principal": true}]}"#);
        assert_eq!(
            e.message,
            "Principal must be \"*\" or an object, found a boolean"
        );
    }

    #[test]
    fn condition_type_errors() {
        let e = err(r#"{"Statement": [{"Condition": []}]}"#);
        assert_eq!(e.message, "Condition must be an object, found an array");
        let e = err(r#"{"Statement": [{"Condition": {"Bool": "true"}}]}"#);
        assert!(
            e.message.starts_with("Condition.Bool must be an object"),
            "{e}"
        );
        let e = err(r#"{"Statement": [{"Condition": {"Bool": {"aws:x": null}}}]}"#);
        assert!(
            e.message
                .starts_with("Condition.Bool.aws:x must be a string, number"),
            "{e}"
        );
        let e = err(r#"{"Statement": [{"Condition": {"Bool": {"aws:x": [{}]}}}]}"#);
        assert_eq!(
            e.message,
            "Condition.Bool.aws:x[0] must be a string, found an object"
        );
    }

    #[test]
    fn condition_keys_differing_only_by_case_are_rejected() {
        let e = err(
            "{\"Statement\": [{\"Condition\": {\"StringEquals\": {\n\"kms:ViaService\": \"a\",\n\"KMS:viaservice\": \"b\"}}}]}",
        );
        assert_eq!(e.line, 3);
        assert!(e.message.contains("case-insensitive"), "{e}");
    }

    #[test]
    fn duplicate_members_are_rejected() {
        let e = err("{\"Statement\": [{\"Action\": \"a\",\n \"Action\": \"b\"}]}");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "duplicate member \"Action\"")
        );
        assert!(parse("{\"Id\": \"a\", \"Id\": \"b\"}").is_err());
    }

    #[test]
    fn line_of_pointer_finds_members_and_elements() {
        let text = DEFAULT_KEY_POLICY;
        assert_eq!(line_of_pointer(text, ""), Some(1));
        assert_eq!(line_of_pointer(text, "/Version"), Some(2));
        assert_eq!(line_of_pointer(text, "/Statement"), Some(4));
        assert_eq!(line_of_pointer(text, "/Statement/0"), Some(5));
        assert_eq!(line_of_pointer(text, "/Statement/0/Action"), Some(9));
        assert_eq!(line_of_pointer(text, "/Statement/0/Principal/AWS"), Some(8));
        assert_eq!(line_of_pointer(text, "/Statement/1"), None);
        assert_eq!(line_of_pointer(text, "/Nope"), None);
        assert_eq!(line_of_pointer(text, "/Version/x"), None);
        assert_eq!(line_of_pointer(text, "Version"), None);
        assert_eq!(line_of_pointer("{not json", ""), None);
    }

    #[test]
    fn line_of_pointer_unescapes_tokens() {
        let text = "{\n\"a/b\": {\n\"c~d\": [\n1,\n2]}}";
        assert_eq!(line_of_pointer(text, "/a~1b/c~0d/1"), Some(5));
    }
}
