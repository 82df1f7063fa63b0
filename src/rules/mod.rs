//! The rule catalogue. Each rule lives in one module, `src/rules/<name>.rs`, which holds what it
//! checks and how it fixes it, with its documentation beside it in `src/rules/<name>.md`
//! (`tagpin explain`). The one table below generates [`Rule`]: a code is never reused, and a
//! misspelt rule is a compile error.

pub mod data;
pub mod digest_mismatch;
pub mod floating_plugin;
pub mod floating_tag;
pub mod imprecise_version;
pub mod incompatible_plugin;
pub mod invalid_reference;
pub mod missing_tag;
pub mod outdated_patch;
pub mod platform_digest;
pub mod policy;
pub mod stale_tag;
pub mod unknown_tag;
pub mod unresolved_variable;
pub mod unsupported_release;
pub mod unused_suppression;
pub mod unversioned_tag;

use jiff::civil::Date;
use serde::Serialize;

use crate::escape;
use crate::pin::Pin;
use crate::reference::Image;
use crate::rules::data::{ImageRules, RuleData};
use crate::rules::policy::ReleaseTable;
use crate::source::Span;

/// How serious a finding is; `--fail-on` compares against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// What a rule needs to find anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The file and the rule data.
    File,
    /// The file and the rule data; the registry, when reachable, corrects and completes it.
    FileOrRegistry,
    /// An answer of the registry (or of a Maven repository).
    Registry,
}

impl Needs {
    /// For `tagpin explain`: does the rule need the registry?
    pub fn as_str(self) -> &'static str {
        match self {
            Needs::File => "no",
            Needs::FileOrRegistry => "to complete the rule data",
            Needs::Registry => "yes",
        }
    }
}

macro_rules! rules {
    ($($variant:ident $code:literal $name:literal $module:ident, $severity:ident, $needs:ident, fixable: $fixable:literal, $summary:literal;)*) => {
        /// Every rule tagpin can report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($variant,)*
        }

        impl Rule {
            /// Every rule, in code order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable code: `TP002`.
            pub fn code(self) -> &'static str {
                match self { $(Rule::$variant => $code,)* }
            }

            /// The kebab-case name: `floating-tag`.
            pub fn name(self) -> &'static str {
                match self { $(Rule::$variant => $name,)* }
            }

            /// The default severity.
            pub fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }

            pub fn needs(self) -> Needs {
                match self { $(Rule::$variant => Needs::$needs,)* }
            }

            /// Whether tagpin can fix what the rule finds.
            pub fn fixable(self) -> bool {
                match self { $(Rule::$variant => $fixable,)* }
            }

            /// One line: what the rule catches.
            pub fn summary(self) -> &'static str {
                match self { $(Rule::$variant => $summary,)* }
            }

            /// Markdown documentation, from `src/rules/<name>.md`.
            pub fn docs(self) -> &'static str {
                match self { $(Rule::$variant => include_str!(concat!(stringify!($module), ".md")),)* }
            }

            /// Where the documentation is in the repository.
            pub fn doc_path(self) -> &'static str {
                match self { $(Rule::$variant => concat!("src/rules/", stringify!($module), ".md"),)* }
            }
        }
    };
}

rules! {
    MissingTag "TP001" "missing-tag" missing_tag, Error, File, fixable: true, "No tag and no digest: the image pulls whatever `latest` is";
    FloatingTag "TP002" "floating-tag" floating_tag, Error, File, fixable: true, "A moving channel (`latest`, `latest-lts`, `stable`, `develop`…)";
    ImpreciseVersion "TP003" "imprecise-version" imprecise_version, Warning, File, fixable: true, "A version missing components its releases have (Kestra `v1.3`)";
    StaleTag "TP004" "stale-tag" stale_tag, Warning, File, fixable: false, "A tag that stopped moving and is no release (Kestra `latest-full`)";
    UnknownTag "TP005" "unknown-tag" unknown_tag, Error, FileOrRegistry, fixable: false, "The tag does not exist in the registry";
    UnsupportedRelease "TP006" "unsupported-release" unsupported_release, Warning, FileOrRegistry, fixable: true, "Pinned to a release line past its support window";
    OutdatedPatch "TP007" "outdated-patch" outdated_patch, Info, Registry, fixable: true, "A newer patch exists on the same line";
    DigestMismatch "TP008" "digest-mismatch" digest_mismatch, Error, Registry, fixable: true, "`tag@digest` where the tag no longer points to that digest";
    PlatformDigest "TP009" "platform-digest" platform_digest, Warning, Registry, fixable: true, "A pinned digest is one platform's manifest, not the multi-arch index";
    InvalidReference "TP010" "invalid-reference" invalid_reference, Error, File, fixable: false, "Not a valid image reference";
    UnresolvedVariable "TP011" "unresolved-variable" unresolved_variable, Info, File, fixable: false, "A variable with no default: the reference cannot be checked";
    FloatingPlugin "TP012" "floating-plugin" floating_plugin, Warning, File, fixable: true, "A Kestra plugin version that moves: `LATEST`, none, a range, `defaultVersion: LATEST`";
    UnversionedTag "TP013" "unversioned-tag" unversioned_tag, Warning, File, fixable: true, "A tag with no version in it (`redis:alpine`, `rust:bookworm`, `docker:dind`)";
    UnusedSuppression "TP014" "unused-suppression" unused_suppression, Info, File, fixable: false, "A `# tagpin: ignore` comment, or a code in one, that suppresses nothing";
    IncompatiblePlugin "TP015" "incompatible-plugin" incompatible_plugin, Warning, Registry, fixable: true, "A plugin version newer than the Kestra core of its image supports";
}

