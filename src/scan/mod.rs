//! Scanners: one per file kind, each turning a file's text into the image references it holds,
//! with the exact bytes every part came from.
//!
//! A reference's text is often assembled: a compose default inside `${VAR:-…}`, a Dockerfile
//! `ARG` default, Helm's `repository` and `tag` keys. [`Value`] keeps the evaluated text together
//! with where each piece of it sits in the file, so a finding can point at the tag wherever it
//! was written, and a fix can rewrite exactly those bytes.

mod ci;
mod compose;
mod dockerfile;
mod env;
mod flow;
mod github;
mod gitlab;
mod helm;
pub mod interpolate;
mod kubernetes;
mod kustomize;
mod plugins;
mod prefilter;

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::reference::{Image, ReferenceError};
use crate::source::{FileError, SourceFile, Span};
use crate::yaml::{NodeId, Stream};
use interpolate::{Syntax, interpolate};
use std::collections::HashSet;

/// The kinds of files tagpin reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Compose,
    Kubernetes,
    Helm,
    Kustomize,
    Dockerfile,
    Flow,
    GithubActions,
    GitlabCi,
    Bitbucket,
    Circleci,
    AzurePipelines,
    Woodpecker,
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
            FileKind::GithubActions => "github-actions",
            FileKind::GitlabCi => "gitlab-ci",
            FileKind::Bitbucket => "bitbucket",
            FileKind::Circleci => "circleci",
            FileKind::AzurePipelines => "azure-pipelines",
            FileKind::Woodpecker => "woodpecker",
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

    /// The part of the value from byte `from` of its text on, pieces keeping their origin.
    pub fn from(&self, from: usize) -> Value {
        self.slice(from..self.text.len())
    }

    /// A range of the value, pieces keeping their origin.
    pub fn slice(&self, range: Range<usize>) -> Value {
        let mut out = Value::default();
        for piece in &self.pieces {
            let start = piece.range.start.max(range.start);
            let end = piece.range.end.min(range.end);
            if start < end {
                let skip = start - piece.range.start;
                out.push(&self.text[start..end], piece.origin.map(|o| o + skip));
            }
        }
        out
    }

    /// The same text with every origin mapped by `f` (`None` makes a piece synthetic).
    pub fn rebase(&self, f: impl Fn(usize) -> Option<usize>) -> Value {
        let mut out = Value::default();
        for piece in &self.pieces {
            out.push(&self.text[piece.range.clone()], piece.origin.and_then(&f));
        }
        out
    }

    /// Where in the file each verbatim piece sits.
    pub fn origins(&self) -> impl Iterator<Item = Span> + '_ {
        self.pieces
            .iter()
            .filter_map(|p| p.origin.map(|o| o..o + p.range.len()))
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
    /// The reference after evaluation (defaults, `ARG`s, Helm keys joined); changed only by
    /// [`Reference::set_value`], which parses it again.
    pub value: Value,
    /// The value parsed as an image reference (the rules and the registry read this).
    pub image: Result<Image, ReferenceError>,
    /// Where in the document it was found, e.g. `services.web.image`.
    pub context: String,
    /// A variable that has no default, if any.
    pub unresolved: Option<Variable>,
    /// A Helm tag left empty: the chart renders its `appVersion`, which the chart version pins.
    pub chart_tag: bool,
    /// The `.env` variables the value took: the `.env` file's own reference is where the
    /// findings are, so this one gives none.
    pub from_env: Vec<String>,
    /// A kustomization whose `images:` pins this image when it builds the manifest.
    pub kustomized: Option<PathBuf>,
}

impl Reference {
    /// Whether the pin lives elsewhere (a chart's `appVersion`, a `.env` value, a
    /// kustomization's `images:`), so this reference gives no finding.
    pub fn pinned_elsewhere(&self) -> bool {
        self.chart_tag || !self.from_env.is_empty() || self.kustomized.is_some()
    }

