//! Reading `.tagpin.yaml` into its shape: each key and each list item keeps its span, and no
//! value is interpreted yet (cargo-deny's `Spanned<T>` step). Problems of shape (invalid YAML, an
//! unknown key, a list that is not one) are collected here; what values mean is `validate`'s job.

use std::ops::Range;
use std::path::{Path, PathBuf};

use miette::NamedSource;

use super::ConfigError;
use crate::yaml::{NodeId, NodeKind, Stream};

/// A value with the byte range it was written at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Range<usize>,
}

/// The config file's text, for errors that point into it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub path: PathBuf,
    pub text: String,
}

impl Origin {
    /// An error underlining `span` with `label`.
    pub fn error(
        &self,
        span: Range<usize>,
        message: String,
        label: &str,
        help: Option<String>,
    ) -> ConfigError {
        ConfigError {
            message,
            source_code: NamedSource::new(self.path.display().to_string(), self.text.clone()),
            span: Some(span.into()),
            label: label.to_string(),
            help,
        }
    }

    /// A path the config names, relative to its folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| path.to_path_buf(), |folder| folder.join(path))
    }

    /// The folder the config's relative paths and globs start from.
    pub fn folder(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

type Item = Spanned<String>;

/// `.tagpin.yaml` as written.
#[derive(Debug, Default)]
pub struct ConfigFile {
    pub origin: Origin,
    pub exclude: Vec<Item>,
    pub select: Vec<Item>,
    pub ignore: Vec<Item>,
    pub ignore_images: Vec<Item>,
    pub rules: Vec<Item>,
    pub fail_on: Option<Item>,
    pub max_file_size: Option<Item>,
    pub cache_ttl: Option<Item>,
    pub timeout: Option<Item>,
    pub pin: Option<Item>,
    pub today: Option<Item>,
    pub registries: Vec<(Item, RegistryEntry)>,
    pub maven: MavenEntry,
}

/// One entry of `registries:` as written.
#[derive(Debug, Default)]
pub struct RegistryEntry {
    pub mirror: Option<Item>,
    pub insecure: Option<Item>,
}

/// `maven:` as written.
#[derive(Debug, Default)]
pub struct MavenEntry {
    pub mirror: Option<Item>,
    pub repositories: Vec<Item>,
}

pub const KEYS: [&str; 13] = [
    "today",
    "exclude",
    "select",
    "ignore",
    "ignore-images",
    "fail-on",
    "rules",
    "max-file-size",
    "registries",
    "cache-ttl",
    "timeout",
    "pin",
    "maven",
];

/// Read the config's shape, adding every problem of shape to `errors`.
pub fn parse(path: &Path, text: &str, errors: &mut Vec<ConfigError>) -> ConfigFile {
    let mut file = ConfigFile {
        origin: Origin {
            path: path.to_path_buf(),
            text: text.to_string(),
        },
        ..ConfigFile::default()
    };
    let stream = match Stream::parse(text) {
        Ok(stream) => stream,
        Err(e) => {
            let offset = offset_of(text, e.line.unwrap_or(1), e.column.unwrap_or(1));
            let message = format!("invalid YAML: {}", e.message);
            errors.push(file.origin.error(offset..offset, message, "here", None));
            return file;
        }
    };
    let Some(root) = stream.documents.first().map(|d| d.root) else {
        return file;
    };
    if stream.is_null(root) {
        return file;
    }
    let Some(pairs) = stream.pairs(root) else {
        errors.push(file.origin.error(
            stream.node(root).span.clone(),
            "the config must be a mapping of keys".into(),
            "expected `key: value`",
            None,
        ));
        return file;
    };
    let reader = Reader {
        stream: &stream,
        origin: &file.origin.clone(),
    };
    for &(key, value) in pairs {
        reader.key(&mut file, key, value, errors);
    }
    file
}

struct Reader<'a> {
    stream: &'a Stream,
    origin: &'a Origin,
}

