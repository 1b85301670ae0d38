//! Errors the user sees: what is wrong, where (file, line, the offending text), and how to fix it.
//! The binary renders them (miette); this crate only describes them.

use std::ops::Range;
use std::path::Path;

use kmsctl_core::source::{line_column, line_of};

/// A user-facing error. Configuration errors carry a snippet of the offending line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub message: String,
    pub help: Option<String>,
    pub snippet: Option<Snippet>,
}

/// The line an error points at. Every other line of the file is blank: a file from a pull
/// request may hold anything next to the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The file's name as shown.
    pub name: String,
    /// The file's text with only the offending line kept.
    pub text: String,
    /// Where in `text` the label points.
    pub span: Range<usize>,
    pub label: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: None,
            snippet: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A TOML file that does not parse (or does not fit its types), pointed at where it fails.
    pub fn in_toml(path: &Path, text: &str, error: &toml::de::Error) -> Self {
        Self::in_source(
            path,
            text,
            error.span().unwrap_or(0..0),
            error.message().trim_end(),
            "here",
        )
    }

    /// Points at `span` in `text`; the message is prefixed with `file:line:column`.
    pub fn in_source(
        path: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
        label: &str,
    ) -> Self {
        let (line, column) = line_column(text, span.start);
        let (shown, span) = offending_line_only(text, span);
        Self {
            message: format!("{}:{line}:{column}: {}", path.display(), message.into()),
            help: None,
            snippet: Some(Snippet {
                name: path.display().to_string(),
                text: shown,
                span,
                label: label.to_owned(),
            }),
        }
    }
}

/// The text as a snippet may show it: the offending line where it is, every other line blank,
/// and the span moved to match and kept within the line.
fn offending_line_only(text: &str, span: Range<usize>) -> (String, Range<usize>) {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let blank_lines = line_of(text, line_start) - 1;
    let mut shown = "\n".repeat(blank_lines);
    shown.push_str(&text[line_start..line_end]);
    shown.push('\n');
    let moved = |offset: usize| blank_lines + offset.clamp(line_start, line_end) - line_start;
    (shown, moved(start)..moved(span.end.max(start)))
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

impl From<kmsctl_keys::desired::DesiredError> for Error {
    fn from(error: kmsctl_keys::desired::DesiredError) -> Self {
        Self::new(error.to_string()).help(error.help)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_holds_the_offending_line_only() {
        let text = "secret_neighbour = \"above\"\nteam = \"orders\nbelow = \"Café\"\n";
        let at = text.find("orders").unwrap_or_default();
        let (shown, span) = offending_line_only(text, at..at + 1);
        assert_eq!(shown, "\nteam = \"orders\n");
        assert_eq!(&shown[span], "o");
        // A span past the line is cut at its end; offsets inside a character never panic.
        let at = text.find("\"Café").unwrap_or_default();
        let (shown, span) = offending_line_only(text, at..999);
        assert_eq!(shown, "\n\nbelow = \"Café\"\n");
        assert_eq!(&shown[span], "\"Café\"");
        let inside_e_acute = text.find('é').unwrap_or_default() + 1;
        let (_, span) = offending_line_only(text, inside_e_acute..inside_e_acute);
        assert!(span.start <= span.end);
    }
}
