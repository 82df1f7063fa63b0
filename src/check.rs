//! References to findings: runs the offline rules (`rules::<name>::check`) on each reference,
//! applies rule selection, `ignore-images` and inline suppressions (and TP014, the suppressions
//! that suppressed nothing), and hands the pinned references and plugin versions on to the
//! registry and Maven rules. The tag rules the registry completes run once, on what it said
//! ([`Pinned::tag_finding`]). [`Site::finding`] is where every finding is made.

use std::sync::Arc;

use jiff::civil::Date;

use crate::config::Settings;
use crate::finding::{FileError, Finding, Subject};
use crate::plugin::Requested;
use crate::reference::Image;
use crate::rules::data::RuleData;
use crate::rules::{
    Diagnosis, DigestFacts, Rule, TagFacts, Tagged, digest_mismatch, floating_plugin, floating_tag,
    imprecise_version, invalid_reference, missing_tag, outdated_patch, platform_digest, shorten,
    stale_tag, unknown_tag, unresolved_variable, unsupported_release, unused_suppression,
    unversioned_tag,
};
use crate::scan::{FileKind, Place, Plugin, Reference, Scan};
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
    later: Later,
}

impl Pinned {
    /// The same pin with nothing to rewrite (its text came from stdin).
    pub fn read_only(mut self) -> Self {
        self.later.site.target = None;
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
            span: self.later.site.span.clone(),
            target: self.later.site.target.clone(),
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
        (&self.later.site.path, self.later.site.span.start)
    }

    /// The finding of a diagnosis on this pin (at the pin's bytes), unless its rule is
    /// deselected or suppressed here.
    pub(crate) fn finding(&self, d: Diagnosis) -> Option<Finding> {
        self.later.finding(&self.written, Some(&self.image), d)
    }
}

/// Where the rules answered later (by the registry or Maven) put their findings: the site, the
/// rules selected there, and the file's suppressions when one sits on the subject's lines.
#[derive(Debug, Clone)]
struct Later {
    site: Site,
    selected: Vec<Rule>,
    suppressions: Option<(Arc<FileSuppressions>, Vec<usize>)>,
}

impl Later {
    /// The finding of `d` here, unless its rule is deselected or suppressed; a suppression that
    /// hides it counts as used (even of a deselected rule, as for the file's own rules).
    fn finding(&self, image: &str, parsed: Option<&Image>, d: Diagnosis) -> Option<Finding> {
        if let Some((file, lines)) = &self.suppressions
            && file.suppressions.covers(lines, d.rule.code())
        {
            return None;
        }
        self.selected
            .contains(&d.rule)
            .then(|| self.site.finding(image, parsed, d))
    }
}

/// A file's suppressions, with where each one's TP014 would sit: rules answered later may still
/// use them, so their TP014 waits for those answers when a later rule could.
#[derive(Debug)]
struct FileSuppressions {
    suppressions: Suppressions,
    /// One per suppression, in file order; none when TP014 is deselected or the file has no
    /// kind to report it under.
    sites: Vec<Site>,
}

impl FileSuppressions {
    fn new(file: &SourceFile, suppressions: Suppressions, kind: Option<FileKind>) -> Self {
        let sites = match kind {
            Some(kind) => suppressions
                .spans()
                .map(|span| Site::new(file, span.clone(), None, kind, None))
                .collect(),
            None => Vec::new(),
        };
        FileSuppressions {
            suppressions,
            sites,
        }
    }

    /// TP014: the suppressions, or codes of one, that suppressed nothing.
    fn unused(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        for unused in self.suppressions.unused() {
            if let Some(site) = self.sites.iter().find(|s| s.span == unused.span) {
                let diagnosis = unused_suppression::check(unused.span, unused.message);
                findings.push(site.finding("", None, diagnosis));
            }
        }
        findings
    }
}

