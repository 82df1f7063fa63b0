//! Scanners: one per file kind, each turning a file's text into the image references it holds,
//! with the exact bytes every part came from.
//!
//! A reference's text is often assembled: a compose default inside `${VAR:-…}`, a Dockerfile
//! `ARG` default, Helm's `repository` and `tag` keys. [`Value`] keeps the evaluated text together
//! with where each piece of it sits in the file, so a finding can point at the tag wherever it
//! was written, and a fix can rewrite exactly those bytes.

mod compose;
mod dockerfile;
mod flow;
mod helm;
pub mod interpolate;
mod kubernetes;
mod kustomize;
mod plugins;

use std::ops::Range;
use std::path::Path;

use serde::Serialize;

use crate::source::{SourceFile, Span};
use crate::yaml::{NodeId, Stream, SyntaxError};
use interpolate::{Syntax, interpolate};
use std::collections::HashSet;

/// The kinds of files tagpin reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Compose,
    Kubernetes,
    Helm,
    Kustomize,
    Dockerfile,
    Flow,
    /// A shell script (`*.sh`): only its `kestra plugins install` commands.
    Shell,
    /// Kestra's own configuration (`application.yml`): plugin settings.
    Config,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Compose => "compose",
            FileKind::Kubernetes => "kubernetes",
            FileKind::Helm => "helm",
            FileKind::Kustomize => "kustomize",
            FileKind::Dockerfile => "dockerfile",
            FileKind::Flow => "flow",
            FileKind::Shell => "shell",
            FileKind::Config => "config",
        }
    }
}

/// Text evaluated from a file, with the file offset of each piece that was copied verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    range: Range<usize>,
    /// Byte offset in the file of the piece's first byte; `None` when the text is not in the
    /// file as such (an escaped scalar, a `:` joining Helm keys).
    origin: Option<usize>,
}

impl Value {
    /// Text that appears byte for byte in the file at `at`.
    pub fn verbatim(text: &str, at: usize) -> Self {
        let mut value = Value::default();
        value.push(text, Some(at));
        value
    }

    /// Text that was computed, not copied.
    pub fn synthetic(text: &str) -> Self {
        let mut value = Value::default();
        value.push(text, None);
        value
    }

    pub fn push(&mut self, text: &str, origin: Option<usize>) {
        if text.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.pieces.push(Piece {
            range: start..self.text.len(),
            origin,
        });
    }

    pub fn append(&mut self, other: &Value) {
        for piece in &other.pieces {
            self.push(&other.text[piece.range.clone()], piece.origin);
        }
    }

    /// Where a range of the text sits in the file, if it was copied from one place.
    pub fn span_of(&self, range: Range<usize>) -> Option<Span> {
        if range.is_empty() {
            // An empty range (e.g. where a missing tag would go) sits at the end of a piece.
            let piece = self
                .pieces
                .iter()
                .find(|p| p.range.start < range.start && range.start <= p.range.end)?;
            let at = piece.origin? + range.start - piece.range.start;
            return Some(at..at);
        }
        let piece = self
            .pieces
            .iter()
            .find(|p| p.range.start <= range.start && range.end <= p.range.end)?;
        let at = piece.origin? + range.start - piece.range.start;
        Some(at..at + range.len())
    }
}

/// A variable with no default: the reference cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub span: Span,
}

/// One image reference found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: FileKind,
    /// The value as written: the scalar, or the operand of `FROM`.
    pub span: Span,
    /// The reference after evaluation (defaults, `ARG`s, Helm keys joined).
    pub value: Value,
    /// Where in the document it was found, e.g. `services.web.image`.
    pub context: String,
    /// A variable that has no default, if any.
    pub unresolved: Option<Variable>,
    /// A Helm tag left empty: the chart renders its `appVersion`, which the chart version pins.
    pub chart_tag: bool,
}

impl Reference {
    pub fn new(kind: FileKind, span: Span, value: Value, context: String) -> Self {
        Self {
            kind,
            span,
            value,
            context,
            unresolved: None,
            chart_tag: false,
        }
    }
}

/// A Kestra plugin version as written: installed by a command, asked for by a flow, or set
/// for every flow by Kestra's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    pub kind: FileKind,
    /// The version's bytes, or the coordinate's when there is no version.
    pub span: Span,
    /// The bytes a pin replaces (the version, or the empty span after a coordinate without
    /// one), when the file holds them verbatim.
    pub target: Option<Span>,
    /// As written: `group:artifact[:version]`, a task's `type`, a configuration key, a URL.
    pub coordinate: String,
    /// The Maven `group:artifact`, when known.
    pub artifact: Option<String>,
    pub version: Option<String>,
    pub place: Place,
    /// The span of the Kestra image reference the plugin is installed into (the Dockerfile
    /// stage's `FROM`, the compose service's `image`).
    pub image: Option<Span>,
}

