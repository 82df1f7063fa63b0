//! References to findings: runs the offline rules (`rules::<name>::check`) on each reference,
//! applies rule selection, `ignore-images` and inline suppressions (and TP014, the suppressions
//! that suppressed nothing), and hands the pinned references and plugin versions on to the
//! registry and Maven rules. The tag rules the registry completes run once, on what it said
//! ([`Pinned::tag_finding`]). [`Site::finding`] is where every finding is made.

use jiff::civil::Date;

use crate::config::Settings;
use crate::finding::{Finding, Subject};
use crate::plugin::Requested;
use crate::reference::Image;
use crate::rules::data::RuleData;
use crate::rules::{
    Diagnosis, DigestFacts, Rule, TagFacts, Tagged, digest_mismatch, floating_plugin, floating_tag,
    imprecise_version, invalid_reference, missing_tag, outdated_patch, platform_digest, shorten,
    stale_tag, unknown_tag, unresolved_variable, unsupported_release, unused_suppression,
    unversioned_tag,
};
use crate::scan::{FileKind, Place, Reference, Scan};
use crate::source::{Position, SourceFile, Span};
use crate::suppress::{self, Suppressions};

/// A pinned reference the registry can say more about (a digest: TP008, TP009; a tag: TP005,
/// TP006, TP007; a line beside its TP003: TP005, TP006), with everything a finding on it needs
/// decided while the file is at hand: location, selection, suppressions.
#[derive(Debug, Clone)]
pub struct Pinned {
    pub image: Image,
    /// The reference as evaluated.
    pub written: String,
    site: Site,
    allowed: Vec<Rule>,
}

impl Pinned {
    /// The same pin with nothing to rewrite (its text came from stdin).
    pub fn read_only(mut self) -> Self {
        self.site.target = None;
        self
    }

    /// The pin as the rules see it (`text` is the pin [`shorten`]ed for messages).
    pub(crate) fn tagged<'a>(
        &'a self,
        text: &'a str,
        data: &'a RuleData,
        today: Date,
    ) -> Tagged<'a> {
        Tagged {
            written: &self.written,
            text,
            image: &self.image,
            tag: self.image.tag.as_deref().unwrap_or(""),
            rules: data.image_rules(&self.image),
            data,
            today,
            span: self.site.span.clone(),
            target: self.site.target.clone(),
        }
    }

    /// The tag rules the registry completes (TP005, TP006, TP007) on this pin, from what the
    /// registry said about it (nothing: the rule data alone): the most specific selected rule.
    pub fn tag_finding(&self, data: &RuleData, today: Date, facts: &TagFacts) -> Option<Finding> {
        if self.image.digest.is_some() {
            return None;
        }
        let text = shorten(&self.written);
        let t = self.tagged(&text, data, today);
        let checks = [
            unknown_tag::check,
            unsupported_release::check,
            outdated_patch::check,
        ];
        self.first(checks.into_iter().filter_map(|check| check(&t, facts)))
    }

    /// The digest rules (TP009, else TP008) on this pin, from what the registry said about it.
    pub fn digest_finding(
        &self,
        data: &RuleData,
        today: Date,
        facts: &DigestFacts,
    ) -> Option<Finding> {
        let digest = self.image.digest.as_deref()?;
        let text = shorten(&self.written);
        let t = self.tagged(&text, data, today);
        let checks = [platform_digest::check, digest_mismatch::check];
        self.first(
            checks
                .into_iter()
                .filter_map(|check| check(&t, digest, facts)),
        )
    }

    /// The finding of the first diagnosis whose rule is selected and not suppressed here.
    fn first(&self, diagnoses: impl Iterator<Item = Diagnosis>) -> Option<Finding> {
        diagnoses.filter_map(|d| self.finding(d)).next()
    }

    /// Where the pin is: its file and byte offset.
    pub(crate) fn place(&self) -> (&str, usize) {
        (&self.site.path, self.site.span.start)
    }

    /// The finding of a diagnosis on this pin (at the pin's bytes), unless its rule is
    /// deselected or suppressed here.
    pub(crate) fn finding(&self, d: Diagnosis) -> Option<Finding> {
        self.allowed
            .contains(&d.rule)
            .then(|| self.site.finding(&self.written, Some(&self.image), d))
    }
}

/// Where a finding sits, and the bytes a fix would rewrite.
#[derive(Debug, Clone)]
struct Site {
    path: String,
    span: Span,
    start: Position,
    end: Position,
    kind: FileKind,
    target: Option<Span>,
    subject: Option<Subject>,
}

impl Site {
    fn new(
        file: &SourceFile,
        span: Span,
        target: Option<Span>,
        kind: FileKind,
        subject: Option<Subject>,
    ) -> Site {
        Site {
            subject,
            path: file.display_path(),
            start: file.position(span.start),
            end: file.position(span.end),
            span,
            kind,
            target,
        }
    }

