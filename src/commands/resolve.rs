//! `tagpin resolve`: what each floating reference points to now.

use std::io::{self, IsTerminal, Write};

use super::{Context, Error, Result, Status, stdout};
use crate::plugin::{Coordinate, Requested, core_of_tag};
use crate::reference::Image;
use crate::render::resolve::{ImageAnswer, PluginAnswer};
use crate::render::{self, ListFormat};
use crate::resolve;

/// What `resolve` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Image references or plugin coordinates, as written.
    pub items: Vec<String>,
    /// The Kestra version plugins must support.
    pub kestra: Option<String>,
    pub format: ListFormat,
}

pub fn resolve(ctx: &Context, options: &Options) -> Result<Status> {
    let core = match options.kestra.as_deref().map(|v| (v, core_of_tag(v))) {
        Some((_, Some(core))) => Some(core),
        Some((text, None)) => {
            return Err(Error::Input(format!(
                "`--kestra {text}` is not a Kestra release such as `v1.3.30`"
            )));
        }
        None => None,
    };
    let (plugins, images): (Vec<&String>, Vec<&String>) =
        options.items.iter().partition(|t| is_plugin(t));
    if !plugins.is_empty() {
        if !images.is_empty() {
            return Err(Error::Input(
                "resolve plugins and images in separate runs".into(),
            ));
        }
        return resolve_plugins(ctx, &plugins, core, options.format);
    }
    resolve_images(ctx, &options.items, options.format)
}

fn resolve_images(ctx: &Context, items: &[String], format: ListFormat) -> Result<Status> {
    let mut images = Vec::new();
    let mut invalid = Vec::new();
    for text in items {
        match Image::parse(text) {
            Ok(image) => images.push((text, image)),
            Err(e) => invalid.push(format!("`{text}` is not a valid image reference: {e}")),
        }
    }
    let answers = ctx.runtime()?.block_on(resolve::resolve_all(
        ctx.registry()?,
        &ctx.settings.data,
        images.iter().map(|(_, image)| image),
        io::stderr().is_terminal(),
    ));
    let (mut out, mut err) = (stdout(), io::stderr().lock());
    ctx.registry_notes(&mut err)?;
    for message in &invalid {
        writeln!(err, "error: {message}")?;
    }
    let rows: Vec<ImageAnswer> = images
        .iter()
        .filter_map(|(text, image)| {
            let answer = answers.get(&image.to_string())?;
            let found = answer.as_ref().ok();
            Some(ImageAnswer {
                also: found.map(|r| r.also.clone()).unwrap_or_default(),
                digest: found.map(|r| r.digest.clone()),
                error: answer.as_ref().err().map(|e| e.message.clone()),
                image: text.to_string(),
                note: found.and_then(|r| r.note.clone()),
                recommendation: found.map(|r| resolve::pin(text, image, r, ctx.settings.pin)),
                release: found.and_then(|r| r.release.clone()),
            })
        })
        .collect();
    render::write_notes(rows.iter().filter_map(|r| r.note.as_ref()), &mut err)?;
    render::resolve::images(&rows, format, &mut out, &mut err)?;
    out.flush()?;
    let failed = !invalid.is_empty() || rows.iter().any(|r| r.error.is_some());
    Ok(if failed {
        Status::Failed
    } else {
        Status::Clean
    })
}

/// `group:artifact[:version]` (a Maven group has dots; an image's colon comes after a name
/// without one, or after a host with a `/` following).
fn is_plugin(text: &str) -> bool {
    !text.contains('/')
        && Coordinate::parse(text).is_some_and(|(c, v)| v.is_some() || c.group.contains('.'))
}

/// `tagpin resolve` for Kestra plugins: the pin of each, for `--kestra`'s core when given.
fn resolve_plugins(
    ctx: &Context,
    plugins: &[&String],
    core: Option<String>,
    format: ListFormat,
) -> Result<Status> {
    let maven = ctx.maven()?;
    let asks: Vec<(&String, Coordinate, Requested)> = plugins
        .iter()
        .filter_map(|t| Coordinate::parse(t).map(|(c, v)| (*t, c, Requested::parse(v))))
        .collect();
    let answers = ctx
        .runtime()?
        .block_on(futures::future::join_all(asks.iter().map(
            |(_, c, requested)| maven.pin(c, requested, core.as_deref()),
        )));
    let mut err = io::stderr().lock();
    ctx.maven_notes(&mut err)?;
    let rows: Vec<PluginAnswer> = asks
        .iter()
        .zip(answers)
        .map(|((text, coordinate, _), answer)| PluginAnswer {
            compatibility_checked: answer.as_ref().is_ok_and(|p| p.core.is_some()),
            error: answer.as_ref().err().map(|e| e.message.clone()),
            kestra: core.clone(),
            min_core: answer.as_ref().ok().and_then(|p| p.min_core.clone()),
            plugin: text.to_string(),
            recommendation: answer
                .as_ref()
                .ok()
                .map(|p| format!("{coordinate}:{}", p.version)),
            runs_on: answer.ok().and_then(|p| p.core),
        })
        .collect();
    let mut out = stdout();
    render::resolve::plugins(&rows, format, &mut out, &mut err)?;
    out.flush()?;
    Ok(if rows.iter().any(|r| r.error.is_some()) {
        Status::Failed
    } else {
        Status::Clean
    })
}
