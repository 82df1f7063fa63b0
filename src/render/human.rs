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

/// Lets miette read a file's text, escaped once per file, without copying it per finding.
#[derive(Debug, Clone)]
struct Text(Arc<Snippet>);

impl SourceCode for Text {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        self.0.text.read_span(span, before, after)
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
                snippets
                    .entry(&finding.path)
                    .or_insert_with(|| Text(Arc::new(Snippet::new(&source.text))))
                    .clone()
            });
            let span = match &source {
                Some(text) => text.0.offset(finding.span.start)..text.0.offset(finding.span.end),
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
                Some(text) => {
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