    /// The one place a finding is made: a rule's diagnosis here, with its fix.
    fn finding(&self, image: &str, parsed: Option<&Image>, d: Diagnosis) -> Finding {
        let mut finding = Finding {
            rule: d.rule,
            path: self.path.clone(),
            span: self.span.clone(),
            start: self.start,
            end: self.end,
            kind: self.kind,
            image: image.to_string(),
            parsed: parsed.cloned(),
            message: d.message,
            help: d.help,
            recommendation: None,
            digest: None,
            target: self.target.clone(),
            subject: self.subject,
            fix: None,
        };
        if let Some(pin) = d.pin {
            finding.pin(pin);
        }
        finding
    }
}

/// A plugin version a Maven repository can say more about: a floating one (TP012) gets its
/// pin, an exact one is checked against the Kestra core it runs on (TP015).
#[derive(Debug, Clone)]
pub struct PluginSite {
    /// `group:artifact`.
    pub artifact: String,
    pub requested: Requested,
    /// The plugin as written (`group:artifact:LATEST`, a task's `type`).
    pub written: String,
    pub place: Place,
    /// The Kestra image it runs on, in this file.
    pub image: Option<KestraImage>,
    site: Site,
    allowed: Vec<Rule>,
}

/// A Kestra image reference: what decides the core a plugin must support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KestraImage {
    pub path: String,
    /// Which of its file's references (in scan order) it is.
    pub reference: usize,
    /// The reference as evaluated.
    pub text: String,
}

impl PluginSite {
    pub fn path(&self) -> &str {
        &self.site.path
    }

    pub fn span(&self) -> &Span {
        &self.site.span
    }

    pub fn target(&self) -> Option<&Span> {
        self.site.target.as_ref()
    }

    /// The finding of a diagnosis here, unless its rule is deselected or suppressed.
    pub(crate) fn finding(&self, d: Diagnosis) -> Option<Finding> {
        self.allowed
            .contains(&d.rule)
            .then(|| self.site.finding(&self.written, None, d))
    }
}

/// What a file holds for the plugin rules that ask a Maven repository.
#[derive(Debug, Default)]
pub struct Plugins {
    pub sites: Vec<PluginSite>,
    /// Every Kestra image of the file: where a plugin's file has none, the run's decides.
    pub kestra: Vec<KestraImage>,
}

/// The findings of one file, and its pins (tags and digests) for the registry to check.
pub fn check_file(
    file: &SourceFile,
    scan: &Scan,
    settings: &Settings,
) -> (Vec<Finding>, Vec<Pinned>) {
    let (findings, pinned, _) = check_file_with_plugins(file, scan, settings);
    (findings, pinned)
}

