//! The real-world corpus (`../shared/corpus`): every file scans without error (Helm templates
//! are skipped on purpose), and the findings match the reviewed snapshot in
//! `tests/snapshots/corpus__findings.snap`.

use std::path::PathBuf;

use tagpin::config::Settings;

fn corpus() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(
        path.is_dir(),
        "the shared corpus is missing at {}",
        path.display()
    );
    path
}

#[test]
fn corpus_scans_without_errors_and_findings_match_the_review() {
    let root = corpus();
    let outcome = tagpin::run::run(std::slice::from_ref(&root), &Settings::default());
    assert!(outcome.errors.is_empty(), "{:#?}", outcome.errors);
    assert!(outcome.files > 400, "only {} files", outcome.files);
    let skipped: Vec<&String> = outcome
        .notes
        .iter()
        .filter(|n| !n.contains("skipped: Helm template"))
        .collect();
    assert!(skipped.is_empty(), "{skipped:#?}");
    let prefix = format!("{}/", root.display());
    let findings: Vec<String> = outcome
        .findings
        .iter()
        .map(|f| {
            let path = f.path.strip_prefix(&prefix).unwrap_or(&f.path);
            format!(
                "{path}:{}:{} {} {}",
                f.start.line, f.start.column, f.rule.code, f.image
            )
        })
        .collect();
    insta::assert_snapshot!("findings", findings.join("\n"));
}
