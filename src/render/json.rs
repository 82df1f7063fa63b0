//! `--format json`, version 1: `summary`, `findings` and `errors`, plus `fixes` with `--fix`
//! and `--diff`.

use std::io::{self, Write};

use serde::Serialize;

use super::{Diagnostics, Report, write_errors};
use crate::finding::{Applied, FileError, Finding};
use crate::pin::Applicability;
use crate::scan::FileKind;

pub struct Json;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    summary: Summary,
    findings: Findings<'a>,
    errors: &'a [FileError],
    /// Only with `--fix` (written) and `--diff` (would be written).
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<&'a [Applied]>,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    references: usize,
    findings: usize,
    errors: usize,
}

/// The findings, each turned into its JSON form as it is written.
struct Findings<'a>(&'a [Finding]);

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(FindingJson::from))
    }
}

#[derive(Serialize)]
struct FindingJson<'a> {
    code: &'a str,
    rule: &'a str,
    severity: &'a str,
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    kind: FileKind,
    image: &'a str,
    message: &'a str,
    help: Option<&'a str>,
    recommendation: Option<&'a str>,
    digest: Option<&'a str>,
    fix: Option<Applicability>,
}

impl<'a> From<&'a Finding> for FindingJson<'a> {
    fn from(f: &'a Finding) -> Self {
        FindingJson {
            code: f.rule.code(),
            rule: f.rule.name(),
            severity: f.severity().as_str(),
            path: &f.path,
            line: f.start.line,
            column: f.start.column,
            end_line: f.end.line,
            end_column: f.end.column,
            kind: f.kind,
            image: &f.image,
            message: &f.message,
            help: f.help.as_deref(),
            recommendation: f.recommendation.as_deref(),
            digest: f.digest.as_deref(),
            fix: f.fix.as_ref().map(|fix| fix.applicability),
        }
    }
}

impl Report for Json {
    fn report(
        &self,
        report: &Diagnostics,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        write_errors(report.errors, err)?;
        let document = Document {
            version: 1,
            summary: Summary {
                files: report.summary.files,
                references: report.summary.references,
                findings: report.findings.len(),
                errors: report.errors.len(),
            },
            findings: Findings(report.findings),
            errors: report.errors,
            fixes: report.fixes,
        };
        crate::escape::json(out, &document)
    }
}
