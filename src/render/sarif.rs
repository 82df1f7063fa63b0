//! SARIF 2.1.0, for code-scanning uploads: the rule catalogue as `tool.driver.rules`, one
//! result per finding, unreadable files as tool notifications.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::Report;
use crate::rules::{RULES, Severity};
use crate::run::Outcome;

pub struct Sarif;

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
        _err: &mut dyn Write,
    ) -> io::Result<()> {
        let rules: Vec<Value> = RULES
            .iter()
            .map(|rule| {
                json!({
                    "id": rule.code,
                    "name": rule.name,
                    "shortDescription": {"text": rule.summary},
                    "fullDescription": {"text": rule.summary},
                    "help": {"text": rule.docs, "markdown": rule.docs},
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
                json!({
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
                    "properties": {"image": f.image, "kind": f.kind},
                })
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
