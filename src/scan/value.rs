//! A reference's text is often assembled: a compose default inside `${VAR:-…}`, a Dockerfile
//! `ARG` default, Helm's `repository` and `tag` keys. [`Value`] keeps the evaluated text together
//! with where each piece of it sits in the file, so a finding can point at the tag wherever it
//! was written, and a fix can rewrite exactly those bytes.

use std::ops::Range;

use crate::source::Span;

/// Text evaluated from a file, with the file offset of each piece that was copied verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    range: Range<usize>,
    /// Byte offset in the file of the piece's first byte; `None` when the text is not in the
    /// file as such (an escaped scalar, a `:` joining Helm keys).
    origin: Option<usize>,
}

impl Value {
    /// Text that appears byte for byte in the file at `at`.
    pub fn verbatim(text: &str, at: usize) -> Self {
        let mut value = Value::default();
        value.push(text, Some(at));
        value
    }

    /// Text that was computed, not copied.
    pub fn synthetic(text: &str) -> Self {
        let mut value = Value::default();
        value.push(text, None);
        value
    }

    pub fn push(&mut self, text: &str, origin: Option<usize>) {
        if text.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.pieces.push(Piece {
            range: start..self.text.len(),
            origin,
        });
    }

    pub fn append(&mut self, other: &Value) {
        for piece in &other.pieces {
            self.push(&other.text[piece.range.clone()], piece.origin);
        }
    }

    /// The part of the value from byte `from` of its text on, pieces keeping their origin.
    pub fn from(&self, from: usize) -> Value {
        self.slice(from..self.text.len())
    }

    /// A range of the value, pieces keeping their origin.
    pub fn slice(&self, range: Range<usize>) -> Value {
        let mut out = Value::default();
        for piece in &self.pieces {
            let start = piece.range.start.max(range.start);
            let end = piece.range.end.min(range.end);
            if start < end {
                let skip = start - piece.range.start;
                out.push(&self.text[start..end], piece.origin.map(|o| o + skip));
            }
        }
        out
    }

    /// The same text with every origin mapped by `f` (`None` makes a piece synthetic).
    pub fn rebase(&self, f: impl Fn(usize) -> Option<usize>) -> Value {
        let mut out = Value::default();
        for piece in &self.pieces {
            out.push(&self.text[piece.range.clone()], piece.origin.and_then(&f));
        }
        out
    }

    /// Where in the file each verbatim piece sits.
    pub fn origins(&self) -> impl Iterator<Item = Span> + '_ {
        self.pieces
            .iter()
            .filter_map(|p| p.origin.map(|o| o..o + p.range.len()))
    }

    /// Where a range of the text sits in the file, if it was copied from one place.
    pub fn span_of(&self, range: Range<usize>) -> Option<Span> {
        if range.is_empty() {
            // An empty range (e.g. where a missing tag would go) sits at the end of a piece.
            let piece = self
                .pieces
                .iter()
                .find(|p| p.range.start < range.start && range.start <= p.range.end)?;
            let at = piece.origin? + range.start - piece.range.start;
            return Some(at..at);
        }
        let piece = self
            .pieces
            .iter()
            .find(|p| p.range.start <= range.start && range.end <= p.range.end)?;
        let at = piece.origin? + range.start - piece.range.start;
        Some(at..at + range.len())
    }
}

/// A variable with no default: the reference cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub span: Span,
}
