//! `tagpin images`: the inventory of every reference found, as a table or JSON.

use std::io::{self, Write};

use serde::Serialize;

use crate::escape;
use crate::finding::FileError;
use crate::finding::Located;
use crate::scan::FileKind;

/// What the inventory shows: every reference found, the files that could not be read, and
/// how many files were looked at.
#[derive(Debug, Clone, Copy)]
pub struct Inventory<'a> {
    pub references: &'a [Located],
    pub errors: &'a [FileError],
    pub files: usize,
}

#[derive(Serialize)]
struct Entry<'a> {
    path: &'a str,
    line: usize,
    column: usize,
    kind: FileKind,
    image: &'a str,
    registry: Option<&'a str>,
    repository: Option<&'a str>,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    /// Where in the file it sits, and where its value came from (a `.env` line, the
    /// kustomization that pins it).
    context: &'a str,
}

pub fn json(inventory: &Inventory, out: &mut dyn Write) -> io::Result<()> {
    let entries: Vec<Entry> = inventory
        .references
        .iter()
        .map(|r| Entry {
            path: &r.path,
            line: r.position.line,
            column: r.position.column,
            kind: r.kind,
            image: &r.image,
            registry: r.parsed.as_ref().map(|p| p.registry.as_str()),
            repository: r.parsed.as_ref().map(|p| p.repository.as_str()),
            tag: r.parsed.as_ref().and_then(|p| p.tag.as_deref()),
            digest: r.parsed.as_ref().and_then(|p| p.digest.as_deref()),
            context: &r.context,
        })
        .collect();
    escape::json(
        out,
        &serde_json::json!({"version": 1, "references": entries, "errors": inventory.errors}),
    )
}

pub fn table(inventory: &Inventory, out: &mut dyn Write) -> io::Result<()> {
    let locations: Vec<String> = inventory
        .references
        .iter()
        .map(|r| {
            let path = escape::text(&r.path);
            format!("{path}:{}:{}", r.position.line, r.position.column)
        })
        .collect();
    let width = locations
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    let kinds = inventory
        .references
        .iter()
        .map(|r| r.kind.as_str().len())
        .max()
        .unwrap_or(0);
    let images: Vec<_> = inventory
        .references
        .iter()
        .map(|r| escape::text(&r.image))
        .collect();
    let image_width = images.iter().map(|i| i.chars().count()).max().unwrap_or(0);
    for ((reference, location), image) in inventory.references.iter().zip(&locations).zip(&images) {
        writeln!(
            out,
            "{location:width$}  {:kinds$}  {image:image_width$}  {}",
            reference.kind.as_str(),
            escape::text(&reference.context)
        )?;
    }
    let files: std::collections::BTreeSet<&str> = inventory
        .references
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    writeln!(
        out,
        "{} references in {} of {} files",
        inventory.references.len(),
        files.len(),
        inventory.files
    )
}
