//! Recommendations: each floating reference asked of its registry once (identical references
//! across files share one answer, different ones run concurrently), and the pin it should get.

mod candidates;

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use jiff::civil::Date;

use crate::check::Pinned;
use crate::finding::Finding;
use crate::pin::Pin;
use crate::pin::PinStyle;
use crate::reference::Image;
use crate::registry::{ErrorKind, Registry, RegistryError, Resolution};
use crate::rules::data::RuleData;
use crate::rules::policy::ReleaseTable;
use crate::rules::{
    Rule, digest_mismatch, outdated_patch, platform_digest, shorten, unknown_tag,
    unsupported_release,
};
use crate::version::TagVersion;

/// Pin checks in flight at once; each host's own connection limit applies below it.
const PINS_IN_FLIGHT: usize = 64;

/// The pinned reference for `written` (the reference as written), in `style`. Without a
/// release sharing the digest, every style pins the digest.
pub fn pin(written: &str, image: &Image, resolution: &Resolution, style: PinStyle) -> String {
    let name = &written[image.name_range.clone()];
    let tag = image.tag.as_deref();
    let digest = &resolution.digest;
    match (style, resolution.release.as_deref()) {
        (PinStyle::Version, Some(release)) => format!("{name}:{release}"),
        (PinStyle::VersionDigest, Some(release)) => format!("{name}:{release}@{digest}"),
        (_, _) => match tag {
            Some(tag) => format!("{name}:{tag}@{digest}"),
            None => format!("{name}@{digest}"),
        },
    }
}

/// A progress bar is worth showing from this many references on.
const PROGRESS_FROM: usize = 8;

