//! Kustomizations: `images:` entries that set `newTag` or `digest` (an entry that only renames
//! an image pins nothing, so it is no reference).
//!
//! Such an entry is where the pin lives for every manifest the kustomization builds: the
//! `image:` written in a base (or in a custom resource the `images` transformer changes) is
//! replaced at build time (<https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/images/>).
//! [`Overrides`] finds, for one manifest, the kustomizations in its folder, above it, and in
//! overlays beside it that list it (directly, or through the folders they list under
//! `resources`), and the image names they pin.
//!
//! Kustomize loads a file only from its kustomization's folder or below (the default load
//! restrictor, <https://kubectl.docs.kubernetes.io/faq/#security-file-foo-is-not-in-or-below-bar>),
//! so whatever builds a manifest goes through a kustomization in a folder above it: a manifest
//! with none there is left without a look at the folders around it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::{Doc, FileKind, Reference};
use crate::source::absolute;
use crate::yaml::{NodeId, Stream};

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): `images`.
pub(super) const WORDS: [&str; 1] = ["image"];

pub(super) fn scan(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    let stream = doc.stream;
    if !stream.is_mapping(root) {
        return;
    }
    let Some(images) = stream.get(root, "images") else {
        return;
    };
    for (i, &entry) in stream.items(images).iter().enumerate() {
        let field = |key: &str| {
            stream
                .get(entry, key)
                .filter(|&id| stream.scalar(id).is_some_and(|v| !v.is_empty()))
        };
        let (new_tag, digest) = (field("newTag"), field("digest"));
        if new_tag.is_none() && digest.is_none() {
            continue;
        }
        let (key, name) = match (field("newName"), field("name")) {
            (Some(new_name), _) => ("newName", new_name),
            (None, Some(name)) => ("name", name),
            (None, None) => continue,
        };
        let parts: Vec<(&str, NodeId)> = [("", Some(name)), (":", new_tag), ("@", digest)]
            .into_iter()
            .filter_map(|(sep, id)| Some((sep, id?)))
            .collect();
        out.extend(doc.assembled(
            FileKind::Kustomize,
            name,
            format!("images[{i}].{key}"),
            &parts,
        ));
    }
}

/// How far above a manifest kustomizations are looked for, and how deep below each of those
/// folders overlays are: the usual `base/` and `overlays/<env>/` layouts, with room to spare.
const LEVELS_UP: usize = 3;
const DEPTH: usize = 3;
const NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

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

/// Parsed kustomizations and folder walks, shared by every file of a run.
#[derive(Default)]
struct Cache {
    parsed: HashMap<PathBuf, Option<Arc<Kustomization>>>,
    below: HashMap<PathBuf, Arc<Vec<PathBuf>>>,
    listed: HashMap<PathBuf, Arc<Listing>>,
    /// [`find_in`]'s answers: every manifest asks about the same folders (three stats each).
    found: HashMap<PathBuf, Option<PathBuf>>,
    roots: HashMap<PathBuf, bool>,
    /// [`has_kustomization_above`]'s answers.
    above: HashMap<PathBuf, bool>,
    effects: HashMap<PathBuf, Option<Arc<Effect>>>,
    /// [`Pins`] of the manifests of a folder, made once for all of them.
    around: HashMap<PathBuf, Arc<Pins>>,
}

/// For each file a kustomization builds, the image names it pins there, with the
/// kustomization that pins each.
type Pins = HashMap<PathBuf, Vec<(String, PathBuf)>>;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The image names pinned by kustomizations that build a manifest, with the kustomization
/// that pins each.
pub(super) fn overrides(manifest: &Path) -> Vec<(String, PathBuf)> {
    let manifest = absolute(cwd(), manifest);
    let Some(dir) = manifest.parent() else {
        return Vec::new();
    };
    pins_around(dir).get(&manifest).cloned().unwrap_or_default()
}

/// The [`Pins`] of the kustomizations in `dir`, above it and below those folders.
fn pins_around(dir: &Path) -> Arc<Pins> {
    if let Some(pins) = cache().lock().ok().and_then(|c| c.around.get(dir).cloned()) {
        return pins;
    }
    let mut pins = Pins::new();
    if has_kustomization_above(dir) {
        let mut lists = Vec::new();
        for above in dir.ancestors().take(LEVELS_UP + 1) {
            lists.push(kustomizations_below(above));
            // Not past the repository's root.
            if is_repository_root(above) {
                break;
            }
        }
        let mut seen = HashSet::new();
        for file in lists.iter().flat_map(|list| list.iter()) {
            if !seen.insert(file) {
                continue;
            }
            let Some(effect) = effect(file) else { continue };
            for target in &effect.built {
                let entry = pins.entry(target.clone()).or_default();
                entry.extend(effect.names.iter().map(|name| (name.clone(), file.clone())));
            }
        }
    }
    let pins = Arc::new(pins);
    if let Ok(mut c) = cache().lock() {
        c.around.insert(dir.to_path_buf(), pins.clone());
    }
    pins
}

/// What a kustomization does: the image names it pins (its own and its components') and
/// every file it builds (none when it pins nothing).
struct Effect {
    names: Vec<String>,
    built: Vec<PathBuf>,
}

fn effect(file: &Path) -> Option<Arc<Effect>> {
    if let Some(effect) = cache()
        .lock()
        .ok()
        .and_then(|c| c.effects.get(file).cloned())
    {
        return effect;
    }
    let effect = parse(file).map(|k| {
        let names = images_of(&k, &mut Vec::new());
        let mut built = Vec::new();
        if !names.is_empty() {
            builds(&k, &mut Vec::new(), &mut built);
            built.sort_unstable();
            built.dedup();
        }
        Arc::new(Effect { names, built })
    });
    if let Ok(mut c) = cache().lock() {
        c.effects.insert(file.to_path_buf(), effect.clone());
    }
    effect
}