/// [`check_file`], and the plugin versions for the Maven rules.
pub fn check_file_with_plugins(
    file: &SourceFile,
    scan: &Scan,
    settings: &Settings,
) -> (Vec<Finding>, Vec<Pinned>, Plugins) {
    let suppressions = Suppressions::parse(file);
    // Suppressions are looked up for deselected rules too: a suppression of a finding that a
    // `--select` hides is still in use (TP014).
    let allowed = |rule: Rule, span: &Span, reference: Option<&Reference>| {
        let mut lines = vec![file.line_index(span.start)];
        if let Some(reference) = reference {
            let line = file.line_index(reference.span.start);
            lines.push(line);
            // A comment above a Helm `image:` block covers its keys.
            if reference.kind == FileKind::Helm {
                lines.extend(suppress::block_start(file, line));
            }
        }
        !suppressions.covers(&lines, rule.code()) && settings.selects(rule.code())
    };
    let mut findings = Vec::new();
    let mut pinned = Vec::new();
    for (index, reference) in scan.references.iter().enumerate() {
        let diagnosis = diagnose(reference, settings);
        let imprecise = diagnosis
            .as_ref()
            .is_some_and(|d| d.rule == Rule::ImpreciseVersion);
        if let Some(d) = diagnosis {
            if allowed(d.rule, &d.span, Some(reference)) {
                let site = Site::new(
                    file,
                    d.span.clone(),
                    d.target.clone(),
                    reference.kind,
                    Some(Subject::Reference(index)),
                );
                findings.push(site.finding(
                    &reference.value.text,
                    reference.image.as_ref().ok(),
                    d,
                ));
            }
            // A line out of support (`v1.0`) gets TP006 beside TP003.
            if !imprecise {
                continue;
            }
        }
        let Some(image) = pinned_image(reference, settings) else {
            continue;
        };
        let (range, checks): (_, fn(Rule) -> bool) = match &image.digest_range {
            Some(digest) => (digest.clone(), Rule::checks_digest_pin),
            None if imprecise => (image.tag_range.clone().unwrap_or_default(), |rule| {
                matches!(rule, Rule::UnknownTag | Rule::UnsupportedRelease)
            }),
            None => (
                image.tag_range.clone().unwrap_or_default(),
                Rule::checks_tag_pin,
            ),
        };
        let target = reference.value.span_of(range);
        let span = target.clone().unwrap_or_else(|| reference.span.clone());
        let codes: Vec<Rule> = Rule::ALL
            .iter()
            .copied()
            .filter(|&rule| checks(rule) && allowed(rule, &span, Some(reference)))
            .collect();
        if !codes.is_empty() {
            let site = Site::new(
                file,
                span,
                target,
                reference.kind,
                Some(Subject::Reference(index)),
            );
            pinned.push(Pinned {
                image,
                written: reference.value.text.clone(),
                site,
                allowed: codes,
            });
        }
    }
    let kestra: Vec<KestraImage> = scan
        .references
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.unresolved.is_none()
                && r.image
                    .as_ref()
                    .is_ok_and(|i| settings.data.runs_plugins(i))
        })
        .map(|(i, r)| KestraImage {
            path: file.display_path(),
            reference: i,
            text: r.value.text.clone(),
        })
        .collect();
    let mut sites = Vec::new();
    for (index, plugin) in scan.plugins.iter().enumerate() {
        let site = Site::new(
            file,
            plugin.span.clone(),
            plugin.target.clone(),
            plugin.kind,
            Some(Subject::Plugin(index)),
        );
        let floating = floating_plugin::check(plugin);
        if let Some(d) = &floating
            && allowed(Rule::FloatingPlugin, &plugin.span, None)
        {
            findings.push(site.finding(&plugin.coordinate, None, d.clone()));
        }
        let Some(artifact) = &plugin.artifact else {
            continue;
        };
        let codes: Vec<Rule> = Rule::ALL
            .iter()
            .copied()
            .filter(|&rule| rule.checks_plugin() && allowed(rule, &plugin.span, None))
            .collect();
        let requested = Requested::parse(plugin.version.as_deref());
        if codes.is_empty() || (floating.is_none() && requested.floats()) {
            continue;
        }
        // The stage's or service's image; else the file's one Kestra image.
        let image = match &plugin.image {
            Some(span) => scan
                .references
                .iter()
                .position(|r| &r.span == span)
                .and_then(|i| kestra.iter().find(|k| k.reference == i)),
            None => match kestra.as_slice() {
                [only] => Some(only),
                _ => None,
            },
        };
        sites.push(PluginSite {
            artifact: artifact.clone(),
            requested,
            written: plugin.coordinate.clone(),
            place: plugin.place,
            image: image.cloned(),
            site,
            allowed: codes,
        });
    }
    // TP014 sits in a file of the kind its references have.
    let kind = scan.references.first().map(|r| r.kind);
    let kind = kind.or(scan.plugins.first().map(|p| p.kind));
    if let Some(kind) = kind.filter(|_| settings.selects(Rule::UnusedSuppression.code())) {
        for unused in suppressions.unused(file) {
            let site = Site::new(file, unused.span.clone(), None, kind, None);
            let diagnosis = unused_suppression::check(unused.span, unused.message);
            findings.push(site.finding("", None, diagnosis));
        }
    }
    (findings, pinned, Plugins { sites, kestra })
}

/// A pinned reference (by digest, or by a tag that does not float) that the config does not
/// ask to ignore: the registry rules look at it.
fn pinned_image(reference: &Reference, settings: &Settings) -> Option<Image> {
    if reference.unresolved.is_some() || reference.pinned_elsewhere() {
        return None;
    }
    let image = reference.image.clone().ok()?;
    (!settings.ignores_image(&image, &reference.value.text)
        && (image.digest.is_some() || image.tag.is_some()))
    .then_some(image)
}

/// What the rules find on a reference from the file and the rule data alone: the most specific
/// rule wins. The rules the registry completes come after it ([`Pinned::tag_finding`]).
fn diagnose(reference: &Reference, settings: &Settings) -> Option<Diagnosis> {
    let text = &shorten(&reference.value.text);
    let value = &reference.value;
    if let Some(variable) = &reference.unresolved {
        return Some(unresolved_variable::check(text, variable));
    }
    if reference.pinned_elsewhere() {
        return None;
    }
    let image = match &reference.image {
        Ok(image) => image,
        Err(error) => return Some(invalid_reference::check(text, reference, error)),
    };
    if settings.ignores_image(image, &value.text) || image.digest.is_some() {
        return None;
    }
    let Some(tag) = &image.tag else {
        return Some(missing_tag::check(text, reference, image));
    };
    let target = image.tag_range.clone().and_then(|r| value.span_of(r));
    let tagged = Tagged {
        written: &value.text,
        text,
        image,
        tag,
        rules: settings.data.image_rules(image),
        data: &settings.data,
        today: settings.today,
        span: target.clone().unwrap_or_else(|| reference.span.clone()),
        target,
    };
    let t = &tagged;
    stale_tag::check(t)
        .or_else(|| floating_tag::check(t))
        .or_else(|| unversioned_tag::check(t))
        .or_else(|| imprecise_version::check(t))
}
