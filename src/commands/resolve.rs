//! `tagpin resolve`: what each floating reference points to now.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::cli::{
    Cli, ImagesFormat, ResolveArgs, registry, registry_notes, registry_overrides, runtime,
    settings, stdout,
};
use crate::reference::Image;
use crate::resolve;

pub fn resolve(args: &ResolveArgs, cli: &Cli) -> io::Result<u8> {
    let settings = match settings(&args.config, registry_overrides(&args.registry)) {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let mut images = Vec::new();
    let mut invalid = Vec::new();
    for text in &args.images {
        match Image::parse(text) {
            Ok(image) => images.push(image),
            Err(e) => invalid.push(format!("`{text}` is not a valid image reference: {e}")),
        }
    }
    let registry = registry(&settings, &args.registry)?;
    let answers = runtime()?.block_on(resolve::resolve_all(
        &registry,
        &settings.data,
        &images,
        io::stderr().is_terminal(),
    ));
    let (mut out, mut err) = (stdout(), io::stderr().lock());
    registry_notes(&registry, cli, &mut err)?;
    for message in &invalid {
        writeln!(err, "error: {message}")?;
    }
    let rows: Vec<ResolveRow> = args
        .images
        .iter()
        .zip(args.images.iter().map(|t| Image::parse(t).ok()))
        .filter_map(|(text, image)| {
            let image = image?;
            let answer = answers.get(&image.to_string())?;
            Some(ResolveRow {
                image: text.clone(),
                recommendation: answer
                    .as_ref()
                    .ok()
                    .map(|r| resolve::pin(text, &image, r, settings.pin)),
                release: answer.as_ref().ok().and_then(|r| r.release.clone()),
                digest: answer.as_ref().ok().map(|r| r.digest.clone()),
                also: answer.as_ref().map(|r| r.also.clone()).unwrap_or_default(),
                note: answer.as_ref().ok().and_then(|r| r.note.clone()),
                error: answer.as_ref().err().map(|e| e.message.clone()),
            })
        })
        .collect();
    for note in rows.iter().filter_map(|r| r.note.as_ref()) {
        writeln!(err, "note: {note}")?;
    }
    match args.format {
        ImagesFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"version": 1, "resolutions": rows}),
            )?;
            writeln!(out)?;
        }
        ImagesFormat::Human => {
            let width = rows
                .iter()
                .map(|r| r.image.chars().count())
                .max()
                .unwrap_or(0);
            let pin_width = rows
                .iter()
                .filter_map(|r| r.recommendation.as_ref())
                .map(|p| p.chars().count())
                .max()
                .unwrap_or(0);
            for row in &rows {
                match (&row.recommendation, &row.error) {
                    (Some(pin), _) => {
                        let also = if row.also.is_empty() {
                            String::new()
                        } else {
                            format!("  (also: {})", row.also.join(", "))
                        };
                        let digest = row.digest.as_deref().unwrap_or("");
                        writeln!(
                            out,
                            "{:width$} -> {pin:pin_width$}  {digest}{also}",
                            row.image
                        )?;
                    }
                    (None, error) => writeln!(
                        err,
                        "error: {}: {}",
                        row.image,
                        error.as_deref().unwrap_or("no answer")
                    )?,
                }
            }
        }
    }
    out.flush()?;
    let failed = !invalid.is_empty() || rows.iter().any(|r| r.error.is_some());
    Ok(if failed { 2 } else { 0 })
}

#[derive(Serialize)]
struct ResolveRow {
    image: String,
    recommendation: Option<String>,
    release: Option<String>,
    digest: Option<String>,
    also: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    error: Option<String>,
}
