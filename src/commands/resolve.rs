//! `tagpin resolve`: what each floating reference points to now.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::cli::{
    Cli, ImagesFormat, ResolveArgs, maven, registry, registry_notes, registry_overrides, runtime,
    settings, stdout,
};
use crate::maven::{Coordinate, PluginPin, Requested, core_of_tag};
use crate::reference::Image;
use crate::resolve;

pub fn resolve(args: &ResolveArgs, cli: &Cli) -> io::Result<u8> {
    let settings = match settings(&args.config, registry_overrides(&args.registry)) {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let core = match args.kestra.as_deref().map(|v| (v, core_of_tag(v))) {
        Some((_, Some(core))) => Some(core),
        Some((text, None)) => {
            eprintln!("error: `--kestra {text}` is not a Kestra release such as `v1.3.30`");
            return Ok(2);
        }
        None => None,
    };
    let (plugins, image_args): (Vec<&String>, Vec<&String>) =
        args.images.iter().partition(|t| is_plugin(t));
    if !plugins.is_empty() {
        return resolve_plugins(args, cli, &settings, &plugins, &image_args, core);
    }
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

/// `group:artifact[:version]` (a Maven group has dots; an image's colon comes after a name
/// without one, or after a host with a `/` following).
fn is_plugin(text: &str) -> bool {
    !text.contains('/')
        && Coordinate::parse(text).is_some_and(|(c, v)| v.is_some() || c.group.contains('.'))
}

/// `tagpin resolve` for Kestra plugins: the pin of each, for `--kestra`'s core when given.
fn resolve_plugins(
    args: &ResolveArgs,
    cli: &Cli,
    settings: &crate::config::Settings,
    plugins: &[&String],
    images: &[&String],
    core: Option<String>,
) -> io::Result<u8> {
    let mut err = io::stderr().lock();
    if !images.is_empty() {
        writeln!(err, "error: resolve plugins and images in separate runs")?;
        return Ok(2);
    }
    let maven = maven(settings, &args.registry)?;
    let asks: Vec<(Coordinate, Requested)> = plugins
        .iter()
        .filter_map(|t| Coordinate::parse(t))
        .map(|(c, v)| (c, Requested::parse(v)))
        .collect();
    let answers = runtime()?.block_on(futures::future::join_all(
        asks.iter()
            .map(|(c, requested)| maven.pin(c, requested, core.as_deref())),
    ));
    for note in maven.take_notes().iter().filter(|_| !cli.quiet) {
        writeln!(err, "note: {note}")?;
    }
    if cli.verbose && !cli.quiet {
        writeln!(err, "note: {} Maven requests", maven.requests())?;
    }
    let rows: Vec<PluginRow> = plugins
        .iter()
        .zip(asks.iter().zip(answers))
        .map(|(text, ((coordinate, _), answer))| PluginRow {
            plugin: text.to_string(),
            recommendation: answer
                .as_ref()
                .ok()
                .map(|p| format!("{coordinate}:{}", p.version)),
            kestra: core.clone(),
            min_core: answer.as_ref().ok().and_then(|p| p.min_core.clone()),
            compatibility_checked: answer.as_ref().is_ok_and(|p| p.core.is_some()),
            error: answer.as_ref().err().map(|e| e.message.clone()),
            pin: answer.ok(),
        })
        .collect();
    let mut out = stdout();
    match args.format {
        ImagesFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"version": 1, "plugins": rows}),
            )?;
            writeln!(out)?;
        }
        ImagesFormat::Human => {
            let width = rows
                .iter()
                .map(|r| r.plugin.chars().count())
                .max()
                .unwrap_or(0);
            for row in &rows {
                match (&row.recommendation, &row.pin) {
                    (Some(pin), Some(found)) => {
                        let why = match (&found.core, &found.min_core) {
                            (Some(core), Some(need)) => {
                                format!("needs Kestra {need}, runs on {core}")
                            }
                            _ => "compatibility not checked".to_string(),
                        };
                        writeln!(out, "{:width$} -> {pin}  ({why})", row.plugin)?;
                    }
                    _ => writeln!(
                        err,
                        "error: {}: {}",
                        row.plugin,
                        row.error.as_deref().unwrap_or("no answer")
                    )?,
                }
            }
        }
    }
    out.flush()?;
    Ok(if rows.iter().any(|r| r.error.is_some()) {
        2
    } else {
        0
    })
}

#[derive(Serialize)]
struct PluginRow {
    plugin: String,
    recommendation: Option<String>,
    kestra: Option<String>,
    min_core: Option<String>,
    compatibility_checked: bool,
    error: Option<String>,
    #[serde(skip)]
    pin: Option<PluginPin>,
}