/// A rule by code (`TP002`, any case) or name (`floating-tag`).
pub fn find(code_or_name: &str) -> Option<Rule> {
    Rule::ALL
        .iter()
        .copied()
        .find(|rule| rule.code().eq_ignore_ascii_case(code_or_name) || rule.name() == code_or_name)
}

impl Rule {
    /// A finding of this rule is fixed by pinning what its tag points to now (the registry's
    /// answer): the fix keeps what runs.
    pub fn pinned_by_registry_answer(self) -> bool {
        matches!(
            self,
            Rule::MissingTag | Rule::FloatingTag | Rule::ImpreciseVersion | Rule::UnversionedTag
        )
    }

    /// The registry checks a `tag@digest` pin for this rule.
    pub fn checks_digest_pin(self) -> bool {
        matches!(self, Rule::DigestMismatch | Rule::PlatformDigest)
    }

    /// The registry checks a pinned tag for this rule.
    pub fn checks_tag_pin(self) -> bool {
        matches!(
            self,
            Rule::UnknownTag | Rule::UnsupportedRelease | Rule::OutdatedPatch
        )
    }

    /// A Maven repository checks a plugin version for this rule.
    pub fn checks_plugin(self) -> bool {
        matches!(self, Rule::FloatingPlugin | Rule::IncompatiblePlugin)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// What a rule found: the rule, where, what to say and, when the rule knows it, the pin.
#[derive(Debug, Clone)]
pub(crate) struct Diagnosis {
    pub rule: Rule,
    pub span: Span,
    /// The bytes a fix rewrites, when the file holds them verbatim.
    pub target: Option<Span>,
    pub message: String,
    pub help: Option<String>,
    pub pin: Option<Pin>,
}

impl Diagnosis {
    pub fn new(
        rule: Rule,
        span: Span,
        target: Option<Span>,
        message: String,
        help: Option<String>,
    ) -> Self {
        Diagnosis {
            rule,
            span,
            target,
            message,
            help,
            pin: None,
        }
    }
}

/// An image reference with a tag (or a digest), as the rules on it see it.
pub(crate) struct Tagged<'a> {
    /// The reference as evaluated.
    pub written: &'a str,
    /// The reference as quoted in messages.
    pub text: &'a str,
    pub image: &'a Image,
    /// Empty for a digest without a tag.
    pub tag: &'a str,
    pub rules: Option<&'a ImageRules>,
    pub data: &'a RuleData,
    pub today: Date,
    pub span: Span,
    pub target: Option<Span>,
}

impl Tagged<'_> {
    /// The name as written (`kestra/kestra`).
    pub fn name(&self) -> &str {
        &self.written[self.image.name_range.clone()]
    }

    pub fn diagnosis(&self, rule: Rule, message: String, help: Option<String>) -> Diagnosis {
        Diagnosis::new(rule, self.span.clone(), self.target.clone(), message, help)
    }
}

/// What the registry said about a pinned tag, for the rules it completes (TP005, TP006,
/// TP007). The default is nothing: offline, the rule data alone decides.
#[derive(Debug, Clone, Copy, Default)]
pub struct TagFacts<'a> {
    /// Whether the registry has the tag; `None` when it was not asked or did not answer.
    pub exists: Option<bool>,
    /// Every tag the registry lists for the image.
    pub tags: Option<&'a [String]>,
    /// The image's release table completed by the registry.
    pub table: Option<&'a ReleaseTable>,
}