impl Reader<'_> {
    fn key(
        &self,
        file: &mut ConfigFile,
        key: NodeId,
        value: NodeId,
        errors: &mut Vec<ConfigError>,
    ) {
        let name = self.stream.scalar(key).unwrap_or("");
        match name {
            "exclude" => file.exclude = self.strings(name, value, errors),
            "select" => file.select = self.strings(name, value, errors),
            "ignore" => file.ignore = self.strings(name, value, errors),
            "ignore-images" => file.ignore_images = self.strings(name, value, errors),
            "rules" => {
                file.rules = match self.item(value) {
                    Some(one) => vec![one],
                    None => self.strings(name, value, errors),
                }
            }
            "fail-on" => file.fail_on = self.scalar(value),
            "max-file-size" => file.max_file_size = self.scalar(value),
            "cache-ttl" => file.cache_ttl = self.scalar(value),
            "timeout" => file.timeout = self.scalar(value),
            "pin" => file.pin = self.scalar(value),
            "today" => file.today = self.scalar(value),
            "registries" => file.registries = self.registries(value, errors),
            "maven" => file.maven = self.maven(value, errors),
            _ => {
                let help =
                    crate::suggest::closest(name, KEYS).map(|k| format!("did you mean `{k}`?"));
                errors.push(self.origin.error(
                    self.span(key),
                    format!("unknown key `{name}`"),
                    "unknown key",
                    help.or_else(|| Some(format!("known keys: {}", KEYS.join(", ")))),
                ));
            }
        }
    }

    fn span(&self, id: NodeId) -> Range<usize> {
        self.stream.node(id).span.clone()
    }

    fn item(&self, id: NodeId) -> Option<Item> {
        self.stream.scalar(id).map(|value| Spanned {
            value: value.to_string(),
            span: self.span(id),
        })
    }

    /// A value that must be one scalar: anything else is kept as the text it is written as, so
    /// that `validate` reports it as the bad value it is.
    fn scalar(&self, id: NodeId) -> Option<Item> {
        let span = self.span(id);
        let value = match self.stream.scalar(id) {
            Some(value) => value.to_string(),
            None => self
                .origin
                .text
                .get(span.clone())
                .unwrap_or_default()
                .to_string(),
        };
        Some(Spanned { value, span })
    }

    fn strings(&self, name: &str, id: NodeId, errors: &mut Vec<ConfigError>) -> Vec<Item> {
        let list = match &self.stream.node(id).kind {
            NodeKind::Sequence(_) => self
                .stream
                .items(id)
                .iter()
                .map(|&i| self.item(i))
                .collect(),
            _ => None,
        };
        list.unwrap_or_else(|| {
            errors.push(self.origin.error(
                self.span(id),
                format!("`{name}` must be a list of strings"),
                "expected a list",
                None,
            ));
            Vec::new()
        })
    }

    fn registries(
        &self,
        value: NodeId,
        errors: &mut Vec<ConfigError>,
    ) -> Vec<(Item, RegistryEntry)> {
        let Some(hosts) = self.stream.pairs(value) else {
            errors.push(self.origin.error(
                self.span(value),
                "`registries` must map registry hosts to settings".into(),
                "expected a mapping",
                None,
            ));
            return Vec::new();
        };
        let mut registries = Vec::new();
        for &(host_key, settings) in hosts {
            let host = self.item(host_key).unwrap_or(Spanned {
                value: String::new(),
                span: self.span(host_key),
            });
            let Some(entries) = self.stream.pairs(settings) else {
                errors.push(self.origin.error(
                    self.span(settings),
                    format!(
                        "`registries.{}` must be a mapping with `mirror` and/or `insecure`",
                        host.value
                    ),
                    "expected a mapping",
                    None,
                ));
                continue;
            };
            let mut entry = RegistryEntry::default();
            for &(k, v) in entries {
                let key = self.stream.scalar(k).unwrap_or("");
                match key {
                    "mirror" => entry.mirror = self.scalar(v),
                    "insecure" => entry.insecure = self.scalar(v),
                    other => errors.push(self.origin.error(
                        self.span(k),
                        format!("unknown key `{other}` in `registries.{}`", host.value),
                        "unknown key",
                        Some("known keys: mirror, insecure".into()),
                    )),
                }
            }
            registries.push((host, entry));
        }
        registries
    }

    fn maven(&self, value: NodeId, errors: &mut Vec<ConfigError>) -> MavenEntry {
        let mut maven = MavenEntry::default();
        let Some(entries) = self.stream.pairs(value) else {
            errors.push(self.origin.error(
                self.span(value),
                "`maven` must be a mapping with `repositories` and/or `mirror`".into(),
                "expected a mapping",
                None,
            ));
            return maven;
        };
        for &(k, v) in entries {
            match self.stream.scalar(k).unwrap_or("") {
                "mirror" => maven.mirror = self.scalar(v),
                "repositories" => {
                    maven.repositories = self.strings("maven.repositories", v, errors)
                }
                other => errors.push(self.origin.error(
                    self.span(k),
                    format!("unknown key `{other}` in `maven`"),
                    "unknown key",
                    Some("known keys: repositories, mirror".into()),
                )),
            }
        }
        maven
    }
}

/// The byte offset of a 1-based line and column.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line_text = &text[line_start.min(text.len())..];
    line_start
        + line_text
            .chars()
            .take(column.saturating_sub(1))
            .map(char::len_utf8)
            .sum::<usize>()
}
