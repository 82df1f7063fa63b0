//! `check --fix` and `--diff` against the real registry: every file kind and quoting style is
//! rewritten at the bytes of the reference and nowhere else, the result is verified, writes are
//! atomic and keep permissions, and a second run changes nothing.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use support::cli::tagpin;
use support::registry::TestRegistry;

/// (file name, before, after) with `{H}` for the registry host.
const CASES: &[(&str, &str, &str)] = &[
    (
        "compose.yaml",
        "x-kestra: &kestra\n  image: kestra/kestra:latest # moving\n  pull_policy: always\nservices:\n  kestra:\n    <<: *kestra\n  worker:\n    <<: *kestra\n  env:\n    image: \"kestra/kestra:${KESTRA_VERSION:-latest-lts}\"\n  quoted: {image: 'kestra/kestra:v1.3'}\n  bare:\n    image: kestra/kestra\n",
        "x-kestra: &kestra\n  image: kestra/kestra:v2.0.5 # moving\n  pull_policy: always\nservices:\n  kestra:\n    <<: *kestra\n  worker:\n    <<: *kestra\n  env:\n    image: \"kestra/kestra:${KESTRA_VERSION:-v1.3.30}\"\n  quoted: {image: 'kestra/kestra:v1.3.30'}\n  bare:\n    image: kestra/kestra:v2.0.5\n",
    ),
    (
        "deploy.yaml",
        "\u{feff}apiVersion: apps/v1\r\nkind: Deployment\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n        - name: kestra\r\n          image: \"kestra/kestra:latest-slim\"",
        "\u{feff}apiVersion: apps/v1\r\nkind: Deployment\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n        - name: kestra\r\n          image: \"kestra/kestra:v2.0.5-slim\"",
    ),
    (
        "Dockerfile",
        "# syntax=docker/dockerfile:1\nARG IMAGE_TAG=latest-lts-no-plugins\nFROM kestra/kestra:$IMAGE_TAG AS base\nFROM --platform=$BUILDPLATFORM kestra/kestra:develop\nFROM base\n",
        "# syntax=docker/dockerfile:1\nARG IMAGE_TAG=v1.3.30-no-plugins\nFROM kestra/kestra:$IMAGE_TAG AS base\nFROM --platform=$BUILDPLATFORM kestra/kestra:develop@{develop}\nFROM base\n",
    ),
    (
        "values.yaml",
        "image:\n  image: kestra/kestra\n  tag: latest   # old chart key\nnew:\n  image:\n    repository: kestra/kestra\n    tag: \"\"\n",
        "image:\n  image: kestra/kestra\n  tag: v2.0.5   # old chart key\nnew:\n  image:\n    repository: kestra/kestra\n    tag: \"\"\n",
    ),
    (
        "kustomization.yaml",
        "images:\n  - name: kestra\n    newName: kestra/kestra\n    newTag: latest-lts\n",
        "images:\n  - name: kestra\n    newName: kestra/kestra\n    newTag: v1.3.30\n",
    ),
    (
        "flow.yaml",
        "id: etl\nnamespace: team\ntasks:\n  - id: run\n    type: io.kestra.plugin.scripts.python.Script\n    containerImage: kestra/kestra:v2.0\n",
        "id: etl\nnamespace: team\ntasks:\n  - id: run\n    type: io.kestra.plugin.scripts.python.Script\n    containerImage: kestra/kestra:v2.0.5\n",
    ),
];