/// What the registry said about a `tag@digest` (or `@digest`) pin, for TP008 and TP009.
#[derive(Debug, Clone, Default)]
pub struct DigestFacts {
    /// Whether the registry has the pinned digest.
    pub pinned_exists: bool,
    /// The digest the tag points to now (`None`: no tag, or the registry no longer has it).
    pub current: Option<String>,
    /// The platform the pinned digest is built for, inside the index the tag points to now.
    pub platform: Option<String>,
}

/// A reference as quoted in a message: on one line, long ones (hostile input) cut to a
/// readable length.
pub(crate) fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    const LIMIT: usize = 120;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!(
            "{}… ({} characters)",
            escape::text(&text[..cut]),
            text.chars().count()
        )
        .into(),
        None => escape::text(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_documented() {
        let codes: HashSet<_> = Rule::ALL.iter().map(|r| r.code()).collect();
        let names: HashSet<_> = Rule::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(codes.len(), Rule::ALL.len());
        assert_eq!(names.len(), Rule::ALL.len());
        for (i, rule) in Rule::ALL.iter().enumerate() {
            assert_eq!(rule.code(), format!("TP{:03}", i + 1));
            assert!(
                rule.docs()
                    .starts_with(&format!("# {} {}", rule.code(), rule.name())),
                "{rule}"
            );
            assert!(!rule.summary().ends_with('.'), "{rule}");
        }
    }

    #[test]
    fn lookup_by_code_or_name() {
        assert_eq!(find("tp002"), Some(Rule::FloatingTag));
        assert_eq!(find("missing-tag"), Some(Rule::MissingTag));
        assert!(find("TP999").is_none());
    }
}

/// One fixture per rule (`testdata/rules/<code>.yaml`), checked offline on a fixed day; the
/// snapshots in `src/rules/snapshots/` show every finding of that rule with its help and fix.
/// The rules that read a registry's or Maven's answers (TP005 to TP009, TP015) have a fixture
/// (`<code>-registry.yaml`) checked with what `testdata/rules/answers.yaml` says they answer;
/// how those answers are asked for is tested against real servers in `tests/`.
#[cfg(test)]
mod fixtures {
    use std::collections::BTreeMap;
    use std::fmt::Write;
    use std::path::{Path, PathBuf};

    use serde::Deserialize;
    use test_case::test_case;

    use super::{DigestFacts, Rule, TagFacts};
    use crate::config::Settings;
    use crate::finding::Finding;
    use crate::plugin::Requested;
    use crate::rules::policy::ReleaseTable;
    use crate::source::SourceFile;

    /// What the registry and Maven answer.
    #[derive(Deserialize, Default)]
    struct Answers {
        images: BTreeMap<String, Listed>,
        /// The Kestra core each `group:artifact:version` needs.
        plugins: BTreeMap<String, String>,
    }

    /// What the registry has of an image.
    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Listed {
        tags: Vec<String>,
        latest_lts: Option<String>,
        /// Where tags point now.
        #[serde(default)]
        points_to: BTreeMap<String, String>,
        /// The platform manifests of an index, by digest.
        #[serde(default)]
        indexes: BTreeMap<String, BTreeMap<String, String>>,
        /// Manifests no tag points to any more.
        #[serde(default)]
        untagged: Vec<String>,
    }

    impl Listed {
        fn digest_facts(&self, tag: Option<&str>, digest: &str) -> DigestFacts {
            let pinned_exists = self.points_to.values().any(|d| d == digest)
                || self.indexes.values().any(|i| i.contains_key(digest))
                || self.untagged.iter().any(|d| d == digest);
            let current = tag.and_then(|t| self.points_to.get(t)).cloned();
            let platform = current
                .as_ref()
                .filter(|c| *c != digest)
                .and_then(|c| self.indexes.get(c)?.get(digest))
                .cloned();
            DigestFacts {
                pinned_exists,
                current,
                platform,
            }
        }
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/rules")
            .join(name)
    }

