//! Where Kestra plugin versions are written: `kestra plugins install group:artifact[:version]`
//! (Dockerfiles, shell scripts, compose `command:`/`entrypoint:`), a flow task's or
//! `pluginDefaults` entry's `version:`, `kestra.plugins.management.defaultVersion` and
//! `kestra.plugins.repositories` in Kestra's configuration (an application YAML, Helm values'
//! `configurations.application`, a compose service's `KESTRA_CONFIGURATION` block).
//!
//! `KESTRA_CONFIGURATION` is YAML inside a YAML block scalar: its text is parsed on its own and
//! every span mapped back through the block's indentation, so findings and fixes stay exact.

use std::ops::Range;

use super::{Doc, FileKind, Place, Plugin, Value};
use crate::source::Span;
use crate::yaml::{NodeId, Stream};

/// Words one of which a YAML file holds if [`scan_yaml`] can find a plugin in it (see
/// [`super::prefilter`]): a task's `version`, Kestra's configuration under `kestra.plugins`
/// (in `KESTRA_CONFIGURATION` too), `kestra plugins install` commands.
pub(super) const WORDS: [&str; 2] = ["version", "plugins"];

/// The plugins `kestra plugins install` commands in `value` name; `image` is the Kestra
/// image they are installed into, `fallback` the span used where `value` is not verbatim.
pub(super) fn install_commands(
    value: &Value,
    kind: FileKind,
    image: Option<&Span>,
    fallback: &Span,
) -> Vec<Plugin> {
    let words = words(&value.text);
    let word = |w: &Range<usize>| &value.text[w.clone()];
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < words.len() {
        let is_install = word(&words[i]).ends_with("kestra")
            && word(&words[i + 1]) == "plugins"
            && word(&words[i + 2]) == "install";
        i += 1;
        if !is_install {
            continue;
        }
        i += 2;
        while i < words.len() && !matches!(word(&words[i]), "&&" | "||" | ";" | "|" | "") {
            // The word as written (quotes and all) ends a command with `;`.
            let tail = value.text[words[i].end..].split(char::is_whitespace).next();
            let ends_command = tail.is_some_and(|t| t.contains(';'));
            out.extend(installed(value, words[i].clone(), kind, image, fallback));
            i += 1;
            if ends_command {
                break;
            }
        }
    }
    out
}

/// Shell words of `text` without quotes, exec-form brackets and separating commas; an
/// unescaped line end is a command separator (an empty word); `#` starts a comment.
fn words(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b == b'\n' {
            if !text[..at].trim_end().ends_with('\\') {
                out.push(at..at);
            }
            at += 1;
        } else if b.is_ascii_whitespace() {
            at += 1;
        } else if b == b'#' {
            at = text[at..].find('\n').map_or(text.len(), |n| at + n);
        } else {
            let end = text[at..]
                .find(|c: char| c.is_ascii_whitespace())
                .map_or(text.len(), |n| at + n);
            if &text[at..end] != "\\" {
                out.push(bare(text, at..end));
            }
            at = end;
        }
    }
    out
}

/// A word without surrounding quotes and exec-form punctuation; a Maven range keeps its
/// closing bracket (`…:[1.0,2.0]",` → `…:[1.0,2.0]`).
fn bare(text: &str, word: Range<usize>) -> Range<usize> {
    let raw = &text[word.clone()];
    let start = word.start + (raw.len() - raw.trim_start_matches(['[', '"', '\'']).len());
    let mut end = start
        + text[start..word.end]
            .trim_end_matches([']', '"', '\'', ',', ';'])
            .len();
    let inner = &text[start..end];
    if (inner.contains(":[") || inner.contains(":(")) && !inner.ends_with([']', ')']) {
        end += text[end..word.end].find([']', ')']).map_or(0, |n| n + 1);
    }
    start..end
}

