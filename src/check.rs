//! References to findings: the offline rules (TP001–TP004, TP010, TP011), rule selection,
//! `ignore-images` and inline suppressions.

use crate::config::Settings;
use crate::finding::Finding;
use crate::reference::Image;
use crate::rules::rule;
use crate::scan::Reference;
use crate::source::{SourceFile, Span};
use crate::suppress::Suppressions;

/// The findings of one file.
pub fn check_file(
    file: &SourceFile,
    references: &[Reference],
    settings: &Settings,
) -> Vec<Finding> {
    let suppressions = Suppressions::parse(file);
    let mut findings = Vec::new();
    for reference in references {
        let Some((code, span, message, help)) = diagnose(reference, settings) else {
            continue;
        };
        if !settings.selects(code) {
            continue;
        }
        let line = file.line_index(span.start);
        let reference_line = file.line_index(reference.span.start);
        if suppressions.covers(line, code) || suppressions.covers(reference_line, code) {
            continue;
        }
        findings.push(Finding {
            rule: rule(code),
            path: file.display_path(),
            start: file.position(span.start),
            end: file.position(span.end),
            span,
            kind: reference.kind,
            image: reference.value.text.clone(),
            message,
            help,
            recommendation: None,
            digest: None,
            fix: None,
        });
    }
    findings
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
