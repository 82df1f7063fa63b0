//! Which release tags to ask whether they share a floating tag's digest, and in what order:
//! tagpin's policy, read from the rule data (variants, `version-prefix`, `release-components`,
//! LTS lines, build channels). It lives in `resolve/` so that the registry client knows nothing
//! of rules: the client asks the tags it is given ([`Candidates`]) and the registry's answers
//! decide; this order only makes the usual resolution cost one HEAD.

use std::collections::{HashMap, HashSet};

use crate::reference::Image;
use crate::registry::Candidates;
use crate::rules::data::{LineKind, RuleData};
use crate::version::TagVersion;

impl Candidates for RuleData {
    fn may_have_release(&self, _image: &Image, tag: &str) -> bool {
        !self.is_build_channel(tag)
    }

    fn order(&self, image: &Image, tag: Option<&str>, tags: &[String]) -> Vec<String> {
        candidates(tag, tags, image, self)
    }
}

/// The tags that are releases: versions with the full number of components (the rules'
/// `release-components`, else the most any tag of the same major has), so `v2.0` beside
/// `v2.0.5` (an alias that moves) never is one; with a `version-prefix`, prefixed tags only.
fn releases<'t>(
    tags: &'t [String],
    variants: &[String],
    prefix: Option<&str>,
    components: Option<usize>,
) -> Vec<(TagVersion, &'t String)> {
    let versions: Vec<(TagVersion, &String)> = tags
        .iter()
        .filter_map(|t| Some((TagVersion::parse(t, variants)?, t)))
        .filter(|(v, _)| v.is_release() && prefix.is_none_or(|p| v.prefix == p))
        .collect();
    let mut longest: HashMap<u64, usize> = HashMap::new();
    for (v, _) in &versions {
        let most = longest.entry(v.components[0]).or_default();
        *most = (*most).max(v.components.len());
    }
    versions
        .into_iter()
        .filter(|(v, _)| {
            Some(v.components.len()) == components.or(longest.get(&v.components[0]).copied())
        })
        .collect()
}

/// A release's line as the group its newest patch heads: prefix, all components but the last,
/// variant.
fn group(v: &TagVersion) -> (String, Vec<u64>, String) {
    let line = v.components[..v.components.len() - 1].to_vec();
    (v.prefix.clone(), line, v.variant.clone())
}

/// A release tag read as a version.
type Release<'t> = (TagVersion, &'t String);

/// Split into the newest release of each group (in the given order) and the rest.
fn heads_first(list: Vec<Release<'_>>) -> (Vec<Release<'_>>, Vec<Release<'_>>) {
    let mut seen = HashSet::new();
    list.into_iter().partition(|(v, _)| seen.insert(group(v)))
}

