//! Kestra plugins pinned like images, against a Maven repository served from a folder: what
//! `LATEST` means now, the newest version a Kestra core supports (from the POMs), `check`
//! findings and fixes at every place a plugin version is written, request counts and the cache.

mod support;

use support::cli::{Run, tagpin};
use support::maven::{MavenRepository, Version};
use support::registry::TestRegistry;

/// plugin-aws: 2.0.x needs Kestra 2.0, 1.3.4 is the newest for 1.3; plugin-gcp likewise.
fn seeded() -> MavenRepository {
    let maven = MavenRepository::start(None);
    let versions = [
        Version {
            version: "1.2.0",
            kestra: "1.2.0",
        },
        Version {
            version: "1.3.4",
            kestra: "1.3.13",
        },
        Version {
            version: "2.0.0",
            kestra: "2.0.0",
        },
        Version {
            version: "2.0.1",
            kestra: "2.0.3",
        },
    ];
    maven.publish("io.kestra.plugin", "plugin-aws", &versions);
    maven.publish(
        "io.kestra.plugin",
        "plugin-gcp",
        &[
            Version {
                version: "1.3.2",
                kestra: "1.3.0",
            },
            Version {
                version: "2.1.0",
                kestra: "2.0.0",
            },
        ],
    );
    maven.publish(
        "io.kestra.plugin",
        "plugin-jdbc",
        &[
            Version {
                version: "1.0.3",
                kestra: "1.0.0",
            },
            Version {
                version: "1.9.0",
                kestra: "1.3.0",
            },
            Version {
                version: "2.0.0",
                kestra: "2.0.0",
            },
        ],
    );
    maven
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr))
}

fn maven_requests(run: &Run) -> u64 {
    run.stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("note: ")?
                .strip_suffix(" Maven requests")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no Maven request count in {}", run.stderr))
}

