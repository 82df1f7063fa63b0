//! miette diagnostics: the source line, a label under the tag, and what to do.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, SourceCode,
};

use super::{Diagnostics, Report, Style, summary, write_errors};
use crate::escape::{self, Snippet};
use crate::rules::Severity;

pub struct Human {
    pub style: Style,
}

/// Lets miette read a file's text, escaped once per file, without copying it per finding. The
/// finding's own line and column (in characters, after a BOM) head the snippet: miette would
/// count bytes of the escaped text.
#[derive(Debug, Clone)]
struct Text {
    snippet: Arc<Snippet>,
    /// The finding's span in the escaped text, and its 0-based line and column in the file.
    at: (usize, usize, usize),
}

impl SourceCode for Text {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self.snippet.text.read_span(span, before, after)?;
        let (offset, line, column) = self.at;
        if (before, after) != (0, 0) || span.offset() != offset {
            return Ok(contents);
        }
        Ok(Box::new(miette::MietteSpanContents::new(
            contents.data(),
            *contents.span(),
            line,
            column,
            contents.line_count(),
        )))
    }
}

impl Report for Human {
    fn report(
        &self,
        report: &Diagnostics,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        let theme = match (self.style.color, self.style.unicode) {
            (true, true) => GraphicalTheme::unicode(),
            (true, false) => GraphicalTheme::ascii(),
            (false, true) => GraphicalTheme::unicode_nocolor(),
            (false, false) => GraphicalTheme::none(),
        };
        // Lines break at spaces only: an image reference (`kestra/kestra:v1.3.30-no-plugins`)
        // is never split at a `/` or `-`, even when longer than the width.
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_context_lines(1)
            .with_width(100)
            .with_word_separator(textwrap::WordSeparator::AsciiSpace)
            .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
            .with_break_words(false);
        let mut snippets = HashMap::new();
        for finding in report.findings {
            let severity = match finding.severity() {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            };
            let label = finding.rule.name().replace('-', " ");
            let source = report.sources.get(&finding.path).map(|source| {
                let snippet = snippets
                    .entry(&finding.path)
                    .or_insert_with(|| Arc::new(Snippet::new(&source.text)));
                let span = snippet.offset(finding.span.start)..snippet.offset(finding.span.end);
                let (line, column) = (finding.start.line - 1, finding.start.column - 1);
                let text = Text {
                    snippet: snippet.clone(),
                    at: (span.start, line, column),
                };
                (text, span)
            });
            let span = match &source {
                Some((_, span)) => span.clone(),
                None => finding.span.clone(),
            };
            let mut diagnostic = MietteDiagnostic::new(escape::text(&finding.message))
                .with_code(format!("{} {}", finding.rule.code(), finding.rule.name()))
                .with_severity(severity)
                .with_label(LabeledSpan::at(span, label));
            if let Some(help) = &finding.help {
                diagnostic = diagnostic.with_help(escape::text(help));
            }
            let mut rendered = String::new();
            match source {
                Some((text, _)) => {
                    let named = NamedSource::new(escape::text(&finding.path), text);
                    let report = miette::Report::new(diagnostic).with_source_code(named);
                    handler.render_report(&mut rendered, report.as_ref())
                }
                None => handler.render_report(&mut rendered, &diagnostic),
            }
            .map_err(io::Error::other)?;
            writeln!(out, "{rendered}")?;
        }
        write_errors(report.errors, err)?;
        if !self.style.quiet {
            writeln!(out, "{}", summary(report))?;
        }
        Ok(())
    }
}
