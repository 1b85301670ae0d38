//! Source files of the configuration, kept so findings can name a line, and the one place
//! kmsctl turns a byte offset into a line and column.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::finding::Location;

/// A configuration file as read: its path as the user should see it, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Computed on the first lookup: a file with a thousand keys is asked for thousands of lines.
    lines: OnceLock<LineIndex>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
            lines: OnceLock::new(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.lines
            .get_or_init(|| LineIndex::new(&self.text))
            .line(offset)
    }

    /// Location of a byte span (as `toml::Spanned` reports it).
    pub fn location(&self, span: Range<usize>) -> Location {
        Location::at_line(self.path.clone(), self.line_of(span.start))
    }
}

/// Byte offset → 1-based line and column, for many lookups in one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    /// Byte offset of each line's start.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        Self {
            starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            len: text.len(),
        }
    }

    /// 1-based line of a byte offset; an offset past the end is on the last line.
    pub fn line(&self, offset: usize) -> usize {
        // The number of line starts at or before `offset`.
        self.starts
            .partition_point(|&start| start <= offset.min(self.len))
    }

    /// 1-based line and column (in characters) of a byte offset in `text`, the text this index
    /// was built from. An offset inside a character counts from the line's start.
    pub fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset.min(text.len()))
            .map_or(1, |prefix| prefix.chars().count() + 1);
        (line, column)
    }
}

/// 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    LineIndex::new(text).line(offset)
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_column(text, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_lines_and_columns() {
        let text = "ab\né€x\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_column(text, 0), (1, 1));
        assert_eq!(idx.line_column(text, 2), (1, 3));
        assert_eq!(idx.line_column(text, 3), (2, 1));
        // 'x' is after two multi-byte characters: byte 3 + 2 + 3 = 8.
        assert_eq!(idx.line_column(text, 8), (2, 3));
        assert_eq!(idx.line(10), 3);
    }

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
