//! Scanners: one per file kind, each turning a file's text into the image references (and
//! Kestra plugin versions) it holds, with the exact bytes every part came from.
//!
//! Here: what a scan yields ([`Reference`], [`Plugin`], [`Scan`]) and the dispatch of a file to
//! its scanners. `kind` tells a file's kind from its name, `value` keeps where each piece of an
//! assembled text came from, `doc` has the helpers every YAML scanner walks with, `prefilter`
//! spares the parse of a file with nothing to find; the other modules are one per kind.

mod ci;
mod compose;
mod doc;
mod dockerfile;
mod env;
mod flow;
mod github;
mod gitlab;
mod helm;
pub mod interpolate;
mod kind;
mod kubernetes;
mod kustomize;
mod plugins;
mod prefilter;
mod value;

use std::path::{Path, PathBuf};

use crate::reference::{Image, ReferenceError};
use crate::source::{FileError, SourceFile, Span};
use crate::yaml::Stream;

pub(crate) use doc::{Doc, Mappings, join};
pub use kind::{Classifier, FileKind, Kind, classify, is_chart, is_kustomization};
pub use value::{Value, Variable};

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

/// Go template actions where YAML structure would be: what a Helm template looks like.
fn looks_like_template(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), b"{{").is_some()
}

/// Scan one file whose kind was classified from its name.
pub fn scan(file: &SourceFile, kind: Kind) -> Result<Scan, FileError> {
    scan_with(file, kind, true)
}

/// [`scan`], with or without the [`prefilter`] that spares parsing files with nothing to find.
fn scan_with(file: &SourceFile, kind: Kind, prefilter: bool) -> Result<Scan, FileError> {
    let text = file.text.as_str();
    match kind {
        Kind::HelmTemplate if looks_like_template(text) => Ok(skipped(
            "Helm template (Go template syntax, rendered by Helm)",
        )),
        // Helm renders a template without actions as it is.
        Kind::HelmTemplate => scan_with(file, Kind::Yaml, prefilter),
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