/// Resolve each distinct image once, concurrently; with `progress`, a bar on stderr when there
/// are many.
pub async fn resolve_all(
    registry: &Registry,
    rules: &RuleData,
    images: &[Image],
    progress: bool,
) -> BTreeMap<String, Result<Resolution, RegistryError>> {
    let distinct: BTreeMap<String, &Image> = images.iter().map(|i| (i.to_string(), i)).collect();
    let bar = (progress && distinct.len() >= PROGRESS_FROM).then(|| {
        let bar = indicatif::ProgressBar::new(distinct.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} resolving {pos}/{len} references {wide_bar}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let answers = futures::future::join_all(distinct.values().map(|image| async {
        let answer = registry.resolve(image, rules).await;
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        answer
    }))
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    distinct.into_keys().zip(answers).collect()
}

/// Attach recommendations to the findings that a pin fixes; returns the distinct reasons some
/// could not be had (an unreachable registry, offline without a cached answer).
pub async fn recommend(
    registry: &Registry,
    rules: &RuleData,
    style: PinStyle,
    findings: &mut [Finding],
    progress: bool,
) -> Recommended {
    let images: Vec<Image> = findings
        .iter()
        .filter(|f| f.rule.pinned_by_registry_answer())
        .filter_map(|f| f.parsed.clone())
        .collect();
    let answers = resolve_all(registry, rules, &images, progress).await;
    let mut problems = BTreeSet::new();
    let mut offline = BTreeSet::new();
    for finding in findings
        .iter_mut()
        .filter(|f| f.rule.pinned_by_registry_answer())
    {
        let Some(image) = finding.parsed.clone() else {
            continue;
        };
        match answers.get(&image.to_string()) {
            Some(Ok(resolution)) => {
                problems.extend(resolution.note.clone());
                attach_pin(finding, &image, resolution, style);
            }
            Some(Err(error)) if error.kind == ErrorKind::Offline => {
                offline.insert(image.to_string());
            }
            Some(Err(error)) => {
                problems.insert(error.message.clone());
            }
            None => {}
        }
    }
    problems.extend(verify_targets(registry, rules, findings).await);
    let mut notes: Vec<String> = problems.into_iter().collect();
    if !offline.is_empty() {
        let n = offline.len();
        notes.push(format!(
            "offline: {n} reference{} no cached registry answer; run without --offline to resolve",
            if n == 1 { " has" } else { "s have" }
        ));
    }
    let resolutions = answers
        .into_iter()
        .filter_map(|(image, answer)| Some((image, answer.ok()?)))
        .collect();
    Recommended {
        notes,
        resolutions,
        style,
    }
}

/// Findings made from the rule data name tags the registry may not have. In an upgrade (TP006,
/// TP007) each tag becomes the newest release the registry lists on that tag's line, in its
/// variant, its renamed variant or the plain image, whichever exists; a fix whose line the
/// registry has no release of is dropped. A TP005 suggestion becomes a tag the registry lists.
/// Offline, without cached tags, they stay as the data says, with a note.
async fn verify_targets(
    registry: &Registry,
    rules: &RuleData,
    findings: &mut [Finding],
) -> Option<String> {
    let mut unchecked = 0;
    for finding in findings.iter_mut().filter(|f| {
        f.rule == Rule::UnknownTag
            || (matches!(f.rule, Rule::UnsupportedRelease | Rule::OutdatedPatch)
                && f.recommendation.is_some())
    }) {
        let Some(image) = finding.parsed.clone() else {
            continue;
        };
        let Some(image_rules) = rules.image_rules(&image) else {
            continue;
        };
        let tags = match registry.tags(&image).await {
            Ok(tags) => tags,
            Err(_) => {
                unchecked += 1;
                continue;
            }
        };
        if finding.rule == Rule::UnknownTag {
            suggest_existing(finding, &image, image_rules, &tags);
            continue;
        }
        let release = |word: &str| {
            TagVersion::parse(word, &image_rules.variants).filter(|v| {
                v.is_release()
                    && v.prefix == image_rules.version_prefix
                    && Some(v.components.len()) == image_rules.release_components
            })
        };
        let existing = |tag: &str| -> Option<String> {
            if tags.iter().any(|t| t == tag) {
                return Some(tag.to_string());
            }
            let version = release(tag)?;
            crate::rules::policy::existing_on(&tags, image_rules, &version.line(), &version.variant)
        };
        let mut replacements = Vec::new();
        for word in finding.message.split([' ', '`', ',', ';']).chain(
            finding
                .help
                .as_deref()
                .unwrap_or("")
                .split([' ', '`', ',', ';', ':']),
        ) {
            if release(word).is_some()
                && !replacements.iter().any(|(w, _)| w == word)
                && !finding.image.ends_with(&format!(":{word}"))
            {
                replacements.push((word.to_string(), existing(word)));
            }
        }
        for (old, new) in &replacements {
            let new = new
                .clone()
                .unwrap_or_else(|| "(none in the registry)".to_string());
            finding.message = replace_word(&finding.message, old, &new);
            finding.help = finding.help.as_deref().map(|h| replace_word(h, old, &new));
        }
        let Some(fix) = &mut finding.fix else {
            continue;
        };
        let Some(edit) = fix.edits.first_mut() else {
            continue;
        };
        match replacements
            .iter()
            .find(|(old, _)| *old == edit.text)
            .map(|(_, new)| new.clone())
            .unwrap_or_else(|| existing(&edit.text))
        {
            Some(tag) => {
                let name = &finding.image
                    [..finding.image.len() - image.tag.as_deref().map_or(0, |t| t.len() + 1)];
                fix.title = replace_word(&fix.title, &edit.text, &tag);
                finding.recommendation = Some(format!("{name}:{tag}"));
                edit.text = tag;
            }
            None => {
                finding.fix = None;
                finding.recommendation = None;
            }
        }
    }
    let findings = if unchecked == 1 {
        "finding"
    } else {
        "findings"
    };
    (unchecked > 0).then(|| match registry.is_offline() {
        true => format!(
            "offline: the tags {unchecked} {findings} name come from the rule data and were not checked against the registry"
        ),
        false => format!(
            "the tags {unchecked} {findings} name come from the rule data: the registry's tag list could not be read"
        ),
    })
}

/// A TP005 made from the tag scheme alone (`1.0.3` → `v1.0.3`) suggests a tag the registry
/// lists: the prefixed tag if it exists, else the newest release of its line, else the
/// closest existing tag.
fn suggest_existing(
    finding: &mut Finding,
    image: &Image,
    rules: &crate::rules::data::ImageRules,
    tags: &[String],
) {
    let Some(tag) = image.tag.as_deref() else {
        return;
    };
    let scheme = format!("{}{tag}", rules.version_prefix);
    if tags.contains(&scheme) {
        return;
    }
    let name = &finding.image[image.name_range.clone()];
    finding.message = unknown_tag::not_in(&finding.image, &image.registry);
    // The newest release of the same line, else the nearest tag by spelling.
    let same_line = TagVersion::parse(&scheme, &rules.variants)
        .and_then(|v| crate::rules::policy::existing_on(tags, rules, &v.line(), &v.variant));
    let suggestion = same_line.or_else(|| closest_tag(tag, tags, Some(rules)));
    finding.help = Some(unknown_tag::did_you_mean(name, suggestion.as_deref()));
}

/// `text` with every whole-word `old` (a tag) replaced by `new`.
fn replace_word(text: &str, old: &str, new: &str) -> String {
    let is_tag_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(old) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + old.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_tag_char) || after.is_some_and(is_tag_char) {
            out.push_str(old);
        } else {
            out.push_str(new);
        }
        rest = &rest[at + old.len()..];
    }
    out.push_str(rest);
    out
}

/// What [`recommend`] found: notes on what could not be had, and every resolution, by image.
pub struct Recommended {
    pub notes: Vec<String>,
    pub resolutions: BTreeMap<String, Resolution>,
    pub style: PinStyle,
}

