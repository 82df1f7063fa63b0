//! GitLab Code Quality: a JSON array of issues with a stable fingerprint, for merge requests.

use std::io::{self, Write};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::Report;
use crate::rules::Severity;
use crate::run::Outcome;

pub struct Gitlab;

impl Report for Gitlab {
    fn report(
        &self,
        outcome: &Outcome,
        out: &mut dyn Write,
        _err: &mut dyn Write,
    ) -> io::Result<()> {
        let issues: Vec<serde_json::Value> = outcome
            .findings
            .iter()
            .map(|f| {
                // Stable across runs and unrelated edits: the rule, the file and the reference.
                let fingerprint =
                    Sha256::digest(format!("{}\0{}\0{}", f.rule.code, f.path, f.image).as_bytes());
                json!({
                    "description": f.message,
                    "check_name": format!("{} {}", f.rule.code, f.rule.name),
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
        serde_json::to_writer_pretty(&mut *out, &issues)?;
        writeln!(out)
    }
}