/// Where a plugin version is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `kestra plugins install group:artifact[:version]`.
    Install,
    /// A flow task's, trigger's or `pluginDefaults` entry's `version:`.
    Task,
    /// `kestra.plugins.management.defaultVersion`.
    DefaultVersion,
    /// A `kestra.plugins.repositories` entry that serves snapshots.
    SnapshotRepository,
}

/// What scanning one file gave.
#[derive(Debug, Default)]
pub struct Scan {
    pub references: Vec<Reference>,
    pub plugins: Vec<Plugin>,
    /// Why the file was passed over on purpose (a Helm template), for `--verbose`.
    pub skipped: Option<String>,
}

/// A problem that kept tagpin from reading a file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl From<SyntaxError> for ScanError {
    fn from(e: SyntaxError) -> Self {
        ScanError {
            line: Some(e.line),
            column: Some(e.column),
            message: format!("invalid YAML: {}", e.message),
        }
    }
}

/// What a file's name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The name decides the kind.
    Known(FileKind),
    /// A YAML file whose content decides: a document with `apiVersion` and `kind`, a top-level
    /// `services:` of mappings, or a Kestra flow.
    Yaml,
    /// A file under a Helm chart's `templates/`: Go templates, not YAML.
    HelmTemplate,
}

/// The kind of a file from its path, or `None` when tagpin does not read such files.
pub fn classify(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    if lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.starts_with("containerfile.")
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
    {
        return Some(Kind::Known(FileKind::Dockerfile));
    }
    if lower.ends_with(".sh") {
        return Some(Kind::Known(FileKind::Shell));
    }
    if name == "Kustomization" {
        return Some(Kind::Known(FileKind::Kustomize));
    }
    let stem = lower
        .strip_suffix(".yaml")
        .or_else(|| lower.strip_suffix(".yml"))?;
    if stem == "kustomization" {
        return Some(Kind::Known(FileKind::Kustomize));
    }
    if stem == "chart" {
        return None;
    }
    if in_chart_templates(path) {
        return Some(Kind::HelmTemplate);
    }
    if stem == "compose"
        || stem.starts_with("compose.")
        || stem.starts_with("docker-compose")
        || stem.ends_with(".compose")
    {
        return Some(Kind::Known(FileKind::Compose));
    }
    if stem.starts_with("values") || stem.ends_with("-values") || beside_chart(path) {
        return Some(Kind::Known(FileKind::Helm));
    }
    Some(Kind::Yaml)
}

fn beside_chart(path: &Path) -> bool {
    path.parent()
        .is_some_and(|dir| dir.join("Chart.yaml").is_file() || dir.join("Chart.yml").is_file())
}

/// A folder named `templates` that is a chart's (a `Chart.yaml` beside it), at any depth.
fn in_chart_templates(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .filter(|dir| dir.file_name().is_some_and(|n| n == "templates"))
        .any(|dir| dir.parent().is_some_and(beside_chart))
}

/// Go template actions where YAML structure would be: what a Helm template looks like.
fn looks_like_template(text: &str) -> bool {
    text.contains("{{")
}

/// Scan one file whose kind was classified from its name.
pub fn scan(file: &SourceFile, kind: Kind) -> Result<Scan, ScanError> {
    let text = file.text.as_str();
    match kind {
        Kind::HelmTemplate => Ok(skipped(
            "Helm template (Go template syntax, rendered by Helm)",
        )),
        Kind::Known(FileKind::Dockerfile) => {
            let (references, plugins) = dockerfile::scan(text);
            Ok(Scan {
                references,
                plugins,
                skipped: None,
            })
        }
        Kind::Known(FileKind::Shell) => Ok(Scan {
            plugins: plugins::scan_shell(text),
            ..Scan::default()
        }),
        Kind::Yaml if looks_like_template(text) && under_templates_folder(&file.path) => Ok(
            skipped("Helm template (Go template syntax, rendered by Helm)"),
        ),
        Kind::Known(kind) => scan_yaml(file, Some(kind)),
        Kind::Yaml => scan_yaml(file, None),
    }
}

fn skipped(why: &str) -> Scan {
    Scan {
        skipped: Some(why.to_string()),
        ..Scan::default()
    }
}

