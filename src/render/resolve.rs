//! `tagpin resolve`: what each reference or plugin points to now, as a table or JSON. Answers
//! go to stdout; references that got none go to stderr as errors.

use std::io::{self, Write};

use serde::Serialize;

use super::ListFormat;
use crate::escape;

/// The answer for one image reference. Fields are in the JSON's order.
#[derive(Debug, Serialize)]
pub struct ImageAnswer {
    pub also: Vec<String>,
    pub digest: Option<String>,
    pub error: Option<String>,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub recommendation: Option<String>,
    pub release: Option<String>,
}

/// The answer for one Kestra plugin. Fields are in the JSON's order.
#[derive(Debug, Serialize)]
pub struct PluginAnswer {
    pub compatibility_checked: bool,
    pub error: Option<String>,
    pub kestra: Option<String>,
    pub min_core: Option<String>,
    pub plugin: String,
    pub recommendation: Option<String>,
    /// The Kestra core the pin was checked against, when it was.
    #[serde(skip)]
    pub runs_on: Option<String>,
}

#[derive(Serialize)]
struct Document<'a, T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    plugins: Option<&'a [T]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolutions: Option<&'a [T]>,
    version: u32,
}

pub fn images(
    answers: &[ImageAnswer],
    format: ListFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    if format == ListFormat::Json {
        return document(out, None, Some(answers));
    }
    let width = answers
        .iter()
        .map(|a| a.image.chars().count())
        .max()
        .unwrap_or(0);
    let pin_width = answers
        .iter()
        .filter_map(|a| a.recommendation.as_ref())
        .map(|p| p.chars().count())
        .max()
        .unwrap_or(0);
    for answer in answers {
        match &answer.recommendation {
            Some(pin) => {
                let also = if answer.also.is_empty() {
                    String::new()
                } else {
                    format!("  (also: {})", answer.also.join(", "))
                };
                let digest = answer.digest.as_deref().unwrap_or("");
                writeln!(
                    out,
                    "{:width$} -> {pin:pin_width$}  {digest}{also}",
                    answer.image
                )?;
            }
            None => no_answer(err, &answer.image, answer.error.as_deref())?,
        }
    }
    Ok(())
}

pub fn plugins(
    answers: &[PluginAnswer],
    format: ListFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    if format == ListFormat::Json {
        return document(out, Some(answers), None);
    }
    let width = answers
        .iter()
        .map(|a| a.plugin.chars().count())
        .max()
        .unwrap_or(0);
    for answer in answers {
        match (&answer.recommendation, answer.error.is_none()) {
            (Some(pin), true) => {
                let why = match (&answer.runs_on, &answer.min_core) {
                    (Some(core), Some(need)) => format!("needs Kestra {need}, runs on {core}"),
                    _ => "compatibility not checked".to_string(),
                };
                writeln!(out, "{:width$} -> {pin}  ({why})", answer.plugin)?;
            }
            _ => no_answer(err, &answer.plugin, answer.error.as_deref())?,
        }
    }
    Ok(())
}

fn no_answer(err: &mut dyn Write, what: &str, error: Option<&str>) -> io::Result<()> {
    writeln!(err, "error: {what}: {}", error.unwrap_or("no answer"))
}

/// The JSON document of `tagpin resolve`: registry answers or plugin pins.
fn document<T: Serialize>(
    out: &mut dyn Write,
    plugins: Option<&[T]>,
    resolutions: Option<&[T]>,
) -> io::Result<()> {
    let document = Document {
        plugins,
        resolutions,
        version: 1,
    };
    escape::json(out, &document)
}
