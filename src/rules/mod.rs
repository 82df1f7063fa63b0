//! The rule catalogue: every rule tagpin can report, with a stable code that is never reused,
//! a kebab-case name, a default severity and its documentation (`tagpin explain`).

pub mod data;

use serde::Serialize;

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

#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// Whether the rule asks the registry.
    pub registry: bool,
    /// Whether tagpin can fix what the rule finds.
    pub fixable: bool,
    /// One line: what the rule catches.
    pub summary: &'static str,
    /// Markdown documentation, from `rules/docs/`.
    pub docs: &'static str,
}

macro_rules! rule {
    ($code:literal, $name:literal, $severity:ident, registry: $registry:literal, fixable: $fixable:literal, $summary:literal) => {
        Rule {
            code: $code,
            name: $name,
            severity: Severity::$severity,
            registry: $registry,
            fixable: $fixable,
            summary: $summary,
            docs: include_str!(concat!("../../rules/docs/", $code, ".md")),
        }
    };
}

pub static RULES: &[Rule] = &[
    rule!("TP001", "missing-tag", Error, registry: false, fixable: true, "No tag and no digest: the image pulls whatever `latest` is"),
    rule!("TP002", "floating-tag", Error, registry: false, fixable: true, "A moving channel (`latest`, `latest-lts`, `stable`, `develop`…)"),
    rule!("TP003", "imprecise-version", Warning, registry: false, fixable: true, "A version missing components its releases have (Kestra `v1.3`)"),
    rule!("TP004", "stale-tag", Warning, registry: false, fixable: false, "A tag that stopped moving and is no release (Kestra `latest-full`)"),
    rule!("TP005", "unknown-tag", Error, registry: true, fixable: false, "The tag does not exist in the registry"),
    rule!("TP006", "unsupported-release", Warning, registry: false, fixable: true, "Pinned to a release line past its support window"),
    rule!("TP007", "outdated-patch", Info, registry: true, fixable: true, "A newer patch exists on the same line"),
    rule!("TP008", "digest-mismatch", Error, registry: true, fixable: true, "`tag@digest` where the tag no longer points to that digest"),
    rule!("TP009", "platform-digest", Warning, registry: true, fixable: true, "A pinned digest is one platform's manifest, not the multi-arch index"),
    rule!("TP010", "invalid-reference", Error, registry: false, fixable: false, "Not a valid image reference"),
    rule!("TP011", "unresolved-variable", Info, registry: false, fixable: false, "A variable with no default: the reference cannot be checked"),
    rule!("TP012", "floating-plugin", Warning, registry: false, fixable: true, "A Kestra plugin version that moves: `LATEST`, none, a range, `defaultVersion: LATEST`"),
    rule!("TP013", "unversioned-tag", Warning, registry: false, fixable: true, "A tag with no version in it (`redis:alpine`, `rust:bookworm`, `docker:dind`)"),
    rule!("TP014", "unused-suppression", Info, registry: false, fixable: false, "A `# tagpin: ignore` comment, or a code in one, that suppresses nothing"),
    rule!("TP015", "incompatible-plugin", Warning, registry: true, fixable: true, "A plugin version newer than the Kestra core of its image supports"),
];

/// A rule by code (`TP002`, any case) or name (`floating-tag`).
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|rule| rule.code.eq_ignore_ascii_case(code_or_name) || rule.name == code_or_name)
}

pub fn rule(code: &str) -> &'static Rule {
    find(code).unwrap_or_else(|| panic!("no rule {code}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_documented() {
        let codes: HashSet<_> = RULES.iter().map(|r| r.code).collect();
        let names: HashSet<_> = RULES.iter().map(|r| r.name).collect();
        assert_eq!(codes.len(), RULES.len());
        assert_eq!(names.len(), RULES.len());
        for rule in RULES {
            assert!(
                rule.docs
                    .starts_with(&format!("# {} {}", rule.code, rule.name)),
                "{}",
                rule.code
            );
            assert!(!rule.summary.ends_with('.'), "{}", rule.code);
        }
    }

    #[test]
    fn lookup_by_code_or_name() {
        assert_eq!(find("tp002").unwrap().name, "floating-tag");
        assert_eq!(find("missing-tag").unwrap().code, "TP001");
        assert!(find("TP999").is_none());
    }
}