    pub fn new(kind: FileKind, span: Span, value: Value, context: String) -> Self {
        Self {
            kind,
            span,
            image: Image::parse(&value.text),
            value,
            context,
            unresolved: None,
            chart_tag: false,
            from_env: Vec::new(),
            kustomized: None,
        }
    }

    /// Replace the evaluated value, and its parse.
    pub fn set_value(&mut self, value: Value) {
        self.image = Image::parse(&value.text);
        self.value = value;
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
    /// The kind the file was read as: its name's, or the one its content showed (a YAML file
    /// can show none).
    pub kind: Option<FileKind>,
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
    /// JSON: read when it is a Kubernetes manifest.
    Json,
    /// A `.env` file: the values compose files beside it interpolate.
    Env,
    /// A file named on the command line whose name says nothing: its content decides.
    Unnamed,
}

/// The kind of a file from its path, or `None` when tagpin does not read such files.
///
/// Names follow the tools that read the files, and Renovate's managers for them
/// (`fileMatch` in lib/modules/manager/*/index.ts).
pub fn classify(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    if is_dockerfile_name(&lower) {
        return Some(Kind::Known(FileKind::Dockerfile));
    }
    if lower.ends_with(".sh") {
        return Some(Kind::Known(FileKind::Shell));
    }
    if name == "Kustomization" {
        return Some(Kind::Known(FileKind::Kustomize));
    }
    if lower == ".env" {
        return Some(Kind::Env);
    }
    if lower.ends_with(".json") {
        return Some(Kind::Json);
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
    if let Some(kind) = ci_kind(path, stem) {
        return Some(Kind::Known(kind));
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

/// `Dockerfile`, `Dockerfile.prod`, `Dockerfile-dev`, `app.dockerfile` and the same with
/// `Containerfile`; not their `.dockerignore` files.
fn is_dockerfile_name(lower: &str) -> bool {
    ["dockerfile", "containerfile"].iter().any(|base| {
        lower.ends_with(&format!(".{base}"))
            || lower.strip_prefix(base).is_some_and(|rest| {
                rest.is_empty()
                    || (rest.starts_with(['.', '-', '_'])
                        && !rest.ends_with("ignore")
                        && !rest.ends_with(".md"))
            })
    })
}

/// CI configuration, by the names each service reads.
fn ci_kind(path: &Path, stem: &str) -> Option<FileKind> {
    let folder = |n: usize| {
        path.ancestors()
            .nth(n)
            .and_then(|dir| dir.file_name())
            .and_then(|dir| dir.to_str())
    };
    Some(match stem {
        _ if folder(1) == Some("workflows") && folder(2) == Some(".github") => {
            FileKind::GithubActions
        }
        "action" => FileKind::GithubActions,
        _ if stem == ".gitlab-ci" || stem.ends_with(".gitlab-ci") => FileKind::GitlabCi,
        _ if folder(1) == Some(".gitlab-ci") => FileKind::GitlabCi,
        "bitbucket-pipelines" => FileKind::Bitbucket,
        "config" if folder(1) == Some(".circleci") => FileKind::Circleci,
        _ if is_azure_pipelines(path) => FileKind::AzurePipelines,
        ".woodpecker" | ".drone" => FileKind::Woodpecker,
        _ if folder(1) == Some(".woodpecker") => FileKind::Woodpecker,
        _ => return None,
    })
}

/// Renovate's patterns for Azure Pipelines: any YAML under `.azuredevops/`, and `azure…pipeline…`
/// in the path (`azure-pipelines.yml`, `azure-pipeline.yml`, `.azure-pipelines/ci.yml`,
/// `azure/pipelines/deploy.yml`), here in the name and the two folders above it only.
fn is_azure_pipelines(path: &Path) -> bool {
    let in_azuredevops = path
        .ancestors()
        .skip(1)
        .any(|dir| dir.file_name().is_some_and(|d| d == ".azuredevops"));
    let mut tail: Vec<String> = path
        .components()
        .rev()
        .take(3)
        .map(|c| c.as_os_str().to_string_lossy().to_ascii_lowercase())
        .collect();
    tail.reverse();
    let tail = tail.join("/");
    in_azuredevops
        || tail
            .find("azure")
            .is_some_and(|at| tail[at..].contains("pipeline"))
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
pub fn scan(file: &SourceFile, kind: Kind) -> Result<Scan, FileError> {
    scan_with(file, kind, true)
}

/// [`scan`], with or without the [`prefilter`] that spares parsing files with nothing to find.
fn scan_with(file: &SourceFile, kind: Kind, prefilter: bool) -> Result<Scan, FileError> {
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
                kind: Some(FileKind::Dockerfile),
            })
        }
        Kind::Known(FileKind::Shell) => Ok(Scan {
            plugins: plugins::scan_shell(text),
            kind: Some(FileKind::Shell),
            ..Scan::default()
        }),
        Kind::Yaml if looks_like_helm(text) && under_templates_folder(&file.path) => Ok(skipped(
            "Helm template (Go template syntax, rendered by Helm)",
        )),
        _ if prefilter && !prefilter::may_match(kind, text) => Ok(Scan {
            kind: match kind {
                Kind::Known(known) => Some(known),
                _ => None,
            },
            ..Scan::default()
        }),
        Kind::Known(_) | Kind::Yaml | Kind::Json => {
            let wanted = |document: &str| !prefilter || prefilter::may_match(kind, document);
            match kind {
                Kind::Known(known) => scan_yaml(file, Some(known), wanted),
                // Only manifests: package.json and friends are never parsed.
                Kind::Json if !text.contains("\"apiVersion\"") => Ok(Scan::default()),
                _ => scan_yaml(file, None, wanted),
            }
        }
        Kind::Env => {
            let mut references = Vec::new();
            env::scan(file, &mut references);
            dedupe(&mut references);
            Ok(Scan {
                references,
                kind: Some(FileKind::Compose),
                ..Scan::default()
            })
        }
        Kind::Unnamed => sniff(file),
    }
}

/// A file named on the command line under a name of no known kind: a Dockerfile when its first
/// instruction is one, else YAML whose content tells its kind; otherwise a note says so.
fn sniff(file: &SourceFile) -> Result<Scan, FileError> {
    let text = file.text.as_str();
    let first = text
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && (!l.starts_with('#') || l.starts_with("# syntax=")))
        .unwrap_or("");
    let keyword = first.split_whitespace().next().unwrap_or("");
    if ["from", "arg", "# syntax="]
        .iter()
        .any(|k| keyword.eq_ignore_ascii_case(k) || first.starts_with(k))
    {
        return scan(file, Kind::Known(FileKind::Dockerfile));
    }
    let unknown = || {
        skipped(
            "not a kind of file tagpin reads (Dockerfile, compose, Helm, Kubernetes, Kustomize, flow, CI)",
        )
    };
    match scan_yaml(file, None, |_| true) {
        Ok(scan) if scan.kind.is_some() => Ok(scan),
        _ => Ok(unknown()),
    }
}

