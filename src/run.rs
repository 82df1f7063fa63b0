//! One run over a set of paths: discover, read, scan and check every file, in parallel, into a
//! [`Outcome`] that renderers and exit codes work from.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::check::{Pinned, Plugins, check_file_with_plugins};
use crate::config::Settings;
use crate::discover::{self, Candidate, Found};
use crate::finding::{FileError, Finding, Located};
use crate::kustomizations::{Kustomizations, KustomizePins};
use crate::scan::{self, Kind, Scan};
use crate::source::{Position, SourceFile};

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
    /// Problems that do not stop a file from being checked (a suppression naming no rule).
    pub warnings: Vec<FileError>,
    pub notes: Vec<String>,
    /// Notes shown without `--verbose`: a file named on the command line that tagpin cannot read.
    pub notices: Vec<String>,
    /// The text of files with findings, for renderers that show source lines and for fixes.
    pub sources: BTreeMap<String, Arc<SourceFile>>,
    /// The kind of each file in `sources`, for re-scanning a fixed text.
    pub kinds: BTreeMap<String, Kind>,
    /// The kustomization pins of the files in `sources` that have some, for re-scanning a
    /// fixed text.
    pub kustomize_pins: BTreeMap<String, KustomizePins>,
}

impl Outcome {
    fn add(&mut self, result: FileOutcome) {
        self.reference_count += result.reference_count;
        self.references.extend(result.references);
        self.errors.extend(result.error);
        self.warnings.extend(result.warnings);
        self.notes.extend(result.note);
        self.notices.extend(result.notice);
        self.pinned.extend(result.pinned);
        self.plugins.sites.extend(result.plugins.sites);
        self.plugins.kestra.extend(result.plugins.kestra);
        if let Some(source) = result.source {
            self.kinds.insert(source.display_path(), result.kind);
            if !result.kustomize_pins.is_empty() {
                self.kustomize_pins
                    .insert(source.display_path(), result.kustomize_pins);
            }
            self.sources.insert(source.display_path(), source);
        }
        self.findings.extend(result.findings);
    }

    /// The kustomization pins of a file in `sources`.
    pub fn kustomize_pins_of(&self, path: &str) -> &KustomizePins {
        static NONE: KustomizePins = KustomizePins::NONE;
        self.kustomize_pins.get(path).unwrap_or(&NONE)
    }