/// What `k` builds: the paths it lists, and what the kustomizations of the folders it lists
/// build.
fn builds(k: &Kustomization, visited: &mut Vec<PathBuf>, built: &mut Vec<PathBuf>) {
    if visited.contains(&k.dir) || visited.len() > 16 {
        return;
    }
    visited.push(k.dir.clone());
    for include in &k.includes {
        built.push(include.clone());
        if let Some(inner) = find_in(include).and_then(|file| parse(&file)) {
            builds(&inner, visited, built);
        }
    }
}

/// The pins of a kustomization and of the components it includes.
fn images_of(k: &Kustomization, visited: &mut Vec<PathBuf>) -> Vec<String> {
    if visited.contains(&k.dir) || visited.len() > 16 {
        return Vec::new();
    }
    visited.push(k.dir.clone());
    let mut names = k.pins.clone();
    for include in &k.includes {
        if let Some(component) = find_in(include).and_then(|f| parse(&f))
            && component.component
        {
            names.extend(images_of(&component, visited));
        }
    }
    names
}

/// Whether `dir` or a folder above it, up to the repository's root, has a kustomization.
fn has_kustomization_above(dir: &Path) -> bool {
    if let Some(known) = cache().lock().ok().and_then(|c| c.above.get(dir).copied()) {
        return known;
    }
    let has = find_in(dir).is_some()
        || (!is_repository_root(dir) && dir.parent().is_some_and(has_kustomization_above));
    if let Ok(mut c) = cache().lock() {
        c.above.insert(dir.to_path_buf(), has);
    }
    has
}

fn is_repository_root(dir: &Path) -> bool {
    if let Some(root) = cache().lock().ok().and_then(|c| c.roots.get(dir).copied()) {
        return root;
    }
    let root = dir.join(".git").exists();
    if let Ok(mut c) = cache().lock() {
        c.roots.insert(dir.to_path_buf(), root);
    }
    root
}

/// The kustomization file of a folder.
fn find_in(dir: &Path) -> Option<PathBuf> {
    if let Some(found) = cache().lock().ok().and_then(|c| c.found.get(dir).cloned()) {
        return found;
    }
    let found = NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file());
    if let Ok(mut c) = cache().lock() {
        c.found.insert(dir.to_path_buf(), found.clone());
    }
    found
}

/// Kustomization files in `dir` and up to [`DEPTH`] folders below it.
fn kustomizations_below(dir: &Path) -> Arc<Vec<PathBuf>> {
    if let Some(found) = cache().lock().ok().and_then(|c| c.below.get(dir).cloned()) {
        return found;
    }
    let mut found = Vec::new();
    find_below(dir, 1, &mut found);
    found.sort();
    let found = Arc::new(found);
    if let Ok(mut c) = cache().lock() {
        c.below.insert(dir.to_path_buf(), found.clone());
    }
    found
}

/// The kustomizations at most [`DEPTH`] levels below `dir` (entries of `dir` are level 1),
/// hidden folders left out.
fn find_below(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let listing = listing(dir);
    found.extend(listing.kustomizations.iter().cloned());
    if depth < DEPTH {
        for folder in &listing.folders {
            find_below(folder, depth + 1, found);
        }
    }
}

/// What [`find_below`] needs of a folder's entries.
#[derive(Default)]
struct Listing {
    kustomizations: Vec<PathBuf>,
    /// Not hidden.
    folders: Vec<PathBuf>,
}

/// A folder's [`Listing`], read once however many of its parents are looked below. Names come
/// from the listing and kinds from its entry types, so no file is opened or stat-ed.
fn listing(dir: &Path) -> Arc<Listing> {
    if let Some(listing) = cache().lock().ok().and_then(|c| c.listed.get(dir).cloned()) {
        return listing;
    }
    let mut listing = Listing::default();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_file() && NAMES.contains(&name) {
            listing.kustomizations.push(entry.path());
        } else if kind.is_dir() && !name.starts_with('.') {
            listing.folders.push(entry.path());
        }
    }
    let listing = Arc::new(listing);
    if let Ok(mut c) = cache().lock() {
        c.listed.insert(dir.to_path_buf(), listing.clone());
    }
    listing
}

fn parse(file: &Path) -> Option<Arc<Kustomization>> {
    if let Some(parsed) = cache()
        .lock()
        .ok()
        .and_then(|c| c.parsed.get(file).cloned())
    {
        return parsed;
    }
    let parsed = read(file).map(Arc::new);
    if let Ok(mut c) = cache().lock() {
        c.parsed.insert(file.to_path_buf(), parsed.clone());
    }
    parsed
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

/// The working folder, read once: every manifest's path is made absolute against it.
fn cwd() -> &'static Path {
    static CWD: OnceLock<PathBuf> = OnceLock::new();
    CWD.get_or_init(|| std::env::current_dir().unwrap_or_default())
}

/// The name of an image reference as kustomize matches it: the text before the tag or digest.
pub(super) fn image_name(reference: &str) -> &str {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    }
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

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

    #[test]
    fn entries_with_tags_or_digests() {
        let text = "\
images:
- name: kestra/kestra
  newTag: latest
- name: postgres
  newName: my.registry/postgres
  newTag: \"16\"
- name: nginx
  newName: my.registry/nginx
- name: redis
  digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3
";
        let refs = scan_named("kustomization.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "kestra/kestra:latest",
                "my.registry/postgres:16",
                "redis@sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"
            ]
        );
        assert_eq!(&text[refs[0].value.span_of(14..20).unwrap()], "latest");
        assert_eq!(refs[1].context, "images[1].newName");
    }
}
