//! The real-world corpus (`testdata/corpus`, sources in its `SOURCES.md`): every file scans
//! without error but the four that write a key twice (Kubernetes' strict decoding and compose
//! reject them too; Helm templates are skipped on purpose), and the findings match the reviewed
//! snapshot in `tests/snapshots/corpus__findings.snap`.

use std::path::PathBuf;

use tagpin::config::Settings;
use tagpin::run::Keep;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus")
}

/// The default settings on a fixed day, so that support windows do not move the snapshot.
fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.today = "2026-11-24".parse().unwrap();
    settings
}

#[test]
fn corpus_scans_and_findings_match_the_review() {
    let root = corpus();
    let outcome = tagpin::run::run(
        std::slice::from_ref(&root),
        &settings(),
        Keep {
            sources: true,
            references: true,
        },
    );
    let prefix = format!("{}/", root.display());
    let errors: Vec<String> = outcome
        .errors
        .iter()
        .map(|e| {
            let path = e.path.strip_prefix(&prefix).unwrap_or(&e.path);
            format!("{path}:{} {}", e.line.unwrap_or(0), e.message)
        })
        .collect();
    assert_eq!(
        errors,
        [
            "kestra-history/kestra-starter-chart-pre-versitygw/values.yaml:82 invalid YAML: duplicate key `resources` on lines 47 and 82: keep one",
            "real/kubernetes__examples/_archived/openshift-origin/etcd-controller.yaml:12 invalid YAML: duplicate key `selector` on lines 6 and 12: keep one",
            "real/kubernetes__examples/_archived/openshift-origin/etcd-discovery-controller.yaml:12 invalid YAML: duplicate key `selector` on lines 6 and 12: keep one",
            "real/kubernetes__examples/_archived/openshift-origin/openshift-controller.yaml:12 invalid YAML: duplicate key `selector` on lines 8 and 12: keep one",
        ]
    );
    assert!(outcome.files > 400, "only {} files", outcome.files);
    let skipped: Vec<&String> = outcome
        .notes
        .iter()
        .filter(|n| !n.contains("skipped: Helm template"))
        .collect();
    assert!(skipped.is_empty(), "{skipped:#?}");
    let findings: Vec<String> = outcome
        .findings
        .iter()
        .map(|f| {
            let path = f.path.strip_prefix(&prefix).unwrap_or(&f.path);
            format!(
                "{path}:{}:{} {} {}",
                f.start.line,
                f.start.column,
                f.rule.code(),
                f.image
            )
        })
        .collect();
    insta::assert_snapshot!("findings", findings.join("\n"));
}

/// Every fix over the corpus, from a fixed table of resolutions (each floating tag "points to"
/// release `9.9.9`): each file verifies, only the bytes of references change, and a second
/// pass finds nothing left to fix.
#[test]
fn fixing_the_whole_corpus_touches_only_reference_bytes() {
    use std::collections::BTreeMap;
    use tagpin::fix;
    use tagpin::pin::PinStyle;
    use tagpin::reference::Image;
    use tagpin::registry::Resolution;
    use tagpin::resolve::Recommended;

    let root = corpus();
    let settings = settings();
    let mut outcome = tagpin::run::run(
        std::slice::from_ref(&root),
        &settings,
        Keep {
            sources: true,
            references: true,
        },
    );
    let digest = format!("sha256:{}", "a".repeat(64));
    for style in [PinStyle::Version, PinStyle::Digest, PinStyle::VersionDigest] {
        let resolutions: BTreeMap<String, Resolution> = outcome
            .findings
            .iter()
            .filter_map(|f| Image::parse(&f.image).ok())
            .map(|image| {
                (
                    image.to_string(),
                    Resolution {
                        digest: digest.clone(),
                        release: Some("9.9.9".into()),
                        also: vec![],
                        note: None,
                    },
                )
            })
            .collect();
        let recommended = Recommended {
            notes: vec![],
            resolutions,
            style,
            known: Default::default(),
        };
        outcome
            .findings
            .iter_mut()
            .for_each(|f| recommended.attach(f));
        let mut files = 0;
        for (path, file) in &outcome.sources {
            let findings: Vec<&tagpin::finding::Finding> = outcome
                .findings
                .iter()
                .filter(|f| &f.path == path)
                .collect();
            if !findings.iter().any(|f| fix::allowed(f, false)) {
                continue;
            }
            let kind = outcome.kinds[path];
            let fixed = fix::fix_file(
                file,
                kind,
                outcome.kustomize_pins_of(path),
                &settings,
                &findings,
                &fix::Answers {
                    known: &recommended.known,
                    attach: &|f| recommended.attach(f),
                },
                false,
            )
            .unwrap_or_else(|e| panic!("{path}: {}", e.message))
            .unwrap_or_else(|| panic!("{path}: fixable findings but no change"));
            files += 1;
            assert_eq!(
                fix::apply(&fixed.before, &fixed.edits).0,
                fixed.after,
                "{path}: one pass, only the edits"
            );
            for edit in &fixed.edits {
                let old = &fixed.before[edit.span.clone()];
                let fits = old.is_empty()
                    || findings
                        .iter()
                        .any(|f| f.target.as_ref() == Some(&edit.span));
                assert!(fits, "{path}: an edit outside a reference's bytes: {old:?}");
                assert!(
                    !edit.text.contains(['\n', '"', '\'', ' ', '#']),
                    "{path}: {:?}",
                    edit.text
                );
            }
            let again = tagpin::source::SourceFile::new(file.path.clone(), fixed.after.clone());
            let scanned = tagpin::scan::scan(&again, kind).unwrap();
            let mut left = tagpin::check::check_file(&again, &scanned, &settings).0;
            left.iter_mut().for_each(|f| recommended.attach(f));
            let refixable: Vec<String> = left
                .iter()
                .filter(|f| fix::allowed(f, false))
                .map(|f| f.image.clone())
                .collect();
            assert!(
                refixable.is_empty(),
                "{path}: still fixable after a fix: {refixable:?}"
            );
        }
        assert!(files > 80, "only {files} files had fixes");
    }
}
