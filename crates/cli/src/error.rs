//! Errors the user sees: what is wrong, where (file and line), and how to fix it.

use miette::{Diagnostic, NamedSource, SourceSpan};

use crate::exit::Exit;

/// A user-facing error as miette renders it. The engine's errors carry a snippet of the
/// offending line; this points at it.
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

    /// Refused by a control (exit 3), not an error of input or AWS: nothing was changed.
    pub fn refused(mut self) -> Self {
        self.exit = Exit::Refused;
        self
    }
}

impl From<kmsctl_engine::Error> for UserError {
    fn from(error: kmsctl_engine::Error) -> Self {
        let (source_code, span, label) = match error.snippet {
            Some(snippet) => (
                Some(NamedSource::new(snippet.name, snippet.text)),
                Some(snippet.span.into()),
                snippet.label,
            ),
            None => (None, None, String::new()),
        };
        Self {
            message: error.message,
            source_code,
            span,
            label,
            help: error.help,
            exit: Exit::Error,
        }
    }
}

impl From<anyhow::Error> for UserError {
    fn from(error: anyhow::Error) -> Self {
        Self::new(format!("{error:#}"))
    }
}

pub type Result<T, E = UserError> = std::result::Result<T, E>;
