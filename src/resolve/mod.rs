//! Recommendations: each floating reference asked of its registry once (identical references
//! across files share one answer, different ones run concurrently), and the pin it should get.

mod candidates;

use rustc_hash::FxHashMap;
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
use crate::rules::{DigestFacts, Rule, TagFacts};

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
pub async fn resolve_all<'i>(
    registry: &Registry,
    rules: &RuleData,
    images: impl IntoIterator<Item = &'i Image>,
    progress: bool,
) -> BTreeMap<String, Result<Resolution, RegistryError>> {
    let distinct: BTreeMap<String, &Image> =
        images.into_iter().map(|i| (i.to_string(), i)).collect();
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

/// Attach recommendations to the findings that a pin fixes, and keep every answer (with what
/// `verify_pins` learnt, `known`) for the text a fix writes; the notes say why some could not be
/// had (an unreachable registry, offline without a cached answer).
pub async fn recommend(
    registry: &Registry,
    rules: &RuleData,
    style: PinStyle,
    findings: &mut [Finding],
    known: Known,
    progress: bool,
) -> Recommended {
    let images = findings
        .iter()
        .filter(|f| f.rule.pinned_by_registry_answer())
        .filter_map(|f| f.parsed.as_ref());
    let answers = resolve_all(registry, rules, images, progress).await;
    let mut problems = BTreeSet::new();
    let mut offline = 0;
    let mut resolutions = BTreeMap::new();
    for (image, answer) in answers {
        match answer {
            Ok(resolution) => {
                problems.extend(resolution.note.clone());
                resolutions.insert(image, resolution);
            }
            Err(error) if error.kind == ErrorKind::Offline => offline += 1,
            Err(error) => {
                problems.insert(error.message);
            }
        }
    }
    let mut notes: Vec<String> = problems.into_iter().collect();
    if offline > 0 {
        notes.push(format!(
            "offline: {offline} reference{} no cached registry answer; run without --offline to resolve",
            if offline == 1 { " has" } else { "s have" }
        ));
    }
    let recommended = Recommended {
        notes,
        resolutions,
        style,
        known,
    };
    findings.iter_mut().for_each(|f| recommended.attach(f));
    recommended
}

/// What [`recommend`] found: notes on what could not be had, and every resolution, by image.
pub struct Recommended {
    pub notes: Vec<String>,
    pub resolutions: BTreeMap<String, Resolution>,
    pub style: PinStyle,
    /// What the registry said about the pinned tags, for the text a fix writes.
    pub known: Known,
}

impl Recommended {
    /// Give a finding the pin its image resolved to.
    pub fn attach(&self, finding: &mut Finding) {
        if !finding.rule.pinned_by_registry_answer() || self.resolutions.is_empty() {
            return;
        }
        let Some(image) = &finding.parsed else {
            return;
        };
        if let Some(resolution) = self.resolutions.get(&image.to_string()) {
            let image = image.clone();
            attach_pin(finding, &image, resolution, self.style);
        }
    }
}

/// What the registry said about each pinned image's tags: the rules on a pinned tag read it
/// ([`Pinned::tag_finding`]), and so do they on the text `--fix` writes.
#[derive(Debug, Default)]
pub struct Known {
    tags: BTreeMap<String, Vec<String>>,
    tables: BTreeMap<String, ReleaseTable>,
}

impl Known {
    /// The completed release table (and so the tag list) of every pinned image with release
    /// data.
    async fn with_tables(registry: &Registry, rules: &RuleData, pins: &[Pinned]) -> Known {
        let mut known = Known::default();
        for pin in pins.iter().filter(|p| p.image.digest.is_none()) {
            let key = pin.image.full_name();
            if !known.tables.contains_key(&key)
                && let Some(table) = completed_table(registry, rules, &pin.image).await
            {
                known.tables.insert(key.clone(), table);
                if let Ok(tags) = registry.tags(&pin.image).await {
                    known.tags.insert(key, tags);
                }
            }
        }
        known
    }

    /// The facts on `image`'s tag; whether the registry has it, from its tag list when one was
    /// read.
    pub fn facts(&self, image: &Image) -> TagFacts<'_> {
        let key = image.full_name();
        let tags = self.tags.get(&key).map(Vec::as_slice);
        TagFacts {
            exists: tags.zip(image.tag.as_ref()).map(|(t, tag)| t.contains(tag)),
            tags,
            table: self.tables.get(&key),
        }
    }
}

/// A reference as the registry is asked about it: registry, repository, tag, digest.
type Question<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

fn question(i: &Image) -> Question<'_> {
    let (tag, digest) = (i.tag.as_deref(), i.digest.as_deref());
    (i.registry.as_str(), i.repository.as_str(), tag, digest)
}

/// What [`verify_pins`] found.
pub struct Verified {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    pub known: Known,
}