    /// Every finding of a fixture, the tag rules given what the registry lists (by image).
    fn check(name: &str, answers: &Answers) -> Vec<Finding> {
        let path = fixture(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let file = SourceFile::new(name.into(), text);
        let kind = crate::scan::classify(&path).unwrap();
        let scan = crate::scan::scan(&file, kind).unwrap();
        let mut settings = Settings::default();
        settings.today = "2026-11-24".parse().unwrap();
        let checked = crate::check::check_file_with_plugins(&file, &scan, &settings);
        let (mut findings, pinned, plugins) = (checked.findings, checked.pinned, checked.plugins);
        for pin in &pinned {
            let listed = answers.images.get(&pin.image.short_name());
            let rules = settings.data.image_rules(&pin.image);
            let table = listed.zip(rules).and_then(|(listed, rules)| {
                let releases = rules.releases.as_ref()?;
                let mut table = ReleaseTable::new(rules, releases);
                let lts = listed.latest_lts.as_deref();
                table.complete(releases, &listed.tags, lts, &rules.variants);
                Some(table)
            });
            let tags = listed.map(|l| l.tags.as_slice());
            let tag = pin.image.tag.clone().unwrap_or_default();
            let facts = TagFacts {
                exists: tags.map(|t| t.contains(&tag)),
                tags,
                table: table.as_ref(),
            };
            findings.extend(pin.tag_finding(&settings.data, settings.today, &facts));
            if let (Some(listed), Some(digest)) = (listed, &pin.image.digest) {
                let facts = listed.digest_facts(pin.image.tag.as_deref(), digest);
                let found = pin.digest_finding(&settings.data, settings.today, &facts);
                findings.extend(found);
            }
        }
        for site in &plugins.sites {
            let (Requested::Exact(version), Some(image)) = (&site.requested, &site.image) else {
                continue;
            };
            let written = format!("{}:{version}", site.artifact);
            let tag = crate::reference::Image::parse(&image.text).unwrap().tag;
            let core = tag.as_deref().and_then(crate::plugin::core_of_tag);
            if let (Some(need), Some(core)) = (answers.plugins.get(&written), core) {
                let at = (site.span().clone(), site.target().cloned());
                let d = super::incompatible_plugin::check(&written, at, need, &core);
                findings.extend(d.and_then(|d| site.finding(d)));
            }
        }
        findings.extend(crate::check::unused_suppressions(&pinned, &plugins.sites));
        findings
    }

    fn render(rule: Rule, findings: &[Finding]) -> String {
        let mut out = String::new();
        for f in findings.iter().filter(|f| f.rule == rule) {
            writeln!(
                out,
                "{}:{} {} {}",
                f.start.line,
                f.start.column,
                f.rule.code(),
                f.message
            )
            .unwrap();
            if let Some(help) = &f.help {
                writeln!(out, "  help: {help}").unwrap();
            }
            if let Some(fix) = &f.fix {
                let edits: Vec<String> = fix
                    .edits
                    .iter()
                    .map(|e| format!("{:?} -> {:?}", e.span, e.text))
                    .collect();
                writeln!(
                    out,
                    "  fix ({:?}): {} [{}]",
                    fix.applicability,
                    fix.title,
                    edits.join(", ")
                )
                .unwrap();
            }
        }
        out
    }

    #[test_case(Rule::MissingTag, "TP001.yaml")]
    #[test_case(Rule::FloatingTag, "TP002.yaml")]
    #[test_case(Rule::ImpreciseVersion, "TP003.yaml")]
    #[test_case(Rule::StaleTag, "TP004.yaml")]
    #[test_case(Rule::UnknownTag, "TP005.yaml")]
    #[test_case(Rule::UnsupportedRelease, "TP006.yaml")]
    #[test_case(Rule::InvalidReference, "TP010.yaml")]
    #[test_case(Rule::UnresolvedVariable, "TP011.yaml")]
    #[test_case(Rule::FloatingPlugin, "TP012.yaml")]
    #[test_case(Rule::UnversionedTag, "TP013.yaml")]
    #[test_case(Rule::UnusedSuppression, "TP014.yaml")]
    fn rule(rule: Rule, fixture: &str) {
        let out = render(rule, &check(fixture, &Answers::default()));
        assert!(!out.is_empty(), "no {rule} in {fixture}");
        insta::assert_snapshot!(rule.code(), out);
    }

    #[test_case(Rule::UnknownTag, "TP005-registry.yaml")]
    #[test_case(Rule::UnsupportedRelease, "TP006-registry.yaml")]
    #[test_case(Rule::OutdatedPatch, "TP007-registry.yaml")]
    #[test_case(Rule::DigestMismatch, "TP008-registry.yaml")]
    #[test_case(Rule::PlatformDigest, "TP009-registry.yaml")]
    #[test_case(Rule::IncompatiblePlugin, "TP015-registry.yaml")]
    fn registry_rule(rule: Rule, name: &str) {
        let answers = std::fs::read_to_string(fixture("answers.yaml")).unwrap();
        let answers: Answers = serde_norway::from_str(&answers).unwrap();
        let out = render(rule, &check(name, &answers));
        assert!(!out.is_empty(), "no {rule} in {name}");
        insta::assert_snapshot!(format!("{}-registry", rule.code()), out);
    }
}
