//! One run over a set of paths: discover, read, scan and check every file, in parallel, into a
//! [`Outcome`] that renderers and exit codes work from.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::check::{Pinned, Plugins, check_file_with_plugins};
use crate::config::Settings;
use crate::discover::{self, Candidate};
use crate::finding::{FileError, Finding};
use crate::reference::Image;
use crate::rules::Severity;
use crate::scan::{self, FileKind, Kind};
use crate::source::{Position, SourceFile};

/// One reference as the inventory (`tagpin images`) lists it.
#[derive(Debug, Clone)]
pub struct Located {
    pub path: String,
    pub position: Position,
    pub kind: FileKind,
    pub image: String,
    pub context: String,
    pub parsed: Option<Image>,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub files: usize,
    /// References found, whether or not [`Keep::references`] kept them.
    pub reference_count: usize,
    pub references: Vec<Located>,
    pub findings: Vec<Finding>,
    /// Digest pins for the registry rules (TP008, TP009).
    pub pinned: Vec<Pinned>,
    /// Plugin versions for the Maven rules (TP012 pins, TP015).
    pub plugins: Plugins,
    pub errors: Vec<FileError>,
    pub notes: Vec<String>,
    /// The text of files with findings, for renderers that show source lines and for fixes.
    pub sources: BTreeMap<String, Arc<SourceFile>>,
    /// The kind of each file in `sources`, for re-scanning a fixed text.
    pub kinds: BTreeMap<String, Kind>,
}

impl Outcome {
    /// Findings found after the scan (registry rules), kept in report order.
    pub fn add_findings(&mut self, findings: Vec<Finding>) {
        self.findings.extend(findings);
        sort_findings(&mut self.findings);
    }

    /// 0 clean, 1 findings at or above `fail_on`, 2 when something could not be read.
    pub fn exit_code(&self, fail_on: Severity) -> u8 {
        if !self.errors.is_empty() {
            2
        } else if self.findings.iter().any(|f| f.severity() >= fail_on) {
            1
        } else {
            0
        }
    }
}

struct FileOutcome {
    path: PathBuf,
    kind: Kind,
    reference_count: usize,
    references: Vec<Located>,
    findings: Vec<Finding>,
    pinned: Vec<Pinned>,
    plugins: Plugins,
    error: Option<FileError>,
    note: Option<String>,
    source: Option<Arc<SourceFile>>,
}

/// What a run keeps beyond findings and errors, so that a large tree costs only what the output
/// needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keep {
    /// The text of files with findings: for source snippets and fixes.
    pub sources: bool,
    /// Every reference: for the inventory (`tagpin images`).
    pub references: bool,
}

/// Check every file under `paths`.
pub fn run(paths: &[PathBuf], settings: &Settings, keep: Keep) -> Outcome {
    // The walk runs beside the checks: files are read as soon as they are found.
    let (sender, receiver) = std::sync::mpsc::channel();
    let (discovery, mut results) = std::thread::scope(|scope| {
        let walk = scope.spawn(move || {
            discover::discover(paths, &settings.exclude, &mut |candidate| {
                let _ = sender.send(candidate);
            })
        });
        let results: Vec<FileOutcome> = receiver
            .into_iter()
            .par_bridge()
            .map(|c| {
                let mut result = check_candidate(&c, settings);
                if !keep.sources {
                    result.source = None;
                }
                result.reference_count = result.references.len();
                if !keep.references {
                    result.references = Vec::new();
                }
                result
            })
            .collect();
        (walk.join().expect("the walk does not panic"), results)
    });
    results.sort_by(|a, b| a.path.cmp(&b.path));
    let mut outcome = Outcome {
        files: discovery.files,
        errors: discovery.errors,
        notes: discovery.notes,
        ..Outcome::default()
    };
    for result in results {
        outcome.reference_count += result.reference_count;
        outcome.references.extend(result.references);
        outcome.errors.extend(result.error);
        outcome.notes.extend(result.note);
        let shown = !result.findings.is_empty()
            || !result.pinned.is_empty()
            || !result.plugins.sites.is_empty();
        outcome.pinned.extend(result.pinned);
        outcome.plugins.sites.extend(result.plugins.sites);
        outcome.plugins.kestra.extend(result.plugins.kestra);
        if let Some(source) = result.source.filter(|_| shown) {
            outcome.kinds.insert(source.display_path(), result.kind);
            outcome.sources.insert(source.display_path(), source);
        }
        outcome.findings.extend(result.findings);
    }
    sort_findings(&mut outcome.findings);
    outcome
        .errors
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    outcome
}

fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| (&a.path, a.start, a.rule.code).cmp(&(&b.path, b.start, b.rule.code)));
}

fn check_candidate(candidate: &Candidate, settings: &Settings) -> FileOutcome {
    let mut outcome = FileOutcome {
        path: candidate.path.clone(),
        kind: candidate.kind,
        reference_count: 0,
        references: Vec::new(),
        findings: Vec::new(),
        pinned: Vec::new(),
        plugins: Plugins::default(),
        error: None,
        note: None,
        source: None,
    };
    let file = match read_source(&candidate.path, settings.max_file_size) {
        Ok(file) => file,
        Err(error) => {
            outcome.error = Some(error);
            return outcome;
        }
    };
    let scanned = match scan::scan(&file, candidate.kind) {
        Ok(scanned) => scanned,
        Err(e) => {
            outcome.error = Some(FileError {
                path: file.display_path(),
                line: e.line,
                column: e.column,
                message: e.message,
            });
            return outcome;
        }
    };
    outcome.note = scanned
        .skipped
        .as_ref()
        .map(|why| format!("{}: skipped: {why}", file.display_path()));
    (outcome.findings, outcome.pinned, outcome.plugins) =
        check_file_with_plugins(&file, &scanned, settings);
    outcome.references = scanned
        .references
        .iter()
        .map(|r| Located {
            path: file.display_path(),
            position: file.position(r.span.start),
            kind: r.kind,
            image: r.value.text.clone(),
            context: r.context.clone(),
            parsed: r
                .unresolved
                .is_none()
                .then(|| Image::parse(&r.value.text).ok())
                .flatten(),
        })
        .collect();
    outcome.source = Some(Arc::new(file));
    outcome
}

/// Read a regular file as UTF-8 text, refusing what tagpin cannot check: too big, binary
/// (NUL bytes) or not UTF-8. The size limit holds even if the file grows while being read.
pub fn read_source(path: &Path, max_size: u64) -> Result<SourceFile, FileError> {
    let fail = |message: String| discover::error(path, message);
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(fail(
            "not a regular file (a FIFO, socket or device); skipped".into(),
        ));
    }
    let too_big = || {
        fail(format!(
            "larger than {} bytes; skipped (raise `max-file-size` to check it)",
            max_size
        ))
    };
    if meta.len() > max_size {
        return Err(too_big());
    }
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max_size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max_size {
        return Err(too_big());
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let message = "contains a NUL byte (binary?); skipped".to_string();
        return Err(FileError {
            line: line_of_bytes(&bytes, at),
            ..fail(message)
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let message = "not valid UTF-8; skipped (tagpin reads UTF-8 text)".to_string();
            return Err(FileError {
                line: line_of_bytes(e.as_bytes(), at),
                ..fail(message)
            });
        }
    };
    Ok(SourceFile::new(path.to_path_buf(), text))
}

fn line_of_bytes(bytes: &[u8], at: usize) -> Option<usize> {
    Some(bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1)
}