    /// Findings found after the scan (registry rules), kept in report order.
    pub fn add_findings(&mut self, findings: Vec<Finding>) {
        self.findings.extend(findings);
        sort_findings(&mut self.findings);
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
    warnings: Vec<FileError>,
    note: Option<String>,
    notice: Option<String>,
    source: Option<Arc<SourceFile>>,
    kustomize_pins: KustomizePins,
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

/// What `-` among the paths reads: stdin, shown under `name` (which also decides its kind).
#[derive(Debug, Clone, Default)]
pub struct Stdin {
    pub name: Option<PathBuf>,
}

/// Check every file under `paths`; `-` reads stdin (`helm template . | tagpin check -`).
/// Findings in stdin's text have no fix: there is no file to write.
pub fn run_with_stdin(
    paths: &[PathBuf],
    stdin: &Stdin,
    settings: &Settings,
    keep: Keep,
) -> Outcome {
    let dash = Path::new("-");
    if !paths.iter().any(|p| p == dash) {
        return run(paths, settings, keep);
    }
    let files: Vec<PathBuf> = paths.iter().filter(|p| *p != dash).cloned().collect();
    let kustomizations = Kustomizations::walking(&files);
    let mut outcome = if files.is_empty() {
        Outcome::default()
    } else {
        check_all(&files, settings, keep, &kustomizations)
    };
    let name = stdin.name.clone().unwrap_or_else(|| dash.to_path_buf());
    let kind = stdin
        .name
        .as_deref()
        .and_then(scan::classify)
        .unwrap_or(Kind::Unnamed);
    let mut bytes = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(settings.max_file_size + 1)
        .read_to_end(&mut bytes);
    let file = match read {
        Err(e) => Err(discover::error(&name, format!("cannot read stdin: {e}"))),
        Ok(_) if bytes.len() as u64 > settings.max_file_size => Err(discover::error(
            &name,
            format!("stdin is larger than {} bytes", settings.max_file_size),
        )),
        Ok(_) => String::from_utf8(bytes)
            .map(|text| SourceFile::new(name.clone(), text))
            .map_err(|_| discover::error(&name, "stdin is not valid UTF-8".to_string())),
    };
    outcome.files += 1;
    let result = match file {
        Ok(file) => {
            let checker = Checker {
                settings,
                kustomizations: &kustomizations,
                keep,
            };
            // After the walk, if any: stdin waits for nothing.
            let mut result = checker.source(file, kind);
            for finding in &mut result.findings {
                finding.target = None;
                finding.fix = None;
            }
            result.pinned = result.pinned.into_iter().map(Pinned::read_only).collect();
            result
        }
        Err(error) => FileOutcome {
            error: Some(error),
            ..FileOutcome::new(name, kind)
        },
    };
    outcome.add(result);
    sort_findings(&mut outcome.findings);
    outcome
}

/// Check every file under `paths`.
pub fn run(paths: &[PathBuf], settings: &Settings, keep: Keep) -> Outcome {
    check_all(paths, settings, keep, &Kustomizations::walking(paths))
}

fn check_all(
    paths: &[PathBuf],
    settings: &Settings,
    keep: Keep,
    kustomizations: &Kustomizations,
) -> Outcome {
    // The walk runs beside the checks: files are read as soon as they are found, and each
    // file's result is merged as soon as it is checked, so that a large tree never holds every
    // file's result at once. The few files that wait for the walk to end are checked after it.
    let (sender, receiver) = std::sync::mpsc::channel();
    let merged = Mutex::new(Merged::default());
    let merge = |result: FileOutcome| {
        merged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .add(result);
    };
    let checker = Checker {
        settings,
        kustomizations,
        keep,
    };
    let waiting = Mutex::new(Vec::new());
    let discovery = std::thread::scope(|scope| {
        let walk = scope.spawn(move || {
            let discovery = discover::discover(
                paths,
                &settings.exclude,
                settings.force_exclude,
                settings.follow,
                &mut |found| {
                    kustomizations.found(&found);
                    let file = match found {
                        Found::Walked(candidate) => (candidate, true),
                        Found::Named(candidate) => (candidate, false),
                        Found::Repository(_) => return,
                    };
                    let _ = sender.send(file);
                },
            );
            kustomizations.walk_ended();
            discovery
        });
        receiver
            .into_iter()
            .par_bridge()
            .for_each(
                |(candidate, walked)| match checker.candidate(&candidate, walked) {
                    Some(result) => merge(result),
                    None => waiting
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push(candidate),
                },
            );
        walk.join().expect("the walk does not panic")
    });
    waiting
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_par_iter()
        // The walk has ended: no check waits any more.
        .filter_map(|candidate| checker.candidate(&candidate, false))
        .for_each(merge);
    let Merged {
        reference_count,
        findings,
        mut pinned,
        mut rest,
    } = merged
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    rest.sort_by(|a, b| a.path.cmp(&b.path));
    // In place: a stable sort would take a scratch copy of a large tree's pins.
    pinned.sort_unstable_by(|a, b| a.place().cmp(&b.place()));
    let mut outcome = Outcome {
        files: discovery.files,
        reference_count,
        findings,
        pinned,
        errors: discovery.errors,
        notes: discovery.notes,
        ..Outcome::default()
    };
    for result in rest {
        outcome.add(result);
    }
    sort_findings(&mut outcome.findings);
    outcome
        .errors
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    outcome
}

/// The files' results as they come in: findings and pins (sorted at the end; each file's
/// findings stay in order) and, of the few files with more to say, the rest, put in path order
/// at the end.
#[derive(Default)]
struct Merged {
    reference_count: usize,
    findings: Vec<Finding>,
    pinned: Vec<Pinned>,
    rest: Vec<FileOutcome>,
}

impl Merged {
    fn add(&mut self, mut result: FileOutcome) {
        self.reference_count += std::mem::take(&mut result.reference_count);
        // Taken, not appended: an emptied vector would keep its allocation in `rest`.
        self.findings.extend(std::mem::take(&mut result.findings));
        self.pinned.extend(std::mem::take(&mut result.pinned));
        if !result.is_empty() {
            self.rest.push(result);
        }
    }
}

/// Report order: by path, position and rule, equal ones as they came. Sorted through their
/// places, since a finding is large to move and a sort moves each many times: then each is
/// swapped into its place once.
fn sort_findings(findings: &mut [Finding]) {
    fn key(f: &Finding) -> (&str, Position, &'static str) {
        (&f.path, f.start, f.rule.code())
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| key(&findings[a]).cmp(&key(&findings[b])));
    let mut place = vec![0; order.len()];
    for (at, &from) in order.iter().enumerate() {
        place[from] = at;
    }
    for at in 0..findings.len() {
        while place[at] != at {
            let to = place[at];
            findings.swap(at, to);
            place.swap(at, to);
        }
    }
}

impl FileOutcome {
    fn new(path: PathBuf, kind: Kind) -> Self {
        FileOutcome {
            path,
            kind,
            reference_count: 0,
            references: Vec::new(),
            findings: Vec::new(),
            pinned: Vec::new(),
            plugins: Plugins::default(),
            error: None,
            warnings: Vec::new(),
            note: None,
            notice: None,
            source: None,
            kustomize_pins: KustomizePins::default(),
        }
    }
}

impl FileOutcome {
    /// Whether nothing is left to merge beyond findings and the reference count.
    fn is_empty(&self) -> bool {
        self.findings.is_empty()
            && self.references.is_empty()
            && self.pinned.is_empty()
            && self.plugins.sites.is_empty()
            && self.plugins.kestra.is_empty()
            && self.error.is_none()
            && self.warnings.is_empty()
            && self.note.is_none()
            && self.notice.is_none()
            && self.source.is_none()
    }
}

/// What checking a file needs of its run.
#[derive(Clone, Copy)]
struct Checker<'a> {
    settings: &'a Settings,
    kustomizations: &'a Kustomizations,
    keep: Keep,
}

impl Checker<'_> {
    /// The file's check, or `None` while it waits for the walk to end
    /// ([`Kustomizations::waits`]): it is read only then. `walked`: the walk met the file (it
    /// was not named alone).
    fn candidate(&self, candidate: &Candidate, walked: bool) -> Option<FileOutcome> {
        if self.kustomizations.waits(&candidate.path, walked) {
            return None;
        }
        Some(
            match read_source(&candidate.path, self.settings.max_file_size) {
                Ok(file) => self.source(file, candidate.kind),
                Err(error) => FileOutcome {
                    error: Some(error),
                    ..FileOutcome::new(candidate.path.clone(), candidate.kind)
                },
            },
        )
    }

