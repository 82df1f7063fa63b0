//! Which files to read: named files always (of any name), folders walked with `.gitignore`/`.ignore`
//! respected, VCS folders skipped, `--exclude` and config excludes applied.
//!
//! Symlinks are followed (a linked values file is still a values file); the walker detects
//! loops and reports them instead of going round. Only regular files are read: a FIFO would
//! block the run, a device would never end.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;

use crate::finding::FileError;
use crate::scan::{Kind, classify};
use crate::source::display_path;

const VCS_FOLDERS: [&str; 4] = [".git", ".hg", ".svn", ".jj"];

/// A file to read, and what its name says it is.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    pub kind: Kind,
}

/// What discovery found besides the files it hands over: how many, problems, and notes for
/// `--verbose`.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: usize,
    pub errors: Vec<FileError>,
    pub notes: Vec<String>,
}

/// A sink for the files to read, as they are found (so that reading starts before the walk ends).
type Sink<'a> = dyn FnMut(Candidate) + 'a;

pub fn discover(paths: &[PathBuf], exclude: &[String], sink: &mut Sink<'_>) -> Discovery {
    let mut found = Discovery::default();
    let mut hand = |candidate: Candidate, found: &mut Discovery| {
        found.files += 1;
        sink(candidate);
    };
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, exclude, &mut found, &mut hand),
            // A file named on the command line is always read: its content decides when its
            // name does not.
            Ok(meta) if meta.is_file() => hand(
                Candidate {
                    path: path.clone(),
                    kind: classify(path).unwrap_or(Kind::Unnamed),
                },
                &mut found,
            ),
            Ok(_) => found.errors.push(not_regular(path)),
            Err(e) => found.errors.push(error(path, format!("cannot read: {e}"))),
        }
    }
    found
}

fn walk(
    root: &Path,
    exclude: &[String],
    found: &mut Discovery,
    hand: &mut dyn FnMut(Candidate, &mut Discovery),
) {
    let mut overrides = OverrideBuilder::new(root);
    for pattern in exclude {
        if let Err(e) = overrides.add(&format!("!{pattern}")) {
            found.errors.push(error(
                Path::new(pattern),
                format!("invalid exclude pattern: {e}"),
            ));
        }
    }
    let overrides = overrides
        .build()
        .unwrap_or_else(|_| ignore::overrides::Override::empty());
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .follow_links(true)
        .require_git(false)
        .overrides(overrides)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| VCS_FOLDERS.contains(&name)))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                found.errors.push(walk_error(root, &e));
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            continue;
        }
        let path = entry.into_path();
        let Some(kind) = classify(&path) else {
            continue;
        };
        if file_type.is_file() {
            hand(Candidate { path, kind }, found);
        } else {
            found.errors.push(not_regular(&path));
        }
    }
}

fn walk_error(root: &Path, e: &ignore::Error) -> FileError {
    let mut inner = e;
    let mut path = root.to_path_buf();
    loop {
        match inner {
            ignore::Error::WithPath { path: p, err } => {
                path = p.clone();
                inner = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                inner = err
            }
            ignore::Error::Loop { child, ancestor } => {
                let message = format!(
                    "symlink loop: points back to {}; not followed",
                    display_path(ancestor)
                );
                return error(child, message);
            }
            _ => return error(&path, format!("cannot read: {inner}")),
        }
    }
}

fn not_regular(path: &Path) -> FileError {
    error(
        path,
        "not a regular file (a FIFO, socket or device); skipped".to_string(),
    )
}

pub fn error(path: &Path, message: String) -> FileError {
    FileError {
        path: display_path(path),
        line: None,
        column: None,
        message,
    }
}
