//! GitLab Code Quality: a JSON array of issues with a stable fingerprint, for merge requests;
//! files that could not be checked are issues too.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Diagnostics, Report, write_errors};
use crate::rules::Severity;

pub struct Gitlab;

impl Report for Gitlab {
    fn report(
        &self,
        report: &Diagnostics,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        write_errors(report.errors, err)?;
        // How often each fingerprint's text came before: the same reference twice in a file
        // is two issues (ruff's GitLab emitter salts repeats the same way).
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut issues: Vec<serde_json::Value> = report
            .findings
            .iter()
            .map(|f| {
                // Stable across runs and unrelated edits: the rule, the file and the reference
                // (or the message, for a finding about no reference: an unused suppression).
                let subject = if f.image.is_empty() {
                    &f.message
                } else {
                    &f.image
                };
                let mut text = format!("{}\0{}\0{subject}", f.rule.code(), f.path);
                let repeat = seen.entry(text.clone()).or_default();
                if *repeat > 0 {
                    text.push_str(&format!("\0{repeat}"));
                }
                *repeat += 1;
                let fingerprint = Sha256::digest(text.as_bytes());
                json!({
                    "description": f.message,
                    "check_name": format!("{} {}", f.rule.code(), f.rule.name()),
                    "fingerprint": format!("{fingerprint:x}"),
                    "severity": match f.severity() {
                        Severity::Error => "major",
                        Severity::Warning => "minor",
                        Severity::Info => "info",
                    },
                    "location": {"path": f.path, "lines": {"begin": f.start.line}},
                })
            })
            .collect();
        // A file that could not be checked is an issue too: the report must not look clean.
        issues.extend(report.errors.iter().map(|e| {
            let fingerprint =
                Sha256::digest(format!("error\0{}\0{}", e.path, e.message).as_bytes());
            json!({
                "description": format!("not checked: {}", e.message),
                "check_name": "tagpin file-error",
                "fingerprint": format!("{fingerprint:x}"),
                "severity": "major",
                "location": {"path": e.path, "lines": {"begin": e.line.unwrap_or(1)}},
            })
        }));
        crate::escape::json(out, &issues)
    }
}
