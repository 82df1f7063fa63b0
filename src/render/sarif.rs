//! SARIF 2.1.0, for code-scanning uploads: the rule catalogue as `tool.driver.rules`, one
//! result per finding, unreadable files as tool notifications.

use std::io::{self, Write};

use std::path::{Component, Path};

use serde::Serialize;
use serde_json::{Value, json};
use url::Url;

use super::{Diagnostics, Report, write_errors};
use crate::finding::Finding;
use crate::rules::{Needs, Rule, Severity};
use crate::source::absolute;

pub struct Sarif;

/// A finding's fix as SARIF replacements, when its file's text is at hand for positions.
fn sarif_fix(report: &Diagnostics, finding: &Finding) -> Option<Value> {
    let fix = finding.fix.as_ref()?;
    let file = report.sources.get(&finding.path)?;
    let replacements: Vec<Value> = fix
        .edits
        .iter()
        .map(|edit| {
            let (start, end) = (file.position(edit.span.start), file.position(edit.span.end));
            json!({
                "deletedRegion": {
                    "startLine": start.line, "startColumn": start.column,
                    "endLine": end.line, "endColumn": end.column,
                },
                "insertedContent": {"text": edit.text},
            })
        })
        .collect();
    Some(json!({
        "description": {"text": fix.title},
        "artifactChanges": [{"artifactLocation": artifact(&finding.path), "replacements": replacements}],
    }))
}

/// Where a file is, as SARIF wants it: a path inside the working folder is a relative URI
/// against `%SRCROOT%` (what code-scanning uploads resolve against the checkout); any other
/// path is an absolute `file://` URI.
fn artifact(path: &str) -> Value {
    let path = Path::new(path);
    let inside = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let absolute = if inside {
        Path::new("/").join(path)
    } else {
        absolute(&std::env::current_dir().unwrap_or_default(), path)
    };
    match Url::from_file_path(&absolute) {
        Ok(url) if inside => json!({"uri": &url.path()[1..], "uriBaseId": "%SRCROOT%"}),
        Ok(url) => json!({"uri": url.as_str()}),
        Err(()) => json!({"uri": path.to_string_lossy()}),
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The document. Its keys are in the order serde_json gives an object's (sorted), as when the
/// whole document was one `Value`; the results are made one at a time as they are written.
#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'a>; 1],
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    column_kind: &'static str,
    invocations: Value,
    results: Results<'a>,
    tool: Value,
}

struct Results<'a>(&'a Diagnostics<'a>);

impl Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        serializer.collect_seq(report.findings.iter().map(|f| result(report, f)))
    }
}

/// One finding as a SARIF result.
fn result(report: &Diagnostics, f: &Finding) -> Value {
    let index = Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
    let mut result = json!({
        "ruleId": f.rule.code(),
        "ruleIndex": index,
        "level": level(f.severity()),
        "message": {"text": f.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact(&f.path),
                "region": {
                    "startLine": f.start.line,
                    "startColumn": f.start.column,
                    "endLine": f.end.line,
                    "endColumn": f.end.column,
                }
            }
        }],
        "properties": {"image": f.image, "kind": f.kind, "recommendation": f.recommendation},
    });
    if let Some(fix) = sarif_fix(report, f) {
        result["fixes"] = json!([fix]);
    }
    result
}

impl Report for Sarif {
    fn report(
        &self,
        report: &Diagnostics,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        write_errors(report.errors, err)?;
        let rules: Vec<Value> = Rule::ALL
            .iter()
            .map(|rule| {
                json!({
                    "id": rule.code(),
                    "name": rule.name(),
                    "shortDescription": {"text": rule.summary()},
                    "fullDescription": {"text": rule.summary()},
                    "help": {"text": rule.docs(), "markdown": rule.docs()},
                    "helpUri": format!("{}/blob/main/{}", env!("CARGO_PKG_REPOSITORY"), rule.doc_path()),
                    "defaultConfiguration": {"level": level(rule.severity())},
                    "properties": {"requiresRegistry": rule.needs() == Needs::Registry, "fixable": rule.fixable()},
                })
            })
            .collect();
        let notifications: Vec<Value> = report
            .errors
            .iter()
            .map(|e| {
                let mut location =
                    json!({"physicalLocation": {"artifactLocation": artifact(&e.path)}});
                if let Some(line) = e.line {
                    location["physicalLocation"]["region"] = json!({"startLine": line});
                }
                json!({"level": "error", "message": {"text": e.message}, "locations": [location]})
            })
            .collect();
        let document = Document {
            schema: "https://json.schemastore.org/sarif-2.1.0.json",
            runs: [Run {
                column_kind: "unicodeCodePoints",
                invocations: json!([{
                    "executionSuccessful": report.errors.is_empty(),
                    "toolExecutionNotifications": notifications,
                }]),
                results: Results(report),
                tool: json!({"driver": {
                    "name": "tagpin",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }}),
            }],
            version: "2.1.0",
        };
        crate::escape::json(out, &document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_relative_uris_and_others_file_uris() {
        assert_eq!(
            artifact("demo/my values.yaml"),
            json!({"uri": "demo/my%20values.yaml", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact("/srv/app/compose.yaml"),
            json!({"uri": "file:///srv/app/compose.yaml"})
        );
        let outside = artifact("../compose.yaml");
        let uri = outside["uri"].as_str().unwrap();
        assert!(
            uri.starts_with("file:///") && uri.ends_with("/compose.yaml") && !uri.contains(".."),
            "{uri}"
        );
        assert!(outside.get("uriBaseId").is_none());
    }
}
