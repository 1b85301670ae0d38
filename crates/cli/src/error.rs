//! Errors the user sees: what is wrong, where (file and line), and how to fix it.

use std::path::Path;

use kmsctl_core::source::{line_column, line_of};
use miette::{Diagnostic, NamedSource, SourceSpan};

use crate::exit::Exit;

/// A user-facing error. Configuration errors carry the source so miette can point into it.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
    #[source_code]
    pub source_code: Option<NamedSource<String>>,
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
    pub exit: Exit,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source_code: None,
            span: None,
            label: String::new(),
            help: None,
            exit: Exit::Error,
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
        span: std::ops::Range<usize>,
        message: impl Into<String>,
        label: &str,
    ) -> Self {
        let (line, column) = line_column(text, span.start);
        let message = format!("{}:{line}:{column}: {}", path.display(), message.into());
        let (shown, span) = offending_line_only(text, span);
        Self {
            message,
            source_code: Some(NamedSource::new(path.display().to_string(), shown)),
            span: Some(span.into()),
            label: label.to_owned(),
            help: None,
            exit: Exit::Error,
        }
    }
}

/// The text as a snippet may show it: the offending line where it is, every other line blank
/// (a file from a pull request may hold anything next to the error), and the span moved to match
/// and kept within the line.
fn offending_line_only(
    text: &str,
    span: std::ops::Range<usize>,
) -> (String, std::ops::Range<usize>) {
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

impl From<anyhow::Error> for UserError {
    fn from(error: anyhow::Error) -> Self {
        Self::new(format!("{error:#}"))
    }
}

pub type Result<T, E = UserError> = std::result::Result<T, E>;

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

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
