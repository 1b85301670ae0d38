//! Source files of the configuration, kept so findings can name a line.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::finding::Location;

/// A configuration file as read: its path as the user should see it, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Byte offset of each line's start, computed on the first lookup: a file with a thousand
    /// keys is asked for thousands of lines.
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
            line_starts: OnceLock::new(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        // The number of line starts at or before `offset`.
        starts.partition_point(|&start| start <= offset.min(self.text.len()))
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
        assert_eq!(file.line_of(5), 1, "the newline ends line 1");
        assert_eq!(file.line_of(12), 3, "past the last newline");
        assert_eq!(file.line_of(999), 3);
    }
}