#[test]
fn every_kind_is_fixed_in_place_and_a_second_run_changes_nothing() {
    let registry = TestRegistry::start(None);
    let seeded = registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let fill = |text: &str| text.replace("{develop}", &seeded["develop"]);
    for (name, before, _) in CASES {
        fs::write(work.path().join(name), fill(before)).unwrap();
    }
    fs::set_permissions(
        work.path().join("compose.yaml"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    fs::write(
        work.path().join("clean.compose.yaml"),
        fill("services:\n  a:\n    image: kestra/kestra:v2.0.5\n"),
    )
    .unwrap();
    let untouched = fs::metadata(work.path().join("clean.compose.yaml"))
        .unwrap()
        .modified()
        .unwrap();

    let diff = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--diff",
            "--no-config",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    insta::assert_snapshot!("diff_of_every_kind", diff.stdout);
    assert!(
        diff.stdout
            .contains("--- a/compose.yaml\n+++ b/compose.yaml\n"),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains(&fill(
        "-  image: kestra/kestra:latest # moving\n+  image: kestra/kestra:v2.0.5 # moving\n"
    )));
    for (name, before, _) in CASES {
        assert_eq!(
            fs::read_to_string(work.path().join(name)).unwrap(),
            fill(before),
            "--diff wrote {name}"
        );
    }

    let fix = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--fix",
            "--format",
            "concise",
            "--no-config",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    assert_eq!(fix.code, 0, "{}\n{}", fix.stdout, fix.stderr);
    for (name, _, after) in CASES {
        assert_eq!(
            fs::read_to_string(work.path().join(name)).unwrap(),
            fill(after),
            "{name}"
        );
    }
    assert!(
        fix.stderr.contains("Fixed 10 findings in 6 files"),
        "{}",
        fix.stderr
    );
    let mode = fs::metadata(work.path().join("compose.yaml"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(
        fs::metadata(work.path().join("clean.compose.yaml"))
            .unwrap()
            .modified()
            .unwrap(),
        untouched
    );

    let mtimes: Vec<_> = CASES
        .iter()
        .map(|(n, _, _)| {
            fs::metadata(work.path().join(n))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    let again = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--fix",
            "--no-config",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("Fixed 0 findings in 0 files"),
        "{}",
        again.stderr
    );
    let after: Vec<_> = CASES
        .iter()
        .map(|(n, _, _)| {
            fs::metadata(work.path().join(n))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    assert_eq!(mtimes, after);
    let clean = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--diff",
            "--no-config",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    assert_eq!(
        (clean.code, clean.stdout.as_str()),
        (0, ""),
        "{}",
        clean.stderr
    );
}

#[test]
fn pin_styles_and_unsafe_repins() {
    let registry = TestRegistry::start(None);
    let seeded = registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let host = &registry.host;
    let old = &seeded["v2.0.4"];
    fs::write(
        work.path().join("compose.yaml"),
        format!("services:\n  a:\n    image: {host}/kestra/kestra:latest\n  b:\n    image: {host}/kestra/kestra:v2.0.5@{old}\n"),
    )
    .unwrap();
    let safe = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--fix",
            "--pin",
            "version+digest",
            "--format",
            "concise",
            "--no-config",
            ".",
        ],
    );
    assert_eq!(
        safe.code, 1,
        "the TP008 re-pin is unsafe and stays: {}",
        safe.stdout
    );
    assert!(safe.stdout.contains("TP008"), "{}", safe.stdout);
    let v205 = &seeded["v2.0.5"];
    let text = fs::read_to_string(work.path().join("compose.yaml")).unwrap();
    assert_eq!(
        text,
        format!(
            "services:\n  a:\n    image: {host}/kestra/kestra:v2.0.5@{v205}\n  b:\n    image: {host}/kestra/kestra:v2.0.5@{old}\n"
        )
    );
    let all = tagpin(
        cache.path(),
        work.path(),
        &["check", "--fix", "--unsafe-fixes", "--no-config", "."],
    );
    assert_eq!(all.code, 0, "{}", all.stderr);
    let text = fs::read_to_string(work.path().join("compose.yaml")).unwrap();
    assert_eq!(
        text,
        format!(
            "services:\n  a:\n    image: {host}/kestra/kestra:v2.0.5@{v205}\n  b:\n    image: {host}/kestra/kestra:v2.0.5@{v205}\n"
        )
    );
}

#[test]
fn a_fix_that_cannot_be_verified_is_not_written() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let host = &registry.host;
    // One ARG feeds two FROMs; the second is suppressed, so pinning the ARG would change it too.
    let text = format!(
        "ARG TAG=latest\nFROM {host}/kestra/kestra:$TAG AS a\n# tagpin: ignore\nFROM {host}/kestra/kestra:$TAG\n"
    );
    fs::write(work.path().join("Dockerfile"), &text).unwrap();
    let run = tagpin(
        cache.path(),
        work.path(),
        &["check", "--fix", "--no-config", "."],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("would become") && run.stderr.contains("nothing written"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(work.path().join("Dockerfile")).unwrap(),
        text
    );
}

#[test]
fn offline_without_a_cached_answer_fixes_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let text = "services:\n  a:\n    image: kestra/kestra:latest\n";
    fs::write(work.path().join("compose.yaml"), text).unwrap();
    let run = tagpin(
        cache.path(),
        work.path(),
        &["check", "--fix", "--offline", "--no-config", "."],
    );
    assert_eq!(
        run.code, 2,
        "recommendations were asked for and could not be had: {}",
        run.stderr
    );
    assert!(run.stderr.contains("offline"), "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(work.path().join("compose.yaml")).unwrap(),
        text
    );
    // Quiet, in JSON: the log still says why it exits 2.
    let quiet = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--fix",
            "--offline",
            "--no-config",
            "-q",
            "--format",
            "json",
            ".",
        ],
    );
    assert_eq!(quiet.code, 2);
    assert!(
        quiet
            .stderr
            .contains("error: 1 finding got no pin and could not be fixed: offline:"),
        "{}",
        quiet.stderr
    );
}

#[test]
fn a_killed_run_leaves_every_file_old_or_new() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let before = "services:\n  kestra:\n    image: kestra/kestra:latest # keep this comment\n";
    let after = "services:\n  kestra:\n    image: kestra/kestra:v2.0.5 # keep this comment\n";
    let files: Vec<_> = (0..1500)
        .map(|i| work.path().join(format!("s{i:04}.compose.yaml")))
        .collect();
    let mirror = format!("docker.io={}", registry.url);
    // Warm the cache so that the run spends its time writing.
    let warm = tagpin(
        cache.path(),
        work.path(),
        &[
            "resolve",
            "--no-config",
            "--registry-mirror",
            &mirror,
            "kestra/kestra:latest",
        ],
    );
    assert_eq!(warm.code, 0, "{}", warm.stderr);
    for pause in [0, 5, 20] {
        for file in &files {
            fs::write(file, before).unwrap();
        }
        let mut child = support::cli::command(cache.path(), work.path())
            .args([
                "check",
                "--fix",
                "--no-config",
                "--registry-mirror",
                &mirror,
                ".",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it once writing has begun (the first file is written first), mid-way.
        let started = std::time::Instant::now();
        while fs::read_to_string(&files[0]).unwrap() == before && started.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(pause));
        child.kill().unwrap();
        child.wait().unwrap();
        let mut fixed = 0;
        for file in &files {
            let text = fs::read_to_string(file).unwrap();
            assert!(
                text == before || text == after,
                "{} is neither old nor new: {text:?}",
                file.display()
            );
            fixed += usize::from(text == after);
        }
        eprintln!(
            "killed {pause} ms into writing: {fixed} of {} files fixed",
            files.len()
        );
        assert!(fixed > 0);
    }
}

#[test]
fn json_lists_the_fixes_a_diff_would_apply_and_a_fix_applied() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let text =
        "services:\n  a:\n    image: kestra/kestra:latest\n  b:\n    image: kestra/kestra:v2.0\n";
    fs::write(work.path().join("compose.yaml"), text).unwrap();
    let run = |mode: &str| {
        let args = [
            "check",
            mode,
            "--format",
            "json",
            "--no-config",
            "--registry-mirror",
            &mirror,
            ".",
        ];
        let run = tagpin(cache.path(), work.path(), &args);
        let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        (run.code, document)
    };
    let fixes = serde_json::json!([
        {"path": "compose.yaml", "line": 3, "column": 26, "code": "TP002",
         "old": "kestra/kestra:latest", "new": "kestra/kestra:v2.0.5"},
        {"path": "compose.yaml", "line": 5, "column": 26, "code": "TP003",
         "old": "kestra/kestra:v2.0", "new": "kestra/kestra:v2.0.5"},
    ]);
    let (code, diff) = run("--diff");
    assert_eq!(code, 1);
    assert_eq!(diff["fixes"], fixes);
    assert_eq!(diff["findings"].as_array().unwrap().len(), 2);
    assert_eq!(
        fs::read_to_string(work.path().join("compose.yaml")).unwrap(),
        text
    );
    let (code, fixed) = run("--fix");
    assert_eq!(code, 0);
    assert_eq!(fixed["fixes"], fixes);
    assert_eq!(fixed["findings"], serde_json::json!([]));
    let (code, again) = run("--fix");
    assert_eq!((code, &again["fixes"]), (0, &serde_json::json!([])));
}

#[test]
fn diff_exits_1_while_findings_remain_even_without_a_fix() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("compose.yaml"),
        "services:\n  a:\n    image: kestra/kestra:latest\n",
    )
    .unwrap();
    fs::write(
        work.path().join("clean.compose.yaml"),
        "services:\n  a:\n    image: kestra/kestra:v2.0.5\n",
    )
    .unwrap();
    // Offline with an empty cache: no pin, so no diff, as when the registry is down.
    let diff = |args: &[&str]| {
        let mut all = vec!["check", "--diff", "--offline", "--no-config"];
        all.extend(args);
        tagpin(cache.path(), work.path(), &all)
    };
    let failing = diff(&["compose.yaml"]);
    assert_eq!((failing.code, failing.stdout.as_str()), (1, ""));
    assert!(
        failing
            .stderr
            .contains("0 fixes in 0 files would be applied; 1 finding at or above error"),
        "{}",
        failing.stderr
    );
    let clean = diff(&["clean.compose.yaml"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    fs::write(
        work.path().join("line.compose.yaml"),
        "services:\n  a:\n    image: kestra/kestra:v2.0\n",
    )
    .unwrap();
    let below = diff(&["line.compose.yaml"]);
    assert_eq!(
        below.code, 0,
        "a warning is below --fail-on error: {}",
        below.stderr
    );
    let warning = diff(&["--fail-on", "warning", "line.compose.yaml"]);
    assert_eq!(warning.code, 1, "{}", warning.stderr);
    let sarif = diff(&["--format", "sarif", "."]);
    assert_eq!((sarif.code, sarif.stdout.as_str()), (2, ""));
    assert!(
        sarif.stderr.contains("`--diff` prints a unified diff"),
        "{}",
        sarif.stderr
    );
}

#[test]
fn diff_headers_are_relative_to_the_working_folder() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    fs::create_dir(work.path().join("deploy")).unwrap();
    // Line 1.0 ended before the fixed day: TP006 has an unsafe fix known offline.
    fs::write(
        work.path().join("deploy/compose.yaml"),
        "services:\n  a:\n    image: kestra/kestra:v1.0.40\n",
    )
    .unwrap();
    let absolute = work.path().join("deploy").canonicalize().unwrap();
    let diff = tagpin(
        cache.path(),
        &work.path().canonicalize().unwrap(),
        &[
            "check",
            "--diff",
            "--unsafe-fixes",
            "--offline",
            "--no-config",
            "--today",
            "2026-11-24",
            absolute.to_str().unwrap(),
        ],
    );
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    assert!(
        diff.stdout
            .starts_with("--- a/deploy/compose.yaml\n+++ b/deploy/compose.yaml\n"),
        "{}",
        diff.stdout
    );
}
