//! One line per finding: `path:line:column CODE message`, for grep and editors.

use std::io::{self, Write};

use super::{Report, Style, summary, write_errors};
use crate::run::Outcome;
use crate::source::one_line;

pub struct Concise {
    pub style: Style,
}

impl Report for Concise {
    fn report(
        &self,
        outcome: &Outcome,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        for f in &outcome.findings {
            writeln!(
                out,
                "{}:{}:{} {} {}",
                one_line(&f.path),
                f.start.line,
                f.start.column,
                f.rule.code(),
                one_line(&f.message)
            )?;
        }
        write_errors(outcome, err)?;
        if !self.style.quiet {
            writeln!(out, "{}", summary(outcome))?;
        }
        Ok(())
    }
}
