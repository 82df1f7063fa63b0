//! `tagpin releases`: an image's release lines on a day, as a table or JSON.

use std::io::{self, Write};

use jiff::civil::Date;
use serde::Serialize;

use super::ListFormat;
use crate::escape;
use crate::rules::data::LineKind;

/// The release table of one image as the command reports it. Fields are in the JSON's order.
#[derive(Debug, Serialize)]
pub struct Releases {
    pub image: String,
    pub lines: Vec<ReleaseLine>,
    pub today: Date,
    pub version: u32,
}

/// One release line. Fields are in the JSON's order.
#[derive(Debug, Serialize)]
pub struct ReleaseLine {
    pub kind: LineKind,
    pub line: String,
    pub newest: Option<String>,
    pub released: Option<Date>,
    pub requires: Option<String>,
    pub status: LineStatus,
    pub supported_until: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineStatus {
    Supported,
    /// Still supported, but a newer line of its kind is the one to be on.
    Superseded,
    Ended,
}

impl LineStatus {
    fn as_str(self) -> &'static str {
        match self {
            LineStatus::Supported => "supported",
            LineStatus::Superseded => "superseded",
            LineStatus::Ended => "ended",
        }
    }
}

pub fn write(releases: &Releases, format: ListFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        ListFormat::Json => escape::json(out, releases),
        ListFormat::Human => table(releases, out),
    }
}

fn table(releases: &Releases, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} release lines on {}",
        releases.image, releases.today
    )?;
    writeln!(
        out,
        "{:6} {:8} {:11} {:16} {:10} status",
        "line", "kind", "released", "supported until", "newest"
    )?;
    let or_dash = |text: Option<String>| text.unwrap_or_else(|| "-".to_string());
    for line in &releases.lines {
        let kind = match line.kind {
            LineKind::Lts => "LTS",
            LineKind::Feature => "feature",
        };
        writeln!(
            out,
            "{:6} {:8} {:11} {:16} {:10} {}",
            line.line,
            kind,
            or_dash(line.released.map(|d| d.to_string())),
            or_dash(line.supported_until.map(|d| d.to_string())),
            or_dash(line.newest.clone()),
            line.status.as_str()
        )?;
    }
    Ok(())
}
