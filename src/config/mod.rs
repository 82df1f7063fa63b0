//! `.tagpin.yaml` and the command-line options that share its keys, merged into [`Settings`].
//!
//! Like cargo-deny, the config is read in two steps: [`file`] reads its shape with a span on
//! every key and list item, [`validate`] gives the values their meaning, and every problem is
//! reported at once, pointing at the item (`ignore: [TP001, TP999]` underlines `TP999`).
//! [`Settings::load`] then merges defaults, the config and the command line. [`units`] reads
//! durations and sizes for both.

pub mod file;
pub mod units;
pub mod validate;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use jiff::civil::Date;
use miette::{Diagnostic, NamedSource, SourceSpan};

use crate::maven::MavenSettings;
use crate::pin::PinStyle;
use crate::reference::Image;
use crate::registry::Network;
use crate::rules::data::RuleData;
use crate::rules::{self, Severity};
pub use validate::Config;

pub const FILE_NAMES: [&str; 2] = [".tagpin.yaml", ".tagpin.yml"];
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(3600);

/// A problem in a config or rules file (or an option), shown with the file's text.
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

impl ConfigError {
    /// The error with the text it shows (message, help, the file's lines) escaped for a
    /// terminal, its span moved onto the escaped text.
    pub fn escaped(self) -> ConfigError {
        use crate::escape::{self, Snippet};
        let snippet = Snippet::new(self.source_code.inner());
        let span = self.span.map(|span| {
            let start = snippet.offset(span.offset());
            SourceSpan::from(start..snippet.offset(span.offset() + span.len()))
        });
        ConfigError {
            message: escape::text(&self.message).into_owned(),
            source_code: NamedSource::new(escape::text(self.source_code.name()), snippet.text),
            span,
            label: escape::text(&self.label).into_owned(),
            help: self.help.map(|h| escape::text(&h).into_owned()),
        }
    }
}

