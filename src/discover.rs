//! Which files to read: named files always, of any name (unless `--force-exclude` and an
//! exclude matches), folders walked with `.gitignore`/`.ignore` respected, VCS folders skipped,
//! `--exclude` and config excludes applied, each glob relative to its own folder (ruff's model).
//!
//! Symlinks are followed (a linked values file is still a values file) while they stay inside
//! the folder walked: a repository is a stranger's, and a link to `~/.docker/config.json` or
//! `/etc` must not put that file's lines in a report (a `--verbose` note says what was left;
//! `--follow` follows every link, like ripgrep's `-L`). The walker detects
//! loops and reports them instead of going round. A file reached twice (through a symlink, or
//! named twice) is read once (by device and inode, the canonical path where there are none), so
//! that a fix writes it once. Only regular
//! files are read: a FIFO would block the run, a device would never end.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::WalkBuilder;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::config::Exclude;
use crate::finding::FileError;
use crate::scan::{Classifier, FileKind, Kind, classify, is_chart, is_kustomization};
use crate::source::{absolute, display_path};

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

/// What discovery reports as it goes, so that reading starts before the walk ends.
#[derive(Debug)]
pub enum Found {
    /// A file to read, met in a walked folder.
    Walked(Candidate),
    /// A file to read, named among the paths.
    Named(Candidate),
    /// A walked folder that holds `.git`, a repository's root.
    Repository(PathBuf),
}

/// A sink for what is found, as it is found. In a walked folder, its `.git`, kustomization and
/// chart files come before everything else in it and below it ([`first`]), so a file comes
/// after what the folders above it hold.
type Sink<'a> = dyn FnMut(Found) + 'a;

pub fn discover(
    paths: &[PathBuf],
    exclude: &[Exclude],
    force_exclude: bool,
    follow: bool,
    sink: &mut Sink<'_>,
) -> Discovery {
    let mut found = Discovery::default();
    let excludes = Arc::new(Excludes::new(exclude, &mut found));
    let several = paths.len() > 1 || follow;
    let mut once = Once::default();
    let mut hand = |report: Found, found: &mut Discovery, through_link: bool| match &report {
        Found::Walked(candidate) | Found::Named(candidate) => {
            if once.first_time(&candidate.path, several || through_link) {
                found.files += 1;
                sink(report);
            }
        }
        Found::Repository(_) => sink(report),
    };
    for path in paths {
        let meta = std::fs::metadata(path);
        if force_exclude
            && meta.is_ok()
            && excludes.covers(path, meta.as_ref().is_ok_and(|m| m.is_dir()))
        {
            continue;
        }
        match meta {
            Ok(meta) if meta.is_dir() => walk(path, &excludes, follow, &mut found, &mut hand),
            // A file named on the command line is always read: its content decides when its
            // name does not.
            Ok(meta) if meta.is_file() => {
                let kind = classify(path).unwrap_or(Kind::Unnamed);
                let candidate = Candidate {
                    path: path.clone(),
                    kind,
                };
                hand(Found::Named(candidate), &mut found, false);
                // Compose reads the `.env` beside it: a floating value there is this file's too
                // (pre-commit names only the compose file that changed).
                let env = path.with_file_name(".env");
                if kind == Kind::Known(FileKind::Compose)
                    && env.is_file()
                    && !excludes.covers(&env, false)
                {
                    let env = Candidate {
                        path: env,
                        kind: Kind::Env,
                    };
                    hand(Found::Named(env), &mut found, false);
                }
            }
            Ok(_) => found.errors.push(not_regular(path)),
            Err(e) => found.errors.push(error(path, format!("cannot read: {e}"))),
        }
    }
    found
}

/// The files handed on so far, to hand on each file once. Only several paths (which may
/// overlap) or a symlink can name a file twice, so files are looked up (a `stat` each) only
/// from the first such case on, and then the files handed on before it too.
#[derive(Default)]
struct Once {
    seen: HashSet<Identity>,
    not_looked_up: Vec<PathBuf>,
    looking: bool,
}

impl Once {
    fn first_time(&mut self, path: &Path, may_repeat: bool) -> bool {
        if may_repeat && !self.looking {
            self.looking = true;
            let before = std::mem::take(&mut self.not_looked_up);
            self.seen.extend(before.iter().map(|path| identity(path)));
        }
        if self.looking {
            self.seen.insert(identity(path))
        } else {
            self.not_looked_up.push(path.to_path_buf());
            true
        }
    }
}

/// What makes two paths one file: its device and inode (one `stat`), where there are such;
/// elsewhere its canonical path. A path that cannot be looked up stands for itself.
#[cfg(unix)]
type Identity = (u64, u64, PathBuf);
#[cfg(not(unix))]
type Identity = PathBuf;

#[cfg(unix)]
fn identity(path: &Path) -> Identity {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(meta) => (meta.dev(), meta.ino(), PathBuf::new()),
        Err(_) => (0, 0, path.to_path_buf()),
    }
}