/// TP014 for the files whose suppressions waited on the registry's and Maven's rules: call it
/// once they have answered.
pub fn unused_suppressions(pinned: &[Pinned], plugins: &[PluginSite]) -> Vec<Finding> {
    let mut files: Vec<&Arc<FileSuppressions>> = Vec::new();
    let later = pinned.iter().map(|p| &p.later);
    for (file, _) in later
        .chain(plugins.iter().map(|p| &p.later))
        .filter_map(|l| l.suppressions.as_ref())
    {
        if !files.iter().any(|f| Arc::ptr_eq(f, file)) {
            files.push(file);
        }
    }
    files.iter().flat_map(|f| f.unused()).collect()
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
    later: Later,
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
        &self.later.site.path
    }

    pub fn span(&self) -> &Span {
        &self.later.site.span
    }

    pub fn target(&self) -> Option<&Span> {
        self.later.site.target.as_ref()
    }

    /// The finding of a diagnosis here, unless its rule is deselected or suppressed.
    pub(crate) fn finding(&self, d: Diagnosis) -> Option<Finding> {
        self.later.finding(&self.written, None, d)
    }
}

/// What a file holds for the plugin rules that ask a Maven repository.
#[derive(Debug, Default)]
pub struct Plugins {
    pub sites: Vec<PluginSite>,
    /// Every Kestra image of the file: where a plugin's file has none, the run's decides.
    pub kestra: Vec<KestraImage>,
}

/// What checking one file gives: its findings, what the registry and Maven rules look at next,
/// and warnings that do not stop it (a suppression naming no rule).
pub struct Checked {
    pub findings: Vec<Finding>,
    pub pinned: Vec<Pinned>,
    pub plugins: Plugins,
    pub warnings: Vec<FileError>,
}

/// The findings of one file, and its pins (tags and digests) for the registry to check.
pub fn check_file(
    file: &SourceFile,
    scan: &Scan,
    settings: &Settings,
) -> (Vec<Finding>, Vec<Pinned>) {
    let checked = check_file_with_plugins(file, scan, settings);
    (checked.findings, checked.pinned)
}

/// [`check_file`], and the plugin versions for the Maven rules.
pub fn check_file_with_plugins(file: &SourceFile, scan: &Scan, settings: &Settings) -> Checked {
    let suppressions = Suppressions::parse(file);
    let warnings = suppressions.unknown(file);
    // TP014 sits in a file of the kind its references have, else of the file's.
    let kind = scan.references.first().map(|r| r.kind);
    let kind = kind.or(scan.plugins.first().map(|p| p.kind)).or(scan.kind);
    let kind = kind.filter(|_| settings.selects(Rule::UnusedSuppression.code()));
    let mut check = FileCheck {
        file,
        settings,
        suppressions: Arc::new(FileSuppressions::new(file, suppressions, kind)),
        findings: Vec::new(),
    };
    let mut pinned = Vec::new();
    for (index, reference) in scan.references.iter().enumerate() {
        pinned.extend(check.reference(index, reference));
    }
    let kestra = kestra_images(file, scan, settings);
    let mut sites = Vec::new();
    for (index, plugin) in scan.plugins.iter().enumerate() {
        sites.extend(check.plugin(index, plugin, scan, &kestra));
    }
    // Unless a rule answered later may still use a suppression, TP014 is known now.
    let mut findings = check.findings;
    if Arc::strong_count(&check.suppressions) == 1 {
        findings.extend(check.suppressions.unused());
    }
    Checked {
        findings,
        pinned,
        plugins: Plugins { sites, kestra },
        warnings,
    }
}

/// The checks of one file, as it goes.
struct FileCheck<'a> {
    file: &'a SourceFile,
    settings: &'a Settings,
    suppressions: Arc<FileSuppressions>,
    findings: Vec<Finding>,
}

