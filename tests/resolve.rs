//! `tagpin resolve` and `tagpin check` against the real registry (Debian's docker-registry,
//! started by the harness), seeded with Kestra's tag scheme; skopeo cross-checks the digests.

mod support;

use support::cli::{Run, tagpin};
use support::registry::TestRegistry;

fn resolutions(run: &Run) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    json["resolutions"].as_array().unwrap().clone()
}

fn requests(run: &Run) -> u64 {
    run.stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("note: ")?
                .strip_suffix(" registry requests")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no request count in {}", run.stderr))
}

#[test]
fn moving_tags_resolve_to_the_exact_release_through_a_mirror() {
    let registry = TestRegistry::start(None);
    let oss = registry.seed_kestra("kestra/kestra");
    let ee = registry.seed_kestra("docker/kestra-ee");
    let cache = tempfile::tempdir().unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let ee_mirror = format!("registry.kestra.io={}", registry.url);
    let expected = [
        ("kestra/kestra:latest", "kestra/kestra:v2.0.5", "v2.0.5"),
        (
            "kestra/kestra:latest-slim",
            "kestra/kestra:v2.0.5-slim",
            "v2.0.5-slim",
        ),
        (
            "kestra/kestra:latest-lts",
            "kestra/kestra:v1.3.30",
            "v1.3.30",
        ),
        (
            "kestra/kestra:latest-lts-no-plugins",
            "kestra/kestra:v1.3.30-no-plugins",
            "v1.3.30-no-plugins",
        ),
        (
            "docker.io/kestra/kestra:v1.3",
            "docker.io/kestra/kestra:v1.3.30",
            "v1.3.30",
        ),
        (
            "kestra/kestra:v2.0-slim",
            "kestra/kestra:v2.0.5-slim",
            "v2.0.5-slim",
        ),
        (
            "registry.kestra.io/docker/kestra-ee:latest-lts",
            "registry.kestra.io/docker/kestra-ee:v1.3.30",
            "v1.3.30",
        ),
        (
            "registry.kestra.io/docker/kestra-ee:latest",
            "registry.kestra.io/docker/kestra-ee:v2.0.5",
            "v2.0.5",
        ),
    ];
    let mut args = vec![
        "-v",
        "resolve",
        "--format",
        "json",
        "--no-config",
        "--registry-mirror",
        &mirror,
        "--registry-mirror",
        &ee_mirror,
    ];
    args.extend(expected.iter().map(|(image, _, _)| *image));
    args.push("kestra/kestra:develop");
    let run = tagpin(cache.path(), cache.path(), &args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let rows = resolutions(&run);
    for (row, (image, pin, release)) in rows.iter().zip(expected) {
        assert_eq!(row["image"], image);
        assert_eq!(row["recommendation"], pin, "{row}");
        let seeded = if image.contains("kestra-ee") {
            &ee
        } else {
            &oss
        };
        let repository = if image.contains("kestra-ee") {
            "docker/kestra-ee"
        } else {
            "kestra/kestra"
        };
        assert_eq!(row["digest"], seeded[release].as_str(), "{image}");
        assert_eq!(
            row["digest"],
            registry.skopeo_digest(repository, release).as_str(),
            "{image}"
        );
        assert!(
            registry
                .skopeo_tags(repository)
                .iter()
                .any(|t| t == release),
            "{image}: {release} is in the registry's tag list"
        );
    }
    let develop = &rows[expected.len()];
    assert_eq!(develop["release"], serde_json::Value::Null);
    assert_eq!(
        develop["recommendation"],
        format!("kestra/kestra:develop@{}", oss["develop"]).as_str()
    );
    let cold = requests(&run);
    assert!(cold > 0 && cold < 60, "{cold} requests");

    let warm = tagpin(cache.path(), cache.path(), &args);
    assert_eq!(warm.stdout, run.stdout);
    assert_eq!(requests(&warm), 0, "a warm rerun asks nothing");
    let mut offline_args = args.clone();
    offline_args.insert(2, "--offline");
    let offline = tagpin(cache.path(), cache.path(), &offline_args);
    assert_eq!(offline.stdout, run.stdout, "{}", offline.stderr);
}

#[test]
fn one_resolution_costs_a_handful_of_requests() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let image = format!("{}/kestra/kestra:latest", registry.host);
    let run = tagpin(
        cache.path(),
        cache.path(),
        &["-v", "resolve", "--no-config", &image],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains(&format!("-> {}/kestra/kestra:v2.0.5", registry.host)),
        "{}",
        run.stdout
    );
    // HEAD latest, one page of tags, HEAD v2.0.5.
    assert_eq!(requests(&run), 3, "{}", run.stderr);
}

