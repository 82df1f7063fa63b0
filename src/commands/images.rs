//! `tagpin images`: the inventory of every reference found.

use std::io::{self, Write};

use crate::cli::{Cli, ImagesArgs, ImagesFormat, run_inputs, stdout};
use crate::config::Overrides;
use crate::render;
use crate::run::Keep;

pub fn images(args: &ImagesArgs, cli: &Cli) -> io::Result<u8> {
    let keep = Keep {
        sources: false,
        references: true,
    };
    let (_, outcome) = match run_inputs(&args.inputs, Overrides::default(), cli, keep)? {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let (mut out, mut err) = (stdout(), io::stderr().lock());
    match args.format {
        ImagesFormat::Human => render::images::table(&outcome, &mut out)?,
        ImagesFormat::Json => render::images::json(&outcome, &mut out)?,
    }
    render::write_errors(&outcome, &mut err)?;
    out.flush()?;
    Ok(if outcome.errors.is_empty() { 0 } else { 2 })
}