    fn source(&self, file: SourceFile, kind: Kind) -> FileOutcome {
        let mut scanned = match scan::scan(&file, kind) {
            Ok(scanned) => scanned,
            Err(e) => {
                return FileOutcome {
                    error: Some(e),
                    ..FileOutcome::new(file.path.clone(), kind)
                };
            }
        };
        let pins = self
            .kustomizations
            .pins_for(&file.path, &scanned.references);
        pins.apply(&mut scanned.references);
        self.finish(file, kind, scanned, pins)
    }

    /// A scanned file checked, its kustomization pins applied; only what the run keeps (see
    /// [`Keep`]): the text only of a file with something to show.
    fn finish(
        &self,
        file: SourceFile,
        kind: Kind,
        scanned: Scan,
        pins: KustomizePins,
    ) -> FileOutcome {
        let (settings, keep) = (self.settings, self.keep);
        let mut outcome = FileOutcome::new(file.path.clone(), kind);
        let note = scanned
            .skipped
            .as_ref()
            .map(|why| format!("{}: skipped: {why}", file.display_path()));
        if kind == Kind::Unnamed {
            outcome.notice = note;
        } else {
            outcome.note = note;
        }
        let checked = check_file_with_plugins(&file, &scanned, settings);
        outcome.findings = checked.findings;
        outcome.pinned = checked.pinned;
        outcome.plugins = checked.plugins;
        outcome.warnings = checked.warnings;
        outcome.reference_count = scanned.references.len();
        if keep.references {
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
                        .then(|| r.image.clone().ok())
                        .flatten(),
                })
                .collect();
        }
        let shown = !outcome.findings.is_empty()
            || !outcome.pinned.is_empty()
            || !outcome.plugins.sites.is_empty();
        if keep.sources && shown {
            outcome.source = Some(Arc::new(file));
            outcome.kustomize_pins = pins;
        }
        outcome
    }
}

