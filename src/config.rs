//! `.tagpin.yaml` and the command-line options that share its keys, merged into [`Settings`].
//!
//! Like cargo-deny, the config is read with spans and every problem is reported at once,
//! pointing into the file: unknown keys and bad values name the key and line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use miette::{Diagnostic, NamedSource, SourceSpan};

use crate::maven::MavenSettings;
use crate::reference::Image;
use crate::registry::Network;
use crate::resolve::PinStyle;
use crate::rules::data::RuleData;
use crate::rules::{self, Severity};
use crate::yaml::{NodeId, NodeKind, Stream};
use std::collections::BTreeMap;
use std::time::Duration;

use jiff::civil::Date;

pub const FILE_NAMES: [&str; 2] = [".tagpin.yaml", ".tagpin.yml"];
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// A problem in a config or rules file, shown with the file's text.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct ConfigError {
    pub message: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

/// Every problem found in the configuration, reported together.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("the configuration has {} problem{}", .0.len(), if .0.len() == 1 { "" } else { "s" })]
pub struct ConfigErrors(#[related] pub Vec<ConfigError>);

/// The keys of `.tagpin.yaml`.
#[derive(Debug, Default)]
pub struct Config {
    pub exclude: Vec<String>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub ignore_images: Vec<String>,
    pub fail_on: Option<Severity>,
    /// Rule-data files, relative to the config file.
    pub rules: Vec<PathBuf>,
    pub max_file_size: Option<u64>,
    /// Registry host → where its requests go and whether plain HTTP is allowed.
    pub registries: BTreeMap<String, RegistryConfig>,
    pub cache_ttl: Option<Duration>,
    pub timeout: Option<Duration>,
    pub pin: Option<PinStyle>,
    pub today: Option<Date>,
    /// `maven: {repositories: […], mirror: URL}`.
    pub maven: MavenSettings,
}

/// One entry of `registries:`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    pub mirror: Option<String>,
    pub insecure: bool,
}

/// Options from the command line that add to or override the config.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub fail_on: Option<Severity>,
    /// `--exclude`, relative to the working folder.
    pub exclude: Vec<String>,
    /// `--force-exclude`: excludes apply to files named on the command line too.
    pub force_exclude: bool,
    pub rules: Vec<PathBuf>,
    /// `--registry-mirror HOST=URL`.
    pub mirrors: Vec<(String, String)>,
    pub pin: Option<PinStyle>,
    pub timeout: Option<Duration>,
    pub today: Option<Date>,
    /// `--maven-mirror URL`.
    pub maven_mirror: Option<String>,
}

/// A gitignore-style glob that skips files, and the folder it is relative to: the config file's
/// for its `exclude`, the working folder for `--exclude`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclude {
    pub pattern: String,
    pub base: PathBuf,
}

/// Everything a run needs to know, merged from defaults, config and command line.
#[derive(Debug)]
pub struct Settings {
    pub data: RuleData,
    select: Option<HashSet<&'static str>>,
    ignore: HashSet<&'static str>,
    pub fail_on: Severity,
    ignore_images: GlobSet,
    pub exclude: Vec<Exclude>,
    pub force_exclude: bool,
    pub max_file_size: u64,
    pub network: Network,
    pub cache_ttl: Duration,
    pub pin: PinStyle,
    /// The day support windows are judged on (`--today`, for reproducible runs).
    pub today: Date,
    /// Where Kestra plugin versions are looked up.
    pub maven: MavenSettings,
}

pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(3600);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data: RuleData::builtin(),
            select: None,
            ignore: HashSet::new(),
            fail_on: Severity::Error,
            ignore_images: GlobSet::empty(),
            exclude: Vec::new(),
            force_exclude: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            network: Network::default(),
            cache_ttl: DEFAULT_CACHE_TTL,
            pin: PinStyle::Version,
            // UTC: no time zone database to load, and a day's difference at most.
            today: jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date(),
            maven: MavenSettings::default(),
        }
    }
}

impl Settings {
    pub fn selects(&self, code: &str) -> bool {
        self.select.as_ref().is_none_or(|s| s.contains(code)) && !self.ignore.contains(code)
    }

    /// `ignore-images` globs match the normalised reference or the text as written.
    pub fn ignores_image(&self, image: &Image, written: &str) -> bool {
        !self.ignore_images.is_empty()
            && (self.ignore_images.is_match(image.to_string())
                || self.ignore_images.is_match(written))
    }