fn skipped(why: &str) -> Scan {
    Scan {
        skipped: Some(why.to_string()),
        ..Scan::default()
    }
}

/// The references and plugins of a YAML file's documents whose text is `wanted` (the
/// [`prefilter`]'s test, document by document).
fn scan_yaml(
    file: &SourceFile,
    kind: Option<FileKind>,
    wanted: impl Fn(&str) -> bool,
) -> Result<Scan, FileError> {
    let text = file.text.as_str();
    let stream = match Stream::parse_wanted(text, wanted) {
        Ok(stream) => stream,
        Err(e) => {
            let hint = match looks_like_template(text) {
                true => " (the file has `{{ }}`: if it is a template, exclude it)",
                false => "",
            };
            let message = format!("invalid YAML: {}{hint}", e.message);
            return Err(FileError { message, ..e }.in_file(file.display_path()));
        }
    };
    let mut references = Vec::new();
    let mut shown = kind;
    // Read only when a compose file asks for a variable.
    let env = std::cell::OnceCell::new();
    let env_lookup = |name: &str| {
        let beside = env.get_or_init(|| env::Beside::read(&file.path));
        Some(beside.as_ref()?.get(name)?.1.clone())
    };
    let mut found = Vec::new();
    for document in &stream.documents {
        let root = document.root;
        let doc = Doc {
            stream: &stream,
            text,
        };
        let out = &mut references;
        match kind {
            Some(FileKind::Compose) => compose::scan(&doc, root, &env_lookup, out),
            Some(FileKind::Helm) => helm::scan(&doc, root, out),
            Some(FileKind::Kustomize) => kustomize::scan(&doc, root, out),
            Some(FileKind::GithubActions) => github::scan(&doc, root, out),
            Some(FileKind::GitlabCi) => gitlab::scan(&doc, root, out),
            // Azure's broad names also match manifests that deploy its agents.
            Some(FileKind::AzurePipelines) if kubernetes::is_manifest(&doc, root) => {
                kubernetes::scan(&doc, root, out)
            }
            Some(
                ci @ (FileKind::Bitbucket
                | FileKind::Circleci
                | FileKind::AzurePipelines
                | FileKind::Woodpecker),
            ) => ci::scan(ci, &doc, root, out),
            Some(FileKind::Kubernetes)
            | Some(FileKind::Flow)
            | Some(FileKind::Dockerfile)
            | Some(FileKind::Shell)
            | Some(FileKind::Config)
            | None => {
                let found = if kubernetes::is_manifest(&doc, root) {
                    kubernetes::scan(&doc, root, out);
                    Some(FileKind::Kubernetes)
                } else if compose::is_compose(&doc, root) {
                    compose::scan(&doc, root, &env_lookup, out);
                    Some(FileKind::Compose)
                } else if flow::is_flow(&doc, root) {
                    flow::scan(&doc, root, out);
                    Some(FileKind::Flow)
                } else if gitlab::is_gitlab_ci(&doc, root) {
                    gitlab::scan(&doc, root, out);
                    Some(FileKind::GitlabCi)
                } else {
                    None
                };
                shown = shown.or(found);
            }
        }
        plugins::scan_yaml(&doc, root, kind, &mut found);
    }
    if references.iter().any(|r| r.kind == FileKind::Kubernetes) {
        let overrides = kustomize::overrides(&file.path);
        for reference in references.iter_mut() {
            let name = kustomize::image_name(&reference.value.text);
            if let Some((_, kustomization)) = overrides.iter().find(|(pinned, _)| pinned == name) {
                let by = crate::source::display_path(kustomization);
                reference.context = format!("{} (pinned by {by})", reference.context);
                reference.kustomized = Some(kustomization.clone());
            }
        }
    }
    if let Some(Some(env)) = env.get() {
        for reference in references.iter_mut().filter(|r| !r.from_env.is_empty()) {
            let lines: Vec<String> = reference
                .from_env
                .iter()
                .filter_map(|name| env.get(name))
                .map(|(name, _, line)| format!("`{name}` from {}:{line}", env.path))
                .collect();
            reference.context = format!("{} ({})", reference.context, lines.join(", "));
        }
    }
    dedupe(&mut references);
    Ok(Scan {
        references,
        kind: shown,
        plugins: found,
        ..Scan::default()
    })
}

