//! Source files of the configuration, kept so findings can name a line.

use std::ops::Range;
use std::path::PathBuf;

use crate::finding::Location;

/// A configuration file as read: its path as the user should see it, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// Location of a byte span (as `toml::Spanned` reports it).
    pub fn location(&self, span: Range<usize>) -> Location {
        Location::at_line(self.path.clone(), self.line_of(span.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let file = SourceFile::new("a.toml", "a = 1\nb = 2\n");
        assert_eq!(file.line_of(0), 1);
        assert_eq!(file.line_of(6), 2);
        assert_eq!(file.location(6..11).line, Some(2));
    }
}
