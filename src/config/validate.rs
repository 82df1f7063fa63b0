//! From the config's shape to its meaning: every value checked where it is written (a rule
//! code exists, a glob compiles, a duration parses, a URL is http(s)), every problem collected
//! with its span. Relative paths and globs are made relative to the config file's folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::Glob;
use ignore::gitignore::GitignoreBuilder;
use jiff::civil::Date;

use super::file::{ConfigFile, MavenEntry, Origin, RegistryEntry, Spanned};
use super::units::{parse_duration, parse_size};
use super::{ConfigError, RegistryConfig};
use crate::maven::MavenSettings;
use crate::pin::PinStyle;
use crate::rules::{self, Severity};
use std::collections::BTreeMap;

/// The keys of `.tagpin.yaml`, checked.
#[derive(Debug, Default)]
pub struct Config {
    pub origin: Origin,
    /// Gitignore-style globs, relative to the config's folder.
    pub exclude: Vec<String>,
    /// Rule codes or names, each known.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub ignore_images: Vec<String>,
    pub fail_on: Option<Severity>,
    /// Rule-data files as written (relative to the config's folder), with where.
    pub rules: Vec<Spanned<PathBuf>>,
    pub max_file_size: Option<u64>,
    /// Registry host → where its requests go and whether plain HTTP is allowed.
    pub registries: BTreeMap<String, RegistryConfig>,
    pub cache_ttl: Option<Duration>,
    pub timeout: Option<Duration>,
    pub pin: Option<PinStyle>,
    pub today: Option<Date>,
    pub maven: MavenSettings,
}

/// Why `text` is no http:// or https:// URL with a host, if it is not one; never repeating the
/// URL, which may carry a password.
pub fn url_problem(text: &str) -> Option<String> {
    match url::Url::parse(text) {
        Err(e) => Some(format!("is not a URL ({e})")),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            Some("must start with http:// or https://".into())
        }
        Ok(url) if url.host().is_none() => Some("has no host".into()),
        Ok(_) => None,
    }
}

/// A gitignore-style glob's problem, if it has one.
pub fn exclude_error(folder: &std::path::Path, pattern: &str) -> Option<String> {
    GitignoreBuilder::new(folder)
        .add_line(None, pattern)
        .err()
        .map(|e| e.to_string())
}

impl ConfigFile {
    /// Check every value, adding each problem to `errors`; a bad value is left out.
    pub fn validate(self, errors: &mut Vec<ConfigError>) -> Config {
        let origin = self.origin;
        let check = Check {
            origin: &origin,
            errors: std::cell::RefCell::new(errors),
        };
        let folder = origin.folder();
        let exclude = check.each(self.exclude, |pattern| {
            match exclude_error(&folder, pattern) {
                None => Ok(pattern.to_string()),
                Some(e) => Err(Bad::new(
                    format!("`exclude` has an invalid glob: {e}"),
                    "invalid glob",
                )),
            }
        });
        let config = Config {
            select: check.each(self.select, |name| rule_code("select", name)),
            ignore: check.each(self.ignore, |name| rule_code("ignore", name)),
            ignore_images: check.each(self.ignore_images, |pattern| {
                Glob::new(pattern)
                    .map(|_| pattern.to_string())
                    .map_err(|e| {
                        Bad::new(
                            format!(
                                "`ignore-images` has an invalid glob `{pattern}`: {}",
                                e.kind()
                            ),
                            "invalid glob",
                        )
                    })
            }),
            rules: self
                .rules
                .into_iter()
                .filter_map(|item| {
                    let span = item.span.clone();
                    let value = check.one(Some(item), |text| match leaves(&folder, Path::new(text)) {
                        None => Ok(PathBuf::from(text)),
                        Some(why) => Err(Bad {
                            help: Some(
                                "a config names rules files in its folder or below; `--rules FILE` reads any file"
                                    .into(),
                            ),
                            ..Bad::new(
                                format!("`rules` path `{}` {why}", crate::escape::text(text)),
                                "outside the repository",
                            )
                        }),
                    })?;
                    Some(Spanned { value, span })
                })
                .collect(),
            fail_on: check.one(self.fail_on, |text| {
                Severity::parse(text).ok_or_else(|| {
                    Bad::new(
                        "`fail-on` must be `error`, `warning` or `info`",
                        "invalid value",
                    )
                })
            }),
            max_file_size: check.one(self.max_file_size, |text| {
                parse_size(text).ok_or_else(|| {
                    Bad::new(
                        "`max-file-size` must be a size such as `10MiB` or a number of bytes",
                        "invalid size",
                    )
                })
            }),
            cache_ttl: check.one(self.cache_ttl, |text| duration("cache-ttl", text)),
            timeout: check.one(self.timeout, |text| match duration("timeout", text)? {
                Duration::ZERO => Err(Bad::new(
                    "`timeout` of 0 fails every request; give e.g. `20s`",
                    "zero",
                )),
                timeout => Ok(timeout),
            }),
            pin: check.one(self.pin, |text| {
                PinStyle::parse(text).ok_or_else(|| {
                    Bad::new(
                        "`pin` must be `version`, `digest` or `version+digest`",
                        "invalid value",
                    )
                })
            }),
            today: check.one(self.today, |text| {
                text.parse::<Date>().map_err(|_| {
                    Bad::new(
                        "`today` must be a date such as `2026-11-24`",
                        "invalid date",
                    )
                })
            }),
            registries: check.registries(self.registries),
            maven: check.maven(self.maven),
            exclude,
            origin: Origin::default(),
        };
        Config { origin, ..config }
    }
}

/// What is wrong with one value: the message and the label under it.
struct Bad {
    message: String,
    label: &'static str,
    help: Option<String>,
}

