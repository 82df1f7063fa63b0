//! References to findings: the offline rules (TP001–TP004, TP010, TP011, TP013), rule selection,
//! `ignore-images` and inline suppressions (and TP014, the suppressions that suppressed nothing).

use crate::config::Settings;
use jiff::civil::Date;

use crate::finding::{Applicability, Edit, Finding, Fix};
use crate::maven::Requested;
use crate::policy::{ReleaseTable, Support};
use crate::reference::Image;
use crate::rules::Rule;
use crate::rules::data::{ImageRules, LineKind};
use crate::scan::{FileKind, Place, Plugin, Reference, Scan};
use crate::source::{Position, SourceFile, Span, one_line};
use crate::suppress::{self, Suppressions};
use crate::version::TagVersion;

/// A pinned reference the registry can say more about (a digest: TP008, TP009; a tag: TP005,
/// TP006, TP007), with everything a finding on it needs decided while the file is at hand:
/// location, selection, suppressions.
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

    /// A finding of `code` on this pin, unless the rule is deselected or suppressed here.
    pub fn finding(&self, rule: Rule, message: String, help: Option<String>) -> Option<Finding> {
        self.allowed
            .contains(&rule)
            .then(|| self.site.finding(rule, &self.written, message, help))
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
    reference: Option<usize>,
}

impl Site {
    fn new(
        file: &SourceFile,
        span: Span,
        target: Option<Span>,
        kind: FileKind,
        reference: Option<usize>,
    ) -> Site {
        Site {
            reference,
            path: file.display_path(),
            start: file.position(span.start),
            end: file.position(span.end),
            span,
            kind,
            target,
        }
    }

    fn finding(&self, rule: Rule, image: &str, message: String, help: Option<String>) -> Finding {
        Finding {
            rule,
            path: self.path.clone(),
            span: self.span.clone(),
            start: self.start,
            end: self.end,
            kind: self.kind,
            image: image.to_string(),
            message,
            help,
            recommendation: None,
            digest: None,
            target: self.target.clone(),
            reference: self.reference,
            fix: None,
        }
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

    /// A finding of `code` here, unless the rule is deselected or suppressed.
    pub fn finding(&self, rule: Rule, message: String, help: Option<String>) -> Option<Finding> {
        self.allowed
            .contains(&rule)
            .then(|| self.site.finding(rule, &self.written, message, help))
    }
}

/// What a file holds for the plugin rules that ask a Maven repository.
#[derive(Debug, Default)]
pub struct Plugins {
    pub sites: Vec<PluginSite>,
    /// Every Kestra image of the file: where a plugin's file has none, the run's decides.
    pub kestra: Vec<KestraImage>,
}

/// The findings of one file, and its digest pins for the registry to check.
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
        if let Some(first) = diagnose(reference, settings) {
            let also = (first.rule == Rule::ImpreciseVersion)
                .then(|| unsupported_line(reference, settings, &first))
                .flatten();
            for d in std::iter::once(first).chain(also) {
                if !allowed(d.rule, &d.span, Some(reference)) {
                    continue;
                }
                let site = Site::new(file, d.span, d.target, reference.kind, Some(index));
                let mut finding = site.finding(d.rule, &reference.value.text, d.message, d.help);
                if let Some((recommendation, text, applicability)) = d.pin {
                    finding.fix = finding.target.clone().map(|span| {
                        let title = format!("Pin to `{recommendation}`");
                        Fix::applicable(title, Edit::replace(span, text), applicability)
                    });
                    finding.recommendation = Some(recommendation);
                }
                findings.push(finding);
            }
            continue;
        }
        let Some(image) = pinned_image(reference, settings) else {
            continue;
        };
        let (range, checks): (_, fn(Rule) -> bool) = match &image.digest_range {
            Some(digest) => (digest.clone(), Rule::checks_digest_pin),
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
            let site = Site::new(file, span, target, reference.kind, Some(index));
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
        .filter(|(_, r)| r.unresolved.is_none() && is_kestra(&r.value.text))
        .map(|(i, r)| KestraImage {
            path: file.display_path(),
            reference: i,
            text: r.value.text.clone(),
        })
        .collect();
    let mut sites = Vec::new();
    for plugin in &scan.plugins {
        let floating = floating_plugin(plugin);
        if let Some((message, help)) = &floating
            && allowed(Rule::FloatingPlugin, &plugin.span, None)
        {
            let site = Site::new(
                file,
                plugin.span.clone(),
                plugin.target.clone(),
                plugin.kind,
                None,
            );
            findings.push(site.finding(
                Rule::FloatingPlugin,
                &plugin.coordinate,
                message.clone(),
                Some(help.clone()),
            ));
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
            site: Site::new(
                file,
                plugin.span.clone(),
                plugin.target.clone(),
                plugin.kind,
                None,
            ),
            allowed: codes,
        });
    }
    // TP014 sits in a file of the kind its references have.
    let kind = scan.references.first().map(|r| r.kind);
    let kind = kind.or((!scan.plugins.is_empty()).then_some(FileKind::Dockerfile));
    if let Some(kind) = kind.filter(|_| settings.selects(Rule::UnusedSuppression.code())) {
        for unused in suppressions.unused(file) {
            let site = Site::new(file, unused.span, None, kind, None);
            let help = "remove it, or the codes that no longer apply".to_string();
            findings.push(site.finding(Rule::UnusedSuppression, "", unused.message, Some(help)));
        }
    }
    (findings, pinned, Plugins { sites, kestra })
}