/// One `group:artifact[:version]` word of an install command.
fn installed(
    value: &Value,
    word: Range<usize>,
    kind: FileKind,
    image: Option<&Span>,
    fallback: &Span,
) -> Option<Plugin> {
    let text = &value.text[word.clone()];
    let (coordinate, version) = crate::plugin::Coordinate::parse(text)?;
    let version_range = version.map(|v| word.end - v.len()..word.end);
    let target = match &version_range {
        Some(range) => value.span_of(range.clone()),
        None => value.span_of(word.end..word.end),
    };
    let span = value
        .span_of(version_range.unwrap_or(word.clone()))
        .or_else(|| value.span_of(word))
        .unwrap_or_else(|| fallback.clone());
    Some(Plugin {
        kind,
        span,
        target,
        coordinate: text.to_string(),
        artifact: Some(coordinate.to_string()),
        version: version.map(str::to_string),
        place: Place::Install,
        image: image.cloned(),
    })
}

/// A shell script: its install commands.
pub(super) fn scan_shell(text: &str) -> Vec<Plugin> {
    let value = Value::verbatim(text, 0);
    install_commands(&value, FileKind::Shell, None, &(0..0))
}

/// The plugins of one YAML document, by what the document is.
pub(super) fn scan_yaml(
    doc: &Doc<'_>,
    root: NodeId,
    kind: Option<FileKind>,
    out: &mut Vec<Plugin>,
) {
    let stream = doc.stream;
    if kind == Some(FileKind::Compose) || super::compose::is_compose(doc, root) {
        compose(doc, root, out);
    } else if kind == Some(FileKind::Helm) {
        for key in ["configurations", "configuration"] {
            if let Some(application) = stream
                .get(root, key)
                .and_then(|c| stream.get(c, "application"))
            {
                configuration(doc, application, FileKind::Helm, out);
            }
        }
    } else if super::flow::is_flow(doc, root) {
        flow(doc, root, out);
    } else if stream.is_mapping(root) {
        configuration(doc, root, FileKind::Config, out);
    }
}

/// `services.*`: install commands in `command:`/`entrypoint:`, `KESTRA_CONFIGURATION`.
fn compose(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Plugin>) {
    let stream = doc.stream;
    let Some(services) = stream.get(root, "services") else {
        return;
    };
    for (_, service) in stream.entries(services) {
        let image = stream
            .get(service, "image")
            .map(|id| stream.node(id).span.clone());
        for key in ["entrypoint", "command"] {
            let Some(id) = stream.get(service, key) else {
                continue;
            };
            let fallback = stream.node(id).span.clone();
            // Exec form: the items joined as one command line, each keeping its bytes.
            let items: Vec<NodeId> = match stream.items(id) {
                [] => vec![id],
                items => items.to_vec(),
            };
            let mut line = Value::default();
            for item in items {
                if let Some(value) = doc.value(item) {
                    line.append(&value);
                    line.push(" ", None);
                }
            }
            out.extend(install_commands(
                &line,
                FileKind::Compose,
                image.as_ref(),
                &fallback,
            ));
        }
        let Some(environment) = stream.get(service, "environment") else {
            continue;
        };
        if let Some(block) = stream.get(environment, "KESTRA_CONFIGURATION") {
            let mut found = Vec::new();
            embedded(doc, block, &mut found);
            out.extend(found.into_iter().map(|p| Plugin {
                image: image.clone(),
                ..p
            }));
        }
    }
}