/// Every problem found in the configuration, reported together.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("the configuration has {} problem{}", .0.len(), if .0.len() == 1 { "" } else { "s" })]
pub struct ConfigErrors(#[related] pub Vec<ConfigError>);

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
    /// `--follow`: the walk follows symlinks out of the folders it was given.
    pub follow: bool,
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
    pub follow: bool,
    pub max_file_size: u64,
    pub network: Network,
    pub cache_ttl: Duration,
    pub pin: PinStyle,
    /// The day support windows are judged on (`--today`, for reproducible runs).
    pub today: Date,
    /// Where Kestra plugin versions are looked up.
    pub maven: MavenSettings,
}

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
            follow: false,
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
        let config = match config_path {
            Some(path) => read_config(path, &mut errors),
            None => Config::default(),
        };
        check_overrides(overrides, &mut errors);
        let mut settings = Settings {
            data: rule_data(&config, &overrides.rules, &mut errors),
            ..Settings::default()
        };
        settings.select_rules(&config, overrides);
        settings.choose_files(&config, overrides);
        settings.reach_registries(&config, overrides);
        settings.fail_on = overrides
            .fail_on
            .or(config.fail_on)
            .unwrap_or(Severity::Error);
        settings.pin = overrides.pin.or(config.pin).unwrap_or(PinStyle::Version);
        if let Some(today) = overrides.today.or(config.today) {
            settings.today = today;
        }
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// `select` (the command line's replaces the config's) and `ignore` (both add up); names
    /// are known, both were checked.
    fn select_rules(&mut self, config: &Config, overrides: &Overrides) {
        let codes = |names: &[String]| -> HashSet<&'static str> {
            names
                .iter()
                .filter_map(|name| rules::find(name).map(rules::Rule::code))
                .collect()
        };
        let select = if overrides.select.is_empty() {
            &config.select
        } else {
            &overrides.select
        };
        if !select.is_empty() {
            self.select = Some(codes(select));
        }
        self.ignore = codes(&config.ignore);
        self.ignore.extend(codes(&overrides.ignore));
    }

    /// Which files are read and which images skipped. A config's globs are relative to its
    /// folder, wherever tagpin runs from.
    fn choose_files(&mut self, config: &Config, overrides: &Overrides) {
        let folder = config.origin.folder();
        self.exclude = config
            .exclude
            .iter()
            .map(|pattern| Exclude {
                pattern: pattern.clone(),
                base: folder.clone(),
            })
            .chain(overrides.exclude.iter().map(|pattern| Exclude {
                pattern: pattern.clone(),
                base: PathBuf::from("."),
            }))
            .collect();
        self.force_exclude = overrides.force_exclude;
        self.follow = overrides.follow;
        if let Some(size) = config.max_file_size {
            self.max_file_size = size;
        }
        let mut globs = GlobSetBuilder::new();
        for glob in config
            .ignore_images
            .iter()
            .filter_map(|p| Glob::new(p).ok())
        {
            globs.add(glob);
        }
        self.ignore_images = globs.build().unwrap_or_else(|_| GlobSet::empty());
    }

    /// Mirrors, plain-HTTP registries, the timeout, the cache and Maven's repositories.
    fn reach_registries(&mut self, config: &Config, overrides: &Overrides) {
        for (host, registry) in &config.registries {
            if let Some(mirror) = &registry.mirror {
                self.network.mirrors.insert(host.clone(), mirror.clone());
            }
            if registry.insecure {
                self.network.insecure.insert(host.clone());
            }
        }
        for (host, url) in &overrides.mirrors {
            self.network.mirrors.insert(host.clone(), url.clone());
        }
        if let Some(timeout) = overrides.timeout.or(config.timeout) {
            self.network.timeout = timeout;
        }
        self.cache_ttl = config.cache_ttl.unwrap_or(DEFAULT_CACHE_TTL);
        self.maven = config.maven.clone();
        if let Some(mirror) = &overrides.maven_mirror {
            self.maven.mirror = Some(mirror.clone());
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

/// Read, parse and check a config file; its problems in the order they are written.
fn read_config(path: &Path, errors: &mut Vec<ConfigError>) -> Config {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_config(path, &text, errors),
        Err(e) => {
            errors.push(plain_error(path, format!("cannot read config file: {e}")));
            Config::default()
        }
    }
}

/// Parse and check a config's text, adding every problem to `errors` in the order of the text.
pub fn parse_config(path: &Path, text: &str, errors: &mut Vec<ConfigError>) -> Config {
    let mut found = Vec::new();
    let config = file::parse(path, text, &mut found).validate(&mut found);
    found.sort_by_key(|e| e.span.map(|s| s.offset()));
    errors.extend(found);
    config
}

/// What the command line names that the config would have been told off for: unknown rules
/// and invalid `--exclude` globs. (Mirror URLs and timeouts are checked as clap parses them.)
fn check_overrides(overrides: &Overrides, errors: &mut Vec<ConfigError>) {
    for name in overrides.select.iter().chain(&overrides.ignore) {
        if rules::find(name).is_none() {
            errors.push(unknown_rule(name));
        }
    }
    for pattern in &overrides.exclude {
        if let Some(e) = validate::exclude_error(Path::new("."), pattern) {
            errors.push(command_line_error(
                format!("`--exclude {pattern}` is not a valid glob: {e}"),
                None,
            ));
        }
    }
}

/// The built-in rule data extended by the config's `rules:` files (relative to its folder)
/// and `--rules` files.
fn rule_data(config: &Config, cli_rules: &[PathBuf], errors: &mut Vec<ConfigError>) -> RuleData {
    let mut data = RuleData::builtin();
    for item in &config.rules {
        let path = config.origin.resolve(&item.value);
        if !path.is_file() {
            errors.push(config.origin.error(
                item.span.clone(),
                format!("rules file `{}` not found", path.display()),
                "no such file",
                Some("`rules:` paths are relative to the config file's folder".into()),
            ));
            continue;
        }
        match load_rules(&path) {
            Ok(more) => data.extend(more),
            Err(error) => errors.push(*error),
        }
    }
    for path in cli_rules {
        match load_rules(path) {
            Ok(more) => data.extend(more),
            Err(error) => errors.push(*error),
        }
    }
    data
}

fn load_rules(path: &Path) -> Result<RuleData, Box<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        plain_error(
            path,
            format!("cannot read rules file `{}`: {e}", path.display()),
        )
    })?;
    RuleData::parse(&text).map_err(|e| {
        let span = e.line.map(|line| {
            let offset = file::offset_of(&text, line, e.column.unwrap_or(1));
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

fn plain_error(path: &Path, message: String) -> ConfigError {
    ConfigError {
        message,
        source_code: NamedSource::new(path.display().to_string(), String::new()),
        span: None,
        label: String::new(),
        help: None,
    }
}

fn command_line_error(message: String, help: Option<String>) -> ConfigError {
    ConfigError {
        message,
        source_code: NamedSource::new("command line", String::new()),
        span: None,
        label: String::new(),
        help,
    }
}

fn unknown_rule(name: &str) -> ConfigError {
    command_line_error(
        format!("unknown rule `{name}`"),
        Some("`tagpin explain` lists the rules".to_string()),
    )
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
        let rules: Vec<&Path> = config.rules.iter().map(|r| r.value.as_path()).collect();
        assert_eq!(rules, [Path::new("my-rules.yaml")]);
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
    fn a_list_item_is_underlined_alone() {
        let text = "ignore: [TP001, TP999]\n";
        let (config, errors) = parse(text);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let span = errors[0].span.unwrap();
        assert_eq!(&text[span.offset()..span.offset() + span.len()], "TP999");
        assert_eq!(config.ignore, ["TP001"]);
    }

    #[test]
    fn values_are_checked_where_they_are_written() {
        let text = "exclude: [ok/, 'a/[z-a]']\ntimeout: 0s\nmaven: {mirror: 'https://'}\n";
        let (config, errors) = parse(text);
        let underlined: Vec<&str> = errors
            .iter()
            .map(|e| e.span.unwrap())
            .map(|s| &text[s.offset()..s.offset() + s.len()])
            .collect();
        assert_eq!(underlined, ["'a/[z-a]'", "0s", "'https://'"], "{errors:?}");
        assert_eq!(config.exclude, ["ok/"]);
        assert_eq!(config.timeout, None);
    }

    #[test]
    fn a_missing_rules_file_is_named_at_its_item() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".tagpin.yaml");
        std::fs::write(&path, "rules: [nowhere.yaml]\n").unwrap();
        let errors = Settings::load(Some(&path), &Overrides::default())
            .unwrap_err()
            .0;
        assert_eq!(errors.len(), 1);
        let expected = dir.path().join("nowhere.yaml");
        assert!(
            errors[0].message.contains(&expected.display().to_string()),
            "{}",
            errors[0].message
        );
        assert!(errors[0].span.is_some());
    }

    #[test]
    fn config_paths_are_relative_to_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf")).unwrap();
        std::fs::write(dir.path().join("conf/extra.yaml"), "version: 1\n").unwrap();
        let path = dir.path().join("conf/.tagpin.yaml");
        std::fs::write(&path, "rules: extra.yaml\nexclude: [vendor/]\n").unwrap();
        let settings = Settings::load(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(settings.exclude[0].base, dir.path().join("conf"));
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
}
