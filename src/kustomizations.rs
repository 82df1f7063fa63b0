//! Which kustomizations pin the images of a manifest.
//!
//! A kustomization's `images:` entry that sets `newTag` or `digest` is where the pin lives for
//! every manifest the kustomization builds: the `image:` written in a base (or in a custom
//! resource the `images` transformer changes) is replaced at build time
//! (<https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/images/>), so such a
//! reference gives no finding. [`Kustomizations::pins_for`] finds, for one manifest, the
//! kustomizations in its folder, above it, and in overlays beside it that build it (listing it,
//! or a folder that does, under `resources`), and the image names they pin.
//!
//! Kustomize loads a file only from its kustomization's folder or below (the default load
//! restrictor, <https://kubectl.docs.kubernetes.io/faq/#security-file-foo-is-not-in-or-below-bar>),
//! so whatever builds a manifest goes through a kustomization in a folder above it that builds
//! it: a manifest no such kustomization builds is left without a look at the folders around it.
//!
//! Inside the folders a run walks, the kustomizations are the ones the walk meets (a folder it
//! leaves out, ignored or excluded, holds none), so no folder is listed twice; elsewhere (above
//! them, or around files named alone) folders are listed. The walk hands on a folder's
//! kustomization and `.git` before anything below it, so the kustomizations above a walked file
//! are known when it is checked; the overlays beside it are known only when the walk has ended,
//! and a file built from above waits for that ([`Kustomizations::waits`]).

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::discover::Found;
use crate::scan::{FileKind, Reference};
use crate::source::absolute;
use crate::yaml::Stream;

/// How far above a manifest kustomizations are looked for, and how deep below each of those
/// folders overlays are: the usual `base/` and `overlays/<env>/` layouts, with room to spare.
const LEVELS_UP: usize = 3;
const DEPTH: usize = 3;
const NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The image names pinned by kustomizations that build a manifest, with the kustomization
/// that pins each: where the pins of its references live ([`Reference::kustomized`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KustomizePins(Vec<(String, PathBuf)>);

impl KustomizePins {
    pub const NONE: KustomizePins = KustomizePins(Vec::new());

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Mark each reference whose image a kustomization pins.
    pub fn apply(&self, references: &mut [Reference]) {
        for reference in references.iter_mut() {
            let name = image_name(&reference.value.text);
            if let Some((_, kustomization)) = self.0.iter().find(|(pinned, _)| pinned == name) {
                let by = crate::source::display_path(kustomization);
                reference.context = format!("{} (pinned by {by})", reference.context);
                reference.kustomized = Some(kustomization.clone());
            }
        }
    }
}

/// What a run finds out about kustomizations, kept for the whole run: every manifest of a
/// folder asks about the same folders and kustomizations.
pub struct Kustomizations {
    /// Every path is made absolute against it.
    cwd: PathBuf,
    /// The folders the run walks.
    roots: Vec<PathBuf>,
    walked: RwLock<Walked>,
    walk_ended: AtomicBool,
    cache: Mutex<Cache>,
}

/// What the walk has met so far, as absolute paths.
#[derive(Default)]
struct Walked {
    /// Kustomization files (of [`NAMES`]).
    files: BTreeSet<OsString>,
    /// Folders that hold `.git`.
    repositories: FxHashSet<OsString>,
}

/// What a kustomization says that matters here.
#[derive(Debug, Default)]
struct Kustomization {
    dir: PathBuf,
    /// `resources`, `bases` and `components`, as absolute paths.
    includes: Vec<PathBuf>,
    /// Image names whose tag or digest the `images:` entries set.
    pins: Vec<String>,
    /// `kind: Component`: its `images:` apply to the kustomization that includes it.
    component: bool,
}

/// The answers of the questions below, each kept per path.
#[derive(Default)]
struct Cache {
    parsed: PathMap<Option<Arc<Kustomization>>>,
    pinned: PathMap<Arc<Vec<String>>>,
    around: PathMap<Arc<Vec<PathBuf>>>,
    below: PathMap<Arc<Vec<PathBuf>>>,
    listed: PathMap<Arc<Listing>>,
    built: PathMap<Arc<FxHashSet<OsString>>>,
    above: PathMap<Arc<Vec<PathBuf>>>,
}

/// Keyed by the path's bytes: every path here is absolute and normalized, so equal paths are
/// equal bytes, and hashing them whole is much cheaper than hashing a `Path`'s components.
/// Each answer has its own cell, so that the lock is held only to find the cell.
type PathMap<T> = FxHashMap<OsString, Arc<OnceLock<T>>>;