/// YAML in a literal block scalar (`KESTRA_CONFIGURATION: |`), spans mapped back to the file.
fn embedded(doc: &Doc<'_>, block: NodeId, out: &mut Vec<Plugin>) {
    let Some(value) = doc.stream.scalar(block) else {
        return;
    };
    let node_span = doc.stream.node(block).span.clone();
    let lines = block_lines(doc.text, &node_span, value);
    let Ok(stream) = Stream::parse(value) else {
        return;
    };
    let inner = Doc {
        stream: &stream,
        text: value,
    };
    let mut found = Vec::new();
    for document in &stream.documents {
        configuration(&inner, document.root, FileKind::Compose, &mut found);
    }
    let map = |span: &Span| -> Option<Span> {
        let lines = lines.as_ref()?;
        let i = lines
            .partition_point(|l| l.0 <= span.start)
            .checked_sub(1)?;
        let (inner_start, outer_start, len) = lines[i];
        (span.end <= inner_start + len)
            .then(|| outer_start + span.start - inner_start..outer_start + span.end - inner_start)
    };
    for plugin in found {
        out.push(Plugin {
            span: map(&plugin.span).unwrap_or_else(|| node_span.clone()),
            target: plugin.target.as_ref().and_then(map),
            ..plugin
        });
    }
}

/// For a literal block scalar whose lines are the file's lines less a fixed indentation:
/// (start in the value, start in the file, length) of each line; `None` for any other style.
fn block_lines(text: &str, span: &Span, value: &str) -> Option<Vec<(usize, usize, usize)>> {
    // The scalar's span starts at its first content byte; the `|` header ends the line before.
    let first_line = text[..span.start].rfind('\n').map_or(0, |n| n + 1);
    let indent = span.start - first_line;
    let header = text[..first_line.checked_sub(1)?].trim_end();
    let indicator = header.rsplit(|c: char| c.is_whitespace()).next()?;
    if !text[first_line..span.start].bytes().all(|b| b == b' ')
        || !indicator.starts_with('|')
        || !indicator[1..].bytes().all(|b| b"+-0123456789".contains(&b))
    {
        return None;
    }
    let mut lines = Vec::new();
    let mut rebuilt = String::new();
    let mut at = first_line;
    for line in text[first_line..].split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let blank = content.trim().is_empty();
        if !blank && content.len() - content.trim_start_matches(' ').len() < indent {
            break;
        }
        let piece = content.get(indent..).unwrap_or("");
        lines.push((rebuilt.len(), at + indent.min(content.len()), piece.len()));
        rebuilt.push_str(piece);
        rebuilt.push('\n');
        at += line.len();
    }
    // The parser's value must be exactly these lines (chomping aside), or no span is exact.
    (rebuilt.trim_end() == value.trim_end()).then_some(lines)
}

/// Kestra's configuration under `root` (the mapping holding `kestra:`), dotted keys as well
/// as nested ones (`kestra.plugins.management.defaultVersion: LATEST`).
fn configuration(doc: &Doc<'_>, root: NodeId, kind: FileKind, out: &mut Vec<Plugin>) {
    let default = ["kestra", "plugins", "management", "defaultVersion"];
    for id in lookup(doc.stream, root, &default) {
        if let Some(plugin) = versioned(doc, id, kind, Place::DefaultVersion, default.join(".")) {
            out.push(plugin);
        }
    }
    for repositories in lookup(doc.stream, root, &["kestra", "plugins", "repositories"]) {
        for (_, repository) in doc.stream.entries(repositories) {
            let Some(url) = doc.stream.get(repository, "url") else {
                continue;
            };
            let Some(text) = doc.stream.scalar(url) else {
                continue;
            };
            if text.to_ascii_lowercase().contains("snapshot") {
                let span = doc.stream.node(url).span.clone();
                out.push(Plugin {
                    kind,
                    span,
                    target: None,
                    coordinate: text.to_string(),
                    artifact: None,
                    version: None,
                    place: Place::SnapshotRepository,
                    image: None,
                });
            }
        }
    }
}

/// The values at a key path, each step written nested or dotted (`a: {b.c: …}`).
fn lookup(stream: &Stream, id: NodeId, path: &[&str]) -> Vec<NodeId> {
    if path.is_empty() {
        return vec![id];
    }
    (1..=path.len())
        .filter_map(|n| Some((stream.get(id, &path[..n].join("."))?, n)))
        .flat_map(|(child, n)| lookup(stream, child, &path[n..]))
        .collect()
}

