//! `tagpin explain`: a rule's documentation, or the catalogue.

use std::io::Write;

use super::{Error, Result, Status, stdout};
use crate::rules;

pub fn explain(code: Option<&str>) -> Result<Status> {
    let mut out = stdout();
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
        return Ok(Status::Clean);
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
            Ok(Status::Clean)
        }
        None => Err(Error::Input(format!(
            "unknown rule `{code}`; `tagpin explain` lists the rules"
        ))),
    }
}
