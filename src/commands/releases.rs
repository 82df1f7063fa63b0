//! `tagpin releases`: an image's release lines and their support on a day.

use std::io::{self, Write};

use super::{Context, Error, Result, Status, stdout};
use crate::reference::Image;
use crate::render::releases::{LineStatus, ReleaseLine, Releases};
use crate::render::{self, ListFormat};
use crate::resolve;
use crate::rules::policy::{self, ReleaseTable, Support};

pub fn releases(ctx: &Context, image: &str, format: ListFormat) -> Result<Status> {
    let settings = &ctx.settings;
    let written = image;
    let image = Image::parse(written)
        .map_err(|e| Error::Input(format!("`{written}` is not a valid image reference: {e}")))?;
    let Some((rules, releases)) = settings
        .data
        .image_rules(&image)
        .and_then(|r| Some((r, r.releases.as_ref()?)))
    else {
        return Err(Error::Input(format!(
            "no release data for {}; describe its lines in a rules file (see the README)",
            image.short_name()
        )));
    };
    let registry = ctx.registry()?;
    let completed =
        ctx.runtime()?
            .block_on(resolve::completed_table(registry, &settings.data, &image));
    let from_registry = completed.is_some();
    let table = completed.unwrap_or_else(|| policy::ReleaseTable::new(rules, releases));
    let mut err = io::stderr().lock();
    ctx.registry_notes(&mut err)?;
    if !from_registry && !ctx.access.offline {
        writeln!(
            err,
            "note: the registry could not be asked; the table is the rule data's alone"
        )?;
    }
    let report = Releases {
        image: image.short_name(),
        lines: lines(&table, settings.today),
        today: settings.today,
        version: 1,
    };
    let mut out = stdout();
    render::releases::write(&report, format, &mut out)?;
    out.flush()?;
    Ok(Status::Clean)
}

/// Each line of the table with where it stands on `today`.
fn lines(table: &ReleaseTable, today: jiff::civil::Date) -> Vec<ReleaseLine> {
    let supported = table.supported(today);
    table
        .lines
        .iter()
        .map(|l| {
            let status = match table.support(&l.line, today) {
                Support::Supported { .. } if supported.iter().any(|s| s.line == l.line) => {
                    LineStatus::Supported
                }
                Support::Supported { .. } => LineStatus::Superseded,
                Support::Ended { .. } | Support::Unlisted => LineStatus::Ended,
            };
            ReleaseLine {
                kind: l.kind,
                line: l.line.clone(),
                newest: l.newest.clone(),
                released: l.released,
                requires: l.requires.clone(),
                status,
                supported_until: l.last_day.filter(|d| *d != jiff::civil::Date::MIN),
            }
        })
        .collect()
}
