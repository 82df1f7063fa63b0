//! GitHub Actions workflow commands: one annotation per finding and per unreadable file.

use std::io::{self, Write};

use super::{Diagnostics, Report, write_errors};
use crate::escape;
use crate::rules::Severity;

pub struct Github;

/// Message data: control characters escaped (so no CR or LF is left to encode), then `%` as the
/// workflow-command format requires.
fn data(text: &str) -> String {
    escape::text(text).replace('%', "%25")
}

/// Property values: also `:` and `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

impl Report for Github {
    fn report(
        &self,
        report: &Diagnostics,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        write_errors(report.errors, err)?;
        for f in report.findings {
            let level = match f.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                property(&f.path),
                f.start.line,
                f.start.column,
                f.end.line,
                f.end.column,
                property(&format!("{} {}", f.rule.code(), f.rule.name())),
                data(&f.message)
            )?;
        }
        for e in report.errors {
            let line = e.line.map(|l| format!(",line={l}")).unwrap_or_default();
            writeln!(
                out,
                "::error file={}{line},title=tagpin::{}",
                property(&e.path),
                data(&e.message)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(super::property("a,b:c%\n"), "a%2Cb%3Ac%25\\n");
        assert_eq!(
            super::property("a::error::x.yaml"),
            "a%3A%3Aerror%3A%3Ax.yaml"
        );
        assert_eq!(super::data("\x1b]0;x\x07%"), "\\e]0;x\\x07%25");
        assert_eq!(super::data("a,b:c"), "a,b:c");
    }
}