#[cfg(not(unix))]
fn identity(path: &Path) -> Identity {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The exclude globs, grouped by the folder they are relative to. Paths are compared as
/// absolute, lexically normalised paths, so that a glob means the same from any working folder.
struct Excludes {
    cwd: PathBuf,
    sets: Vec<Gitignore>,
}

impl Excludes {
    fn new(exclude: &[Exclude], found: &mut Discovery) -> Excludes {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut bases: Vec<(PathBuf, GitignoreBuilder)> = Vec::new();
        for item in exclude {
            let base = absolute(&cwd, &item.base);
            let at = match bases.iter().position(|(b, _)| *b == base) {
                Some(at) => at,
                None => {
                    bases.push((base.clone(), GitignoreBuilder::new(&base)));
                    bases.len() - 1
                }
            };
            if let Err(e) = bases[at].1.add_line(None, &item.pattern) {
                found.errors.push(error(
                    Path::new(&item.pattern),
                    format!("invalid exclude pattern: {e}"),
                ));
            }
        }
        let sets = bases
            .into_iter()
            .filter_map(|(_, builder)| builder.build().ok())
            .collect();
        Excludes { cwd, sets }
    }

    /// Whether an exclude matches the path itself (a walked entry: its folders were checked on
    /// the way down).
    fn matches(&self, path: &Path, is_dir: bool) -> bool {
        self.any(path, |set, path| set.matched(path, is_dir).is_ignore())
    }

    /// Whether an exclude matches the path or a folder above it (a path named on the command
    /// line).
    fn covers(&self, path: &Path, is_dir: bool) -> bool {
        self.any(path, |set, path| {
            set.matched_path_or_any_parents(path, is_dir).is_ignore()
        })
    }

    fn any(&self, path: &Path, test: impl Fn(&Gitignore, &Path) -> bool) -> bool {
        if self.sets.is_empty() {
            return false;
        }
        let path = absolute(&self.cwd, path);
        self.sets
            .iter()
            .any(|set| path.starts_with(set.path()) && test(set, &path))
    }
}

fn walk(
    root: &Path,
    excludes: &Arc<Excludes>,
    follow: bool,
    found: &mut Discovery,
    hand: &mut dyn FnMut(Found, &mut Discovery, bool),
) {
    let excludes = Arc::clone(excludes);
    let inside = (!follow).then(|| Inside::new(root));
    let left = Arc::new(Mutex::new(Vec::new()));
    let notes = Arc::clone(&left);
    // Met by the filter, handed on before the next entry.
    let repositories = Arc::new(Mutex::new(Vec::new()));
    let met = Arc::clone(&repositories);
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .follow_links(true)
        .require_git(false)
        .sort_by_file_name(|a, b| first(b).cmp(&first(a)).then(a.cmp(b)))
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let name = entry.file_name().to_str();
            if name == Some(".git")
                && entry.depth() > 0
                && let (Some(folder), Ok(mut met)) = (entry.path().parent(), met.lock())
            {
                met.push(folder.to_path_buf());
            }
            let vcs = is_dir && name.is_some_and(|name| VCS_FOLDERS.contains(&name));
            let outside = entry.path_is_symlink()
                && entry.depth() > 0
                && inside.as_ref().is_some_and(|inside| {
                    let outside = !inside.holds(entry.path());
                    if outside && let Ok(mut notes) = notes.lock() {
                        notes.push(format!(
                            "{}: a symlink out of {}; not followed (`--follow` follows it)",
                            display_path(entry.path()),
                            display_path(&inside.shown),
                        ));
                    }
                    outside
                });
            !vcs && !outside && (entry.depth() == 0 || !excludes.matches(entry.path(), is_dir))
        })
        .build();
    // From the first symlink on, a file may come again by another path.
    let mut met_link = false;
    let mut classifier = Classifier::walking();
    for entry in walker {
        let met: Vec<PathBuf> = repositories
            .lock()
            .map(|mut met| std::mem::take(&mut *met))
            .unwrap_or_default();
        for repository in met {
            hand(Found::Repository(repository), found, false);
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                found.errors.push(walk_error(root, &e));
                continue;
            }
        };
        met_link |= entry.path_is_symlink();
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            continue;
        }
        let path = entry.into_path();
        let Some(kind) = classifier.classify(&path) else {
            continue;
        };
        if file_type.is_file() {
            hand(Found::Walked(Candidate { path, kind }), found, met_link);
        } else {
            found.errors.push(not_regular(&path));
        }
    }
    if let Ok(mut left) = left.lock() {
        found.notes.append(&mut left);
    }
}

/// Whether a folder's entry comes first in the walk: its `.git`, kustomization and `Chart.yaml`,
/// which say something about everything else in it.
fn first(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|name| name == ".git" || is_kustomization(name) || is_chart(name))
}

/// The folder a walk was given, resolved, to tell where a symlink leads.
struct Inside {
    root: Option<PathBuf>,
    shown: PathBuf,
}

impl Inside {
    fn new(root: &Path) -> Inside {
        Inside {
            root: std::fs::canonicalize(root).ok(),
            shown: root.to_path_buf(),
        }
    }

    /// Whether a path (a symlink) resolves to somewhere inside the root; a dangling link is
    /// left to the walker, which reports it.
    fn holds(&self, path: &Path) -> bool {
        match (&self.root, std::fs::canonicalize(path)) {
            (Some(root), Ok(target)) => target.starts_with(root),
            _ => true,
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

pub(crate) fn not_regular(path: &Path) -> FileError {
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
