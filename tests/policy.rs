//! Kestra's release policy against the real registry seeded with Kestra's tag scheme: support
//! verdicts around every boundary, newer patches, unknown tags with suggestions, upgrades and
//! the `releases` table.

mod support;

use std::fs;
use std::path::Path;

use support::registry::TestRegistry;

fn tagpin(cache: &Path, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let run = support::cli::tagpin(cache, dir, args);
    (run.code, run.stdout, run.stderr)
}

/// (line, code, message) of each finding for `image` checked on `today`.
fn verdicts(registry: &TestRegistry, images: &[&str], today: &str) -> Vec<(u64, String, String)> {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let services: String = images
        .iter()
        .enumerate()
        .map(|(i, image)| format!("  s{i}:\n    image: {image}\n"))
        .collect();
    fs::write(
        work.path().join("compose.yaml"),
        format!("services:\n{services}"),
    )
    .unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let args = [
        "check",
        "--format",
        "json",
        "--no-config",
        "--today",
        today,
        "--registry-mirror",
        &mirror,
        ".",
    ];
    let (_, stdout, stderr) = tagpin(cache.path(), work.path(), &args);
    let json: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (f["line"].as_u64().unwrap() - 2) / 2,
                f["code"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn support_verdicts_around_every_boundary() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let cases = [
        ("kestra/kestra:v1.0.60", "2026-09-09", None),
        ("kestra/kestra:v1.0.60", "2026-09-10", Some("TP006")),
        ("kestra/kestra:v1.3.30", "2027-03-03", None),
        ("kestra/kestra:v1.3.30", "2027-03-04", Some("TP006")),
        ("kestra/kestra:v1.3.30-no-plugins", "2026-11-24", None),
        ("kestra/kestra:v2.0.5", "2026-11-24", None),
        ("kestra/kestra:v2.0.5-slim", "2026-11-24", None),
        ("kestra/kestra:v1.3.29", "2026-11-24", Some("TP007")),
        ("kestra/kestra:v2.0.4", "2026-11-24", Some("TP007")),
    ];
    for (image, today, expected) in cases {
        let found = verdicts(&registry, &[image], today);
        assert_eq!(
            found.first().map(|f| f.1.as_str()),
            expected,
            "{image} on {today}: {found:?}"
        );
    }
    let found = verdicts(&registry, &["kestra/kestra:v1.3.29"], "2026-11-24");
    assert_eq!(
        found[0].2,
        "`kestra/kestra:v1.3.29`: v1.3.30 is out (same line)"
    );
    let found = verdicts(
        &registry,
        &["kestra/kestra:v1.0.60-no-plugins"],
        "2026-11-24",
    );
    assert_eq!(
        found[0].2,
        "`kestra/kestra:v1.0.60-no-plugins` is on 1.0 LTS, supported until 2026-09-09; move to v1.3.30-no-plugins (LTS until 2027-03-03) or v2.0.5-slim"
    );
}

#[test]
fn unknown_tags_get_the_closest_existing_tag() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("compose.yaml"),
        "services:\n  a:\n    image: kestra/kestra:v2.0.5-no-plugins\n  b:\n    image: kestra/kestra:1.0.3\n  c:\n    image: kestra/kestra:v1.3.31\n",
    )
    .unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let (code, stdout, stderr) = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--format",
            "json",
            "--no-config",
            "--today",
            "2026-11-24",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let found: Vec<(&str, &str)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["image"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("TP005", "kestra/kestra:v2.0.5-no-plugins"),
            ("TP005", "kestra/kestra:1.0.3"),
            ("TP005", "kestra/kestra:v1.3.31")
        ]
    );
    let (_, human, _) = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--color",
            "never",
            "--no-config",
            "--today",
            "2026-11-24",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    for suggestion in [
        "did you mean `kestra/kestra:v2.0.5-slim`?",
        // The registry has no `v1.0.3`: the newest 1.0 release it lists.
        "did you mean `kestra/kestra:v1.0.60`?",
        "did you mean `kestra/kestra:v1.3.30`?",
    ] {
        assert!(human.contains(suggestion), "{suggestion} in {human}");
    }
}

