//! `{{ name }}` templating for policy files.
//!
//! A template placeholder is `{{name}}`, with optional whitespace inside the braces
//! (`{{ name }}`). Names are made of ASCII letters, digits, `_`, `-` and `.`.
//! IAM policy variables such as `${aws:username}` or `${aws:PrincipalTag/team}` use a
//! single brace and pass through untouched. There is no escape for a literal `{{`.
//!
//! Prefer [`render_json_strings`] for JSON files (key policies): it escapes the inserted
//! values so that a value containing `"` or `\` cannot break the document. [`render`]
//! inserts values verbatim.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use thiserror::Error;

use crate::source::line_column;

/// Why a template could not be rendered. Lines and columns are 1-based and point into the
/// template text; columns count characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// `{{ name }}` names a variable that was not given.
    #[error("{}", unknown_message(name, *line, *column, known))]
    Unknown {
        name: String,
        line: usize,
        column: usize,
        /// The names that were given, sorted.
        known: Vec<String>,
    },
    /// `{{` without a closing `}}` on the same line.
    #[error("line {line}, column {column}: `{{{{` is not closed by `}}}}` on the same line")]
    Unterminated { line: usize, column: usize },
    /// `{{ ... }}` whose content is not a variable name.
    #[error(
        "line {line}, column {column}: `{{{{{text}}}}}` is not a template variable \
         (names use letters, digits, `_`, `-` and `.`)"
    )]
    InvalidName {
        text: String,
        line: usize,
        column: usize,
    },
}

impl TemplateError {
    /// For [`TemplateError::Unknown`]: the known name within edit distance 2, if any.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            TemplateError::Unknown { name, known, .. } => nearest(name, known),
            _ => None,
        }
    }
}

fn unknown_message(name: &str, line: usize, column: usize, known: &[String]) -> String {
    let mut message = format!("line {line}, column {column}: unknown template variable `{name}`");
    if known.is_empty() {
        message.push_str("; no variables are defined");
    } else {
        let _ = write!(message, "; known variables: {}", known.join(", "));
    }
    if let Some(suggestion) = nearest(name, known) {
        let _ = write!(message, "; did you mean `{suggestion}`?");
    }
    message
}

/// The known name closest to `name` by edit distance, if that distance is at most 2.
/// Ties go to the first name in `known`.
fn nearest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|candidate| (levenshtein(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

/// Edit distance (insertions, deletions, substitutions) between two strings, by characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Replaces every `{{ name }}` with the variable's value, inserted verbatim.
///
/// Values are not escaped: a value containing `"` or `\` inserted inside a JSON string
/// breaks the document (or changes its meaning). For JSON files use
/// [`render_json_strings`].
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    render_with(text, vars, |out, value| out.push_str(value))
}

/// Like [`render`], but JSON-escapes each inserted value (without adding quotes), for
/// placeholders inside JSON strings: `"arn:aws:iam::{{ account }}:root"`.
/// This is the recommended way to template JSON policy files.
pub fn render_json_strings(
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    render_with(text, vars, |out, value| out.push_str(&json_escape(value)))
}

/// The JSON string encoding of `value`, without the surrounding quotes.
fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_owned()
}