#[test]
fn check_recommends_pins_and_basic_auth_works() {
    let registry = TestRegistry::start(Some(("kestra", "s3cret")));
    let seeded = registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let host = &registry.host;
    std::fs::write(
        work.path().join("compose.yaml"),
        format!("services:\n  kestra:\n    image: {host}/kestra/kestra:latest\n  lts:\n    image: \"{host}/kestra/kestra:${{TAG:-latest-lts}}\"\n"),
    )
    .unwrap();
    let anonymous = tagpin(
        cache.path(),
        work.path(),
        &["check", "--format", "json", "--no-config", "."],
    );
    assert_eq!(anonymous.code, 1);
    assert!(
        anonymous.stderr.contains("refused access"),
        "{}",
        anonymous.stderr
    );
    assert!(
        anonymous
            .stderr
            .contains("2 findings are shown without a pin recommendation"),
        "{}",
        anonymous.stderr
    );

    let config = cache.path().join("no-docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let auth = base64_encode("kestra:s3cret");
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    let run = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--format",
            "json",
            "--no-config",
            "--pin",
            "version+digest",
            ".",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret") && !run.stdout.contains("s3cret"));
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let pins: Vec<&str> = findings
        .iter()
        .map(|f| f["recommendation"].as_str().unwrap())
        .collect();
    assert_eq!(
        pins,
        [
            format!("{host}/kestra/kestra:v2.0.5@{}", seeded["v2.0.5"]),
            format!("{host}/kestra/kestra:v1.3.30@{}", seeded["v1.3.30"]),
        ]
    );
    assert!(findings.iter().all(|f| f["fix"] == "safe"));
}

#[test]
fn an_unreachable_registry_leaves_the_findings_with_a_note() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        work.path().join("compose.yaml"),
        format!("services:\n  a:\n    image: 127.0.0.1:{port}/app:latest\n"),
    )
    .unwrap();
    let run = tagpin(
        cache.path(),
        work.path(),
        &["check", "--format", "concise", "--no-config", "."],
    );
    assert_eq!(run.code, 1, "check still reports: {}", run.stderr);
    assert!(run.stdout.contains("TP002"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains(&format!("registry 127.0.0.1:{port} could not be reached")),
        "{}",
        run.stderr
    );
    let resolve = tagpin(
        cache.path(),
        work.path(),
        &[
            "resolve",
            "--no-config",
            &format!("127.0.0.1:{port}/app:latest"),
        ],
    );
    assert_eq!(
        resolve.code, 2,
        "resolve could not answer: {}",
        resolve.stderr
    );
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn digest_pins_are_checked_against_the_tag() {
    let registry = TestRegistry::start(None);
    let current = registry.push_index("app/multi", "one", &["v1"]);
    let older = registry.push_index("app/multi", "zero", &["v0"]);
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let host = &registry.host;
    let missing = format!("sha256:{}", "0".repeat(64));
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: {host}/app/multi:v1@{}\n    - image: {host}/app/multi:v1@{}\n    - image: {host}/app/multi:v1@{}\n    - image: {host}/app/multi@{missing}\n",
        current.platforms[0], older.index, current.index
    );
    std::fs::write(work.path().join("pod.yaml"), manifest).unwrap();
    let run = tagpin(
        cache.path(),
        work.path(),
        &["check", "--format", "json", "--no-config", "."],
    );
    let json: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    let found: Vec<(u64, &str, &str, &str)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["code"].as_str().unwrap(),
                f["recommendation"].as_str().unwrap_or(""),
                f["fix"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let repin = format!("{host}/app/multi:v1@{}", current.index);
    assert_eq!(
        found,
        [
            (5, "TP009", repin.as_str(), "safe"),
            (6, "TP008", repin.as_str(), "unsafe"),
            (8, "TP008", "", "")
        ],
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 1);
    let column = json["findings"][0]["column"].as_u64().unwrap() as usize;
    let line = format!("    - image: {host}/app/multi:v1@");
    assert_eq!(
        column,
        line.chars().count() + 1,
        "the finding points at the digest"
    );
}

/// A rules file that gives `repositories` of the test registry Kestra's tag scheme and release
/// data (the shipped `rules/kestra.yaml`, its repositories replaced).
fn kestra_rules(dir: &std::path::Path, registry: &TestRegistry, repositories: &[&str]) -> String {
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/kestra.yaml")).unwrap();
    let listed: String = repositories
        .iter()
        .map(|r| format!("      - {}/{r}\n", registry.host))
        .collect();
    let start = shipped.find("    repositories:\n").unwrap() + "    repositories:\n".len();
    let end = start + shipped[start..].find("    version-prefix").unwrap();
    let text = format!("{}{listed}{}", &shipped[..start], &shipped[end..]);
    let path = dir.join("kestra-test.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Every tag in `pin` (`host/repo:tag[@digest]`) exists in the registry's own tag list, as
/// skopeo reads it, and has the digest the resolution claims.
fn assert_exists(registry: &TestRegistry, pin: &str, digest: Option<&str>) {
    let rest = pin.strip_prefix(&format!("{}/", registry.host)).unwrap();
    let rest = rest.split('@').next().unwrap();
    let (repository, tag) = rest.rsplit_once(':').unwrap();
    let tags = registry.skopeo_tags(repository);
    assert!(
        tags.iter().any(|t| t == tag),
        "{pin}: `{tag}` is not in {tags:?}"
    );
    if let Some(digest) = digest {
        assert_eq!(registry.skopeo_digest(repository, tag), digest, "{pin}");
    }
}

#[test]
fn the_release_with_the_digest_is_found_wherever_it_is() {
    let registry = TestRegistry::start(None);
    let host = registry.host.clone();
    // `latest-lts` on a line newer than the data's LTS lines.
    registry.push_index("lts/kestra", "1.3.30", &["v1.3.30"]);
    registry.push_index("lts/kestra", "2.0.4", &["v2.0.4"]);
    let lts = registry.push_index("lts/kestra", "2.0.5", &["v2.0.5", "latest", "latest-lts"]);
    // A stale `latest-full` equal to a release of another variant (the plain image).
    registry.push_index("stale/kestra", "0.17.0-full", &["v0.17.0-full"]);
    registry.push_index("stale/kestra", "0.18.5", &["v0.18.5"]);
    registry.push_index("stale/kestra", "0.19.11", &["v0.19.11"]);
    let stale = registry.push_index("stale/kestra", "0.19.12", &["v0.19.12", "latest-full"]);
    // Only a moving alias shares the digest.
    registry.push_index("alias/kestra", "2.0.4", &["v2.0.4"]);
    let alias = registry.push_index("alias/kestra", "2.0-next", &["v2.0", "latest"]);
    // Build numbers and a date beside a release (no rule data).
    registry.push_index("builds/app", "3.1.3", &["v3.1.3", "1233"]);
    let build = registry.push_index(
        "builds/app",
        "3.1.4",
        &["1234", "20240606", "v3.1.4", "latest"],
    );
    // A digest reference.
    let pg17 = registry.push_index("library/pg", "17.2", &["17.2", "17", "latest"]);
    let pg16 = registry.push_index("library/pg", "16.6", &["16.6", "16"]);

    let cache = tempfile::tempdir().unwrap();
    let rules = kestra_rules(
        cache.path(),
        &registry,
        &["lts/kestra", "stale/kestra", "alias/kestra"],
    );
    let cases = [
        (
            format!("{host}/lts/kestra:latest-lts"),
            Some("v2.0.5"),
            &lts.index,
        ),
        (
            format!("{host}/stale/kestra:latest-full"),
            Some("v0.19.12"),
            &stale.index,
        ),
        (format!("{host}/alias/kestra:latest"), None, &alias.index),
        (
            format!("{host}/builds/app:latest"),
            Some("v3.1.4"),
            &build.index,
        ),
        (
            format!("{host}/library/pg@{}", pg16.index),
            Some("16.6"),
            &pg16.index,
        ),
        (
            format!("{host}/library/pg:latest"),
            Some("17.2"),
            &pg17.index,
        ),
    ];
    let mut args = vec![
        "-v",
        "resolve",
        "--format",
        "json",
        "--no-config",
        "--rules",
        &rules,
    ];
    args.extend(cases.iter().map(|(image, _, _)| image.as_str()));
    let run = tagpin(cache.path(), cache.path(), &args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let rows = resolutions(&run);
    for (row, (image, release, digest)) in rows.iter().zip(&cases) {
        assert_eq!(row["image"], image.as_str());
        assert_eq!(row["digest"], digest.as_str(), "{row}");
        assert_eq!(row["release"].as_str(), *release, "{row}");
        let pin = row["recommendation"].as_str().unwrap();
        match release {
            Some(release) => {
                let name = match image.split_once('@') {
                    Some((name, _)) => name,
                    None => image.rsplit_once(':').unwrap().0,
                };
                assert_eq!(pin, format!("{name}:{release}"), "{row}");
                assert_exists(&registry, pin, Some(digest));
            }
            // No release shares the digest: the digest pin, never the alias.
            None => assert_eq!(pin, format!("{image}@{digest}"), "{row}"),
        }
    }
    // The newest patches are asked first: a moving tag costs one HEAD when it points at one.
    let cold = requests(&run);
    assert!(cold < 60, "{cold} requests");

    // `releases` shows what the registry shows: the line `latest-lts` points to is LTS.
    let run = tagpin(
        cache.path(),
        cache.path(),
        &[
            "releases",
            "--format",
            "json",
            "--no-config",
            "--rules",
            &rules,
            "--today",
            "2026-11-24",
            &format!("{host}/lts/kestra"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let line = json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["line"] == "2.0")
        .unwrap()
        .clone();
    assert_eq!(line["kind"], "lts", "{line}");
    assert_eq!(line["newest"], "v2.0.5", "{line}");
    assert_eq!(line["status"], "supported", "{line}");
}

#[test]
fn unsafe_fixes_write_only_tags_the_registry_has() {
    let registry = TestRegistry::start(None);
    let host = registry.host.clone();
    for (seed, tags) in [
        ("0.17.0-full", &["v0.17.0-full"][..]),
        ("1.0.2", &["v1.0.2"]),
        ("1.0.2-np", &["v1.0.2-no-plugins", "v1.0-no-plugins"]),
        ("1.0.3", &["v1.0.3"]),
        ("1.3.29-np", &["v1.3.29-no-plugins"]),
        ("1.3.30", &["v1.3.30"]),
        ("2.0.5", &["v2.0.5"]),
        ("2.0.5-slim", &["v2.0.5-slim"]),
    ] {
        registry.push_index("fix/kestra", seed, tags);
    }
    let cache = tempfile::tempdir().unwrap();
    let rules = kestra_rules(cache.path(), &registry, &["fix/kestra"]);
    let cases = [
        // `-full` ended at 0.17: the plain image of the upgrade line (the data says v1.3.30-full).
        ("2026-11-24", "v0.17.0-full", "v1.3.30"),
        // The data says v1.3.30-no-plugins; the registry's newest in the variant is v1.3.29.
        ("2026-11-24", "v1.0.2-no-plugins", "v1.3.29-no-plugins"),
        // A newer patch: the registry's v1.0.3, not the data's v1.0.60.
        ("2026-06-01", "v1.0.2", "v1.0.3"),
        // A line: pinned to its release (TP003), which the second pass upgrades (TP006) to
        // what the registry lists, as for a release written in the file.
        ("2026-11-24", "v1.0-no-plugins", "v1.3.29-no-plugins"),
    ];
    for (today, tag, written) in cases {
        let work = tempfile::tempdir().unwrap();
        let file = work.path().join("compose.yaml");
        std::fs::write(
            &file,
            format!("services:\n  a:\n    image: {host}/fix/kestra:{tag}\n"),
        )
        .unwrap();
        let run = tagpin(
            cache.path(),
            work.path(),
            &[
                "check",
                "--fix",
                "--unsafe-fixes",
                "--no-config",
                "--rules",
                &rules,
                "--today",
                today,
                ".",
            ],
        );
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            text,
            format!("services:\n  a:\n    image: {host}/fix/kestra:{written}\n"),
            "{tag} on {today}: {}{}",
            run.stdout,
            run.stderr
        );
        assert_exists(&registry, &format!("{host}/fix/kestra:{written}"), None);
    }
    // Every tag a message names exists too.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("compose.yaml"),
        format!("services:\n  a:\n    image: {host}/fix/kestra:v0.17.0-full\n"),
    )
    .unwrap();
    let run = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--format",
            "json",
            "--no-config",
            "--rules",
            &rules,
            "--today",
            "2026-11-24",
            ".",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let finding = &json["findings"][0];
    assert_eq!(finding["code"], "TP006", "{finding}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.ends_with("move to v1.3.30 (LTS until 2027-03-03) or v2.0.5"),
        "{message}"
    );
    assert_exists(&registry, finding["recommendation"].as_str().unwrap(), None);
}

#[test]
fn a_broken_docker_config_is_a_note() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let cache = tempfile::tempdir().unwrap();
    let config = cache.path().join("no-docker-config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.json"), "{\"auths\": {\"x\": ").unwrap();
    let image = format!("{}/kestra/kestra:latest", registry.host);
    let run = tagpin(
        cache.path(),
        cache.path(),
        &["resolve", "--no-config", &image],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("config.json is not a valid auth file"),
        "{}",
        run.stderr
    );
    let verbose = tagpin(
        cache.path(),
        cache.path(),
        &["-v", "resolve", "--no-config", &image],
    );
    assert!(
        verbose.stderr.contains("EOF while parsing"),
        "-v says why: {}",
        verbose.stderr
    );
}