fn scan_yaml(file: &SourceFile, kind: Option<FileKind>) -> Result<Scan, ScanError> {
    let text = file.text.as_str();
    let stream = match Stream::parse(text) {
        Ok(stream) => stream,
        Err(e) if looks_like_template(text) => {
            return Err(ScanError {
                message: format!(
                    "invalid YAML: {} (the file has `{{{{ }}}}`: if it is a template, exclude it)",
                    e.message
                ),
                ..e.into()
            });
        }
        Err(e) => return Err(e.into()),
    };
    let mut references = Vec::new();
    let mut found = Vec::new();
    for document in &stream.documents {
        let root = document.root;
        let doc = Doc {
            stream: &stream,
            text,
        };
        match kind {
            Some(FileKind::Compose) => compose::scan(&doc, root, &mut references),
            Some(FileKind::Helm) => helm::scan(&doc, root, &mut references),
            Some(FileKind::Kustomize) => kustomize::scan(&doc, root, &mut references),
            Some(FileKind::Kubernetes)
            | Some(FileKind::Flow)
            | Some(FileKind::Dockerfile)
            | Some(FileKind::Shell)
            | Some(FileKind::Config)
            | None => {
                if kubernetes::is_manifest(&doc, root) {
                    kubernetes::scan(&doc, root, &mut references);
                } else if compose::is_compose(&doc, root) {
                    compose::scan(&doc, root, &mut references);
                } else if flow::is_flow(&doc, root) {
                    flow::scan(&doc, root, &mut references);
                }
            }
        }
        plugins::scan_yaml(&doc, root, kind, &mut found);
    }
    dedupe(&mut references);
    Ok(Scan {
        references,
        plugins: found,
        ..Scan::default()
    })
}

/// Helm templates copied out of their chart still sit under `templates/` or say so in their name.
fn under_templates_folder(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .any(|dir| dir.file_name().is_some_and(|n| n == "templates"))
        || path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains("templates"))
}

/// A value reached twice (an anchor used by two services) is one reference.
fn dedupe(references: &mut Vec<Reference>) {
    references.sort_by_key(|r| (r.span.start, r.span.end));
    references.dedup_by(|a, b| a.span == b.span && a.value == b.value);
}

/// A YAML document and the text it came from, with the helpers every YAML scanner needs.
pub(crate) struct Doc<'a> {
    pub stream: &'a Stream,
    pub text: &'a str,
}

impl Doc<'_> {
    /// A scalar as a [`Value`]: verbatim when the file holds it as such.
    pub fn value(&self, id: NodeId) -> Option<Value> {
        let text = self.stream.scalar(id)?;
        Some(match self.stream.verbatim_span(id, self.text) {
            Some(span) => Value::verbatim(text, span.start),
            None => Value::synthetic(text),
        })
    }

    /// A reference from a scalar holding a whole image reference (`image: app:1`).
    pub fn image(&self, kind: FileKind, id: NodeId, context: String) -> Option<Reference> {
        if self.stream.is_null(id) || self.stream.scalar(id)?.trim().is_empty() {
            return None;
        }
        self.assembled(kind, id, context, &[("", id)])
    }

    /// A reference assembled from scalars, each after its separator (Helm's `registry`,
    /// `repository` and `tag` keys), located at `anchor`. `${VAR:-default}` is taken at its
    /// default in every kind of YAML (compose does it, and manifests are often run through
    /// envsubst-like tools); a variable without default or a template expression (`{{ … }}`,
    /// Helm's or Kestra's Pebble) leaves the reference unresolved.
    pub fn assembled(
        &self,
        kind: FileKind,
        anchor: NodeId,
        context: String,
        parts: &[(&str, NodeId)],
    ) -> Option<Reference> {
        let mut raw = Value::default();
        let mut evaluated = Ok(Value::default());
        for &(separator, id) in parts {
            let part = self.value(id)?;
            raw.push(separator, None);
            raw.append(&part);
            let at = part.span_of(0..part.text.len()).map(|s| s.start);
            let span = self.stream.node(id).span.clone();
            let value = interpolate(&part.text, at, Syntax::Compose, &|_| None)
                .and_then(|value| template_expression(&part, &span).map_or(Ok(value), Err));
            evaluated = evaluated.and_then(|mut whole: Value| {
                whole.push(separator, None);
                whole.append(&value?);
                Ok(whole)
            });
        }
        let mut reference =
            Reference::new(kind, self.stream.node(anchor).span.clone(), raw, context);
        match evaluated {
            Ok(value) => reference.value = value,
            Err(variable) => reference.unresolved = Some(variable),
        }
        Some(reference)
    }

    /// The mappings of a document, each once; the dotted path that reached each is built
    /// only when a reference needs it.
    pub fn mappings(&self, root: NodeId) -> Mappings {
        let mut mappings = Mappings {
            frames: Vec::new(),
            found: Vec::new(),
        };
        let mut seen = HashSet::new();
        self.collect_mappings(root, None, Step::Root, &mut seen, &mut mappings);
        mappings
    }

    fn collect_mappings(
        &self,
        id: NodeId,
        parent: Option<usize>,
        step: Step,
        seen: &mut HashSet<NodeId>,
        out: &mut Mappings,
    ) {
        let mapping = self.stream.is_mapping(id);
        if (!mapping && self.stream.items(id).is_empty()) || !seen.insert(id) {
            return;
        }
        let frame = out.frames.len();
        out.frames.push(Frame { parent, step });
        if mapping {
            for (key, value) in self.stream.entries(id) {
                self.collect_mappings(value, Some(frame), Step::Key(key), seen, out);
            }
            out.found.push((frame, id));
        } else {
            for (i, &item) in self.stream.items(id).iter().enumerate() {
                self.collect_mappings(item, Some(frame), Step::Index(i), seen, out);
            }
        }
    }
}