    /// Merge the config file (if any) and the command line; every problem is returned at once.
    pub fn load(
        config_path: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Settings, ConfigErrors> {
        let mut errors = Vec::new();
        let (config, base) = match config_path {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => (
                    parse_config(path, &text, &mut errors),
                    path.parent().map(Path::to_path_buf),
                ),
                Err(e) => {
                    errors.push(plain_error(path, format!("cannot read config file: {e}")));
                    (Config::default(), None)
                }
            },
            None => (Config::default(), None),
        };
        let mut settings = Settings::default();
        let rule_files = config
            .rules
            .iter()
            .map(|p| base.as_deref().map_or_else(|| p.clone(), |b| b.join(p)))
            .chain(overrides.rules.iter().cloned());
        for path in rule_files {
            match load_rules(&path) {
                Ok(data) => settings.data.extend(data),
                Err(error) => errors.push(*error),
            }
        }
        let codes = |names: &[String], errors: &mut Vec<ConfigError>| -> HashSet<&'static str> {
            names
                .iter()
                .filter_map(|name| {
                    let found = rules::find(name).map(rules::Rule::code);
                    if found.is_none() {
                        errors.push(unknown_rule(name));
                    }
                    found
                })
                .collect()
        };
        let select: Vec<String> = if overrides.select.is_empty() {
            config.select
        } else {
            overrides.select.clone()
        };
        if !select.is_empty() {
            settings.select = Some(codes(&select, &mut errors));
        }
        let ignore: Vec<String> = config
            .ignore
            .into_iter()
            .chain(overrides.ignore.iter().cloned())
            .collect();
        settings.ignore = codes(&ignore, &mut errors);
        settings.fail_on = overrides
            .fail_on
            .or(config.fail_on)
            .unwrap_or(Severity::Error);
        // A config's globs are relative to its folder, wherever tagpin runs from.
        let config_folder = base
            .clone()
            .filter(|b| !b.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        settings.exclude = config
            .exclude
            .into_iter()
            .map(|pattern| Exclude {
                pattern,
                base: config_folder.clone(),
            })
            .chain(overrides.exclude.iter().map(|pattern| Exclude {
                pattern: pattern.clone(),
                base: PathBuf::from("."),
            }))
            .collect();
        settings.force_exclude = overrides.force_exclude;
        if let Some(size) = config.max_file_size {
            settings.max_file_size = size;
        }
        for (host, registry) in &config.registries {
            if let Some(mirror) = &registry.mirror {
                settings
                    .network
                    .mirrors
                    .insert(host.clone(), mirror.clone());
            }
            if registry.insecure {
                settings.network.insecure.insert(host.clone());
            }
        }
        for (host, url) in &overrides.mirrors {
            settings.network.mirrors.insert(host.clone(), url.clone());
        }
        if let Some(timeout) = overrides.timeout.or(config.timeout) {
            settings.network.timeout = timeout;
        }
        settings.cache_ttl = config.cache_ttl.unwrap_or(DEFAULT_CACHE_TTL);
        settings.pin = overrides.pin.or(config.pin).unwrap_or(PinStyle::Version);
        if let Some(today) = overrides.today.or(config.today) {
            settings.today = today;
        }
        settings.maven = config.maven;
        if let Some(mirror) = &overrides.maven_mirror {
            settings.maven.mirror = Some(mirror.clone());
        }
        let mut globs = GlobSetBuilder::new();
        for pattern in &config.ignore_images {
            match Glob::new(pattern) {
                Ok(glob) => {
                    globs.add(glob);
                }
                Err(e) => errors.push(plain_error(
                    config_path.unwrap_or(Path::new(".tagpin.yaml")),
                    format!("ignore-images: {e}"),
                )),
            }
        }
        settings.ignore_images = globs.build().unwrap_or_else(|_| GlobSet::empty());
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// The config file that applies: `.tagpin.yaml` in the working folder or the nearest parent.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .flat_map(|dir| FILE_NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn load_rules(path: &Path) -> Result<RuleData, Box<ConfigError>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| plain_error(path, format!("cannot read rules file: {e}")))?;
    RuleData::parse(&text).map_err(|e| {
        let span = e.line.map(|line| {
            let offset = offset_of(&text, line, e.column.unwrap_or(1));
            SourceSpan::from(offset..offset)
        });
        Box::new(ConfigError {
            message: format!("invalid rules file {}: {}", path.display(), e.message),
            source_code: NamedSource::new(path.display().to_string(), text),
            span,
            label: "here".to_string(),
            help: Some("see the README's \"Rule data\" section for the format".to_string()),
        })
    })
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
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

fn plain_error(path: &Path, message: String) -> ConfigError {
    ConfigError {
        message,
        source_code: NamedSource::new(path.display().to_string(), String::new()),
        span: None,
        label: String::new(),
        help: None,
    }
}

fn unknown_rule(name: &str) -> ConfigError {
    ConfigError {
        message: format!("unknown rule `{name}`"),
        source_code: NamedSource::new("command line", String::new()),
        span: None,
        label: String::new(),
        help: Some("`tagpin explain` lists the rules".to_string()),
    }
}

const KEYS: [&str; 13] = [
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

/// Read `.tagpin.yaml`, adding every problem to `errors`.
pub fn parse_config(path: &Path, text: &str, errors: &mut Vec<ConfigError>) -> Config {
    let source = || NamedSource::new(path.display().to_string(), text.to_string());
    let mut config = Config::default();
    let error = |span: std::ops::Range<usize>,
                 message: String,
                 label: &str,
                 help: Option<String>| ConfigError {
        message,
        source_code: source(),
        span: Some(span.into()),
        label: label.to_string(),
        help,
    };
    let stream = match Stream::parse(text) {
        Ok(stream) => stream,
        Err(e) => {
            let offset = offset_of(text, e.line.unwrap_or(1), e.column.unwrap_or(1));
            errors.push(error(
                offset..offset,
                format!("invalid YAML: {}", e.message),
                "here",
                None,
            ));
            return config;
        }
    };
    let Some(root) = stream.documents.first().map(|d| d.root) else {
        return config;
    };
    if stream.is_null(root) {
        return config;
    }
    let NodeKind::Mapping(pairs) = &stream.node(root).kind else {
        errors.push(error(
            stream.node(root).span.clone(),
            "the config must be a mapping of keys".into(),
            "expected `key: value`",
            None,
        ));
        return config;
    };
    for &(key, value) in pairs {
        let key_span = stream.node(key).span.clone();
        let value_span = stream.node(value).span.clone();
        let name = stream.scalar(key).unwrap_or("");
        let strings = |errors: &mut Vec<ConfigError>| -> Vec<String> {
            string_list(&stream, value).unwrap_or_else(|| {
                errors.push(error(
                    value_span.clone(),
                    format!("`{name}` must be a list of strings"),
                    "expected a list",
                    None,
                ));
                Vec::new()
            })
        };
        match name {
            "exclude" => config.exclude = strings(errors),
            "select" | "ignore" => {
                let list = strings(errors);
                for item in &list {
                    if rules::find(item).is_none() {
                        errors.push(error(
                            value_span.clone(),
                            format!("`{name}` names an unknown rule `{item}`"),
                            "unknown rule",
                            Some("`tagpin explain` lists the rules".into()),
                        ));
                    }
                }
                let list: Vec<String> = list
                    .into_iter()
                    .filter(|i| rules::find(i).is_some())
                    .collect();
                if name == "select" {
                    config.select = list
                } else {
                    config.ignore = list
                }
            }
            "ignore-images" => {
                config.ignore_images = strings(errors);
                for pattern in &config.ignore_images {
                    if let Err(e) = Glob::new(pattern) {
                        errors.push(error(
                            value_span.clone(),
                            format!(
                                "`ignore-images` has an invalid glob `{pattern}`: {}",
                                e.kind()
                            ),
                            "invalid glob",
                            None,
                        ));
                    }
                }
                config.ignore_images.retain(|p| Glob::new(p).is_ok());
            }
            "fail-on" => match stream.scalar(value).and_then(Severity::parse) {
                Some(severity) => config.fail_on = Some(severity),
                None => errors.push(error(
                    value_span,
                    "`fail-on` must be `error`, `warning` or `info`".into(),
                    "invalid value",
                    None,
                )),
            },
            "rules" => {
                config.rules = match stream.scalar(value) {
                    Some(one) => vec![PathBuf::from(one)],
                    None => strings(errors).into_iter().map(PathBuf::from).collect(),
                }
            }
            "max-file-size" => match stream.scalar(value).and_then(parse_size) {
                Some(size) => config.max_file_size = Some(size),
                None => errors.push(error(
                    value_span,
                    "`max-file-size` must be a size such as `10MiB` or a number of bytes".into(),
                    "invalid size",
                    None,
                )),
            },
            "cache-ttl" | "timeout" => match stream.scalar(value).and_then(parse_duration) {
                Some(duration) if name == "cache-ttl" => config.cache_ttl = Some(duration),
                Some(duration) => config.timeout = Some(duration),
                None => errors.push(error(
                    value_span,
                    format!("`{name}` must be a duration such as `30s`, `10m`, `1h` or a number of seconds"),
                    "invalid duration",
                    None,
                )),
            },
            "today" => match stream.scalar(value).and_then(|v| v.parse::<Date>().ok()) {
                Some(today) => config.today = Some(today),
                None => errors.push(error(
                    value_span,
                    "`today` must be a date such as `2026-11-24`".into(),
                    "invalid date",
                    None,
                )),
            },
            "pin" => match stream.scalar(value).and_then(PinStyle::parse) {
                Some(pin) => config.pin = Some(pin),
                None => errors.push(error(
                    value_span,
                    "`pin` must be `version`, `digest` or `version+digest`".into(),
                    "invalid value",
                    None,
                )),
            },
            "registries" => {
                let NodeKind::Mapping(hosts) = &stream.node(value).kind else {
                    errors.push(error(value_span, "`registries` must map registry hosts to settings".into(), "expected a mapping", None));
                    continue;
                };
                for &(host_key, settings) in hosts {
                    let host = stream.scalar(host_key).unwrap_or("").to_string();
                    let mut registry = RegistryConfig::default();
                    let NodeKind::Mapping(entries) = &stream.node(settings).kind else {
                        errors.push(error(stream.node(settings).span.clone(), format!("`registries.{host}` must be a mapping with `mirror` and/or `insecure`"), "expected a mapping", None));
                        continue;
                    };
                    for &(k, v) in entries {
                        let v_span = stream.node(v).span.clone();
                        match (stream.scalar(k).unwrap_or(""), stream.scalar(v)) {
                            ("mirror", Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
                                registry.mirror = Some(url.to_string())
                            }
                            ("mirror", _) => errors.push(error(v_span, format!("`registries.{host}.mirror` must be an http:// or https:// URL"), "invalid URL", None)),
                            ("insecure", Some("true")) => registry.insecure = true,
                            ("insecure", Some("false")) => registry.insecure = false,
                            ("insecure", _) => errors.push(error(v_span, format!("`registries.{host}.insecure` must be true or false"), "invalid value", None)),
                            (other, _) => errors.push(error(stream.node(k).span.clone(), format!("unknown key `{other}` in `registries.{host}`"), "unknown key", Some("known keys: mirror, insecure".into()))),
                        }
                    }
                    config.registries.insert(host, registry);
                }
            }
            "maven" => config.maven = maven_config(&stream, value, &error, errors),
            _ => {
                let help =
                    crate::suggest::closest(name, KEYS).map(|k| format!("did you mean `{k}`?"));
                errors.push(error(
                    key_span,
                    format!("unknown key `{name}`"),
                    "unknown key",
                    help.or_else(|| Some(format!("known keys: {}", KEYS.join(", ")))),
                ));
            }
        }
    }
    config
}

/// Builds a config error: span, message, label, help.
type ErrorAt<'a> = dyn Fn(std::ops::Range<usize>, String, &str, Option<String>) -> ConfigError + 'a;

/// `maven: {repositories: [URL…], mirror: URL}`; every URL http:// or https://.
fn maven_config(
    stream: &Stream,
    value: NodeId,
    error: &ErrorAt<'_>,
    errors: &mut Vec<ConfigError>,
) -> MavenSettings {
    let mut maven = MavenSettings::default();
    let NodeKind::Mapping(entries) = &stream.node(value).kind else {
        errors.push(error(
            stream.node(value).span.clone(),
            "`maven` must be a mapping with `repositories` and/or `mirror`".into(),
            "expected a mapping",
            None,
        ));
        return maven;
    };
    let is_url = |u: &str| u.starts_with("http://") || u.starts_with("https://");
    for &(k, v) in entries {
        let span = stream.node(v).span.clone();
        match stream.scalar(k).unwrap_or("") {
            "mirror" => match stream.scalar(v) {
                Some(url) if is_url(url) => maven.mirror = Some(url.to_string()),
                _ => errors.push(error(
                    span,
                    "`maven.mirror` must be an http:// or https:// URL".into(),
                    "invalid URL",
                    None,
                )),
            },
            "repositories" => {
                let items = stream.items(v);
                if items.is_empty() && stream.scalar(v).is_some() {
                    errors.push(error(
                        span,
                        "`maven.repositories` must be a list of URLs".into(),
                        "expected a list",
                        None,
                    ));
                }
                for &item in items {
                    match stream.scalar(item) {
                        Some(url) if is_url(url) => maven.repositories.push(url.to_string()),
                        // The item's text is not repeated: a URL may carry a password.
                        _ => errors.push(error(
                            stream.node(item).span.clone(),
                            "`maven.repositories` entries must be http:// or https:// URLs".into(),
                            "invalid URL",
                            None,
                        )),
                    }
                }
            }
            other => errors.push(error(
                stream.node(k).span.clone(),
                format!("unknown key `{other}` in `maven`"),
                "unknown key",
                Some("known keys: repositories, mirror".into()),
            )),
        }
    }
    maven
}

fn string_list(stream: &Stream, id: NodeId) -> Option<Vec<String>> {
    match &stream.node(id).kind {
        NodeKind::Sequence(items) => items
            .iter()
            .map(|&i| stream.scalar(i).map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// `30s`, `10m`, `1h`, `1d`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let factor = match &text[digits..] {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(number.checked_mul(factor)?))
}

/// `10MiB`, `512KiB`, `1GB`, or a plain number of bytes.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let factor = match text[digits..].trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "KiB" => 1024,
        "MB" => 1000 * 1000,
        "MiB" => 1024 * 1024,
        "GB" => 1000 * 1000 * 1000,
        "GiB" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Config, Vec<ConfigError>) {
        let mut errors = Vec::new();
        let config = parse_config(Path::new(".tagpin.yaml"), text, &mut errors);
        (config, errors)
    }

    #[test]
    fn every_key() {
        let (config, errors) = parse(
            "exclude: [vendor/]\nselect: [TP001, floating-tag]\nignore: [TP003]\nignore-images: ['docker.io/library/*']\nfail-on: warning\nrules: my-rules.yaml\nmax-file-size: 1MiB\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(config.exclude, ["vendor/"]);
        assert_eq!(config.select, ["TP001", "floating-tag"]);
        assert_eq!(config.fail_on, Some(Severity::Warning));
        assert_eq!(config.rules, [PathBuf::from("my-rules.yaml")]);
        assert_eq!(config.max_file_size, Some(1024 * 1024));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "selct: [TP001]\nfail-on: sometimes\nignore: [TP999]\nexclude: vendor\n";
        let (_, errors) = parse(text);
        let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        assert_eq!(errors.len(), 4, "{messages:?}");
        assert!(messages[0].contains("unknown key `selct`"));
        assert_eq!(errors[0].help.as_deref(), Some("did you mean `select`?"));
        assert!(messages[1].contains("fail-on"));
        assert!(messages[2].contains("TP999"));
        assert!(messages[3].contains("list of strings"));
        let offset = errors[1].span.unwrap().offset();
        assert_eq!(&text[offset..offset + 9], "sometimes");
    }

    #[test]
    fn registries_durations_and_pin() {
        let (config, errors) = parse(
            "registries:\n  docker.io: {mirror: 'http://127.0.0.1:5000'}\n  lan:5000: {insecure: true}\ncache-ttl: 10m\ntimeout: 5s\npin: version+digest\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            config.registries["docker.io"].mirror.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert!(config.registries["lan:5000"].insecure);
        assert_eq!(config.cache_ttl, Some(Duration::from_secs(600)));
        assert_eq!(config.pin, Some(PinStyle::VersionDigest));
        let (_, errors) =
            parse("registries:\n  docker.io: {mirror: ftp://x, insecur: true}\ncache-ttl: soon\n");
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("2048"), Some(2048));
        assert_eq!(parse_size("lots"), None);
    }
}
