//! Secrets never live in kmsctl's files. A TOML assignment to a secret-like name (see
//! [`is_secret_key`]) is reported by file and line, and its value is blanked out of the text before
//! anything parses or shows it: no error, snippet or log can echo it.
//!
//! Detection works on the key names as TOML decodes them (`"db_pass\u0077ord"` is `db_password`),
//! at every depth: tables, dotted keys, inline tables, arrays of tables. Text that does not parse
//! is scanned lexically as well, so a syntax error's snippet cannot show a secret line either.
//! Nothing here panics on any input, and the redacted text has the same lines as the original.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::rule::Rule;

pub const SECRET_IN_FILE: Rule = Rule::error(
    "secret-in-file",
    None,
    "no secret-like key in any file (its value is never shown)",
);

/// A secret-like assignment found in a file: its 1-based line and the key it was assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretAssignment {
    pub line: usize,
    pub key: String,
}

/// What a blanked-out value becomes (a TOML string, so the file still parses).
pub const REDACTED: &str = "\"(redacted)\"";
/// The value a blanked-out string has once parsed.
pub const REDACTED_VALUE: &str = "(redacted)";

/// Last words of a key that name a secret: `password`, `db_password`, `kmsuser-pass`,
/// `apiToken`, `client_secret`.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pass",
    "pwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
];
/// Endings that name a secret even run together with the word before: `dbpassword`.
const SECRET_ENDINGS: &[&str] = &["password", "passwd", "passphrase", "secret", "token"];
/// Last two words that name a secret: `api_key`, `private-key`, `secret_key`,
/// `aws_secret_access_key` (by `access key`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("access", "key"),
];

/// Whether a TOML key (as decoded: no quotes, escapes resolved) names a secret.
///
/// The key is split into lower-case words at every character that is not a letter or a digit
/// and where a lower-case letter meets an upper-case one (`dbPassword` is `db`, `password`).
/// Only its *last* words count: `password`, `passwd`, `passphrase`, `pass`, `pwd`, `secret`,
/// `token`, `apikey`, `privatekey`, a last word ending in `password`, `passwd`, `passphrase`,
/// `secret` or `token`, or the last two words `api key`, `private key`, `secret key`,
/// `access key`. So `password_env` (the *name* of a variable), `secret_arn` or `topic_key` are
/// not secrets. Nor is a key with a `/`: in kmsctl's files that is a path naming something (an
/// OU path such as `"root/secret"` in organization.toml), not a field holding a value.
pub fn is_secret_key(key: &str) -> bool {
    if key.contains('/') {
        return false;
    }
    let words = words(key);
    let Some(last) = words.last() else {
        return false;
    };
    if SECRET_WORDS.contains(&last.as_str()) || SECRET_ENDINGS.iter().any(|e| last.ends_with(e)) {
        return true;
    }
    match words.as_slice() {
        [.., before, last] => SECRET_PAIRS.iter().any(|(a, b)| before == a && last == b),
        _ => false,
    }
}

/// The lower-case words of a key: split at non-alphanumerics and at lower→upper case changes.
fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_numeric();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The text with every secret-like value replaced by `"(redacted)"`, and where they were.
///
/// Text that parses as TOML is redacted from its parse: every key at every depth, by its decoded
/// name. Text that does not parse is redacted from what the parser recovers *and* from a lexical
/// scan of `key = value` lines, whichever finds more. Lines are kept: a value spanning lines
/// becomes a multi-line string `"""(redacted)\` + its newlines + `"""`, which still parses as
/// `"(redacted)"`.
pub fn redact(text: &str) -> (String, Vec<SecretAssignment>) {
    let mut hits = Hits::default();
    match DeTable::parse(text) {
        Ok(table) => walk_table(text, table.get_ref(), false, &mut hits),
        Err(_) => {
            let (table, _errors) = DeTable::parse_recoverable(text);
            walk_table(text, table.get_ref(), false, &mut hits);
            lexical(text, &mut hits);
        }
    }
    hits.apply(text)
}

#[derive(Default)]
struct Hits {
    found: Vec<(usize, SecretAssignment)>,
    spans: Vec<Range<usize>>,
}

impl Hits {
    fn secret(&mut self, text: &str, key_start: usize, key: &str) {
        let line = crate::source::line_of(text, key_start);
        self.found.push((
            key_start,
            SecretAssignment {
                line,
                key: key.to_owned(),
            },
        ));
    }

    fn blank(&mut self, text: &str, span: Range<usize>) {
        // Spans come from the parser (or its recovery): use only those that are real slices.
        if span.start < span.end && text.get(span.clone()).is_some() {
            self.spans.push(span);
        }
    }

