//! `tagpin explain`: a rule's documentation, or the catalogue.

use std::io::{self, Write};

use crate::rules;

pub fn explain(code: Option<&str>) -> io::Result<u8> {
    let mut out = crate::cli::stdout();
    let Some(code) = code else {
        for rule in rules::Rule::ALL {
            writeln!(
                out,
                "{}  {:20}  {:7}  {}",
                rule.code(),
                rule.name(),
                rule.severity().as_str(),
                rule.summary()
            )?;
        }
        out.flush()?;
        return Ok(0);
    };
    match rules::find(code) {
        Some(rule) => {
            write!(out, "{}", rule.docs())?;
            writeln!(
                out,
                "\nSeverity: {} · needs the registry: {} · fixable: {}",
                rule.severity().as_str(),
                rule.needs().as_str(),
                if rule.fixable() { "yes" } else { "no" }
            )?;
            out.flush()?;
            Ok(0)
        }
        None => {
            eprintln!("error: unknown rule `{code}`; `tagpin explain` lists the rules");
            Ok(2)
        }
    }
}