impl Kustomizations {
    /// For a run over `paths`: the folders among them are walked.
    pub fn walking(paths: &[PathBuf]) -> Self {
        let cwd = std::env::current_dir().unwrap_or_default();
        Kustomizations {
            roots: paths
                .iter()
                .filter(|path| path.is_dir())
                .map(|path| absolute(&cwd, path))
                .collect(),
            cwd,
            walked: RwLock::default(),
            walk_ended: AtomicBool::new(false),
            cache: Mutex::default(),
        }
    }

    /// Takes in what the walk reports, as it reports it (before the walk hands on anything
    /// after it).
    pub fn found(&self, found: &Found) {
        match found {
            Found::Repository(dir) => {
                let dir = absolute(&self.cwd, dir).into_os_string();
                self.write().repositories.insert(dir);
            }
            Found::Walked(file) if file.path.file_name().is_some_and(is_name) => {
                let path = absolute(&self.cwd, &file.path).into_os_string();
                self.write().files.insert(path);
            }
            Found::Walked(_) | Found::Named(_) => {}
        }
    }

    /// Every walk of the run has ended: what it met is all there is.
    pub fn walk_ended(&self) {
        self.walk_ended.store(true, Ordering::Release);
    }

    /// Whether a file's check waits for the walk to end (and the file is read only then): an
    /// overlay the walk has yet to meet may pin a file that a kustomization above it builds,
    /// and a file named alone in a walked folder may come before the walk has met what the
    /// folders above it hold. `walked`: the walk handed the file on.
    pub fn waits(&self, file: &Path, walked: bool) -> bool {
        if self.roots.is_empty() || self.walk_ended.load(Ordering::Acquire) {
            return false;
        }
        let manifest = absolute(&self.cwd, file);
        let Some(dir) = manifest.parent() else {
            return false;
        };
        (!walked && self.is_walked(dir)) || self.built_from_above(&manifest)
    }

    /// The [`KustomizePins`] of a file's references: only Kubernetes manifests have any. Of a
    /// file that [`waits`](Self::waits), asked once the walk has ended.
    pub fn pins_for(&self, file: &Path, references: &[Reference]) -> KustomizePins {
        if !references.iter().any(|r| r.kind == FileKind::Kubernetes) {
            return KustomizePins::default();
        }
        let manifest = absolute(&self.cwd, file);
        let Some(dir) = manifest.parent() else {
            return KustomizePins::default();
        };
        if !self.built_from_above(&manifest) {
            return KustomizePins::default();
        }
        let mut pins = Vec::new();
        for file in self.pinning_around(dir).iter() {
            if self.built_by(file).contains(manifest.as_os_str()) {
                let names = self.pinned_by(file);
                pins.extend(names.iter().map(|name| (name.clone(), file.clone())));
            }
        }
        KustomizePins(pins)
    }