    fn apply(mut self, text: &str) -> (String, Vec<SecretAssignment>) {
        self.spans.sort_by_key(|s| (s.start, s.end));
        let mut merged: Vec<Range<usize>> = Vec::new();
        for span in self.spans {
            match merged.last_mut() {
                Some(last) if span.start < last.end => last.end = last.end.max(span.end),
                _ => merged.push(span),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for span in merged {
            out.push_str(&text[at..span.start]);
            let newlines = text[span.clone()].matches('\n').count();
            if newlines == 0 {
                out.push_str(REDACTED);
            } else {
                // A line-ending backslash trims the newlines: the value is still "(redacted)".
                out.push_str("\"\"\"(redacted)\\");
                out.extend(std::iter::repeat_n('\n', newlines));
                out.push_str("\"\"\"");
            }
            at = span.end;
        }
        out.push_str(&text[at..]);

        self.found.sort_by_key(|(start, f)| (f.line, *start));
        self.found
            .dedup_by(|(_, a), (_, b)| a.line == b.line && a.key == b.key);
        (out, self.found.into_iter().map(|(_, f)| f).collect())
    }
}

fn walk_table(text: &str, table: &DeTable<'_>, secret: bool, hits: &mut Hits) {
    for (key, value) in table {
        let is_secret = is_secret_key(key.get_ref());
        if is_secret {
            hits.secret(text, key.span().start, key.get_ref());
        }
        walk_value(text, value, secret || is_secret, hits);
    }
}

/// Every leaf under a secret-like key is blanked (a table or array named `password` holds
/// nothing but secrets); elsewhere, the walk goes on looking for secret-like keys.
fn walk_value(text: &str, value: &Spanned<DeValue<'_>>, secret: bool, hits: &mut Hits) {
    match value.get_ref() {
        DeValue::Table(table) => walk_table(text, table, secret, hits),
        DeValue::Array(items) => {
            for item in items.iter() {
                walk_value(text, item, secret, hits);
            }
        }
        DeValue::String(_)
        | DeValue::Integer(_)
        | DeValue::Float(_)
        | DeValue::Boolean(_)
        | DeValue::Datetime(_) => {
            if secret {
                hits.blank(text, value.span());
            }
        }
    }
}

/// The lexical first line, for text that does not parse: every `key =` outside comments and
/// strings whose last dotted part (quotes trimmed, escapes not resolved) is secret-like has the
/// value after it blanked (a string, basic, literal or multi-line, or a bare token).
fn lexical(text: &str, hits: &mut Hits) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' | b'\'' => i += value_length(&text[i..]).max(1),
            b'=' => {
                let (key_start, key) = key_before(&text[..i]);
                let mut value_start = i + 1;
                while value_start < bytes.len()
                    && (bytes[value_start] == b' ' || bytes[value_start] == b'\t')
                {
                    value_start += 1;
                }
                if is_secret_key(key) {
                    let len = value_length(&text[value_start..]);
                    hits.secret(text, key_start, key);
                    hits.blank(text, value_start..value_start + len);
                    i = value_start + len.max(1);
                } else {
                    i = value_start.max(i + 1);
                }
            }
            _ => i += 1,
        }
    }
}

/// The key just before an `=` at the end of `head`: (its start, its last dotted part unquoted).
fn key_before(head: &str) -> (usize, &str) {
    let key_part = head.trim_end();
    let start = key_part
        .char_indices()
        .rev()
        .find(|&(_, c)| {
            !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\'' | ' ' | '\t'))
        })
        .map_or(0, |(p, c)| p + c.len_utf8());
    let start = start
        + key_part[start..]
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(0);
    let dotted = &key_part[start..];
    let key = dotted
        .rsplit('.')
        .next()
        .unwrap_or(dotted)
        .trim()
        .trim_matches(['"', '\'']);
    (start, key)
}

/// Length in bytes of the TOML value at the start of `text`: a string (basic, literal,
/// multi-line), or a bare token up to `,`, `}`, `]`, a comment or the end of the line. Always
/// on a character boundary.
fn value_length(text: &str) -> usize {
    for quote in ["\"\"\"", "'''"] {
        if let Some(body) = text.strip_prefix(quote) {
            return body
                .find(quote)
                .map_or(text.len(), |end| end + 2 * quote.len());
        }
    }
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, '"')) => {
            let mut escaped = false;
            for (i, c) in chars {
                match c {
                    '\n' => return i,
                    '"' if !escaped => return i + 1,
                    '\\' if !escaped => escaped = true,
                    _ => escaped = false,
                }
            }
            text.len()
        }
        Some((_, '\'')) => text[1..]
            .find(['\'', '\n'])
            .map_or(text.len(), |end| end + 2),
        _ => text.find([',', '}', ']', '#', '\n']).unwrap_or(text.len()),
    }
}

#[cfg(test)]
mod tests;