/// The order to ask releases in whether they share a floating tag's digest (`tag` is `None`
/// for a digest reference). First what the rules prefer: the same variant (or its new name),
/// the tag's own line (`v1.3`), LTS lines for an LTS channel; then every other release, the
/// same variant before the plain image before other variants, nearest line first, dotted
/// versions before build numbers and dates. Within each part the
/// newest patch of every line comes before older patches: a moving tag almost always points
/// at one, so a typical resolution costs one HEAD.
fn candidates(tag: Option<&str>, tags: &[String], image: &Image, rules: &RuleData) -> Vec<String> {
    let image_rules = rules.image_rules(image);
    let variants: Vec<String> = image_rules.map(|r| r.variants.clone()).unwrap_or_default();
    let prefix = image_rules
        .map(|r| r.version_prefix.as_str())
        .filter(|p| !p.is_empty());
    let (line, variant) = match tag.and_then(|t| TagVersion::parse(t, &variants)) {
        Some(version) => (Some(version.components.clone()), version.variant),
        None => (
            None,
            tag.map(|t| rules.channel_variant(t, &variants))
                .unwrap_or_default(),
        ),
    };
    let lts_lines: Option<Vec<String>> = image_rules
        .and_then(|r| r.releases.as_ref())
        .filter(|releases| tag.is_some_and(|t| releases.is_lts_channel(t)))
        .map(|releases| {
            releases
                .lines
                .iter()
                .filter(|l| l.kind == LineKind::Lts)
                .map(|l| l.line.clone())
                .collect()
        });
    let same_variant = |v: &TagVersion| {
        v.variant == variant
            || image_rules.is_some_and(|r| r.variant_on(&variant, &v.line()) == v.variant)
    };
    let components = image_rules.and_then(|r| r.release_components);
    let (mut preferred, mut other): (Vec<_>, Vec<_>) =
        releases(tags, &variants, prefix, components)
            .into_iter()
            .filter(|(_, t)| Some(t.as_str()) != tag)
            .partition(|(v, _)| {
                v.components.len() > 1
                    && same_variant(v)
                    && line.as_ref().is_none_or(|line| {
                        v.components.len() > line.len() && v.components.starts_with(line)
                    })
                    && lts_lines
                        .as_ref()
                        .is_none_or(|lines| lines.contains(&v.line()))
            });
    preferred.sort_by(|(a, _), (b, _)| {
        b.semver()
            .cmp(&a.semver())
            .then_with(|| TagVersion::specific_then_newest(a, b))
    });
    // Lines in order, to measure how far one is from the preferred part's.
    let mut lines: Vec<Vec<u64>> = other
        .iter()
        .chain(&preferred)
        .map(|(v, _)| group(v).1)
        .collect();
    lines.sort();
    lines.dedup();
    let position = |line: &Vec<u64>| lines.binary_search(line).unwrap_or_else(|i| i) as i64;
    let anchor = preferred
        .first()
        .map(|(v, _)| position(&group(v).1))
        .or_else(|| line.as_ref().map(position))
        .unwrap_or(lines.len() as i64);
    other.sort_by_key(|(v, _)| {
        let bare = v.components.len() == 1;
        let distance = (position(&group(v).1) - anchor).abs();
        let variant_rank = if same_variant(v) {
            0
        } else if v.variant.is_empty() {
            1
        } else {
            2
        };
        (
            bare,
            variant_rank,
            distance,
            std::cmp::Reverse(v.semver()),
            std::cmp::Reverse(v.components.get(3).copied()),
        )
    });
    let (preferred_heads, preferred_rest) = heads_first(preferred);
    let (other_heads, other_rest) = heads_first(other);
    preferred_heads
        .into_iter()
        .chain(other_heads)
        .chain(preferred_rest)
        .chain(other_rest)
        .map(|(_, t)| t.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    fn kestra_tags() -> Vec<String> {
        tags(&[
            "latest",
            "latest-lts",
            "develop",
            "v2.0",
            "v2.0.4",
            "v2.0.5",
            "v2.0.5-slim",
            "v2.0.0-rc7",
            "v1.3",
            "v1.3.29",
            "v1.3.30",
            "v1.3.30-no-plugins",
            "v1.0.60",
            "v1.1.13",
            "1234",
        ])
    }

    #[test]
    fn the_rules_order_the_candidates_and_exclude_none() {
        let rules = RuleData::builtin();
        let kestra = Image::parse("kestra/kestra").unwrap();
        let all = kestra_tags();
        let order = |tag| candidates(Some(tag), &all, &kestra, &rules);
        // The newest patch of every preferred line first, then of every other line (nearest
        // first), then older patches; aliases (`v2.0`), pre-releases and unprefixed build
        // numbers never.
        assert_eq!(
            order("latest"),
            [
                "v2.0.5",
                "v1.3.30",
                "v1.1.13",
                "v1.0.60",
                "v2.0.5-slim",
                "v1.3.30-no-plugins",
                "v2.0.4",
                "v1.3.29"
            ]
        );
        assert_eq!(order("latest-slim")[..2], ["v2.0.5-slim", "v2.0.5"]);
        assert_eq!(
            order("latest-lts")[..4],
            ["v1.3.30", "v1.0.60", "v2.0.5", "v1.1.13"]
        );
        assert_eq!(
            order("latest-lts-no-plugins")[..2],
            ["v1.3.30-no-plugins", "v2.0.5-slim"]
        );
        assert_eq!(order("v1.3")[..2], ["v1.3.30", "v2.0.5"]);
        assert_eq!(order("v1.3").len(), 8);
        let postgres = Image::parse("postgres").unwrap();
        let pg = tags(&[
            "17",
            "17.2",
            "17.2-bookworm",
            "16",
            "16.6",
            "9.6.24",
            "latest",
            "bookworm",
            "20240606",
        ]);
        assert_eq!(
            candidates(Some("latest"), &pg, &postgres, &rules),
            ["17.2", "16.6", "9.6.24", "17.2-bookworm", "20240606"]
        );
        assert_eq!(
            candidates(Some("bookworm"), &pg, &postgres, &rules)[0],
            "17.2-bookworm"
        );
        assert_eq!(
            candidates(None, &pg, &postgres, &rules)[..2],
            ["17.2", "16.6"]
        );
    }

    #[test]
    fn build_numbers_only_are_still_releases() {
        let rules = RuleData::builtin();
        let app = Image::parse("app").unwrap();
        assert_eq!(
            candidates(
                Some("latest"),
                &tags(&["latest", "1233", "1234"]),
                &app,
                &rules
            ),
            ["1234", "1233"]
        );
    }
}