    /// Whether `dir` is in a folder the run walks: what the walk meets there is the truth.
    fn is_walked(&self, dir: &Path) -> bool {
        self.roots.iter().any(|root| dir.starts_with(root))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Walked> {
        self.walked
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Walked> {
        self.walked
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `answer` for `path`, worked out once per run: a thread that asks while another works it
    /// out waits for that answer. An answer asks only questions of other kinds (a folder's pins
    /// ask for listings, a listing asks nothing) or about the folder above, so no two threads
    /// wait on each other.
    fn remembered<T: Clone>(
        &self,
        map: fn(&mut Cache) -> &mut PathMap<T>,
        path: &Path,
        answer: impl FnOnce() -> T,
    ) -> T {
        let cell = {
            let mut cache = self
                .cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let cells = map(&mut cache);
            let key = path.as_os_str();
            match cells.get(key) {
                Some(cell) => Arc::clone(cell),
                None => Arc::clone(cells.entry(key.to_owned()).or_default()),
            }
        };
        cell.get_or_init(answer).clone()
    }

    /// The kustomizations in `dir`, above it and below those folders that pin an image, each
    /// once.
    fn pinning_around(&self, dir: &Path) -> Arc<Vec<PathBuf>> {
        self.remembered(
            |c| &mut c.around,
            dir,
            || {
                let mut lists = Vec::new();
                for above in dir.ancestors().take(LEVELS_UP + 1) {
                    lists.push(self.kustomizations_below(above));
                    // Not past the repository's root.
                    if self.is_repository_root(above) {
                        break;
                    }
                }
                let mut seen = FxHashSet::default();
                let files = lists.iter().flat_map(|list| list.iter());
                let pinning = files.filter(|file| {
                    seen.insert(file.as_os_str()) && !self.pinned_by(file).is_empty()
                });
                Arc::new(pinning.cloned().collect())
            },
        )
    }

    /// The image names a kustomization pins: its own and its components'.
    fn pinned_by(&self, file: &Path) -> Arc<Vec<String>> {
        self.remembered(
            |c| &mut c.pinned,
            file,
            || {
                Arc::new(
                    self.parse(file)
                        .map_or_else(Vec::new, |k| self.images_of(&k, &mut Vec::new())),
                )
            },
        )
    }

    /// What `k` builds: the paths it lists, and what the kustomizations of the folders it lists
    /// build.
    fn builds(&self, k: &Kustomization, visited: &mut Vec<PathBuf>, built: &mut Vec<PathBuf>) {
        if visited.contains(&k.dir) || visited.len() > 16 {
            return;
        }
        visited.push(k.dir.clone());
        for include in &k.includes {
            built.push(include.clone());
            if let Some(inner) = self.find_in(include).and_then(|file| self.parse(&file)) {
                self.builds(&inner, visited, built);
            }
        }
    }

    /// The pins of a kustomization and of the components it includes.
    fn images_of(&self, k: &Kustomization, visited: &mut Vec<PathBuf>) -> Vec<String> {
        if visited.contains(&k.dir) || visited.len() > 16 {
            return Vec::new();
        }
        visited.push(k.dir.clone());
        let mut names = k.pins.clone();
        for include in &k.includes {
            if let Some(component) = self.find_in(include).and_then(|f| self.parse(&f))
                && component.component
            {
                names.extend(self.images_of(&component, visited));
            }
        }
        names
    }

    /// Whether a kustomization in the manifest's folder or above it, up to the repository's
    /// root, builds it.
    fn built_from_above(&self, manifest: &Path) -> bool {
        manifest.parent().is_some_and(|dir| {
            self.kustomizations_above(dir)
                .iter()
                .any(|file| self.built_by(file).contains(manifest.as_os_str()))
        })
    }

    /// The kustomizations of `dir` and of the folders above it, up to the repository's root.
    fn kustomizations_above(&self, dir: &Path) -> Arc<Vec<PathBuf>> {
        self.remembered(
            |c| &mut c.above,
            dir,
            || {
                let mut found: Vec<PathBuf> = self.kustomization_of(dir).into_iter().collect();
                if let Some(parent) = dir.parent().filter(|_| !self.is_repository_root(dir)) {
                    found.extend(self.kustomizations_above(parent).iter().cloned());
                }
                Arc::new(found)
            },
        )
    }

    /// Every file a kustomization builds.
    fn built_by(&self, file: &Path) -> Arc<FxHashSet<OsString>> {
        self.remembered(
            |c| &mut c.built,
            file,
            || {
                let mut built = Vec::new();
                if let Some(k) = self.parse(file) {
                    self.builds(&k, &mut Vec::new(), &mut built);
                }
                Arc::new(built.into_iter().map(PathBuf::into_os_string).collect())
            },
        )
    }

    fn is_repository_root(&self, dir: &Path) -> bool {
        if self.is_walked(dir) {
            return self.read().repositories.contains(dir.as_os_str());
        }
        self.listing(dir).repository_root
    }

    /// The kustomization a folder holds, as discovery sees it: the walk's in a walked folder.
    fn kustomization_of(&self, dir: &Path) -> Option<PathBuf> {
        if !self.is_walked(dir) {
            return self.find_in(dir);
        }
        let walked = self.read();
        NAMES
            .iter()
            .map(|name| dir.join(name))
            .find(|file| walked.files.contains(file.as_os_str()))
    }

    /// The kustomization file of a folder: the first of [`NAMES`] it holds, as kustomize takes
    /// it (read from the folder: a kustomization's `resources` name it).
    fn find_in(&self, dir: &Path) -> Option<PathBuf> {
        let listing = self.listing(dir);
        NAMES.iter().find_map(|name| {
            listing
                .kustomizations
                .iter()
                .find(|file| file.file_name().is_some_and(|n| n == *name))
                .cloned()
        })
    }

    /// Kustomization files in `dir` and up to [`DEPTH`] folders below it.
    fn kustomizations_below(&self, dir: &Path) -> Arc<Vec<PathBuf>> {
        self.remembered(
            |c| &mut c.below,
            dir,
            || {
                let mut found = Vec::new();
                self.find_below(dir, 1, &mut found);
                found.sort();
                Arc::new(found)
            },
        )
    }

    /// The kustomizations at most [`DEPTH`] levels below `dir` (entries of `dir` are level 1),
    /// hidden folders left out.
    fn find_below(&self, dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
        if self.is_walked(dir) {
            found.extend(self.walked_below(dir, DEPTH + 1 - depth));
            return;
        }
        let listing = self.listing(dir);
        found.extend(listing.kustomizations.iter().cloned());
        if depth < DEPTH {
            for folder in &listing.folders {
                self.find_below(folder, depth + 1, found);
            }
        }
    }

    /// The walked kustomizations at most `levels` below `dir`, not in hidden folders.
    fn walked_below(&self, dir: &Path, levels: usize) -> Vec<PathBuf> {
        let mut prefix = dir.as_os_str().to_owned();
        prefix.push(std::path::MAIN_SEPARATOR_STR);
        let walked = self.read();
        let start = std::ops::Bound::Included(prefix.as_os_str());
        walked
            .files
            .range::<OsStr, _>((start, std::ops::Bound::Unbounded))
            .take_while(|file| {
                file.as_encoded_bytes()
                    .starts_with(prefix.as_encoded_bytes())
            })
            .filter(|file| {
                let below = &file.as_encoded_bytes()[prefix.len()..];
                let mut folders = below
                    .split(|&b| b == std::path::MAIN_SEPARATOR as u8)
                    .rev()
                    .skip(1);
                folders.clone().count() < levels && !folders.any(|f| f.starts_with(b"."))
            })
            .map(PathBuf::from)
            .collect()
    }

    /// A folder's [`Listing`], read once however many questions are asked about it.
    fn listing(&self, dir: &Path) -> Arc<Listing> {
        self.remembered(|c| &mut c.listed, dir, || Arc::new(Listing::read(dir)))
    }

    fn parse(&self, file: &Path) -> Option<Arc<Kustomization>> {
        self.remembered(|c| &mut c.parsed, file, || read(file).map(Arc::new))
    }
}

/// What this module needs of a folder's entries.
#[derive(Default)]
struct Listing {
    kustomizations: Vec<PathBuf>,
    /// Not hidden.
    folders: Vec<PathBuf>,
    /// It holds `.git`.
    repository_root: bool,
}

impl Listing {
    /// Kinds come from the entry types (a linked kustomization's from what it names; linked
    /// folders are not looked into), so no other file is opened or stat-ed.
    fn read(dir: &Path) -> Listing {
        let mut listing = Listing::default();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name == ".git" {
                listing.repository_root = true;
                continue;
            }
            let kustomization = NAMES.contains(&name);
            let folder = !name.starts_with('.');
            if !kustomization && !folder {
                continue;
            }
            let Ok(mut kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() && kustomization {
                match std::fs::metadata(entry.path()) {
                    Ok(meta) => kind = meta.file_type(),
                    Err(_) => continue,
                }
            }
            if kind.is_file() && kustomization {
                listing.kustomizations.push(entry.path());
            } else if kind.is_dir() && folder {
                listing.folders.push(entry.path());
            }
        }
        listing
    }
}

/// Whether a file name is one kustomize reads.
fn is_name(name: &OsStr) -> bool {
    NAMES.iter().any(|n| name == *n)
}

fn read(file: &Path) -> Option<Kustomization> {
    let text = std::fs::read_to_string(file).ok()?;
    let stream = Stream::parse(&text).ok()?;
    let root = stream.documents.first()?.root;
    let dir = file.parent()?.to_path_buf();
    let mut k = Kustomization {
        dir: dir.clone(),
        component: stream.get(root, "kind").and_then(|id| stream.scalar(id)) == Some("Component"),
        ..Kustomization::default()
    };
    for key in ["resources", "bases", "components"] {
        if let Some(list) = stream.get(root, key) {
            k.includes.extend(
                stream
                    .items(list)
                    .iter()
                    .filter_map(|&id| stream.scalar(id))
                    .filter(|r| !r.contains("://"))
                    .map(|r| absolute(&dir, Path::new(r))),
            );
        }
    }
    if let Some(images) = stream.get(root, "images") {
        for &entry in stream.items(images) {
            let set = |key: &str| {
                stream
                    .get(entry, key)
                    .and_then(|id| stream.scalar(id))
                    .is_some_and(|v| !v.is_empty())
            };
            let name = stream.get(entry, "name").and_then(|id| stream.scalar(id));
            if let Some(name) = name.filter(|_| set("newTag") || set("digest")) {
                k.pins.push(name.to_string());
            }
        }
    }
    Some(k)
}

/// The name of an image reference as kustomize matches it: the text before the tag or digest.
fn image_name(reference: &str) -> &str {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_as_kustomize_matches_them() {
        for (reference, name) in [
            ("nginx", "nginx"),
            ("nginx:1.27", "nginx"),
            ("localhost:5000/app:v1@sha256:abc", "localhost:5000/app"),
            ("localhost:5000/app", "localhost:5000/app"),
        ] {
            assert_eq!(super::image_name(reference), name);
        }
    }
}