impl FileCheck<'_> {
    /// The lines a suppression of a finding at `span` may sit on: the finding's, its
    /// reference's, and for a Helm image block the key that opens it (none in a file without
    /// suppressions).
    fn lines(&self, span: &Span, reference: Option<&Reference>) -> Vec<usize> {
        let file = self.file;
        if self.suppressions.suppressions.is_empty() {
            return Vec::new();
        }
        let mut lines = vec![file.line_index(span.start)];
        if let Some(reference) = reference {
            let line = file.line_index(reference.span.start);
            lines.push(line);
            if reference.kind == FileKind::Helm {
                lines.extend(suppress::block_start(file, line));
            }
        }
        lines
    }

    /// Whether a finding of `rule` on `lines` is reported. Suppressions are looked up for
    /// deselected rules too: a suppression of a finding that a `--select` hides is in use.
    fn allowed(&self, rule: Rule, lines: &[usize]) -> bool {
        let code = rule.code();
        !self.suppressions.suppressions.covers(lines, code) && self.settings.selects(code)
    }

    /// Where the rules `checks` answered later report on `lines`; `None` when none of them is
    /// selected (a suppression of one then counts as used: nothing will tell otherwise).
    fn later(&self, site: Site, checks: fn(Rule) -> bool, lines: Vec<usize>) -> Option<Later> {
        let rules = Rule::ALL.iter().copied().filter(|&rule| checks(rule));
        let selected: Vec<Rule> = rules
            .clone()
            .filter(|rule| self.settings.selects(rule.code()))
            .collect();
        let file = &self.suppressions;
        if selected.is_empty() {
            rules.for_each(|rule| {
                file.suppressions.covers(&lines, rule.code());
            });
            return None;
        }
        let suppressions = file
            .suppressions
            .any_on(&lines)
            .then(|| (Arc::clone(file), lines));
        Some(Later {
            site,
            selected,
            suppressions,
        })
    }

    /// The file's own rules on a reference; the pin the registry's rules look at next.
    fn reference(&mut self, index: usize, reference: &Reference) -> Option<Pinned> {
        let (file, settings) = (self.file, self.settings);
        let subject = Some(Subject::Reference(index));
        let diagnosis = diagnose(reference, settings);
        let imprecise = diagnosis
            .as_ref()
            .is_some_and(|d| d.rule == Rule::ImpreciseVersion);
        if let Some(d) = diagnosis {
            if self.allowed(d.rule, &self.lines(&d.span, Some(reference))) {
                let site = Site::new(
                    file,
                    d.span.clone(),
                    d.target.clone(),
                    reference.kind,
                    subject,
                );
                let parsed = reference.image.as_ref().ok();
                self.findings
                    .push(site.finding(&reference.value.text, parsed, d));
            }
            // A line out of support (`v1.0`) gets TP006 beside TP003.
            if !imprecise {
                return None;
            }
        }
        let image = pinned_image(reference, settings)?;
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
        let lines = self.lines(&span, Some(reference));
        let site = Site::new(file, span, target, reference.kind, subject);
        Some(Pinned {
            image,
            written: reference.value.text.clone(),
            later: self.later(site, checks, lines)?,
        })
    }

    /// TP012 on a plugin version; the site the Maven rules look at next.
    fn plugin(
        &mut self,
        index: usize,
        plugin: &Plugin,
        scan: &Scan,
        kestra: &[KestraImage],
    ) -> Option<PluginSite> {
        let site = Site::new(
            self.file,
            plugin.span.clone(),
            plugin.target.clone(),
            plugin.kind,
            Some(Subject::Plugin(index)),
        );
        let lines = self.lines(&plugin.span, None);
        let floating = floating_plugin::check(plugin);
        if let Some(d) = &floating
            && self.allowed(Rule::FloatingPlugin, &lines)
        {
            self.findings
                .push(site.finding(&plugin.coordinate, None, d.clone()));
        }
        let artifact = plugin.artifact.as_ref()?;
        let requested = Requested::parse(plugin.version.as_deref());
        if floating.is_none() && requested.floats() {
            return None;
        }
        // The stage's or service's image; else the file's one Kestra image.
        let image = match &plugin.image {
            Some(span) => scan
                .references
                .iter()
                .position(|r| &r.span == span)
                .and_then(|i| kestra.iter().find(|k| k.reference == i)),
            None => match kestra {
                [only] => Some(only),
                _ => None,
            },
        };
        Some(PluginSite {
            artifact: artifact.clone(),
            requested,
            written: plugin.coordinate.clone(),
            place: plugin.place,
            image: image.cloned(),
            later: self.later(site, Rule::checks_plugin, lines)?,
        })
    }
}

/// Every Kestra image of a file: what decides the core its plugins must support.
fn kestra_images(file: &SourceFile, scan: &Scan, settings: &Settings) -> Vec<KestraImage> {
    scan.references
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
        .collect()
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