#[test]
fn resolve_pins_latest_to_the_newest_version_the_core_supports() {
    let maven = seeded();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = |extra: &[&str]| {
        let mut args = vec![
            "-v",
            "resolve",
            "io.kestra.plugin:plugin-aws:LATEST",
            "--maven-mirror",
            &maven.url,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let args = args(extra);
        tagpin(
            cache.path(),
            dir.path(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };

    let pinned = run(&["--kestra", "v1.3.30"]);
    assert_eq!(pinned.code, 0, "{}", pinned.stderr);
    let row = &json(&pinned)["plugins"][0];
    assert_eq!(row["recommendation"], "io.kestra.plugin:plugin-aws:1.3.4");
    assert_eq!(row["min_core"], "1.3.13");
    assert_eq!(row["compatibility_checked"], true);
    // The metadata, then POMs newest first until one fits: 2.0.1, 2.0.0, 1.3.4. No JAR.
    assert_eq!(
        maven.requests(),
        [
            "/maven2/io/kestra/plugin/plugin-aws/maven-metadata.xml",
            "/maven2/io/kestra/plugin/plugin-aws/2.0.1/plugin-aws-2.0.1.pom",
            "/maven2/io/kestra/plugin/plugin-aws/2.0.0/plugin-aws-2.0.0.pom",
            "/maven2/io/kestra/plugin/plugin-aws/1.3.4/plugin-aws-1.3.4.pom",
        ]
    );
    assert_eq!(maven_requests(&pinned), 4);

    // A warm cache asks nothing.
    maven.reset();
    let again = run(&["--kestra", "v1.3.30"]);
    assert_eq!(
        json(&again)["plugins"][0]["recommendation"],
        "io.kestra.plugin:plugin-aws:1.3.4"
    );
    assert_eq!(maven_requests(&again), 0);
    assert!(maven.requests().is_empty());

    // Without a core: the newest release, compatibility not checked.
    let newest = run(&[]);
    let row = &json(&newest)["plugins"][0];
    assert_eq!(row["recommendation"], "io.kestra.plugin:plugin-aws:2.0.1");
    assert_eq!(row["compatibility_checked"], false);
    let human = tagpin(
        cache.path(),
        dir.path(),
        &[
            "resolve",
            "io.kestra.plugin:plugin-aws",
            "--maven-mirror",
            &maven.url,
        ],
    );
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human
            .stdout
            .contains("-> io.kestra.plugin:plugin-aws:2.0.1  (compatibility not checked)"),
        "{}",
        human.stdout
    );

    // A range resolves inside it; an unknown plugin is an error naming it.
    let range = tagpin(
        cache.path(),
        dir.path(),
        &[
            "resolve",
            "io.kestra.plugin:plugin-jdbc:[1.0,2.0)",
            "--kestra",
            "v2.0.5",
            "--maven-mirror",
            &maven.url,
        ],
    );
    assert!(
        range
            .stdout
            .contains("-> io.kestra.plugin:plugin-jdbc:1.9.0  (needs Kestra 1.3.0, runs on 2.0.5)"),
        "{}{}",
        range.stdout,
        range.stderr
    );
    let missing = tagpin(
        cache.path(),
        dir.path(),
        &[
            "resolve",
            "io.kestra.plugin:plugin-nope:LATEST",
            "--maven-mirror",
            &maven.url,
        ],
    );
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("plugin io.kestra.plugin:plugin-nope is in no Maven repository asked"),
        "{}",
        missing.stderr
    );

    // A POM that names no Kestra core: the newest release, compatibility not checked.
    maven.publish(
        "io.kestra.plugin",
        "plugin-legacy",
        &[Version {
            version: "0.9.0",
            kestra: "",
        }],
    );
    let legacy = tagpin(
        cache.path(),
        dir.path(),
        &[
            "resolve",
            "io.kestra.plugin:plugin-legacy:LATEST",
            "--kestra",
            "v1.3.30",
            "--maven-mirror",
            &maven.url,
            "--format",
            "json",
        ],
    );
    let row = &json(&legacy)["plugins"][0];
    assert_eq!(
        row["recommendation"],
        "io.kestra.plugin:plugin-legacy:0.9.0"
    );
    assert_eq!(row["compatibility_checked"], false);

    // Offline with an empty cache: a clear error, no request.
    maven.reset();
    let cold = tempfile::tempdir().unwrap();
    let offline = tagpin(
        cold.path(),
        dir.path(),
        &[
            "resolve",
            "io.kestra.plugin:plugin-aws:LATEST",
            "--offline",
            "--maven-mirror",
            &maven.url,
        ],
    );
    assert_eq!(offline.code, 2);
    assert!(
        offline
            .stderr
            .contains("offline: no cached answer for plugin io.kestra.plugin:plugin-aws"),
        "{}",
        offline.stderr
    );
    assert!(maven.requests().is_empty());
}

const DOCKERFILE: &str = "\
FROM kestra/kestra:v1.3.30
RUN /app/kestra plugins install \\
    io.kestra.plugin:plugin-aws:LATEST \\
    io.kestra.plugin:plugin-gcp \\
    io.kestra.plugin:plugin-jdbc:[1.0,2.0) && echo done
";

const DOCKERFILE_V2: &str = "\
FROM kestra/kestra:v2.0.5 AS base
FROM base
RUN [\"/app/kestra\", \"plugins\", \"install\", \"io.kestra.plugin:plugin-aws:RELEASE\"]
";

const COMPOSE: &str = "\
services:
  kestra:
    image: kestra/kestra:v1.3.30
    entrypoint: [\"/bin/sh\", \"-c\", \"/app/kestra plugins install io.kestra.plugin:plugin-gcp:LATEST && exec /app/kestra server standalone\"]
    environment:
      KESTRA_CONFIGURATION: |
        kestra:
          plugins:
            management:
              defaultVersion: LATEST
";

const FLOW: &str = "\
id: upload
namespace: company.team
tasks:
  - id: up
    type: io.kestra.plugin.aws.s3.Upload
    version: LATEST
  - id: old
    type: io.kestra.plugin.gcp.gcs.Upload
    version: OLDEST
";

const VALUES: &str = "\
image:
  repository: kestra/kestra
  tag: v1.3.30
configurations:
  application:
    kestra:
      plugins:
        management:
          defaultVersion: LATEST
";

const APPLICATION: &str = "\
kestra:
  plugins:
    repositories:
      snapshots:
        url: https://central.sonatype.com/repository/maven-snapshots/
";

const SCRIPT: &str =
    "#!/bin/sh\nset -e\nkestra plugins install io.kestra.plugin:plugin-aws:latest\n";

fn stack(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("v2")).unwrap();
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(dir.join("v2/Dockerfile"), DOCKERFILE_V2).unwrap();
    std::fs::write(dir.join("docker-compose.yml"), COMPOSE).unwrap();
    std::fs::write(dir.join("flows/upload.yaml"), FLOW).unwrap();
    std::fs::write(dir.join("install.sh"), SCRIPT).unwrap();
    std::fs::create_dir_all(dir.join("chart")).unwrap();
    std::fs::write(dir.join("chart/values.yaml"), VALUES).unwrap();
    std::fs::write(dir.join("application.yml"), APPLICATION).unwrap();
}

/// (path, line, code, recommendation, fix applicability).
type Row = (String, u64, String, Option<String>, Option<String>);

fn findings(run: &Run) -> Vec<Row> {
    json(run)["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{}{}", run.stdout, run.stderr))
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["code"].as_str().unwrap().to_string(),
                f["recommendation"].as_str().map(str::to_string),
                f["fix"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn row(path: &str, line: u64, code: &str, rec: Option<&str>, fix: Option<&str>) -> Row {
    (
        path.into(),
        line,
        code.into(),
        rec.map(Into::into),
        fix.map(Into::into),
    )
}

#[test]
fn a_kestra_stack_is_found_pinned_and_fixed_at_every_place() {
    let maven = seeded();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    stack(dir.path());
    let check = |extra: &[&str]| {
        let mut args = vec![
            "-v",
            "check",
            ".",
            "--select",
            "TP012,TP015",
            "--maven-mirror",
            &maven.url,
            "--format",
            "json",
            "--fail-on",
            "warning",
        ];
        args.extend_from_slice(extra);
        tagpin(cache.path(), dir.path(), &args)
    };
    let run = check(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        findings(&run),
        [
            row(
                "Dockerfile",
                3,
                "TP012",
                Some("io.kestra.plugin:plugin-aws:1.3.4"),
                Some("unsafe")
            ),
            row(
                "Dockerfile",
                4,
                "TP012",
                Some("io.kestra.plugin:plugin-gcp:1.3.2"),
                Some("unsafe")
            ),
            row(
                "Dockerfile",
                5,
                "TP012",
                Some("io.kestra.plugin:plugin-jdbc:1.9.0"),
                Some("safe")
            ),
            // Kestra's configuration: no single version to pin, no automatic fix.
            row("application.yml", 5, "TP012", None, None),
            row("chart/values.yaml", 9, "TP012", None, None),
            row(
                "docker-compose.yml",
                4,
                "TP012",
                Some("io.kestra.plugin:plugin-gcp:1.3.2"),
                Some("unsafe")
            ),
            row("docker-compose.yml", 10, "TP012", None, None),
            // The flow runs on the repository's Kestra: v1.3.30 and v2.0.5 disagree, so the
            // newest release, unchecked.
            row(
                "flows/upload.yaml",
                6,
                "TP012",
                Some("2.0.1"),
                Some("unsafe")
            ),
            // `OLDEST` is what the instance has installed: no repository knows it.
            row("flows/upload.yaml", 9, "TP012", None, None),
            row(
                "install.sh",
                3,
                "TP012",
                Some("io.kestra.plugin:plugin-aws:2.0.1"),
                Some("unsafe")
            ),
            row(
                "v2/Dockerfile",
                3,
                "TP012",
                Some("io.kestra.plugin:plugin-aws:2.0.1"),
                Some("safe")
            ),
        ]
    );
    let first = maven.requests();
    assert!(first.iter().all(|p| !p.ends_with(".jar")), "{first:?}");
    // Each (plugin, version, core) once: aws for 1.3.30, 2.0.5, none; gcp for 1.3.30; jdbc.
    let metadata = first
        .iter()
        .filter(|p| p.ends_with("maven-metadata.xml"))
        .count();
    assert_eq!(metadata, 3, "{first:?}");
    let help = json(&run)["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(help.contains("plugin-aws:LATEST"), "{help}");

    // Warm cache: the same answers, no request.
    maven.reset();
    let warm = check(&[]);
    assert_eq!(findings(&warm), findings(&run));
    assert!(maven.requests().is_empty(), "{:?}", maven.requests());
    assert_eq!(maven_requests(&warm), 0);

    // Safe fixes only: what LATEST installs now and the core supports.
    let fixed = check(&["--fix"]);
    assert_eq!(fixed.code, 1, "{}", fixed.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("v2/Dockerfile")).unwrap(),
        DOCKERFILE_V2.replace("plugin-aws:RELEASE", "plugin-aws:2.0.1")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        DOCKERFILE.replace("[1.0,2.0)", "1.9.0")
    );
    // Unsafe fixes too: an older version for the older core, a version where none was.
    let all = check(&["--fix", "--unsafe-fixes"]);
    assert_eq!(all.code, 1, "{}", all.stderr);
    // Each plugin version is a fix of its own: two in the Dockerfile.
    assert!(
        all.stderr.contains("Fixed 5 findings in 4 files"),
        "{}",
        all.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        DOCKERFILE
            .replace("[1.0,2.0)", "1.9.0")
            .replace("plugin-aws:LATEST", "plugin-aws:1.3.4")
            .replace("plugin-gcp \\", "plugin-gcp:1.3.2 \\")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap(),
        COMPOSE.replace("plugin-gcp:LATEST", "plugin-gcp:1.3.2")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("flows/upload.yaml")).unwrap(),
        FLOW.replace("version: LATEST", "version: 2.0.1")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("install.sh")).unwrap(),
        SCRIPT.replace("plugin-aws:latest", "plugin-aws:2.0.1")
    );
    // What is left: defaultVersion (no automatic fix).
    let left = findings(&all);
    assert_eq!(
        left,
        [
            row("application.yml", 5, "TP012", None, None),
            row("chart/values.yaml", 9, "TP012", None, None),
            row("docker-compose.yml", 10, "TP012", None, None),
            row("flows/upload.yaml", 9, "TP012", None, None),
        ]
    );
}

#[test]
fn a_pinned_plugin_newer_than_the_core_is_tp015() {
    let maven = seeded();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = "FROM kestra/kestra:v1.3.30\nRUN /app/kestra plugins install io.kestra.plugin:plugin-aws:2.0.1 io.kestra.plugin:plugin-gcp:1.3.2\n";
    std::fs::write(dir.path().join("Dockerfile"), text).unwrap();
    let args = [
        "check",
        ".",
        "--select",
        "TP012,TP015",
        "--maven-mirror",
        &maven.url,
        "--format",
        "json",
    ];
    let run = tagpin(cache.path(), dir.path(), &args);
    assert_eq!(
        findings(&run),
        [row(
            "Dockerfile",
            2,
            "TP015",
            Some("io.kestra.plugin:plugin-aws:1.3.4"),
            Some("unsafe")
        )]
    );
    let message = json(&run)["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        message,
        "plugin `io.kestra.plugin:plugin-aws:2.0.1` needs Kestra 2.0.3 or later; the image runs 1.3.30"
    );
    let fixed = tagpin(
        cache.path(),
        dir.path(),
        &[
            "check",
            ".",
            "--select",
            "TP012,TP015",
            "--maven-mirror",
            &maven.url,
            "--fix",
            "--unsafe-fixes",
        ],
    );
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
        text.replace("plugin-aws:2.0.1", "plugin-aws:1.3.4")
    );
    // Explain documents the rule.
    let explain = tagpin(cache.path(), dir.path(), &["explain", "TP015"]);
    assert!(
        explain.stdout.contains("incompatible-plugin"),
        "{}",
        explain.stdout
    );
}