/// Kestra's images: `kestra/kestra`, the Enterprise `kestra-ee`, on any registry or mirror.
fn is_kestra(text: &str) -> bool {
    Image::parse(text).is_ok_and(|image| {
        let name = image.repository.rsplit('/').next().unwrap_or("");
        matches!(name, "kestra" | "kestra-ee")
    })
}

/// TP012: a plugin version that moves, with the help that says what to do.
fn floating_plugin(plugin: &Plugin) -> Option<(String, String)> {
    let written = &plugin.coordinate;
    let pin_help = "pin a version that matches the Kestra version of the image".to_string();
    let version = plugin.version.as_deref();
    match plugin.place {
        Place::SnapshotRepository => Some((
            format!(
                "plugins come from the snapshot repository `{written}`: its artifacts change under the same version"
            ),
            "install plugins from a release repository".to_string(),
        )),
        Place::DefaultVersion => match Requested::parse(version) {
            Requested::Latest(v) | Requested::Oldest(v) => Some((
                format!("`defaultVersion: {v}` lets every flow without a `version:` float"),
                "set `defaultVersion: NONE` and pin `version:` in flows, or name one version"
                    .to_string(),
            )),
            _ => None,
        },
        Place::Task => match Requested::parse(version) {
            Requested::Exact(_) | Requested::Missing => None,
            Requested::Oldest(v) => Some((
                format!("`{written}` runs plugin version `{v}`, the oldest the instance has"),
                "pin the version the flow was tested with".to_string(),
            )),
            requested => Some((
                format!(
                    "`{written}` runs plugin version `{}`, which moves",
                    version_text(&requested)
                ),
                pin_help,
            )),
        },
        Place::Install => match Requested::parse(version) {
            Requested::Missing => Some((
                format!("plugin `{written}` has no version: it installs whatever is newest"),
                pin_help,
            )),
            Requested::Exact(_) => None,
            _ => Some((format!("plugin `{written}` floats"), pin_help)),
        },
    }
}

fn version_text(requested: &Requested) -> &str {
    match requested {
        Requested::Latest(v) | Requested::Oldest(v) | Requested::Exact(v) => v,
        Requested::Range(range) => &range.text,
        Requested::Missing => "",
    }
}

/// A pinned reference (by digest, or by a tag that does not float) that the config does not
/// ask to ignore: the registry rules look at it.
fn pinned_image(reference: &Reference, settings: &Settings) -> Option<Image> {
    if reference.unresolved.is_some() || reference.pinned_elsewhere() {
        return None;
    }
    let image = Image::parse(&reference.value.text).ok()?;
    (!settings.ignores_image(&image, &reference.value.text)
        && (image.digest.is_some() || image.tag.is_some()))
    .then_some(image)
}

/// What a rule found on a reference.
struct Diagnosis {
    rule: Rule,
    span: Span,
    target: Option<Span>,
    message: String,
    help: Option<String>,
    /// What to pin instead, known without the registry: (recommendation, the target's new
    /// bytes, applicability).
    pin: Option<(String, String, Applicability)>,
}

