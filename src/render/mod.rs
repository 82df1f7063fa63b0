//! Renderers: one per output format, each over the same plain [`Diagnostics`] — the findings,
//! the files that could not be checked and a summary, never the pipeline that made them
//! (typos' `Report` model). `images`, `releases` and `resolve` have their own typed rows.
//! Findings go to stdout; problems reading files go to stderr in every format (a CI job that
//! exits 2 says why in its log), and inside the document as well in the machine formats.

mod concise;
mod github;
mod gitlab;
mod human;
pub mod images;
mod json;
pub mod releases;
pub mod resolve;
mod sarif;

use std::io::{self, Write};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::escape;

use crate::finding::Applied;
use crate::finding::{FileError, Finding};
use crate::source::SourceFile;

/// An output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Concise,
    Json,
    Sarif,
    Github,
    /// GitLab Code Quality.
    Gitlab,
}

/// The two forms of the listing commands (`images`, `resolve`, `releases`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Human,
    Json,
}

/// How text output looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
    pub unicode: bool,
    /// No summary line.
    pub quiet: bool,
}

/// What a renderer sees of a run.
#[derive(Debug, Clone, Copy)]
pub struct Diagnostics<'a> {
    pub findings: &'a [Finding],
    /// Files that could not be checked.
    pub errors: &'a [FileError],
    /// The text of files with findings, for source lines and fixes.
    pub sources: &'a BTreeMap<String, Arc<SourceFile>>,
    /// With `--fix`, the fixes written; with `--diff`, the fixes that would be.
    pub fixes: Option<&'a [Applied]>,
    pub summary: Summary,
}

/// What was looked at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub files: usize,
    pub references: usize,
}

/// Writes one run's diagnostics in one format.
pub trait Report {
    fn report(
        &self,
        report: &Diagnostics,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()>;
}

pub fn reporter(format: Format, style: Style) -> Box<dyn Report> {
    match format {
        Format::Human => Box::new(human::Human { style }),
        Format::Concise => Box::new(concise::Concise { style }),
        Format::Json => Box::new(json::Json),
        Format::Sarif => Box::new(sarif::Sarif),
        Format::Github => Box::new(github::Github),
        Format::Gitlab => Box::new(gitlab::Gitlab),
    }
}

/// Notes (what tagpin could not ask, files passed over), one line each; they quote file
/// content and registry answers, so they are escaped like everything else.
pub fn write_notes<'a>(
    notes: impl IntoIterator<Item = &'a String>,
    err: &mut dyn Write,
) -> io::Result<()> {
    for note in notes {
        writeln!(err, "note: {}", escape::text(note))?;
    }
    Ok(())
}

/// Problems reading files, one line each, ripgrep style.
pub fn write_errors(errors: &[FileError], err: &mut dyn Write) -> io::Result<()> {
    write_problems("error", errors, err)
}

/// Problems that did not stop a file from being checked (a suppression naming no rule).
pub fn write_warnings(warnings: &[FileError], err: &mut dyn Write) -> io::Result<()> {
    write_problems("warning", warnings, err)
}

fn write_problems(level: &str, problems: &[FileError], err: &mut dyn Write) -> io::Result<()> {
    for problem in problems {
        let line = problem.line.map(|l| format!(":{l}")).unwrap_or_default();
        let (path, message) = (escape::text(&problem.path), escape::text(&problem.message));
        writeln!(err, "{level}: {path}{line}: {message}")?;
    }
    Ok(())
}

/// `3 findings (2 errors, 1 warning) in 12 files`.
fn summary(report: &Diagnostics) -> String {
    use crate::rules::Severity;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let files = plural(report.summary.files, "file");
    let mut line = if report.findings.is_empty() {
        format!("No findings in {files}")
    } else {
        let counts: Vec<String> = [
            (Severity::Error, "error"),
            (Severity::Warning, "warning"),
            (Severity::Info, "info"),
        ]
        .iter()
        .filter_map(|&(severity, word)| {
            let n = report
                .findings
                .iter()
                .filter(|f| f.severity() == severity)
                .count();
            (n > 0).then(|| {
                if word == "info" {
                    format!("{n} info")
                } else {
                    plural(n, word)
                }
            })
        })
        .collect();
        format!(
            "{} ({}) in {files}",
            plural(report.findings.len(), "finding"),
            counts.join(", ")
        )
    };
    if !report.errors.is_empty() {
        let n = report.errors.len();
        line.push_str(&format!("; {} could not be checked", plural(n, "file")));
    }
    line
}