#[test]
fn a_line_newer_than_the_data_supersedes_the_feature_line() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    registry.push_index("kestra/kestra", "2.1.0", &["v2.1.0"]);
    registry.push_index("kestra/kestra", "1.3.31", &["v1.3.31"]);
    let found = verdicts(&registry, &["kestra/kestra:v2.0.5"], "2026-11-24");
    assert_eq!(
        found.first().map(|f| f.1.as_str()),
        Some("TP006"),
        "{found:?}"
    );
    assert!(found[0].2.contains("move to v2.1.0"), "{found:?}");

    let cache = tempfile::tempdir().unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let (code, stdout, stderr) = tagpin(
        cache.path(),
        cache.path(),
        &[
            "releases",
            "--format",
            "json",
            "--no-config",
            "--today",
            "2026-11-24",
            "--registry-mirror",
            &mirror,
            "kestra/kestra",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let lines: Vec<(String, String, String)> = json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["line"].as_str().unwrap().into(),
                l["newest"].as_str().unwrap_or("-").into(),
                l["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    // The newest patch is the registry's: it lists no 1.1 or 1.2 release.
    let expected = [
        ("1.0", "v1.0.60", "ended"),
        ("1.1", "-", "ended"),
        ("1.2", "-", "ended"),
        ("1.3", "v1.3.31", "supported"),
        ("2.0", "v2.0.5", "ended"),
        ("2.1", "v2.1.0", "supported"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(json["today"], "2026-11-24");
}

#[test]
fn the_upgrade_is_an_unsafe_fix_through_the_stepping_stone() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let text = "services:\n  a:\n    image: kestra/kestra:v1.0.60-no-plugins\n";
    fs::write(work.path().join("compose.yaml"), text).unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let args = [
        "check",
        "--fix",
        "--no-config",
        "--today",
        "2026-11-24",
        "--registry-mirror",
        &mirror,
        ".",
    ];
    let (code, _, stderr) = tagpin(cache.path(), work.path(), &args);
    assert_eq!(code, 0, "TP006 is a warning: {stderr}");
    assert_eq!(
        fs::read_to_string(work.path().join("compose.yaml")).unwrap(),
        text,
        "unsafe: not applied"
    );
    let (_, _, stderr) = tagpin(
        cache.path(),
        work.path(),
        &[&args[..], &["--unsafe-fixes"]].concat(),
    );
    assert!(stderr.contains("Fixed 1 finding"), "{stderr}");
    assert_eq!(
        fs::read_to_string(work.path().join("compose.yaml")).unwrap(),
        "services:\n  a:\n    image: kestra/kestra:v1.3.30-no-plugins\n"
    );
}

#[test]
fn a_release_line_out_of_support_is_imprecise_and_unsupported() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let found = verdicts(&registry, &["kestra/kestra:v1.0"], "2026-11-24");
    let codes: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(codes, ["TP003", "TP006"], "{found:?}");
    assert!(found[1].2.contains("is on 1.0 LTS"), "{found:?}");

    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("compose.yaml"),
        "services:\n  a:\n    image: kestra/kestra:v1.0\n",
    )
    .unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let (_, _, stderr) = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--fix",
            "--unsafe-fixes",
            "--no-config",
            "--today",
            "2026-11-24",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    assert_eq!(
        fs::read_to_string(work.path().join("compose.yaml")).unwrap(),
        "services:\n  a:\n    image: kestra/kestra:v1.3.30\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("Fixed 1 finding"),
        "one reference, one fix: {stderr}"
    );
}

#[test]
fn a_line_the_registry_does_not_have_is_an_unknown_tag() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let found = verdicts(&registry, &["kestra/kestra:v2.9"], "2026-11-24");
    let codes: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(codes, ["TP003", "TP005"], "the pull would fail: {found:?}");
}

/// `tagpin check --format concise` on a compose file holding `text`, against `registry`, on
/// 2026-11-24: (stdout, stderr).
fn concise(registry: &TestRegistry, text: &str, extra: &[&str]) -> (String, String) {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("compose.yaml"), text).unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let args = [
        &["check", "--format", "concise", "--no-config"][..],
        &["--today", "2026-11-24", "--registry-mirror", &mirror],
        extra,
        &["."],
    ]
    .concat();
    let (_, stdout, stderr) = tagpin(cache.path(), work.path(), &args);
    (stdout, stderr)
}

#[test]
fn a_deselected_rule_leaves_the_next_one_its_say() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let text = "services:\n  a:\n    image: kestra/kestra:v1.0.99\n";
    let (all, _) = concise(&registry, text, &[]);
    assert!(all.contains("TP005"), "{all}");
    let (without, _) = concise(&registry, text, &["--ignore", "TP005"]);
    assert!(
        without.contains("TP006 `kestra/kestra:v1.0.99` is on 1.0 LTS"),
        "as offline: {without}"
    );
}

#[test]
fn a_suppression_of_a_registry_rule_is_unused_until_the_registry_says_otherwise() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let text = "services:\n  a:\n    image: kestra/kestra:v1.3.30 # tagpin: ignore[TP007]\n  b:\n    image: kestra/kestra:v1.3.99 # tagpin: ignore[TP005]\n";
    let (stdout, stderr) = concise(&registry, text, &[]);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(" TP0")).collect();
    assert_eq!(
        lines,
        ["compose.yaml:3:36 TP014 `TP007` in `# tagpin: ignore[TP007]` suppresses nothing here"],
        "v1.3.30 is the newest patch; v1.3.99 does not exist and its TP005 is suppressed: {stderr}"
    );
}