/// A plugin version written as the scalar `id`.
fn versioned(
    doc: &Doc<'_>,
    id: NodeId,
    kind: FileKind,
    place: Place,
    written: String,
) -> Option<Plugin> {
    let value = doc.value(id)?;
    let node = doc.stream.node(id).span.clone();
    let target = value.span_of(0..value.text.len());
    let artifact = match &place {
        Place::Task => artifact_of(&written),
        _ => None,
    };
    Some(Plugin {
        kind,
        span: target.clone().unwrap_or(node),
        target,
        coordinate: written,
        artifact,
        version: Some(value.text),
        place,
        image: None,
    })
}

/// Tasks, triggers and `pluginDefaults` entries with a `version:` (in `values:` too).
fn flow(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Plugin>) {
    let stream = doc.stream;
    let mappings = doc.mappings(root);
    for &(frame, mapping) in &mappings.found {
        let Some(kind) = stream.get(mapping, "type").and_then(|t| stream.scalar(t)) else {
            continue;
        };
        if !kind.contains('.') {
            continue;
        }
        let in_defaults = mappings.path(doc, frame).starts_with("pluginDefaults");
        let version = stream.get(mapping, "version").or_else(|| {
            in_defaults
                .then(|| stream.get(mapping, "values"))
                .flatten()
                .and_then(|values| stream.get(values, "version"))
        });
        if let Some(plugin) =
            version.and_then(|v| versioned(doc, v, FileKind::Flow, Place::Task, kind.to_string()))
        {
            out.push(plugin);
        }
    }
}