fn render_with(
    text: &str,
    vars: &BTreeMap<String, String>,
    insert: impl Fn(&mut String, &str),
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0; // bytes of `text` before `rest`
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let start = consumed + open;
        let after_open = &rest[open + 2..];
        let line_end = after_open.find('\n').unwrap_or(after_open.len());
        let Some(close) = after_open[..line_end].find("}}") else {
            let (line, column) = line_column(text, start);
            return Err(TemplateError::Unterminated { line, column });
        };
        let inner = &after_open[..close];
        let name = inner.trim();
        if name.is_empty() || !name.chars().all(is_name_char) {
            let (line, column) = line_column(text, start);
            return Err(TemplateError::InvalidName {
                text: inner.to_owned(),
                line,
                column,
            });
        }
        let Some(value) = vars.get(name) else {
            let (line, column) = line_column(text, start);
            return Err(TemplateError::Unknown {
                name: name.to_owned(),
                line,
                column,
                known: vars.keys().cloned().collect(),
            });
        };
        insert(&mut out, value);
        let used = open + 2 + close + 2;
        rest = &rest[used..];
        consumed += used;
    }
    out.push_str(rest);
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn replaces_with_and_without_inner_whitespace() {
        let v = vars(&[("account", "111122223333"), ("role", "Admin")]);
        let out = render(
            "arn:aws:iam::{{ account }}:role/{{role}} {{  account\t}}",
            &v,
        )
        .unwrap();
        assert_eq!(out, "arn:aws:iam::111122223333:role/Admin 111122223333");
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        let text = "{\n  \"a\": \"b\" }\n";
        assert_eq!(render(text, &BTreeMap::new()).unwrap(), text);
    }

    #[test]
    fn iam_policy_variables_pass_through() {
        let v = vars(&[("tag", "team")]);
        let text = r#"["${aws:username}", "${aws:PrincipalTag/x}", "${aws:PrincipalTag/{{tag}}}"]"#;
        assert_eq!(
            render(text, &v).unwrap(),
            r#"["${aws:username}", "${aws:PrincipalTag/x}", "${aws:PrincipalTag/team}"]"#
        );
    }

    #[test]
    fn unknown_variable_reports_position_and_known_names() {
        let v = vars(&[("region", "eu-west-1"), ("account", "1")]);
        let err = render("{\n  \"x\": \"ab {{ acount }}\"\n}", &v).unwrap_err();
        assert_eq!(
            err,
            TemplateError::Unknown {
                name: "acount".into(),
                line: 2,
                column: 12,
                known: vec!["account".into(), "region".into()],
            }
        );
        assert_eq!(err.suggestion(), Some("account"));
        assert_eq!(
            err.to_string(),
            "line 2, column 12: unknown template variable `acount`; \
             known variables: account, region; did you mean `account`?"
        );
    }

    #[test]
    fn no_suggestion_when_nothing_is_close() {
        let v = vars(&[("region", "eu-west-1")]);
        let err = render("{{ zzzzzz }}", &v).unwrap_err();
        assert_eq!(err.suggestion(), None);
        assert_eq!(
            err.to_string(),
            "line 1, column 1: unknown template variable `zzzzzz`; known variables: region"
        );
    }

    #[test]
    fn unknown_with_no_variables_says_so() {
        let err = render("x {{a}}", &BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1, column 3: unknown template variable `a`; no variables are defined"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let err = render("é€{{ x }}", &BTreeMap::new()).unwrap_err();
        assert!(matches!(
            err,
            TemplateError::Unknown {
                line: 1,
                column: 3,
                ..
            }
        ));
    }

    #[test]
    fn unterminated_is_an_error_with_its_line() {
        let v = vars(&[("a", "1")]);
        let err = render("ok {{a}}\n  \"{{ a \"\n}}", &v).unwrap_err();
        assert_eq!(err, TemplateError::Unterminated { line: 2, column: 4 });
        assert_eq!(
            err.to_string(),
            "line 2, column 4: `{{` is not closed by `}}` on the same line"
        );
        assert_eq!(
            render("{{", &v).unwrap_err(),
            TemplateError::Unterminated { line: 1, column: 1 }
        );
    }

    #[test]
    fn invalid_names_are_errors() {
        let v = vars(&[("a", "1")]);
        let err = render("{{ a b }}", &v).unwrap_err();
        assert_eq!(
            err,
            TemplateError::InvalidName {
                text: " a b ".into(),
                line: 1,
                column: 1
            }
        );
        assert!(
            err.to_string()
                .contains("`{{ a b }}` is not a template variable")
        );
        assert!(matches!(
            render("{{}}", &v).unwrap_err(),
            TemplateError::InvalidName { .. }
        ));
    }

    #[test]
    fn names_may_contain_dots_dashes_underscores() {
        let v = vars(&[("key.admin-role_arn", "arn")]);
        assert_eq!(render("{{key.admin-role_arn}}", &v).unwrap(), "arn");
    }

    #[test]
    fn render_inserts_verbatim_and_json_variant_escapes() {
        let v = vars(&[("v", "a\"b\\c\nd")]);
        assert_eq!(render("\"{{v}}\"", &v).unwrap(), "\"a\"b\\c\nd\"");
        let json = render_json_strings("{\"k\": \"{{ v }}\"}", &v).unwrap();
        assert_eq!(json, r#"{"k": "a\"b\\c\nd"}"#);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["k"], "a\"b\\c\nd");
    }

    #[test]
    fn json_variant_leaves_plain_values_alone() {
        let v = vars(&[("account", "111122223333"), ("name", "ключ/é")]);
        assert_eq!(
            render_json_strings("{{account}}:{{name}}", &v).unwrap(),
            "111122223333:ключ/é"
        );
    }

    #[test]
    fn levenshtein_distances() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("region", "regoin"), 2);
        assert_eq!(levenshtein("account", "acount"), 1);
        assert_eq!(levenshtein("same", "same"), 0);
    }

    #[test]
    fn nearest_prefers_smallest_distance() {
        let known = vec!["regions".to_owned(), "region".to_owned()];
        assert_eq!(nearest("regio", &known), Some("region"));
        assert_eq!(nearest("xyz", &known), None);
    }
}