/// The registry rules on every pin: a digest's (TP008, TP009) and a tag's (TP005, TP006,
/// TP007). A tag rule the registry cannot answer for falls back on the rule data, with a note.
pub async fn verify_pins(
    registry: &Registry,
    rules: &RuleData,
    today: Date,
    pins: &[Pinned],
) -> Verified {
    enum Answer {
        Digest(DigestFacts),
        TagExists(bool),
    }
    let mut known = Known::with_tables(registry, rules, pins).await;
    // Each distinct reference is asked once, however many files pin it.
    let mut asked: FxHashMap<Question<'_>, usize> = FxHashMap::default();
    let mut distinct = Vec::new();
    for pin in pins {
        asked.entry(question(&pin.image)).or_insert_with(|| {
            distinct.push(&pin.image);
            distinct.len() - 1
        });
    }
    // A bounded window of checks in flight: a future per pin of a large tree at once costs
    // tens of megabytes, and the registry client limits its connections anyway.
    let checks: Vec<_> = futures::stream::iter(distinct.into_iter().map(|image| async move {
        match image.digest {
            Some(_) => Ok::<_, RegistryError>(Answer::Digest(digest_facts(registry, image).await?)),
            None => {
                let tag = image.tag.as_deref().unwrap_or_default();
                let manifest = registry.manifest(image, tag).await?;
                Ok(Answer::TagExists(manifest.is_some()))
            }
        }
    }))
    .buffered(PINS_IN_FLIGHT)
    .collect()
    .await;
    let mut findings = Vec::new();
    let mut problems = BTreeSet::new();
    let mut unchecked = 0;
    for pin in pins {
        let exists = match &checks[asked[&question(&pin.image)]] {
            Ok(Answer::Digest(facts)) => {
                findings.extend(pin.digest_finding(rules, today, facts));
                continue;
            }
            Ok(Answer::TagExists(exists)) => Some(*exists),
            Err(error) if error.kind == ErrorKind::Offline => None,
            Err(error) => {
                problems.insert(error.message.clone());
                None
            }
        };
        let key = pin.image.full_name();
        if exists == Some(false)
            && !known.tags.contains_key(&key)
            && let Ok(tags) = registry.tags(&pin.image).await
        {
            known.tags.insert(key.clone(), tags);
        }
        let listed = known.facts(&pin.image);
        let facts = TagFacts {
            exists: exists.or(listed.exists),
            ..listed
        };
        if let Some(finding) = pin.tag_finding(rules, today, &facts) {
            let from_data = matches!(finding.rule, Rule::UnknownTag | Rule::UnsupportedRelease);
            unchecked += usize::from(from_data && facts.tags.is_none());
            findings.push(finding);
        }
    }
    let s = if unchecked == 1 { "" } else { "s" };
    problems.extend((unchecked > 0).then(|| match registry.is_offline() {
        true => format!(
            "offline: the tags {unchecked} finding{s} name come from the rule data and were not checked against the registry"
        ),
        false => format!(
            "the tags {unchecked} finding{s} name come from the rule data: the registry's tag list could not be read"
        ),
    }));
    Verified {
        findings,
        notes: problems.into_iter().collect(),
        known,
    }
}

/// What the registry says about a digest pin: whether it has the digest, where the tag points
/// now and, when that is an index holding the pinned digest, for which platform.
async fn digest_facts(registry: &Registry, image: &Image) -> Result<DigestFacts, RegistryError> {
    let digest = image.digest.as_deref().unwrap_or_default();
    let Some(tag) = image.tag.as_deref() else {
        let pinned_exists = registry.manifest(image, digest).await?.is_some();
        return Ok(DigestFacts {
            pinned_exists,
            ..DigestFacts::default()
        });
    };
    let Some(current) = registry.manifest(image, tag).await? else {
        return Ok(DigestFacts::default());
    };
    if current.digest == digest {
        return Ok(DigestFacts {
            pinned_exists: true,
            current: Some(current.digest),
            platform: None,
        });
    }
    let pinned = registry.manifest(image, digest).await?;
    let mut platform = None;
    if current.is_index() && pinned.as_ref().is_some_and(|m| !m.is_index()) {
        let entries = registry.index_entries(image, &current.digest).await?;
        platform = entries
            .into_iter()
            .find(|(d, _)| d == digest)
            .map(|(_, p)| p);
    }
    Ok(DigestFacts {
        pinned_exists: pinned.is_some(),
        current: Some(current.digest),
        platform,
    })
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

/// Attach the pin a resolution gives to a TP001, TP002, TP003 or TP013 finding: the recommendation, the
/// help line and, where the bytes of the tag are known, the safe fix (same digest).
pub fn attach_pin(finding: &mut Finding, image: &Image, resolution: &Resolution, style: PinStyle) {
    let pinned = pin(&finding.image, image, resolution, style);
    let tag = image.tag.as_deref().unwrap_or("latest");
    let help = match &resolution.release {
        Some(_) => format!("pin to `{pinned}` (what `{tag}` points to now)"),
        None => format!("pin to `{pinned}` (no release tag shares what `{tag}` points to now)"),
    };
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
    finding.pin(pin.with_digest(&resolution.digest).with_help(help));
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