/// Go template actions on Helm's objects: a Kestra flow's Pebble (`{{ inputs.x }}`) under a
/// `templates/` folder is no Helm template.
fn looks_like_helm(text: &str) -> bool {
    looks_like_template(text)
        && [
            ".Values",
            ".Release.",
            ".Chart.",
            "include \"",
            "template \"",
        ]
        .iter()
        .any(|marker| text.contains(marker))
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
        let parts = parts
            .iter()
            .map(|&(separator, id)| Some((separator, self.value(id)?, id)))
            .collect::<Option<Vec<_>>>()?;
        Some(self.evaluated(kind, anchor, context, parts, &|_| None))
    }

    /// A reference from a scalar that holds an image after `prefix` (`docker://alpine:3`).
    pub fn image_after(
        &self,
        kind: FileKind,
        id: NodeId,
        prefix: &str,
        context: String,
    ) -> Option<Reference> {
        let value = self.value(id)?;
        let rest = value.text.strip_prefix(prefix)?;
        if rest.trim().is_empty() {
            return None;
        }
        let value = value.from(prefix.len());
        Some(self.evaluated(kind, id, context, vec![("", value, id)], &|_| None))
    }

    /// A reference from a scalar whose `$VAR`s the file itself may define (GitLab's
    /// `variables:`): `lookup` gives their values.
    pub fn image_with(
        &self,
        kind: FileKind,
        id: NodeId,
        context: String,
        lookup: &dyn Fn(&str) -> Option<Value>,
    ) -> Option<Reference> {
        if self.stream.is_null(id) || self.stream.scalar(id)?.trim().is_empty() {
            return None;
        }
        let value = self.value(id)?;
        Some(self.evaluated(kind, id, context, vec![("", value, id)], lookup))
    }

    fn evaluated(
        &self,
        kind: FileKind,
        anchor: NodeId,
        context: String,
        parts: Vec<(&str, Value, NodeId)>,
        lookup: &dyn Fn(&str) -> Option<Value>,
    ) -> Reference {
        let mut raw = Value::default();
        let mut evaluated = Ok(Value::default());
        for (separator, part, id) in parts {
            raw.push(separator, None);
            raw.append(&part);
            let at = part.span_of(0..part.text.len()).map(|s| s.start);
            let span = self.stream.node(id).span.clone();
            let value = match template_expression(&part, &span) {
                Some(template) => Err(template),
                None => interpolate(&part.text, at, Syntax::Compose, lookup),
            };
            evaluated = evaluated.and_then(|mut whole: Value| {
                whole.push(separator, None);
                whole.append(&value?);
                Ok(whole)
            });
        }
        let mut reference =
            Reference::new(kind, self.stream.node(anchor).span.clone(), raw, context);
        match evaluated {
            Ok(value) => reference.set_value(value),
            Err(variable) => reference.unresolved = Some(variable),
        }
        reference
    }

    /// The mappings of a document, each once; the dotted path that reached each is built
    /// only when a reference needs it.
    pub fn mappings(&self, root: NodeId) -> Mappings {
        let mut mappings = Mappings {
            frames: Vec::new(),
            found: Vec::new(),
        };
        // Only an alias can lead to a node twice.
        let mut seen = self.stream.has_aliases().then(HashSet::new);
        self.collect_mappings(root, None, Step::Root, &mut seen, &mut mappings);
        mappings
    }

    fn collect_mappings(
        &self,
        id: NodeId,
        parent: Option<usize>,
        step: Step,
        seen: &mut Option<HashSet<NodeId>>,
        out: &mut Mappings,
    ) {
        let mapping = self.stream.is_mapping(id);
        if (!mapping && self.stream.items(id).is_empty())
            || seen.as_mut().is_some_and(|seen| !seen.insert(id))
        {
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

    /// The keys on the way from a frame up to the root, nearest first (list indexes skipped).
    pub fn keys_above<'d>(&self, doc: &Doc<'d>, frame: usize) -> impl Iterator<Item = &'d str> {
        let stream = doc.stream;
        std::iter::successors(Some(frame), |&i| self.frames[i].parent).filter_map(move |i| {
            match self.frames[i].step {
                Step::Key(key) => stream.scalar(key),
                _ => None,
            }
        })
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

/// The first `{{ … }}` (or GitHub's `${{ … }}`) in a value: a template the file's consumer
/// renders, not an image.
fn template_expression(value: &Value, span: &Span) -> Option<Variable> {
    let start = value.text.find("{{")?;
    let start = start - usize::from(value.text[..start].ends_with('$'));
    let end = value.text[start..]
        .find("}}")
        .map_or(value.text.len(), |e| start + e + 2);
    let name = value.text[start..end]
        .trim_matches(['$', '{', '}', ' '])
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
            ("Dockerfile-chroot", Some(Kind::Known(FileKind::Dockerfile))),
            (
                "docker/Dockerfile_dev",
                Some(Kind::Known(FileKind::Dockerfile)),
            ),
            (
                "build.containerfile",
                Some(Kind::Known(FileKind::Dockerfile)),
            ),
            ("Containerfile-dev", Some(Kind::Known(FileKind::Dockerfile))),
            ("Dockerfile.dockerignore", None),
            ("dockerfile-notes.md", None),
            (
                ".github/workflows/ci.yml",
                Some(Kind::Known(FileKind::GithubActions)),
            ),
            ("action.yaml", Some(Kind::Known(FileKind::GithubActions))),
            (".gitlab-ci.yml", Some(Kind::Known(FileKind::GitlabCi))),
            (
                "ci/build.gitlab-ci.yml",
                Some(Kind::Known(FileKind::GitlabCi)),
            ),
            (
                "bitbucket-pipelines.yml",
                Some(Kind::Known(FileKind::Bitbucket)),
            ),
            (
                ".circleci/config.yml",
                Some(Kind::Known(FileKind::Circleci)),
            ),
            (
                "azure-pipelines.yml",
                Some(Kind::Known(FileKind::AzurePipelines)),
            ),
            (
                "azure-pipeline.yaml",
                Some(Kind::Known(FileKind::AzurePipelines)),
            ),
            (
                "ci/azure_pipelines_build.yml",
                Some(Kind::Known(FileKind::AzurePipelines)),
            ),
            (
                ".azure-pipelines/ci.yml",
                Some(Kind::Known(FileKind::AzurePipelines)),
            ),
            (
                ".azuredevops/templates/build.yml",
                Some(Kind::Known(FileKind::AzurePipelines)),
            ),
            (
                "azure/pipelines/deploy.yml",
                Some(Kind::Known(FileKind::AzurePipelines)),
            ),
            ("azure/values.yaml", Some(Kind::Known(FileKind::Helm))),
            ("pipelines/pr.yml", Some(Kind::Yaml)),
            (".drone.yml", Some(Kind::Known(FileKind::Woodpecker))),
            (
                ".woodpecker/test.yaml",
                Some(Kind::Known(FileKind::Woodpecker)),
            ),
            ("deploy/pod.json", Some(Kind::Json)),
            (".env", Some(Kind::Env)),
        ];
        for (name, expected) in cases {
            assert_eq!(classify(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn a_manifest_with_an_azure_pipelines_name_is_kubernetes() {
        let agent = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: agent\n        image: example/azp-agent:latest\n";
        let refs = test_support::scan_named("k8s/azure-pipelines-agent/deployment.yaml", agent);
        let found: Vec<_> = refs.iter().map(|r| (r.kind, r.context.as_str())).collect();
        assert_eq!(
            found,
            [(
                FileKind::Kubernetes,
                "spec.template.spec.containers[0].image"
            )]
        );
        let pipeline = "resources:\n  containers:\n  - container: build\n    image: ubuntu:22.04\n";
        let refs = test_support::scan_named(".azuredevops/build.yml", pipeline);
        assert_eq!(refs[0].kind, FileKind::AzurePipelines);
    }

    #[test]
    fn flows_under_templates_are_flows_helm_templates_are_not() {
        let flow = "id: t\nnamespace: n\ntasks:\n  - id: a\n    type: x\n    containerImage: \"python:{{ inputs.v }}\"\n  - id: b\n    type: x\n    containerImage: node:alpine\n";
        let refs = test_support::scan_named("templates/flow.yaml", flow);
        assert_eq!(test_support::images(&refs)[1], "node:alpine");
        let helm =
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: {{ .Values.image }}\n";
        let file = SourceFile::new("chart/templates/pod.yaml".into(), helm.to_string());
        let scan = scan(&file, Kind::Yaml).unwrap();
        assert!(scan.skipped.is_some());
    }

    #[test]
    fn named_files_of_no_known_name_are_read_by_content() {
        let read = |text: &str| scan(&SourceFile::new("x.txt".into(), text.into()), Kind::Unnamed);
        let dockerfile = read("# comment\nFROM node:alpine\n").unwrap();
        assert_eq!(
            test_support::images(&dockerfile.references),
            ["node:alpine"]
        );
        let compose = read("services:\n  a:\n    image: redis\n").unwrap();
        assert_eq!(test_support::images(&compose.references), ["redis"]);
        for text in ["hello\n", "a: 1\n", "{{ x"] {
            let scan = read(text).unwrap();
            assert!(scan.skipped.unwrap().starts_with("not a kind"), "{text}");
        }
    }

    #[test]
    fn kubernetes_json() {
        let text = r#"{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "image": "nginx:latest"}]}}"#;
        let file = SourceFile::new("pod.json".into(), text.into());
        let refs = scan(&file, Kind::Json).unwrap().references;
        assert_eq!(test_support::images(&refs), ["nginx:latest"]);
        assert_eq!(&text[refs[0].value.span_of(6..12).unwrap()], "latest");
        let package = SourceFile::new(
            "package.json".into(),
            r#"{"name": "x", "image": "a"}"#.into(),
        );
        assert!(scan(&package, Kind::Json).unwrap().references.is_empty());
    }

    #[test]
    fn every_kind_keeps_spans_in_the_file_on_odd_text() {
        let texts = [
            "jobs: {a: {container: {image: 'x:${{ m }}'}, services: [1, {image: ~}], steps: [{uses: 'docker://'}]}}\n",
            "image: {name: [a]}\nservices: [!reference [.a], {name: 'é:1'}]\njob: {script: x, image: \"$V\", variables: {V: 'ü:2'}}\n",
            "apiVersion: v1\nkind: Task\nspec: {params: [{name: p, default: 'a:ö'}], steps: [{image: '$(params.p)x$(params.'}]}\n",
            "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": {\"containers\": [{\"image\": \"a:\\u0031\"}]}}",
            "steps: [{image: 'a:1'}]\ndocker: [{image: ''}]\nresources: {containers: [{image: b}]}\n",
        ];
        let kinds = [
            Kind::Known(FileKind::GithubActions),
            Kind::Known(FileKind::GitlabCi),
            Kind::Known(FileKind::Bitbucket),
            Kind::Known(FileKind::Circleci),
            Kind::Known(FileKind::AzurePipelines),
            Kind::Known(FileKind::Woodpecker),
            Kind::Json,
            Kind::Unnamed,
            Kind::Yaml,
        ];
        for text in texts {
            let file = SourceFile::new("x.yaml".into(), text.to_string());
            for kind in kinds {
                let Ok(scanned) = scan(&file, kind) else {
                    continue;
                };
                for reference in &scanned.references {
                    assert!(
                        text.get(reference.span.clone()).is_some(),
                        "{kind:?} {text}"
                    );
                    let value = &reference.value;
                    if let Some(span) = value.span_of(0..value.text.len()) {
                        assert_eq!(&text[span], value.text, "{kind:?} {text}");
                    }
                }
            }
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
