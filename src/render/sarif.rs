//! SARIF 2.1.0, for code-scanning uploads: the rule catalogue as `tool.driver.rules`, one
//! result per finding, unreadable files as tool notifications.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Report, write_errors};
use crate::finding::Finding;
use crate::rules::{RULES, Severity};
use crate::run::Outcome;

pub struct Sarif;

/// A finding's fix as SARIF replacements, when its file's text is at hand for positions.
fn sarif_fix(outcome: &Outcome, finding: &Finding) -> Option<Value> {
    let fix = finding.fix.as_ref()?;
    let file = outcome.sources.get(&finding.path)?;
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
        "artifactChanges": [{"artifactLocation": {"uri": finding.path}, "replacements": replacements}],
    }))
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

impl Report for Sarif {
    fn report(
        &self,
        outcome: &Outcome,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        write_errors(outcome, err)?;
        let rules: Vec<Value> = RULES
            .iter()
            .map(|rule| {
                json!({
                    "id": rule.code,
                    "name": rule.name,
                    "shortDescription": {"text": rule.summary},
                    "fullDescription": {"text": rule.summary},
                    "help": {"text": rule.docs, "markdown": rule.docs},
                    "helpUri": format!("{}/blob/main/rules/docs/{}.md", env!("CARGO_PKG_REPOSITORY"), rule.code),
                    "defaultConfiguration": {"level": level(rule.severity)},
                    "properties": {"requiresRegistry": rule.registry, "fixable": rule.fixable},
                })
            })
            .collect();
        let results: Vec<Value> = outcome
            .findings
            .iter()
            .map(|f| {
                let index = RULES
                    .iter()
                    .position(|r| r.code == f.rule.code)
                    .unwrap_or(0);
                let mut result = json!({
                    "ruleId": f.rule.code,
                    "ruleIndex": index,
                    "level": level(f.severity()),
                    "message": {"text": f.message},
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {"uri": f.path},
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
                if let Some(fix) = sarif_fix(outcome, f) {
                    result["fixes"] = json!([fix]);
                }
                result
            })
            .collect();
        let notifications: Vec<Value> = outcome
            .errors
            .iter()
            .map(|e| {
                let mut location =
                    json!({"physicalLocation": {"artifactLocation": {"uri": e.path}}});
                if let Some(line) = e.line {
                    location["physicalLocation"]["region"] = json!({"startLine": line});
                }
                json!({"level": "error", "message": {"text": e.message}, "locations": [location]})
            })
            .collect();
        let document = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "tagpin",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }},
                "columnKind": "unicodeCodePoints",
                "results": results,
                "invocations": [{
                    "executionSuccessful": outcome.errors.is_empty(),
                    "toolExecutionNotifications": notifications,
                }],
            }],
        });
        serde_json::to_writer_pretty(&mut *out, &document)?;
        writeln!(out)
    }
}