/// Every mapping of a document with the frame (path step) that reached it.
pub(crate) struct Mappings {
    frames: Vec<Frame>,
    pub found: Vec<(usize, NodeId)>,
}

struct Frame {
    parent: Option<usize>,
    step: Step,
}

enum Step {
    Root,
    Key(NodeId),
    Index(usize),
}

impl Mappings {
    /// `spec.template.spec.containers[0]` for a frame.
    pub fn path(&self, doc: &Doc<'_>, frame: usize) -> String {
        let mut steps = Vec::new();
        let mut at = Some(frame);
        while let Some(i) = at {
            steps.push(&self.frames[i].step);
            at = self.frames[i].parent;
        }
        let mut path = String::new();
        for step in steps.into_iter().rev() {
            match step {
                Step::Root => {}
                Step::Key(key) => path = join(&path, doc.stream.scalar(*key).unwrap_or("?")),
                Step::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        path
    }

    /// The key that reached a frame, if a key did.
    pub fn key<'d>(&self, doc: &Doc<'d>, frame: usize) -> Option<&'d str> {
        match self.frames[frame].step {
            Step::Key(key) => doc.stream.scalar(key),
            _ => None,
        }
    }
}

/// `a.b` from `a` and `b`; the root's children have no leading dot.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The first `{{ … }}` in a value: a template the file's consumer renders, not an image.
fn template_expression(value: &Value, span: &Span) -> Option<Variable> {
    let start = value.text.find("{{")?;
    let end = value.text[start..]
        .find("}}")
        .map_or(value.text.len(), |e| start + e + 2);
    let name = value.text[start..end]
        .trim_matches(['{', '}', ' '])
        .to_string();
    let span = value.span_of(start..end).unwrap_or_else(|| span.clone());
    Some(Variable { name, span })
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Scan `text` as a file named `name`, returning (evaluated reference, text at its tag span).
    pub fn scan_named(name: &str, text: &str) -> Vec<Reference> {
        let file = SourceFile::new(name.into(), text.to_string());
        let kind = classify(Path::new(name)).expect("a kind");
        scan(&file, kind).expect("scans").references
    }

    pub fn images(references: &[Reference]) -> Vec<&str> {
        references.iter().map(|r| r.value.text.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_the_kind() {
        let cases = [
            ("Dockerfile", Some(Kind::Known(FileKind::Dockerfile))),
            (
                "build/Dockerfile.prod",
                Some(Kind::Known(FileKind::Dockerfile)),
            ),
            ("app.Dockerfile", Some(Kind::Known(FileKind::Dockerfile))),
            ("Containerfile", Some(Kind::Known(FileKind::Dockerfile))),
            ("compose.yaml", Some(Kind::Known(FileKind::Compose))),
            (
                "docker-compose.override.yml",
                Some(Kind::Known(FileKind::Compose)),
            ),
            ("kestra.compose.yml", Some(Kind::Known(FileKind::Compose))),
            ("values.yaml", Some(Kind::Known(FileKind::Helm))),
            ("values-prod.yaml", Some(Kind::Known(FileKind::Helm))),
            ("prod-values.yml", Some(Kind::Known(FileKind::Helm))),
            ("kustomization.yaml", Some(Kind::Known(FileKind::Kustomize))),
            ("Kustomization", Some(Kind::Known(FileKind::Kustomize))),
            ("deploy.yaml", Some(Kind::Yaml)),
            ("Chart.yaml", None),
            ("README.md", None),
        ];
        for (name, expected) in cases {
            assert_eq!(classify(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn value_maps_ranges_back_to_the_file() {
        let mut value = Value::verbatim("kestra/kestra", 10);
        value.push(":", None);
        value.append(&Value::verbatim("latest", 40));
        assert_eq!(value.text, "kestra/kestra:latest");
        assert_eq!(value.span_of(14..20), Some(40..46));
        assert_eq!(value.span_of(0..13), Some(10..23));
        assert_eq!(value.span_of(13..14), None);
        assert_eq!(value.span_of(10..16), None);
        assert_eq!(value.span_of(13..13), Some(23..23));
    }
}
