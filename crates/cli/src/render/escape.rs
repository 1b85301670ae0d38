//! One escaping helper per output format. Every string that came from AWS (tag keys and values,
//! descriptions, aliases, error messages) or from files (paths, names, control maps) goes
//! through the helper of the format it is written into, so it renders as the text it is: never
//! as markup, a link, an image, a table row or a script.

/// Text for HTML, in element content or in a quoted attribute value: `&`, `<`, `>`, `"` and `'`
/// become entities; control characters (which HTML5 forbids) become U+FFFD.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if forbidden_in_html(c) => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
    out
}

/// Control characters and noncharacters: parse errors in HTML5.
fn forbidden_in_html(c: char) -> bool {
    c.is_control() || matches!(c as u32, 0xFDD0..=0xFDEF) || (c as u32 & 0xFFFE) == 0xFFFE
}

/// Text for Markdown (GitHub-flavoured), on one line: in a paragraph, a heading, a table cell or
/// between `<code>` tags. `&`, `<` and `>` become entities (no raw HTML, no autolink); the
/// characters Markdown reads as structure, `\` `` ` `` `*` `_` `[` `]` `|` `~` `#`, are
/// backslash-escaped (no code span, emphasis, link, image, table cell or strikethrough); line
/// breaks and other control characters become spaces (no new row, list or heading).
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for Markdown shown as code (`<code>` rather than backticks: a backtick in the text
/// cannot end it, and the escapes of [`markdown`] still apply inside).
pub fn markdown_code(text: &str) -> String {
    format!("<code>{}</code>", markdown(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &[&str] = &[
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "| injected | row |",
        "[click](javascript:alert(1))",
        "![x](https://evil.example/t.png)",
        "`code` **bold** _em_ ~~gone~~",
        "line one\nline two\r\n| a | b |",
        "&lt;already&gt; &#60;",
        "\" onmouseover=\"alert(1)",
        "# heading",
        "back\\slash",
    ];

    #[test]
    fn html_has_no_markup_left() {
        for text in HOSTILE {
            let escaped = html(text);
            assert!(
                !escaped.contains(['<', '>', '"', '\'']),
                "{text} → {escaped}"
            );
            // Every `&` starts an entity this function wrote.
            for (i, _) in escaped.match_indices('&') {
                let rest = &escaped[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|e| rest.starts_with(e)),
                    "{escaped}"
                );
            }
        }
        assert_eq!(
            html("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            html("a\u{0}b\u{1b}[31m\u{FFFF}"),
            "a\u{FFFD}b\u{FFFD}[31m\u{FFFD}"
        );
        assert_eq!(html("café ✅"), "café ✅");
    }

    #[test]
    fn markdown_has_no_structure_left() {
        for text in HOSTILE {
            let escaped = markdown(text);
            assert!(
                !escaped.contains(['<', '>', '\n', '\r']),
                "{text} → {escaped}"
            );
            // Every structural character is escaped (preceded by an odd run of backslashes).
            let chars: Vec<char> = escaped.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                if matches!(c, '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#') {
                    let run = chars[..i].iter().rev().take_while(|&&b| b == '\\').count();
                    assert!(run % 2 == 1, "{text} → {escaped}");
                }
            }
        }
        assert_eq!(
            markdown("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(markdown("| injected | row |"), "\\| injected \\| row \\|");
        assert_eq!(
            markdown("[click](javascript:alert(1))"),
            "\\[click\\](javascript:alert(1))"
        );
        assert_eq!(markdown("a\nb\r\nc"), "a b  c");
        assert_eq!(markdown("kms_key.app-data"), "kms\\_key.app-data");
        assert_eq!(markdown_code("a`b"), "<code>a\\`b</code>");
        assert_eq!(markdown("café ✅"), "café ✅");
    }
}
