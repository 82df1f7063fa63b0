//! What kind a file is, from its name (and, for a YAML file whose name says nothing, the scan
//! decides from its content).

use rustc_hash::FxHashMap;
use std::ffi::OsString;
use std::path::Path;

use serde::Serialize;

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

/// What a file's name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The name decides the kind.
    Known(FileKind),
    /// A YAML file whose content decides: a document with `apiVersion` and `kind`, a top-level
    /// `services:` of mappings, or a Kestra flow.
    Yaml,
    /// A file under a Helm chart's `templates/`: Go templates, not YAML (one without template
    /// actions is read as YAML: Helm renders it as it is).
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
    Classifier::default().classify(path)
}

/// Classifies many files: a YAML file's kind may depend on a chart beside it, and every file
/// of a folder asks about the same folder, so each folder is looked up once.
#[derive(Default)]
pub struct Classifier {
    charts: FxHashMap<OsString, bool>,
    walking: bool,
}

impl Classifier {
    /// For the files of a walk that hands on a folder's `Chart.yaml` before anything else in it
    /// (see [`is_chart`]): the charts are learned from the files, no folder is looked up.
    pub fn walking() -> Self {
        Classifier {
            walking: true,
            ..Classifier::default()
        }
    }

    /// See [`classify`].
    pub fn classify(&mut self, path: &Path) -> Option<Kind> {
        let name = path.file_name()?.to_str()?;
        if self.walking
            && is_chart(name)
            && let Some(dir) = path.parent()
        {
            self.charts.insert(dir.as_os_str().to_owned(), true);
        }
        let lower = name.to_ascii_lowercase();
        if is_dockerfile_name(&lower) {
            return Some(Kind::Known(FileKind::Dockerfile));
        }
        if lower.ends_with(".sh") {
            return Some(Kind::Known(FileKind::Shell));
        }
        if is_kustomization(name) {
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
        if stem == "chart" {
            return None;
        }
        if self.in_chart_templates(path) {
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
        if stem.starts_with("values") || stem.ends_with("-values") || self.beside_chart(path) {
            return Some(Kind::Known(FileKind::Helm));
        }
        Some(Kind::Yaml)
    }

    fn beside_chart(&mut self, path: &Path) -> bool {
        let Some(dir) = path.parent() else {
            return false;
        };
        if let Some(&known) = self.charts.get(dir.as_os_str()) {
            return known;
        }
        if self.walking {
            return false;
        }
        let chart = ["Chart.yaml", "Chart.yml"]
            .iter()
            .any(|name| dir.join(name).is_file());
        self.charts.insert(dir.as_os_str().to_owned(), chart);
        chart
    }

    /// A folder named `templates` that is a chart's (a `Chart.yaml` beside it), at any depth.
    fn in_chart_templates(&mut self, path: &Path) -> bool {
        path_mentions(path, "templates")
            && path
                .ancestors()
                .skip(1)
                .filter(|dir| dir.file_name().is_some_and(|n| n == "templates"))
                .any(|dir| self.beside_chart(dir))
    }
}

/// `kustomization.yaml` (`.yml`, in any case) or `Kustomization`.
pub fn is_kustomization(name: &str) -> bool {
    name == "Kustomization"
        || ["kustomization.yaml", "kustomization.yml"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
}

/// A chart's `Chart.yaml` (or `Chart.yml`): the folder it is in holds a Helm chart.
pub fn is_chart(name: &str) -> bool {
    name == "Chart.yaml" || name == "Chart.yml"
}

/// `Dockerfile`, `Dockerfile.prod`, `Dockerfile-dev`, `app.dockerfile` and the same with
/// `Containerfile`; not their `.dockerignore` files.
fn is_dockerfile_name(lower: &str) -> bool {
    ["dockerfile", "containerfile"].iter().any(|base| {
        lower
            .strip_suffix(base)
            .is_some_and(|before| before.ends_with('.'))
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
    fn name(dir: Option<&Path>) -> Option<&str> {
        dir?.file_name()?.to_str()
    }
    let parent = path.parent();
    let folder = name(parent);
    Some(match stem {
        _ if folder == Some("workflows")
            && name(parent.and_then(Path::parent)) == Some(".github") =>
        {
            FileKind::GithubActions
        }
        "action" => FileKind::GithubActions,
        _ if stem == ".gitlab-ci" || stem.ends_with(".gitlab-ci") => FileKind::GitlabCi,
        _ if folder == Some(".gitlab-ci") => FileKind::GitlabCi,
        "bitbucket-pipelines" => FileKind::Bitbucket,
        "config" if folder == Some(".circleci") => FileKind::Circleci,
        _ if is_azure_pipelines(path) => FileKind::AzurePipelines,
        ".woodpecker" | ".drone" => FileKind::Woodpecker,
        _ if folder == Some(".woodpecker") => FileKind::Woodpecker,
        _ => return None,
    })
}

/// Whether `word` (lower case) is in the path, in any case: a cheap test before walking its
/// folders.
fn path_mentions(path: &Path, word: &str) -> bool {
    let (bytes, word) = (path.as_os_str().as_encoded_bytes(), word.as_bytes());
    memchr::memchr2_iter(word[0], word[0].to_ascii_uppercase(), bytes).any(|at| {
        bytes[at..]
            .get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    })
}

/// Renovate's patterns for Azure Pipelines: any YAML under `.azuredevops/`, and `azure…pipeline…`
/// in the path (`azure-pipelines.yml`, `azure-pipeline.yml`, `.azure-pipelines/ci.yml`,
/// `azure/pipelines/deploy.yml`), here in the name and the two folders above it only.
fn is_azure_pipelines(path: &Path) -> bool {
    if !path_mentions(path, "azure") {
        return false;
    }
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
