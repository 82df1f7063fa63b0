//! `tagpin releases`: an image's release lines and their support on a day.

use std::io::{self, Write};

use crate::cli::{
    Cli, ImagesFormat, ReleasesArgs, registry, registry_notes, registry_overrides, runtime,
    settings,
};
use crate::policy;
use crate::reference::Image;
use crate::resolve;

pub fn releases(args: &ReleasesArgs, cli: &Cli) -> io::Result<u8> {
    let settings = match settings(&args.config, registry_overrides(&args.registry)) {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let image = match Image::parse(&args.image) {
        Ok(image) => image,
        Err(e) => {
            eprintln!(
                "error: `{}` is not a valid image reference: {e}",
                args.image
            );
            return Ok(2);
        }
    };
    let Some((rules, releases)) = settings
        .data
        .image_rules(&image)
        .and_then(|r| Some((r, r.releases.as_ref()?)))
    else {
        eprintln!(
            "error: no release data for {}; describe its lines in a rules file (see the README)",
            image.short_name()
        );
        return Ok(2);
    };
    let registry = registry(&settings, &args.registry)?;
    let completed =
        runtime()?.block_on(resolve::completed_table(&registry, &settings.data, &image));
    let from_registry = completed.is_some();
    let table = completed.unwrap_or_else(|| policy::ReleaseTable::new(rules, releases));
    let mut err = io::stderr().lock();
    registry_notes(&registry, cli, &mut err)?;
    if !from_registry && !args.registry.offline {
        writeln!(
            err,
            "note: the registry could not be asked; the table is the rule data's alone"
        )?;
    }
    let today = settings.today;
    let supported = table.supported(today);
    let rows: Vec<serde_json::Value> = table
        .lines
        .iter()
        .map(|l| {
            let status = match table.support(&l.line, today) {
                policy::Support::Supported { .. } if supported.iter().any(|s| s.line == l.line) => {
                    "supported"
                }
                policy::Support::Supported { .. } => "superseded",
                policy::Support::Ended { .. } | policy::Support::Unlisted => "ended",
            };
            let last_day = l.last_day.filter(|d| *d != jiff::civil::Date::MIN);
            serde_json::json!({
                "line": l.line, "kind": l.kind, "released": l.released, "supported_until": last_day,
                "newest": l.newest, "requires": l.requires, "status": status,
            })
        })
        .collect();
    let mut out = crate::cli::stdout();
    match args.format {
        ImagesFormat::Json => {
            let document = serde_json::json!({"version": 1, "image": image.short_name(), "today": today, "lines": rows});
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
        ImagesFormat::Human => {
            writeln!(out, "{} release lines on {today}", image.short_name())?;
            writeln!(
                out,
                "{:6} {:8} {:11} {:16} {:10} status",
                "line", "kind", "released", "supported until", "newest"
            )?;
            for row in &rows {
                let text = |key: &str| row[key].as_str().unwrap_or("-").to_string();
                let kind = if text("kind") == "lts" {
                    "LTS".to_string()
                } else {
                    text("kind")
                };
                writeln!(
                    out,
                    "{:6} {:8} {:11} {:16} {:10} {}",
                    text("line"),
                    kind,
                    text("released"),
                    text("supported_until"),
                    text("newest"),
                    text("status")
                )?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}
