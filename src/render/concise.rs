//! One line per finding: `path:line:column CODE message`, for grep and editors.

use std::io::{self, Write};

use super::{Diagnostics, Report, Style, summary, write_errors};
use crate::escape;

pub struct Concise {
    pub style: Style,
}

impl Report for Concise {
    fn report(
        &self,
        report: &Diagnostics,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        for f in report.findings {
            writeln!(
                out,
                "{}:{}:{} {} {}",
                escape::text(&f.path),
                f.start.line,
                f.start.column,
                f.rule.code(),
                escape::text(&f.message)
            )?;
        }
        write_errors(report.errors, err)?;
        if !self.style.quiet {
            writeln!(out, "{}", summary(report))?;
        }
        Ok(())
    }
}
