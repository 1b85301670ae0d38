//! Errors the user sees: what is wrong, where (file and line), and how to fix it.

use std::path::Path;

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
        Self {
            message,
            source_code: Some(NamedSource::new(
                path.display().to_string(),
                text.to_owned(),
            )),
            span: Some(span.into()),
            label: label.to_owned(),
            help: None,
            exit: Exit::Error,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
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
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