#[test]
fn credentials_from_the_repository_url_are_used_and_never_printed() {
    let maven = MavenRepository::start(Some(format!(
        "Basic {}",
        base64_encode("license-id:fingerprint-secret")
    )));
    maven.publish(
        "io.kestra.plugin.ee",
        "plugin-ee-vault",
        &[Version {
            version: "1.0.2",
            kestra: "1.0.0",
        }],
    );
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let with = maven
        .url
        .replace("http://", "http://license-id:fingerprint-secret@");
    std::fs::write(
        dir.path().join(".tagpin.yaml"),
        format!("maven:\n  repositories:\n    - {with}\n"),
    )
    .unwrap();
    let run = tagpin(
        cache.path(),
        dir.path(),
        &[
            "-v",
            "resolve",
            "io.kestra.plugin.ee:plugin-ee-vault:LATEST",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("-> io.kestra.plugin.ee:plugin-ee-vault:1.0.2"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("secret") && !run.stderr.contains("secret"));

    // From the environment (Kestra's license id and fingerprint), for a repository without
    // its own.
    std::fs::write(
        dir.path().join(".tagpin.yaml"),
        format!("maven:\n  repositories: [{}]\n", maven.url),
    )
    .unwrap();
    let env_cache = tempfile::tempdir().unwrap();
    let output = support::cli::command(env_cache.path(), dir.path())
        .args(["resolve", "io.kestra.plugin.ee:plugin-ee-vault:LATEST"])
        .env("TAGPIN_MAVEN_USERNAME", "license-id")
        .env("TAGPIN_MAVEN_PASSWORD", "fingerprint-secret")
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{err}");
    assert!(
        out.contains("-> io.kestra.plugin.ee:plugin-ee-vault:1.0.2"),
        "{out}"
    );
    assert!(!out.contains("secret") && !err.contains("secret"));

    // Without them: refused, with what to set.
    std::fs::write(
        dir.path().join(".tagpin.yaml"),
        format!("maven:\n  repositories: [{}]\n", maven.url),
    )
    .unwrap();
    let cold = tempfile::tempdir().unwrap();
    let refused = tagpin(
        cold.path(),
        dir.path(),
        &["resolve", "io.kestra.plugin.ee:plugin-ee-vault:LATEST"],
    );
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("refused access: set TAGPIN_MAVEN_USERNAME and TAGPIN_MAVEN_PASSWORD"),
        "{}",
        refused.stderr
    );

    // A bad entry is a config error pointing at it.
    std::fs::write(
        dir.path().join(".tagpin.yaml"),
        "maven:\n  repositories: [ftp://x]\n  mirrors: y\n",
    )
    .unwrap();
    let bad = tagpin(
        cold.path(),
        dir.path(),
        &["resolve", "io.kestra.plugin:plugin-aws"],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("`maven.repositories` entries must be http:// or https:// URLs"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("unknown key `mirrors` in `maven`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_floating_kestra_image_decides_the_core_through_the_registry() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let maven = seeded();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = "FROM kestra/kestra:latest-lts\nRUN /app/kestra plugins install io.kestra.plugin:plugin-aws:LATEST\n";
    std::fs::write(dir.path().join("Dockerfile"), text).unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let run = tagpin(
        cache.path(),
        dir.path(),
        &[
            "check",
            ".",
            "--select",
            "TP002,TP012",
            "--registry-mirror",
            &mirror,
            "--maven-mirror",
            &maven.url,
            "--format",
            "json",
        ],
    );
    assert_eq!(
        findings(&run),
        [
            row(
                "Dockerfile",
                1,
                "TP002",
                Some("kestra/kestra:v1.3.30"),
                Some("safe")
            ),
            row(
                "Dockerfile",
                2,
                "TP012",
                Some("io.kestra.plugin:plugin-aws:1.3.4"),
                Some("unsafe")
            ),
        ]
    );
}

fn base64_encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
