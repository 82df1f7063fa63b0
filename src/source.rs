//! A file's text and the one way tagpin turns byte offsets into the line and column a user sees.
//!
//! Every span in tagpin is a byte range into the file's text; columns are reported in characters
//! (1-based) because that is what editors and SARIF consumers expect.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

const BOM: char = '\u{feff}';

/// A byte range into a file's text.
pub type Span = Range<usize>;

/// A 1-based line and character column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A file that was read, with the path as the user named it.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Where each line starts: found on first use, since most files of a tree have no finding
    /// to place.
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        Self {
            path,
            text,
            line_starts: OnceLock::new(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts: Vec<usize> = std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', self.text.as_bytes()).map(|i| i + 1))
                .collect();
            // Kept as long as the file is (renderers, fixes): without the growth's spare room.
            starts.shrink_to_fit();
            starts
        })
    }

    /// The path as it is printed: forward slashes, as given.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }

    /// 0-based line index of a byte offset.
    pub fn line_index(&self, offset: usize) -> usize {
        self.line_starts().partition_point(|&start| start <= offset) - 1
    }

    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.line_index(offset);
        // A byte-order mark is no character of the line: columns count from after it.
        let start = if line == 0 && self.text.starts_with(BOM) {
            BOM.len_utf8().min(offset)
        } else {
            self.line_starts()[line]
        };
        let column = self.text[start..offset].chars().count() + 1;
        Position {
            line: line + 1,
            column,
        }
    }

    /// The byte offset where a 0-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts()[line]
    }

    /// The text of a 0-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let starts = self.line_starts();
        let start = starts[line];
        let end = starts.get(line + 1).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }
}

/// `path` joined to `cwd` with `.` and `..` resolved by name (no file system access).
pub fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in cwd.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub fn display_path(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    let text = text.strip_prefix("./").unwrap_or(&text);
    if std::path::MAIN_SEPARATOR == '\\' {
        text.replace('\\', "/")
    } else {
        text.to_string()
    }
}

/// A problem at a place: what kept tagpin from checking a file (a YAML syntax error, a scan
/// error, an unreadable file) or from reading a rules file. The line and character column are
/// 1-based; the path is filled in by whoever knows it ([`FileError::in_file`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{message}")]
pub struct FileError {
    pub path: String,
    pub line: Option<usize>,
    #[serde(skip)]
    pub column: Option<usize>,
    pub message: String,
}

impl FileError {
    /// A problem at `line` and `column` of a text whose path the caller adds.
    pub fn at(line: Option<usize>, column: Option<usize>, message: impl Into<String>) -> Self {
        FileError {
            path: String::new(),
            line,
            column,
            message: message.into(),
        }
    }

    /// The same problem, in the file at `path`.
    pub fn in_file(self, path: impl Into<String>) -> Self {
        FileError {
            path: path.into(),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let file = SourceFile::new("f".into(), "a: é\nimage: x:latest\r\n".into());
        assert_eq!(file.position(0), Position { line: 1, column: 1 });
        let latest = file.text.find("latest").unwrap();
        assert_eq!(
            file.position(latest),
            Position {
                line: 2,
                column: 10
            }
        );
        let after_accent = file.text.find('\n').unwrap();
        assert_eq!(file.position(after_accent), Position { line: 1, column: 5 });
        assert_eq!(file.line_text(1), "image: x:latest");
        assert_eq!(file.line_count(), 3);
    }

    #[test]
    fn absolute_paths_resolve_dots_by_name() {
        let cwd = Path::new("/repo/deploy");
        assert_eq!(
            absolute(cwd, Path::new("../vendor/./a.yaml")),
            Path::new("/repo/vendor/a.yaml")
        );
        assert_eq!(absolute(cwd, Path::new("/etc/x")), Path::new("/etc/x"));
        assert_eq!(absolute(cwd, Path::new(".")), Path::new("/repo/deploy"));
    }

    #[test]
    fn columns_after_a_bom_count_from_the_first_character() {
        let file = SourceFile::new("f".into(), "\u{feff}image: x:latest\nb: 1\n".into());
        let latest = file.text.find("latest").unwrap();
        assert_eq!(
            file.position(latest),
            Position {
                line: 1,
                column: 10
            }
        );
        assert_eq!(file.position(0), Position { line: 1, column: 1 });
        assert_eq!(file.position(3), Position { line: 1, column: 1 });
        let b = file.text.find('b').unwrap();
        assert_eq!(file.position(b), Position { line: 2, column: 1 });
    }
}
