//! Findings are plain data: what a rule found, where, and what to do. Renderers turn them into
//! text; nothing here prints.

use serde::Serialize;

use crate::pin::{Applicability, Pin};
use crate::reference::Image;
use crate::rules::{Rule, Severity};
use crate::scan::FileKind;
use crate::source::{Position, Span};

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: Rule,
    pub path: String,
    pub span: Span,
    pub start: Position,
    pub end: Position,
    pub kind: FileKind,
    /// The reference as evaluated (`kestra/kestra:latest`).
    pub image: String,
    /// The reference parsed; `None` for a plugin, a comment or an invalid reference.
    pub parsed: Option<Image>,
    pub message: String,
    pub help: Option<String>,
    pub recommendation: Option<String>,
    pub digest: Option<String>,
    /// The bytes a fix rewrites (the tag, the digest, or where a missing tag goes), when the
    /// file holds them verbatim; `None` when no byte-exact edit is possible.
    pub target: Option<Span>,
    /// Which of its file's references or plugin versions the finding is about; `None` for a
    /// comment.
    pub subject: Option<Subject>,
    pub fix: Option<Fix>,
}

/// A fix: byte-range edits and how safe they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub applicability: Applicability,
    /// Imperative: "Pin to `v2.0.5`".
    pub title: String,
    pub edits: Vec<Edit>,
}

impl Fix {
    /// A fix of one edit (ruff's `applicable_edit`); [`Finding::pin`] makes them.
    pub fn applicable(title: String, edit: Edit, applicability: Applicability) -> Fix {
        Fix {
            applicability,
            title,
            edits: vec![edit],
        }
    }
}

/// Replace the bytes of `span` with `text` (an empty span inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

impl Edit {
    pub fn replace(span: Span, text: impl Into<String>) -> Edit {
        Edit {
            span,
            text: text.into(),
        }
    }
}

/// A finding a fix resolves (`--format json`'s `fixes`): where it was, and the reference
/// before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub code: &'static str,
    pub old: String,
    pub new: String,
}

/// One reference as the inventory (`tagpin images`) lists it.
#[derive(Debug, Clone)]
pub struct Located {
    pub path: String,
    pub position: Position,
    pub kind: FileKind,
    pub image: String,
    pub context: String,
    pub parsed: Option<Image>,
}

/// What a finding is about, by its place in its file's scan (in scan order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Reference(usize),
    Plugin(usize),
}

impl Finding {
    /// Give the finding its pin: the recommendation, the digest, the pin's help and, where the
    /// file holds the target's bytes, the fix. The one place a finding gets a fix.
    pub fn pin(&mut self, pin: Pin) {
        self.fix = self.target.clone().map(|span| {
            Fix::applicable(pin.title, Edit::replace(span, pin.text), pin.applicability)
        });
        self.recommendation = Some(pin.recommendation);
        self.digest = pin.digest;
        if pin.help.is_some() {
            self.help = pin.help;
        }
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }
}

pub use crate::source::FileError;