/// The Maven coordinate of a task type, by Kestra's naming convention: classes of the
/// `plugin-<name>` artifact live in `io.kestra.plugin.<name>` (kestra-io/plugin-template:
/// `X-Kestra-Group: project.group + ".<name>"`). Core tasks have no artifact.
fn artifact_of(kind: &str) -> Option<String> {
    let name = kind.strip_prefix("io.kestra.plugin.")?.split('.').next()?;
    (name != "core" && !name.is_empty()).then(|| format!("io.kestra.plugin:plugin-{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Kind, classify, scan};
    use crate::source::SourceFile;
    use std::path::Path;

    fn plugins(name: &str, text: &str) -> Vec<(String, Option<String>, String, Option<String>)> {
        let file = SourceFile::new(name.into(), text.to_string());
        let kind = classify(Path::new(name)).unwrap_or(Kind::Yaml);
        scan(&file, kind)
            .unwrap()
            .plugins
            .iter()
            .map(|p| {
                (
                    p.coordinate.clone(),
                    p.version.clone(),
                    text[p.span.clone()].to_string(),
                    p.target.as_ref().map(|t| text[t.clone()].to_string()),
                )
            })
            .collect()
    }

    fn row(
        c: &str,
        v: Option<&str>,
        span: &str,
        target: Option<&str>,
    ) -> (String, Option<String>, String, Option<String>) {
        (
            c.into(),
            v.map(Into::into),
            span.into(),
            target.map(Into::into),
        )
    }

    #[test]
    fn shell_scripts_every_floating_form() {
        let text = "#!/bin/sh\n# kestra plugins install io.kestra.plugin:plugin-x:LATEST\n/app/kestra plugins install io.kestra.plugin:plugin-aws:LATEST \\\n  io.kestra.plugin:plugin-gcp \"io.kestra.plugin:plugin-jdbc:[1.0,2.0]\"; echo io.kestra.plugin:plugin-y\nkestra plugins install io.kestra.plugin:plugin-git:RELEASE\n";
        assert_eq!(
            plugins("install.sh", text),
            [
                row(
                    "io.kestra.plugin:plugin-aws:LATEST",
                    Some("LATEST"),
                    "LATEST",
                    Some("LATEST")
                ),
                row(
                    "io.kestra.plugin:plugin-gcp",
                    None,
                    "io.kestra.plugin:plugin-gcp",
                    Some("")
                ),
                row(
                    "io.kestra.plugin:plugin-jdbc:[1.0,2.0]",
                    Some("[1.0,2.0]"),
                    "[1.0,2.0]",
                    Some("[1.0,2.0]")
                ),
                row(
                    "io.kestra.plugin:plugin-git:RELEASE",
                    Some("RELEASE"),
                    "RELEASE",
                    Some("RELEASE")
                ),
            ]
        );
    }

    #[test]
    fn flows_tasks_and_plugin_defaults() {
        let text = "id: f\nnamespace: n\ntasks:\n  - id: up\n    type: io.kestra.plugin.aws.s3.Upload\n    version: LATEST\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    version: \"OLDEST\"\npluginDefaults:\n  - type: io.kestra.plugin.gcp\n    values:\n      version: latest\n";
        let found = plugins("flows/f.yaml", text);
        assert_eq!(
            found,
            [
                row(
                    "io.kestra.plugin.aws.s3.Upload",
                    Some("LATEST"),
                    "LATEST",
                    Some("LATEST")
                ),
                row(
                    "io.kestra.plugin.core.log.Log",
                    Some("OLDEST"),
                    "OLDEST",
                    Some("OLDEST")
                ),
                row(
                    "io.kestra.plugin.gcp",
                    Some("latest"),
                    "latest",
                    Some("latest")
                ),
            ]
        );
        assert_eq!(
            artifact_of("io.kestra.plugin.aws.s3.Upload").as_deref(),
            Some("io.kestra.plugin:plugin-aws")
        );
        assert_eq!(artifact_of("io.kestra.plugin.core.log.Log"), None);
    }

    #[test]
    fn configuration_in_application_yaml_helm_values_and_compose() {
        let app = "kestra:\n  plugins:\n    management:\n      defaultVersion: LATEST\n    repositories:\n      snap:\n        url: https://s01.oss.sonatype.org/content/repositories/snapshots\n";
        let found = plugins("application.yml", app);
        assert_eq!(
            found[0],
            row(
                "kestra.plugins.management.defaultVersion",
                Some("LATEST"),
                "LATEST",
                Some("LATEST")
            )
        );
        assert_eq!(
            found[1].0,
            "https://s01.oss.sonatype.org/content/repositories/snapshots"
        );
        let dotted = "kestra.plugins.management.defaultVersion: latest\n";
        assert_eq!(plugins("application-prod.yml", dotted)[0].2, "latest");
        let helm = "image:\n  repository: kestra/kestra\n  tag: v1.3.30\nconfigurations:\n  application:\n    kestra:\n      plugins:\n        management:\n          defaultVersion: LATEST\n";
        assert_eq!(plugins("values.yaml", helm)[0].2, "LATEST");
        let compose = "services:\n  kestra:\n    image: kestra/kestra:v1.3.30\n    command: server standalone\n    entrypoint: [\"/bin/sh\", \"-c\", \"/app/kestra plugins install io.kestra.plugin:plugin-aws:LATEST && /app/kestra server standalone\"]\n    environment:\n      KESTRA_CONFIGURATION: |\n        datasources:\n          postgres:\n            url: jdbc:postgresql://postgres:5432/kestra\n        kestra:\n          plugins:\n            management:\n              defaultVersion:   LATEST\n";
        let found = plugins("docker-compose.yml", compose);
        assert_eq!(
            found,
            [
                row(
                    "io.kestra.plugin:plugin-aws:LATEST",
                    Some("LATEST"),
                    "LATEST",
                    Some("LATEST")
                ),
                row(
                    "kestra.plugins.management.defaultVersion",
                    Some("LATEST"),
                    "LATEST",
                    Some("LATEST")
                ),
            ]
        );
        let folded = "services:\n  k:\n    image: kestra/kestra:v1.3.30\n    environment:\n      KESTRA_CONFIGURATION: >\n        kestra.plugins.management.defaultVersion: LATEST\n";
        let found = plugins("compose.yaml", folded);
        assert_eq!(found[0].3, None, "a folded block has no exact span");
    }
}