/// Discovery handed on only regular files; should a FIFO have taken a file's place since, it is
/// opened without waiting for a writer, and the check of the open file turns it down.
fn open_without_waiting(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    options.open(path)
}

/// Read a regular file as UTF-8 text, refusing what tagpin cannot check: too big, binary
/// (NUL bytes) or not UTF-8. The size limit holds even if the file grows while being read.
pub fn read_source(path: &Path, max_size: u64) -> Result<SourceFile, FileError> {
    let fail = |message: String| discover::error(path, message);
    let file = open_without_waiting(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(discover::not_regular(path));
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
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max_size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max_size {
        return Err(too_big());
    }
    if let Some(at) = memchr::memchr(0, &bytes) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Stacks of compose files: even ones float, odd ones pin a tag, every fifth holds nothing.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..40 {
            let text = match i {
                i if i % 5 == 0 => "services: {}\n".to_string(),
                i if i % 2 == 0 => format!("services:\n  a:\n    image: app{i}:latest\n"),
                _ => format!("services:\n  a:\n    image: app{i}:1.2.{i}\n"),
            };
            let stack = dir.path().join(format!("s{i:02}"));
            std::fs::create_dir(&stack).unwrap();
            std::fs::write(stack.join("compose.yaml"), text).unwrap();
        }
        dir
    }

    #[test]
    fn results_merge_in_path_order_whatever_order_files_finish_in() {
        let dir = tree();
        let keep = Keep::default();
        let outcome = run(&[dir.path().to_path_buf()], &Settings::default(), keep);
        assert_eq!(outcome.files, 40);
        assert_eq!(outcome.reference_count, 32);
        let paths: Vec<&str> = outcome.findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths.len(), 16);
        assert!(paths.is_sorted(), "{paths:?}");
        let pins: Vec<(&str, usize)> = outcome.pinned.iter().map(|p| p.place()).collect();
        assert_eq!(pins.len(), 16);
        assert!(pins.is_sorted(), "{pins:?}");
        assert!(outcome.sources.is_empty() && outcome.references.is_empty());
    }

    #[test]
    fn sources_and_references_are_kept_only_when_asked_for() {
        let dir = tree();
        let keep = Keep {
            sources: true,
            references: true,
        };
        let outcome = run(&[dir.path().to_path_buf()], &Settings::default(), keep);
        // The files with a finding or a pin: not the ones that hold nothing.
        assert_eq!(outcome.sources.len(), 32);
        assert_eq!(outcome.kinds.len(), 32);
        assert!(outcome.sources.keys().all(|p| !p.contains("s00/")));
        let images: Vec<&str> = outcome
            .references
            .iter()
            .map(|r| r.image.as_str())
            .collect();
        assert_eq!(images.len(), 32);
        assert_eq!(images[..2], ["app1:1.2.1", "app2:latest"]);
    }
}
