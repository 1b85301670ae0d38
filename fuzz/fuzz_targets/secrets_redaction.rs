//! Secret redaction on any UTF-8 text (non-ASCII included): `redact` never panics, keeps every
//! line, reports only secret-like keys on lines that exist, and, when the text is TOML, leaves
//! a document of the same shape in which every value under a secret-like key (found by parsing,
//! escapes decoded) is `"(redacted)"`, every other value is untouched, and no secret value
//! remains anywhere in the text.

#![no_main]

use kmsctl_core::secrets::{REDACTED_VALUE, is_secret_key, redact};
use libfuzzer_sys::fuzz_target;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Every leaf: its path, whether a secret-like key is on the path, its value as text.
fn leaves(table: &DeTable<'_>, path: &str, secret: bool, out: &mut Vec<(String, bool, String)>) {
    for (key, value) in table {
        let path = format!("{path}.{:?}", key.get_ref());
        leaf(value, &path, secret || is_secret_key(key.get_ref()), out);
    }
}

fn leaf(value: &Spanned<DeValue<'_>>, path: &str, secret: bool, out: &mut Vec<(String, bool, String)>) {
    let text = match value.get_ref() {
        DeValue::Table(table) => return leaves(table, path, secret, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaf(item, &format!("{path}[{i}]"), secret, out);
            }
            return;
        }
        DeValue::String(s) => format!("string {s}"),
        DeValue::Integer(i) => format!("integer {}", i.as_str()),
        DeValue::Float(f) => format!("float {}", f.as_str()),
        DeValue::Boolean(b) => format!("bool {b}"),
        DeValue::Datetime(d) => format!("datetime {d}"),
    };
    out.push((path.to_owned(), secret, text));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (redacted, found) = redact(text);
    assert_eq!(
        redacted.matches('\n').count(),
        text.matches('\n').count(),
        "lines kept"
    );
    let lines = text.matches('\n').count() + 1;
    for secret in &found {
        assert!((1..=lines).contains(&secret.line), "{secret:?}");
        assert!(is_secret_key(&secret.key), "{secret:?}");
    }
    let Ok(original) = DeTable::parse(text) else {
        return;
    };
    let after = DeTable::parse(&redacted).expect("the redacted text of a TOML document is TOML");
    let (mut before_leaves, mut after_leaves) = (Vec::new(), Vec::new());
    leaves(original.get_ref(), "", false, &mut before_leaves);
    leaves(after.get_ref(), "", false, &mut after_leaves);
    assert_eq!(before_leaves.len(), after_leaves.len(), "same shape");
    let redacted_string = format!("string {REDACTED_VALUE}");
    for ((path, secret, value), (after_path, _, after_value)) in before_leaves.iter().zip(&after_leaves) {
        assert_eq!(path, after_path, "same keys");
        if *secret {
            assert_eq!(after_value, &redacted_string, "{path} blanked");
            // The value's own text is gone from the whole document (a word made of letters and
            // digits only, found once in the original, cannot appear by accident).
            if let Some(word) = value.strip_prefix("string ")
                && word.len() >= 6
                && word.chars().all(char::is_alphanumeric)
                && !"redacted".contains(word)
                && text.matches(word).count() == 1
            {
                assert!(!redacted.contains(word), "{path}: {word} still in the text");
            }
        } else {
            assert_eq!(value, after_value, "{path} untouched");
        }
    }
    assert!(
        found.len() >= before_leaves.iter().any(|(_, secret, _)| *secret) as usize,
        "a blanked value is reported"
    );
});
