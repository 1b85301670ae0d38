//! Secrets never live in kmsctl's files. A TOML assignment to a secret-like name (`password`,
//! `*_password`, `secret`, `*_secret`) is reported by file and line, and its value is blanked out of
//! the text before anything parses or shows it: no error, snippet or log can echo it.

/// A secret-like assignment found in a file: its 1-based line and the key it was assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretAssignment {
    pub line: usize,
    pub key: String,
}

pub const REDACTED: &str = "\"(redacted)\"";

/// Whether a TOML key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "secret"].contains(&key.as_str())
        || key.ends_with("_password")
        || key.ends_with("_secret")
        || key.ends_with("-password")
}

/// The text with every secret-like value replaced by `"(redacted)"`, and where they were.
pub fn redact(text: &str) -> (String, Vec<SecretAssignment>) {
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut rest = text;
    let mut line = 1;
    while !rest.is_empty() {
        let Some((key_start, key, value_start)) = next_assignment(rest) else {
            out.push_str(rest);
            break;
        };
        let before = &rest[..value_start];
        out.push_str(before);
        line += before[..key_start].matches('\n').count();
        let after = &rest[value_start..];
        if is_secret_key(key) {
            let value_len = value_length(after);
            let value = &after[..value_len];
            found.push(SecretAssignment {
                line,
                key: key.to_owned(),
            });
            out.push_str(REDACTED);
            // Keep the line count: a multi-line string's newlines stay.
            out.extend(std::iter::repeat_n('\n', value.matches('\n').count()));
            line += before[key_start..].matches('\n').count() + value.matches('\n').count();
            rest = &after[value_len..];
        } else {
            line += before[key_start..].matches('\n').count();
            rest = after;
        }
    }
    (out, found)
}

/// The next `key =` in `text` outside comments: (start of the key, the key, start of the value).
fn next_assignment(text: &str) -> Option<(usize, &str, usize)> {
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
                let head = &text[..i];
                let key_part = head.trim_end();
                let start = key_part
                    .rfind(|c: char| {
                        !(c.is_ascii_alphanumeric()
                            || c == '_'
                            || c == '-'
                            || c == '.'
                            || c == '"'
                            || c == '\'')
                    })
                    .map_or(0, |p| p + 1);
                let dotted = &key_part[start..];
                let key = dotted
                    .rsplit('.')
                    .next()
                    .unwrap_or(dotted)
                    .trim_matches(['"', '\'']);
                let mut value_start = i + 1;
                while value_start < bytes.len()
                    && (bytes[value_start] == b' ' || bytes[value_start] == b'\t')
                {
                    value_start += 1;
                }
                if !key.is_empty() {
                    return Some((start, key, value_start));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// Length of the TOML value at the start of `text`: a string (basic, literal, multi-line), or a
/// bare token up to `,`, `}`, `]`, a comment or the end of the line.
fn value_length(text: &str) -> usize {
    for quote in ["\"\"\"", "'''"] {
        if let Some(body) = text.strip_prefix(quote) {
            return body
                .find(quote)
                .map_or(text.len(), |end| end + 2 * quote.len());
        }
    }
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b'"') => {
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            (i + 1).min(bytes.len())
        }
        Some(b'\'') => text[1..]
            .find(['\'', '\n'])
            .map_or(text.len(), |end| end + 2),
        _ => text.find([',', '}', ']', '#', '\n']).unwrap_or(text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_blanked_everywhere_and_lines_kept() {
        let text = "[hsm.key_store]\nname = \"store\" # password = not this\npassword = \"hunter2-secret\"\n\
                    creds = { api_secret = 'x-y-z', user = \"u\" }\nkmsuser_password = \"\"\"multi\nline\"\"\"\nafter = 1\n";
        let (redacted, found) = redact(text);
        for secret in ["hunter2-secret", "x-y-z", "multi"] {
            assert!(!redacted.contains(secret), "{redacted}");
        }
        assert_eq!(
            found,
            [
                SecretAssignment {
                    line: 3,
                    key: "password".into()
                },
                SecretAssignment {
                    line: 4,
                    key: "api_secret".into()
                },
                SecretAssignment {
                    line: 5,
                    key: "kmsuser_password".into()
                },
            ]
        );
        assert_eq!(redacted.lines().count(), text.lines().count());
        assert_eq!(redacted.lines().nth(6), Some("after = 1"));
        let parsed: toml::Table = toml::from_str(&redacted).expect("still TOML");
        assert_eq!(
            parsed["hsm"]["key_store"]["password"].as_str(),
            Some("(redacted)")
        );
    }

    #[test]
    fn password_env_is_the_name_of_a_variable_not_a_secret() {
        let (redacted, found) = redact("password_env = \"KMSCTL_HSM_PASSWORD\"\n");
        assert!(found.is_empty());
        assert!(redacted.contains("KMSCTL_HSM_PASSWORD"));
    }
}
