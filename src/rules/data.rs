//! Rule data: the files in `rules/` (embedded at build time) and the ones a user adds with
//! `--rules` or the config's `rules:`. Data, not code, so that a new Kestra line or another
//! image's scheme is a file edit.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jiff::civil::Date;
use serde::Deserialize;

use crate::reference::Image;
use crate::source::FileError;

/// The embedded files, as `build.rs` wrote them in JSON.
const DEFAULT: &str = include_str!(concat!(env!("OUT_DIR"), "/default.json"));
const KESTRA: &str = include_str!(concat!(env!("OUT_DIR"), "/kestra.json"));

/// One rule-data file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleData {
    pub version: u32,
    /// When the data was last brought up to date (Kestra's release table).
    pub updated: Option<jiff::civil::Date>,
    #[serde(default)]
    pub moving: Moving,
    #[serde(default)]
    pub images: BTreeMap<String, ImageRules>,
}

/// What makes a tag a moving channel, for every image.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Moving {
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub suffixes: Vec<String>,
    /// Channels that are builds, not releases: no release tag shares their digest.
    #[serde(default)]
    pub builds: Vec<String>,
}

/// One image's tag scheme.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageRules {
    /// Normalised repositories (`docker.io/kestra/kestra`) the rules apply to.
    pub repositories: Vec<String>,
    #[serde(default)]
    pub version_prefix: String,
    #[serde(default)]
    pub variants: Vec<String>,
    /// How many components a release version has (`v2.0.5`: 3); shorter versions float.
    pub release_components: Option<usize>,
    /// Variant suffixes renamed from a line on (`-no-plugins` became `-slim` in Kestra 2.0).
    #[serde(default)]
    pub variant_renames: Vec<VariantRename>,
    /// Moving tags of this image that the generic channels do not catch (`docker:dind`).
    #[serde(default)]
    pub moving: Vec<String>,
    #[serde(default)]
    pub stale: Vec<String>,
    pub releases: Option<Releases>,
    /// The image runs plugins (Kestra): plugin versions in its files are checked against the
    /// core it runs.
    #[serde(default)]
    pub runs_plugins: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VariantRename {
    pub from: String,
    pub to: String,
    /// The first line (`2.0`) that uses the new name.
    pub since: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Releases {
    pub policy: Policy,
    pub lines: Vec<Line>,
    /// Channel tags that point to the newest release of the current LTS line (`latest-lts`);
    /// with a variant suffix (`latest-lts-slim`) too.
    #[serde(default)]
    pub lts_channels: Vec<String>,
}

impl Releases {
    /// Whether `tag` is one of the LTS channels, in any variant.
    pub fn is_lts_channel(&self, tag: &str) -> bool {
        self.lts_channels
            .iter()
            .any(|c| tag.starts_with(c.as_str()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    pub lts_support_months: u32,
    pub max_lts_lines: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Line {
    pub line: String,
    pub kind: LineKind,
    pub released: Date,
    /// Planned end of support (LTS lines); a feature line ends when the next line ships.
    pub supported_until: Option<Date>,
    pub newest: Option<String>,
    /// The line an upgrade must pass through first.
    pub requires: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    Lts,
    Feature,
}

impl RuleData {
    /// The rule data in `text`, or where it is wrong (the caller knows the file's path).
    pub fn parse(text: &str) -> Result<RuleData, FileError> {
        let data: RuleData = serde_norway::from_str(text).map_err(|e| {
            let at = e.location();
            let (line, column) = (at.as_ref().map(|l| l.line()), at.map(|l| l.column()));
            FileError::at(line, column, e.to_string())
        })?;
        if data.version != 1 {
            return Err(FileError::at(
                None,
                None,
                format!(
                    "unsupported rule data version {} (this tagpin reads version 1)",
                    data.version
                ),
            ));
        }
        Ok(data)
    }

    /// The embedded defaults: generic channels and Kestra's scheme. Parsed once per process
    /// (the version string and the settings both ask for them at every start), from the JSON
    /// `build.rs` made of `rules/*.yaml`.
    pub fn builtin() -> RuleData {
        static BUILTIN: OnceLock<RuleData> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let embedded = |json| -> RuleData {
                    serde_json::from_str(json).expect("the embedded rule data is valid")
                };
                let mut data = embedded(DEFAULT);
                data.extend(embedded(KESTRA));
                data
            })
            .clone()
    }

    /// Add another file's data: lists are added to, an image entry replaces the one of its name.
    pub fn extend(&mut self, other: RuleData) {
        self.updated = self.updated.max(other.updated);
        self.moving.channels.extend(other.moving.channels);
        self.moving.suffixes.extend(other.moving.suffixes);
        self.moving.builds.extend(other.moving.builds);
        self.images.extend(other.images);
    }

    /// The rules of the image a reference names, if any file describes it.
    pub fn image_rules(&self, image: &Image) -> Option<&ImageRules> {
        self.images
            .values()
            .find(|rules| rules.repositories.iter().any(|r| image.is_named(r)))
    }

    /// Whether an image runs plugins: its name (on any registry or mirror) is the last part of
    /// a repository whose rules say `runs-plugins`.
    pub fn runs_plugins(&self, image: &Image) -> bool {
        let name = image.repository.rsplit('/').next().unwrap_or("");
        self.images.values().filter(|r| r.runs_plugins).any(|r| {
            r.repositories
                .iter()
                .any(|repository| repository.rsplit('/').next() == Some(name))
        })
    }

    /// A moving channel: `latest`, `latest-slim`, `stable-alpine`, `nightly`, `x-latest`.
    pub fn is_moving(&self, tag: &str) -> bool {
        let tag = tag.to_ascii_lowercase();
        self.moving.channels.iter().any(|channel| {
            tag == *channel
                || tag
                    .strip_prefix(channel.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
        }) || self
            .moving
            .suffixes
            .iter()
            .any(|suffix| tag.ends_with(suffix.as_str()))
    }
}

impl RuleData {
    /// A channel that tracks a branch build (`develop`, `nightly-alpine`): no release to find.
    pub fn is_build_channel(&self, tag: &str) -> bool {
        let tag = tag.to_ascii_lowercase();
        self.moving.builds.iter().any(|b| {
            tag == *b
                || tag
                    .strip_prefix(b.as_str())
                    .is_some_and(|r| r.starts_with('-'))
        })
    }

    /// The variant suffix of a channel tag: `latest-lts-slim` → `-slim`, `lts-alpine` →
    /// `-alpine`, `latest` → nothing. A variant the image's rules know is taken as a whole.
    pub fn channel_variant(&self, tag: &str, variants: &[String]) -> String {
        if let Some(variant) = variants.iter().find(|v| tag.ends_with(v.as_str())) {
            return variant.clone();
        }
        let mut rest = tag;
        while let Some(channel) = self.moving.channels.iter().find(|c| {
            rest.strip_prefix(c.as_str())
                .is_some_and(|r| r.is_empty() || r.starts_with('-'))
        }) {
            rest = rest[channel.len()..].strip_prefix('-').unwrap_or("");
        }
        if rest.is_empty()
            || self
                .moving
                .suffixes
                .iter()
                .any(|s| tag.ends_with(s.as_str()))
        {
            String::new()
        } else {
            format!("-{rest}")
        }
    }
}

impl ImageRules {
    /// A tag split into its base and the image's variant suffix: `v1.3-slim` → (`v1.3`, `-slim`).
    pub fn split_variant<'t>(&self, tag: &'t str) -> (&'t str, &'t str) {
        self.variants
            .iter()
            .find_map(|variant| {
                tag.strip_suffix(variant.as_str())
                    .map(|base| (base, &tag[base.len()..]))
            })
            .unwrap_or((tag, ""))
    }

    /// The tag without the image's variant suffix and version prefix: `v1.3-slim` → `1.3`.
    pub fn version_part<'t>(&self, tag: &'t str) -> &'t str {
        let base = self.split_variant(tag).0;
        base.strip_prefix(self.version_prefix.as_str())
            .unwrap_or(base)
    }

    /// A numeric version with fewer components than releases have (`v1.3` when releases are
    /// `vX.Y.Z`).
    pub fn is_imprecise(&self, tag: &str) -> bool {
        let Some(components) = self.release_components else {
            return false;
        };
        let version = self.version_part(tag);
        let parts: Vec<&str> = version.split('.').collect();
        tag.starts_with(self.version_prefix.as_str())
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            && parts.len() < components
    }

    /// The name a variant has on `line` (`-no-plugins` is `-slim` from Kestra 2.0 on).
    pub fn variant_on(&self, variant: &str, line: &str) -> String {
        let key = |l: &str| {
            l.split('.')
                .filter_map(|p| p.parse::<u64>().ok())
                .collect::<Vec<_>>()
        };
        self.variant_renames
            .iter()
            .find(|r| r.from == variant && key(line) >= key(&r.since))
            .map_or_else(|| variant.to_string(), |r| r.to.clone())
    }

    pub fn is_stale(&self, tag: &str) -> bool {
        self.stale.iter().any(|s| s == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_json_reads_as_the_yaml_files() {
        for (yaml, json) in [
            (include_str!("../../rules/default.yaml"), DEFAULT),
            (include_str!("../../rules/kestra.yaml"), KESTRA),
        ] {
            let from_yaml = RuleData::parse(yaml).unwrap();
            let from_json: RuleData = serde_json::from_str(json).unwrap();
            assert_eq!(format!("{from_yaml:?}"), format!("{from_json:?}"));
        }
    }

    #[test]
    fn builtin_data_parses_and_knows_kestra() {
        let data = RuleData::builtin();
        let kestra = data
            .image_rules(&Image::parse("kestra/kestra:latest").unwrap())
            .unwrap();
        assert!(kestra.is_stale("latest-full"));
        let ee = Image::parse("registry.kestra.io/docker/kestra-ee:v1.3").unwrap();
        assert!(data.image_rules(&ee).is_some());
        assert!(data.image_rules(&Image::parse("nginx").unwrap()).is_none());
        assert_eq!(kestra.releases.as_ref().unwrap().lines.len(), 5);
    }

    #[test]
    fn moving_channels() {
        let data = RuleData::builtin();
        for tag in [
            "latest",
            "latest-lts",
            "latest-slim",
            "stable-alpine",
            "lts-jdk17",
            "develop-no-plugins",
            "my-latest",
            "LATEST",
        ] {
            assert!(data.is_moving(tag), "{tag}");
        }
        for tag in [
            "v2.0.5",
            "1.27-alpine",
            "latestx",
            "mainframe",
            "16",
            "edgecase",
            "dind-rootless",
        ] {
            assert!(!data.is_moving(tag), "{tag}");
        }
    }

    #[test]
    fn channel_variants_and_builds() {
        let data = RuleData::builtin();
        let kestra = ["-no-plugins".to_string(), "-slim".to_string()];
        assert_eq!(data.channel_variant("latest-lts-slim", &kestra), "-slim");
        assert_eq!(
            data.channel_variant("latest-lts-no-plugins", &kestra),
            "-no-plugins"
        );
        assert_eq!(data.channel_variant("latest", &[]), "");
        assert_eq!(data.channel_variant("lts-alpine", &[]), "-alpine");
        assert_eq!(
            data.channel_variant("stable-alpine3.20", &[]),
            "-alpine3.20"
        );
        assert!(data.is_build_channel("develop") && data.is_build_channel("nightly-alpine"));
        assert!(!data.is_build_channel("latest") && !data.is_build_channel("developer"));
    }

    #[test]
    fn imprecise_kestra_versions() {
        let data = RuleData::builtin();
        let kestra = data
            .image_rules(&Image::parse("kestra/kestra").unwrap())
            .unwrap();
        for tag in ["v1.3", "v2.0-slim", "v1.0-no-plugins", "v1"] {
            assert!(kestra.is_imprecise(tag), "{tag}");
        }
        for tag in ["v1.3.30", "v2.0.5-slim", "1.3", "latest", "v2.0.0-rc7"] {
            assert!(!kestra.is_imprecise(tag), "{tag}");
        }
    }

    #[test]
    fn errors_carry_the_line() {
        let error = RuleData::parse("version: 1\nmoving:\n  chanels: [x]\n").unwrap_err();
        assert_eq!(error.line, Some(3));
        assert!(error.message.contains("chanels"), "{}", error.message);
    }
}