impl Recommended {
    /// Give a finding found again (on a fixed text) the pin its image resolved to.
    pub fn attach(&self, finding: &mut Finding) {
        if !finding.rule.pinned_by_registry_answer() {
            return;
        }
        let Some(image) = finding.parsed.clone() else {
            return;
        };
        if let Some(resolution) = self.resolutions.get(&image.to_string()) {
            attach_pin(finding, &image, resolution, self.style);
        }
    }
}

/// TP008 and TP009: ask the registry about every digest pin.
pub async fn verify_pins(
    registry: &Registry,
    rules: &RuleData,
    today: Date,
    pins: &[Pinned],
) -> (Vec<Finding>, Vec<String>) {
    let mut tables = BTreeMap::new();
    for pin in pins.iter().filter(|p| p.image.digest.is_none()) {
        let key = pin.image.full_name();
        if !tables.contains_key(&key)
            && let Some(table) = completed_table(registry, rules, &pin.image).await
        {
            tables.insert(key, table);
        }
    }
    // A bounded window of checks in flight: a future per pin of a large tree at once costs
    // tens of megabytes, and the registry client limits its connections anyway.
    let checks: Vec<_> = futures::stream::iter(pins.iter().map(|pin| async {
        match &pin.image.digest {
            Some(_) => verify_pin(registry, rules, today, pin).await,
            None => {
                verify_tag(
                    registry,
                    rules,
                    today,
                    tables.get(&pin.image.full_name()),
                    pin,
                )
                .await
            }
        }
    }))
    .buffered(PINS_IN_FLIGHT)
    .collect()
    .await;
    let mut findings = Vec::new();
    let mut problems = BTreeSet::new();
    for check in checks {
        match check {
            Ok(found) => findings.extend(found),
            Err(error) if error.kind == ErrorKind::Offline => {}
            Err(error) => {
                problems.insert(error.message);
            }
        }
    }
    (findings, problems.into_iter().collect())
}

async fn verify_pin(
    registry: &Registry,
    rules: &RuleData,
    today: Date,
    pin: &Pinned,
) -> Result<Option<Finding>, RegistryError> {
    let image = &pin.image;
    let Some(digest) = image.digest.as_deref() else {
        return Ok(None);
    };
    let text = shorten(&pin.written);
    let t = pin.tagged(&text, rules, today);
    let Some(tag) = image.tag.as_deref() else {
        if registry.manifest(image, digest).await?.is_some() {
            return Ok(None);
        }
        return Ok(pin.finding(digest_mismatch::missing(&t, &image.registry)));
    };
    let Some(current) = registry.manifest(image, tag).await? else {
        return Ok(None);
    };
    if current.digest == digest {
        return Ok(None);
    }
    let pinned = registry.manifest(image, digest).await?;
    if current.is_index() && pinned.as_ref().is_some_and(|m| !m.is_index()) {
        let entries = registry.index_entries(image, &current.digest).await?;
        if let Some((_, platform)) = entries.iter().find(|(d, _)| d == digest) {
            let d = platform_digest::check(&t, digest, platform, &current.digest);
            return Ok(pin.finding(d));
        }
    }
    Ok(pin.finding(digest_mismatch::moved(&t, digest, &current.digest)))
}

/// An image's release table completed by the registry: its tags and where `latest-lts` points;
/// `None` when the image has no release data or the registry cannot list its tags.
pub async fn completed_table(
    registry: &Registry,
    rules: &RuleData,
    image: &Image,
) -> Option<ReleaseTable> {
    let image_rules = rules.image_rules(image)?;
    let releases = image_rules.releases.as_ref()?;
    let mut table = ReleaseTable::new(image_rules, releases);
    let tags = registry.tags(image).await.ok()?;
    let latest_lts = match releases.lts_channels.first() {
        Some(channel) => {
            let mut lts = image.clone();
            lts.tag = Some(channel.clone());
            registry
                .resolve(&lts, rules)
                .await
                .ok()
                .and_then(|r| r.release)
        }
        None => None,
    };
    table.complete(
        releases,
        &tags,
        latest_lts.as_deref(),
        &image_rules.variants,
    );
    Some(table)
}

