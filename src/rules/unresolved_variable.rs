//! TP011 unresolved-variable: a reference whose value depends on a variable with no default.

use super::{Diagnosis, Rule};
use crate::scan::Variable;

pub(crate) fn check(text: &str, variable: &Variable) -> Diagnosis {
    let message = format!(
        "`{text}` depends on `{}`, which has no default",
        variable.name
    );
    let help = "give it a default (`${VAR:-v1.2.3}`) or check the rendered file".to_string();
    Diagnosis::new(
        Rule::UnresolvedVariable,
        variable.span.clone(),
        None,
        message,
        Some(help),
    )
}
