//! Renderers: one per output format, all over the same plain-data [`Outcome`]
//! (typos' `Report` model). Findings go to stdout; problems reading files go to stderr in every
//! format (a CI job that exits 2 says why in its log), and inside the document as well in the
//! machine formats.

mod concise;
mod github;
mod gitlab;
mod human;
pub mod images;
mod json;
mod sarif;

use std::io::{self, Write};

use crate::escape;
use crate::run::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Concise,
    Json,
    Sarif,
    Github,
    /// GitLab Code Quality.
    Gitlab,
}

/// How text output looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
    pub unicode: bool,
    /// No summary line.
    pub quiet: bool,
}

/// Writes one outcome in one format.
pub trait Report {
    fn report(&self, outcome: &Outcome, out: &mut dyn Write, err: &mut dyn Write)
    -> io::Result<()>;
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

/// Problems reading files, one line each, ripgrep style.
pub fn write_errors(outcome: &Outcome, err: &mut dyn Write) -> io::Result<()> {
    for error in &outcome.errors {
        let (path, message) = (escape::text(&error.path), escape::text(&error.message));
        match error.line {
            Some(line) => writeln!(err, "error: {path}:{line}: {message}")?,
            None => writeln!(err, "error: {path}: {message}")?,
        }
    }
    Ok(())
}

/// `3 findings (2 errors, 1 warning) in 12 files`.
fn summary(outcome: &Outcome) -> String {
    use crate::rules::Severity;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let files = plural(outcome.files, "file");
    let mut line = if outcome.findings.is_empty() {
        format!("No findings in {files}")
    } else {
        let counts: Vec<String> = [
            (Severity::Error, "error"),
            (Severity::Warning, "warning"),
            (Severity::Info, "info"),
        ]
        .iter()
        .filter_map(|&(severity, word)| {
            let n = outcome
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
            plural(outcome.findings.len(), "finding"),
            counts.join(", ")
        )
    };
    if !outcome.errors.is_empty() {
        let n = outcome.errors.len();
        line.push_str(&format!("; {} could not be checked", plural(n, "file")));
    }
    line
}