/// A pinned tag: TP005 when the registry does not have it (with the closest tag it has),
/// TP006 when the completed release table says its line is out of support, TP007 when a newer
/// patch of its line exists.
async fn verify_tag(
    registry: &Registry,
    rules: &RuleData,
    today: Date,
    table: Option<&ReleaseTable>,
    pin: &Pinned,
) -> Result<Option<Finding>, RegistryError> {
    let image = &pin.image;
    let Some(tag) = image.tag.as_deref() else {
        return Ok(None);
    };
    let text = shorten(&pin.written);
    let t = pin.tagged(&text, rules, today);
    if registry.manifest(image, tag).await?.is_none() {
        let tags = registry.tags(image).await.unwrap_or_default();
        let suggestion = closest_tag(tag, &tags, t.rules);
        let d = unknown_tag::not_in_registry(&t, &image.registry, suggestion.as_deref());
        return Ok(pin.finding(d));
    }
    let (Some(table), Some(image_rules)) = (table, t.rules) else {
        return Ok(None);
    };
    let Some(version) = TagVersion::parse(tag, &image_rules.variants).filter(|v| v.is_release())
    else {
        return Ok(None);
    };
    if Some(version.components.len()) != image_rules.release_components {
        return Ok(None);
    }
    let tags = registry.tags(image).await.ok();
    if let Some(d) =
        unsupported_release::check_with(&t, image_rules, &version, table, tags.as_deref())
    {
        return Ok(pin.finding(d));
    }
    // A newer patch in the same variant, as the registry lists it.
    let newest = tags.as_deref().and_then(|tags| {
        crate::rules::policy::newest_on(
            tags,
            &image_rules.variants,
            &version.prefix,
            version.components.len(),
            &version.line(),
            &version.variant,
        )
    });
    let newer = newest.filter(|n| {
        TagVersion::parse(n, &image_rules.variants).is_some_and(|n| n.semver() > version.semver())
    });
    Ok(newer.and_then(|patch| pin.finding(outdated_patch::check(&t, &patch))))
}

/// The existing tag a missing one most likely meant: the scheme's prefix added (`1.0.3` →
/// `v1.0.3`), a renamed variant (`v2.0.5-no-plugins` → `v2.0.5-slim`), else the nearest by
/// edit distance.
pub fn closest_tag(
    tag: &str,
    tags: &[String],
    rules: Option<&crate::rules::data::ImageRules>,
) -> Option<String> {
    let exists = |candidate: &str| tags.iter().any(|t| t == candidate);
    if let Some(rules) = rules {
        let prefixed = format!("{}{tag}", rules.version_prefix);
        if exists(&prefixed) {
            return Some(prefixed);
        }
        for candidate in [tag.to_string(), prefixed] {
            if let Some(version) = TagVersion::parse(&candidate, &rules.variants) {
                let renamed = rules.variant_on(&version.variant, &version.line());
                if renamed != version.variant {
                    let base = &candidate[..candidate.len() - version.variant.len()];
                    let target = format!("{base}{renamed}");
                    if exists(&target) {
                        return Some(target);
                    }
                }
            }
        }
    }
    crate::suggest::closest(tag, tags.iter().map(String::as_str)).map(str::to_string)
}

/// Attach the pin a resolution gives to a TP001/TP002/TP003 finding: the recommendation, the
/// help line and, where the bytes of the tag are known, the safe fix (same digest).
pub fn attach_pin(finding: &mut Finding, image: &Image, resolution: &Resolution, style: PinStyle) {
    let pinned = pin(&finding.image, image, resolution, style);
    let tag = image.tag.as_deref().unwrap_or("latest");
    finding.help = Some(match &resolution.release {
        Some(_) => format!("pin to `{pinned}` (what `{tag}` points to now)"),
        None => format!("pin to `{pinned}` (no release tag shares what `{tag}` points to now)"),
    });
    // The text after the name: `:v2.0.5`, `:latest@sha256:…` or `@sha256:…`; a tag's bytes are
    // replaced without its `:`, a missing tag is inserted with it.
    let suffix = &pinned[image.name_range.end..];
    let text = if image.tag.is_some() {
        suffix.strip_prefix(':').unwrap_or(suffix)
    } else {
        suffix
    };
    let title = format!("Pin to `{pinned}`");
    let pin = Pin::safe(title, pinned.clone(), text.to_string());
    finding.pin(pin.with_digest(&resolution.digest));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_styles() {
        let resolution = Resolution {
            digest: "sha256:abc".into(),
            release: Some("v2.0.5".into()),
            also: vec![],
            note: None,
        };
        let image = Image::parse("kestra/kestra:latest").unwrap();
        let pin = |style| pin("kestra/kestra:latest", &image, &resolution, style);
        assert_eq!(pin(PinStyle::Version), "kestra/kestra:v2.0.5");
        assert_eq!(pin(PinStyle::Digest), "kestra/kestra:latest@sha256:abc");
        assert_eq!(
            pin(PinStyle::VersionDigest),
            "kestra/kestra:v2.0.5@sha256:abc"
        );
        let develop = Resolution {
            release: None,
            ..resolution
        };
        let image = Image::parse("postgres").unwrap();
        assert_eq!(
            super::pin("postgres", &image, &develop, PinStyle::Version),
            "postgres@sha256:abc"
        );
    }
}
