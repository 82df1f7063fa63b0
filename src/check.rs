//! References to findings: the offline rules (TP001–TP004, TP010, TP011), rule selection,
//! `ignore-images` and inline suppressions.

use crate::config::Settings;
use crate::finding::Finding;
use crate::reference::Image;
use crate::rules::rule;
use crate::scan::{FileKind, Reference};
use crate::source::{Position, SourceFile, Span};
use crate::suppress::Suppressions;

/// Codes of the rules that need the registry to tell about a digest pin.
const PIN_RULES: [&str; 2] = ["TP008", "TP009"];

/// A digest pin the registry can say more about (TP008, TP009), with everything a finding on
/// it needs decided while the file is at hand: location, selection, suppressions.
#[derive(Debug, Clone)]
pub struct Pinned {
    pub image: Image,
    /// The reference as evaluated.
    pub written: String,
    site: Site,
    allowed: Vec<&'static str>,
}

impl Pinned {
    /// A finding of `code` on this pin, unless the rule is deselected or suppressed here.
    pub fn finding(
        &self,
        code: &'static str,
        message: String,
        help: Option<String>,
    ) -> Option<Finding> {
        self.allowed
            .contains(&code)
            .then(|| self.site.finding(code, &self.written, message, help))
    }
}

/// Where a finding sits.
#[derive(Debug, Clone)]
struct Site {
    path: String,
    span: Span,
    start: Position,
    end: Position,
    kind: FileKind,
}

impl Site {
    fn new(file: &SourceFile, span: Span, kind: FileKind) -> Site {
        Site {
            path: file.display_path(),
            start: file.position(span.start),
            end: file.position(span.end),
            span,
            kind,
        }
    }

    fn finding(&self, code: &str, image: &str, message: String, help: Option<String>) -> Finding {
        Finding {
            rule: rule(code),
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
            fix: None,
        }
    }
}

/// The findings of one file, and its digest pins for the registry to check.
pub fn check_file(
    file: &SourceFile,
    references: &[Reference],
    settings: &Settings,
) -> (Vec<Finding>, Vec<Pinned>) {
    let suppressions = Suppressions::parse(file);
    let allowed = |code: &str, span: &Span, reference: &Reference| {
        settings.selects(code)
            && !suppressions.covers(file.line_index(span.start), code)
            && !suppressions.covers(file.line_index(reference.span.start), code)
    };
    let mut findings = Vec::new();
    let mut pinned = Vec::new();
    for reference in references {
        if let Some((code, span, message, help)) = diagnose(reference, settings) {
            if allowed(code, &span, reference) {
                let site = Site::new(file, span, reference.kind);
                findings.push(site.finding(code, &reference.value.text, message, help));
            }
            continue;
        }
        let Some(image) = pinned_image(reference, settings) else {
            continue;
        };
        let span = image
            .digest_range
            .clone()
            .and_then(|r| reference.value.span_of(r))
            .unwrap_or_else(|| reference.span.clone());
        let codes: Vec<&'static str> = PIN_RULES
            .into_iter()
            .filter(|code| allowed(code, &span, reference))
            .collect();
        if !codes.is_empty() {
            let site = Site::new(file, span, reference.kind);
            pinned.push(Pinned {
                image,
                written: reference.value.text.clone(),
                site,
                allowed: codes,
            });
        }
    }
    (findings, pinned)
}

/// A reference pinned by digest that the config does not ask to ignore.
fn pinned_image(reference: &Reference, settings: &Settings) -> Option<Image> {
    if reference.unresolved.is_some() {
        return None;
    }
    let image = Image::parse(&reference.value.text).ok()?;
    (image.digest.is_some() && !settings.ignores_image(&image, &reference.value.text))
        .then_some(image)
}

type Diagnosis = (&'static str, Span, String, Option<String>);

/// The one finding a reference gives, if any: the most specific rule wins.
fn diagnose(reference: &Reference, settings: &Settings) -> Option<Diagnosis> {
    let text = &shorten(&reference.value.text);
    if let Some(variable) = &reference.unresolved {
        let message = format!(
            "`{text}` depends on `{}`, which has no default",
            variable.name
        );
        let help = "give it a default (`${VAR:-v1.2.3}`) or check the rendered file".to_string();
        return Some(("TP011", variable.span.clone(), message, Some(help)));
    }
    if reference.chart_tag {
        return None;
    }
    let image = match Image::parse(&reference.value.text) {
        Ok(image) => image,
        Err(error) => {
            let message = format!("`{text}` is not a valid image reference: {error}");
            let span = error.range.and_then(|r| reference.value.span_of(r));
            return Some((
                "TP010",
                span.unwrap_or_else(|| reference.span.clone()),
                message,
                None,
            ));
        }
    };
    if settings.ignores_image(&image, &reference.value.text) || image.digest.is_some() {
        return None;
    }
    let at = |range: std::ops::Range<usize>| {
        reference
            .value
            .span_of(range)
            .unwrap_or_else(|| reference.span.clone())
    };
    let Some(tag) = &image.tag else {
        let message = format!("`{text}` has no tag and pulls whatever `latest` is");
        let help = format!("pin a release: `{text}:<version>`");
        return Some(("TP001", at(image.name_range.clone()), message, Some(help)));
    };
    let tag_span = at(image.tag_range.clone().unwrap_or_default());
    let rules = settings.data.image_rules(&image);
    if rules.is_some_and(|r| r.is_stale(tag)) {
        let message = format!("`{text}` is a stale tag that no longer moves and names no release");
        return Some((
            "TP004",
            tag_span,
            message,
            Some("pin a current release".to_string()),
        ));
    }
    if settings.data.is_moving(tag) || rules.is_some_and(|r| r.moving.contains(tag)) {
        let message = format!("`{text}` floats");
        let help = format!("`{tag}` moves with every release; pin an exact version");
        return Some(("TP002", tag_span, message, Some(help)));
    }
    if let Some(rules) = rules.filter(|r| r.is_imprecise(tag)) {
        let message =
            format!("`{text}` names a release line, not a release: it moves with every patch");
        let (base, variant) = rules.split_variant(tag);
        let help = format!("pin a patch release: `{base}.<patch>{variant}`");
        return Some(("TP003", tag_span, message, Some(help)));
    }
    None
}

/// A reference as quoted in a message: long ones (hostile input) cut to a readable length.
fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    const LIMIT: usize = 120;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()).into(),
        None => text.into(),
    }
}