impl Diagnosis {
    fn new(
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

/// The one finding a reference gives, if any: the most specific rule wins.
fn diagnose(reference: &Reference, settings: &Settings) -> Option<Diagnosis> {
    let text = &shorten(&reference.value.text);
    let value = &reference.value;
    if let Some(variable) = &reference.unresolved {
        let message = format!(
            "`{text}` depends on `{}`, which has no default",
            variable.name
        );
        let help = "give it a default (`${VAR:-v1.2.3}`) or check the rendered file".to_string();
        return Some(Diagnosis::new(
            Rule::UnresolvedVariable,
            variable.span.clone(),
            None,
            message,
            Some(help),
        ));
    }
    if reference.pinned_elsewhere() {
        return None;
    }
    let image = match Image::parse(&value.text) {
        Ok(image) => image,
        Err(error) => {
            let message = format!("`{text}` is not a valid image reference: {error}");
            let span = error
                .range
                .and_then(|r| value.span_of(r))
                .unwrap_or_else(|| reference.span.clone());
            return Some(Diagnosis::new(
                Rule::InvalidReference,
                span,
                None,
                message,
                None,
            ));
        }
    };
    if settings.ignores_image(&image, &value.text) || image.digest.is_some() {
        return None;
    }
    let Some(tag) = &image.tag else {
        let name = image.name_range.clone();
        let message = format!("`{text}` has no tag and pulls whatever `latest` is");
        let help = format!("pin a release: `{text}:<version>`");
        // A fix inserts the tag right after the name's last byte.
        let target = value.span_of(name.end - 1..name.end).map(|s| s.end..s.end);
        let span = value
            .span_of(name)
            .unwrap_or_else(|| reference.span.clone());
        return Some(Diagnosis::new(
            Rule::MissingTag,
            span,
            target,
            message,
            Some(help),
        ));
    };
    let target = image.tag_range.clone().and_then(|r| value.span_of(r));
    let span = target.clone().unwrap_or_else(|| reference.span.clone());
    let rules = settings.data.image_rules(&image);
    if rules.is_some_and(|r| r.is_stale(tag)) {
        let message = format!("`{text}` is a stale tag that no longer moves and names no release");
        return Some(Diagnosis::new(
            Rule::StaleTag,
            span,
            target,
            message,
            Some("pin a current release".to_string()),
        ));
    }
    if settings.data.is_moving(tag) || rules.is_some_and(|r| r.moving.contains(tag)) {
        let message = format!("`{text}` floats");
        let help = format!("`{tag}` moves with every release; pin an exact version");
        return Some(Diagnosis::new(
            Rule::FloatingTag,
            span,
            target,
            message,
            Some(help),
        ));
    }
    if is_unversioned(tag) {
        let message = format!("`{text}` names no version: it moves with every release");
        let name = &value.text[image.name_range.clone()];
        let help =
            format!("pin a release of this variant (`{name}:<version>-{tag}`) or the digest");
        return Some(Diagnosis::new(
            Rule::UnversionedTag,
            span,
            target,
            message,
            Some(help),
        ));
    }
    if let Some(d) = rules
        .filter(|r| !r.is_imprecise(tag))
        .and_then(|r| release_policy(&image, r, tag, text, settings.today))
    {
        return Some(Diagnosis { span, target, ..d });
    }
    if let Some(rules) = rules.filter(|r| r.is_imprecise(tag)) {
        let message =
            format!("`{text}` names a release line, not a release: it moves with every patch");
        let (base, variant) = rules.split_variant(tag);
        let help = format!("pin a patch release: `{base}.<patch>{variant}`");
        return Some(Diagnosis::new(
            Rule::ImpreciseVersion,
            span,
            target,
            message,
            Some(help),
        ));
    }
    None
}

/// TP013: no digit, so no version (`alpine`, `bookworm`, `dind`); an all-capitals tag
/// (`CONTAINER_IMAGES_TAG`) is a placeholder a script replaces, not a tag that moves.
fn is_unversioned(tag: &str) -> bool {
    !tag.contains(|c: char| c.is_ascii_digit()) && tag.contains(|c: char| c.is_ascii_lowercase())
}

/// TP005 for a version written without the scheme's prefix (`kestra/kestra:1.0.3`), TP006
/// for a release on a line out of support on `today`, with the upgrade as an unsafe fix.
fn release_policy(
    image: &Image,
    rules: &ImageRules,
    tag: &str,
    text: &str,
    today: Date,
) -> Option<Diagnosis> {
    let version = TagVersion::parse(tag, &rules.variants).filter(|v| v.is_release())?;
    let name = &text[image.name_range.clone()];
    if !rules.version_prefix.is_empty() && version.prefix.is_empty() {
        let suggestion = format!("{}{tag}", rules.version_prefix);
        let message = format!("`{text}` does not exist: the releases are tagged `{suggestion}`");
        let help = format!("did you mean `{name}:{suggestion}`?");
        return Some(Diagnosis::new(
            Rule::UnknownTag,
            0..0,
            None,
            message,
            Some(help),
        ));
    }
    let releases = rules.releases.as_ref()?;
    let precise = Some(version.components.len()) == rules.release_components;
    if !precise && !rules.is_imprecise(tag) {
        return None;
    }
    let table = ReleaseTable::new(rules, releases);
    let line = version.line();
    let ended = match table.support(&line, today) {
        Support::Supported { .. } => return None,
        Support::Ended {
            last_day: Some(day),
        } => format!("supported until {day}"),
        Support::Ended { last_day: None } => "superseded by a newer line".to_string(),
        Support::Unlisted => "out of support".to_string(),
    };
    let kind = match table.find(&line).map(|l| l.kind) {
        Some(LineKind::Lts) => " LTS",
        _ => "",
    };
    let newer = |l: &&&crate::policy::LineInfo| {
        crate::policy::line_key(&l.line) > crate::policy::line_key(&line)
    };
    let targets: Vec<String> = table
        .supported(today)
        .iter()
        .filter(newer)
        .map(|l| {
            let newest = l
                .newest
                .clone()
                .unwrap_or_else(|| format!("{}{}.x", rules.version_prefix, l.line));
            let tag = format!("{newest}{}", rules.variant_on(&version.variant, &l.line));
            match (l.kind, l.last_day) {
                (LineKind::Lts, Some(day)) => format!("{tag} (LTS until {day})"),
                _ => tag,
            }
        })
        .collect();
    let message = format!(
        "`{text}` is on {line}{kind}, {ended}; move to {}",
        targets.join(" or ")
    );
    let mut d = Diagnosis::new(Rule::UnsupportedRelease, 0..0, None, message, None);
    if let Some(upgrade) = table.upgrade(&line, today)
        && let Some(newest) = &upgrade.newest
    {
        let new_tag = format!(
            "{newest}{}",
            rules.variant_on(&version.variant, &upgrade.line)
        );
        let step = table
            .supported(today)
            .into_iter()
            .find(|l| l.requires.as_deref() == Some(upgrade.line.as_str()))
            .map(|later| format!(" ({} requires {}.x first)", later.line, upgrade.line))
            .unwrap_or_default();
        d.help = Some(format!("upgrade to `{name}:{new_tag}`{step}"));
        d.pin = Some((format!("{name}:{new_tag}"), new_tag, Applicability::Unsafe));
    }
    Some(d)
}

/// TP006 beside TP003: a release line (`v1.0`) out of support. It has no fix of its own: the
/// TP003 pin keeps what runs, and the pinned release then gets TP006's upgrade.
fn unsupported_line(
    reference: &Reference,
    settings: &Settings,
    imprecise: &Diagnosis,
) -> Option<Diagnosis> {
    let image = Image::parse(&reference.value.text).ok()?;
    let rules = settings.data.image_rules(&image)?;
    let text = &shorten(&reference.value.text);
    let d = release_policy(&image, rules, image.tag.as_deref()?, text, settings.today)?;
    (d.rule == Rule::UnsupportedRelease).then(|| Diagnosis {
        span: imprecise.span.clone(),
        target: imprecise.target.clone(),
        pin: None,
        ..d
    })
}

/// A reference as quoted in a message: on one line, long ones (hostile input) cut to a
/// readable length.
fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    const LIMIT: usize = 120;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!(
            "{}… ({} characters)",
            one_line(&text[..cut]),
            text.chars().count()
        )
        .into(),
        None => one_line(text),
    }
}