impl Bad {
    fn new(message: impl Into<String>, label: &'static str) -> Bad {
        Bad {
            message: message.into(),
            label,
            help: None,
        }
    }
}

struct Check<'a, 'e> {
    origin: &'a Origin,
    errors: std::cell::RefCell<&'e mut Vec<ConfigError>>,
}

impl Check<'_, '_> {
    fn one<T>(
        &self,
        item: Option<Spanned<String>>,
        parse: impl FnOnce(&str) -> Result<T, Bad>,
    ) -> Option<T> {
        let item = item?;
        parse(&item.value)
            .map_err(|bad| self.report(item.span, bad))
            .ok()
    }

    fn each<T>(
        &self,
        items: Vec<Spanned<String>>,
        mut parse: impl FnMut(&str) -> Result<T, Bad>,
    ) -> Vec<T> {
        items
            .into_iter()
            .filter_map(|item| self.one(Some(item), &mut parse))
            .collect()
    }

    /// `registries:`: each mirror an http(s) URL, each `insecure` a boolean.
    fn registries(
        &self,
        registries: Vec<(Spanned<String>, RegistryEntry)>,
    ) -> BTreeMap<String, RegistryConfig> {
        registries
            .into_iter()
            .map(|(host, entry)| {
                let name = &host.value;
                let registry = RegistryConfig {
                    mirror: self.one(entry.mirror, |url| {
                        http_url(
                            url,
                            format!(
                                "`registries.{name}.mirror` must be an http:// or https:// URL"
                            ),
                        )
                    }),
                    insecure: self
                        .one(entry.insecure, |text| match text {
                            "true" => Ok(true),
                            "false" => Ok(false),
                            _ => Err(Bad::new(
                                format!("`registries.{name}.insecure` must be true or false"),
                                "invalid value",
                            )),
                        })
                        .unwrap_or(false),
                };
                (host.value, registry)
            })
            .collect()
    }

    /// `maven:`: every URL http(s).
    fn maven(&self, maven: MavenEntry) -> MavenSettings {
        MavenSettings {
            mirror: self.one(maven.mirror, |url| {
                http_url(
                    url,
                    "`maven.mirror` must be an http:// or https:// URL".into(),
                )
            }),
            // The item's text is not repeated: a URL may carry a password.
            repositories: self.each(maven.repositories, |url| {
                http_url(
                    url,
                    "`maven.repositories` entries must be http:// or https:// URLs".into(),
                )
            }),
        }
    }

    fn report(&self, span: std::ops::Range<usize>, bad: Bad) {
        let error = self.origin.error(span, bad.message, bad.label, bad.help);
        self.errors.borrow_mut().push(error);
    }
}

fn rule_code(key: &str, name: &str) -> Result<String, Bad> {
    rules::find(name)
        .map(|_| name.to_string())
        .ok_or_else(|| Bad {
            message: format!("`{key}` names an unknown rule `{name}`"),
            label: "unknown rule",
            help: Some("`tagpin explain` lists the rules".into()),
        })
}

/// An http:// or https:// URL, or `message` (which does not repeat the URL: it may carry a
/// password).
fn http_url(url: &str, message: String) -> Result<String, Bad> {
    match url_problem(url) {
        None => Ok(url.to_string()),
        Some(_) => Err(Bad::new(message, "invalid URL")),
    }
}

fn duration(key: &str, text: &str) -> Result<Duration, Bad> {
    parse_duration(text).ok_or_else(|| {
        Bad::new(
            format!("`{key}` must be a duration such as `30s`, `10m`, `1h` or a number of seconds"),
            "invalid duration",
        )
    })
}

/// Why a path a config names leaves the config's folder, if it does: a repository's config
/// is data, and must not make tagpin read files elsewhere on the machine.
fn leaves(folder: &Path, path: &Path) -> Option<&'static str> {
    use std::path::Component;
    if path.has_root() || path.is_absolute() {
        return Some("is absolute");
    }
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            Component::ParentDir if depth == 0 => return Some("leaves the config's folder"),
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    match (folder.canonicalize(), folder.join(path).canonicalize()) {
        (Ok(root), Ok(target)) if !target.starts_with(&root) => {
            Some("is a symlink leading out of the config's folder")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_problems_say_what_is_wrong_without_the_url() {
        assert_eq!(url_problem("https://mirror.example.com/v2"), None);
        let problem = |text| url_problem(text).unwrap();
        assert_eq!(
            problem("http://u:secret@[::1"),
            "is not a URL (invalid IPv6 address)"
        );
        assert_eq!(
            problem("ftp://mirror"),
            "must start with http:// or https://"
        );
        assert_eq!(
            problem("mirror.example.com"),
            "is not a URL (relative URL without a base)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn rules_paths_stay_in_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("repo");
        std::fs::create_dir_all(folder.join("rules")).unwrap();
        std::fs::write(dir.path().join("elsewhere.yaml"), "").unwrap();
        std::os::unix::fs::symlink("../elsewhere.yaml", folder.join("out.yaml")).unwrap();
        std::os::unix::fs::symlink("../repo", folder.join("rules/self")).unwrap();
        for inside in [
            "rules/a.yaml",
            "rules/../a.yaml",
            "./a.yaml",
            "rules/self/a.yaml",
        ] {
            assert_eq!(leaves(&folder, Path::new(inside)), None, "{inside}");
        }
        for (outside, why) in [
            ("../../etc/passwd", "leaves the config's folder"),
            ("rules/../../x.yaml", "leaves the config's folder"),
            ("/etc/passwd", "is absolute"),
            (
                "out.yaml",
                "is a symlink leading out of the config's folder",
            ),
        ] {
            assert_eq!(leaves(&folder, Path::new(outside)), Some(why), "{outside}");
        }
    }
}
