//! `tagpin images`: the inventory of every reference found.

use std::io::{self, Write};

use super::{Context, Inputs, Result, Status, stdout};
use crate::render::images::Inventory;
use crate::render::{self, ListFormat};
use crate::run::Keep;

pub fn images(ctx: &Context, inputs: &Inputs, format: ListFormat) -> Result<Status> {
    let keep = Keep {
        sources: false,
        references: true,
    };
    let outcome = ctx.scan(inputs, keep)?;
    let (mut out, mut err) = (stdout(), io::stderr().lock());
    let inventory = Inventory {
        references: &outcome.references,
        errors: &outcome.errors,
        files: outcome.files,
    };
    match format {
        ListFormat::Human => render::images::table(&inventory, &mut out)?,
        ListFormat::Json => render::images::json(&inventory, &mut out)?,
    }
    render::write_errors(&outcome.errors, &mut err)?;
    out.flush()?;
    Ok(if outcome.errors.is_empty() {
        Status::Clean
    } else {
        Status::Failed
    })
}
