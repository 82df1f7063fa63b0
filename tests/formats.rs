//! The machine formats CI consumes: SARIF 2.1.0 validated against the official schema (with
//! rule metadata and fixes), GitHub workflow annotations that parse, GitLab Code Quality.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::registry::TestRegistry;

fn tagpin(dir: &Path, args: &[&str]) -> String {
    let cache = tempfile::tempdir().unwrap();
    let output = support::cli::command(cache.path(), dir)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn validate_sarif(text: &str) -> serde_json::Value {
    let schema_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let document: serde_json::Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at instance_path {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    document
}

#[test]
#[should_panic(expected = "instance_path")]
fn the_schema_check_can_fail() {
    validate_sarif(r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": 5}]}"#);
}

#[test]
fn sarif_is_valid_with_rules_help_and_fixes() {
    let offline = tagpin(
        &demo(),
        &[
            "check",
            "--offline",
            "--today",
            "2026-11-24",
            "--no-config",
            "--format",
            "sarif",
            "demo",
        ],
    );
    let document = validate_sarif(&offline);
    let run = &document["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), tagpin::rules::Rule::ALL.len());
    assert!(rules.iter().all(|r| {
        let rule = tagpin::rules::find(r["id"].as_str().unwrap()).unwrap();
        let uri = r["helpUri"].as_str().unwrap();
        uri.ends_with(rule.doc_path()) && std::path::Path::new(rule.doc_path()).is_file()
    }));
    assert!(run["results"].as_array().unwrap().len() > 10);
    for result in run["results"].as_array().unwrap() {
        let location = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(location["uriBaseId"], "%SRCROOT%", "{result}");
        assert!(location["uri"].as_str().unwrap().starts_with("demo/"));
    }

    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("compose.yaml"),
        "services:\n  a:\n    image: kestra/kestra:latest\n",
    )
    .unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let online = tagpin(
        work.path(),
        &[
            "check",
            "--no-config",
            "--format",
            "sarif",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    let document = validate_sarif(&online);
    let fix = &document["runs"][0]["results"][0]["fixes"][0];
    assert_eq!(fix["description"]["text"], "Pin to `kestra/kestra:v2.0.5`");
    let replacement = &fix["artifactChanges"][0]["replacements"][0];
    assert_eq!(replacement["insertedContent"]["text"], "v2.0.5");
    assert_eq!(replacement["deletedRegion"]["startColumn"], 26);
    assert_eq!(replacement["deletedRegion"]["endColumn"], 32);
}

#[test]
fn github_annotations_parse() {
    let output = tagpin(
        &demo(),
        &[
            "check",
            "--offline",
            "--today",
            "2026-11-24",
            "--no-config",
            "--format",
            "github",
            "demo",
        ],
    );
    let lines: Vec<&str> = output.lines().collect();
    assert!(lines.len() > 10);
    for line in lines {
        let rest = line.strip_prefix("::").unwrap_or_else(|| panic!("{line}"));
        let (command, message) = rest.split_once("::").unwrap_or_else(|| panic!("{line}"));
        let (level, properties) = command.split_once(' ').unwrap();
        assert!(["error", "warning", "notice"].contains(&level), "{line}");
        let keys: Vec<&str> = properties
            .split(',')
            .map(|p| p.split_once('=').unwrap().0)
            .collect();
        assert_eq!(
            keys,
            ["file", "line", "col", "endLine", "endColumn", "title"],
            "{line}"
        );
        assert!(!message.is_empty() && !message.contains('\n'));
    }
}

#[test]
fn gitlab_code_quality() {
    let output = tagpin(
        &demo(),
        &[
            "check",
            "--offline",
            "--today",
            "2026-11-24",
            "--no-config",
            "--format",
            "gitlab",
            "demo",
        ],
    );
    let issues: Vec<serde_json::Value> = serde_json::from_str(&output).unwrap();
    assert!(issues.len() > 10);
    for issue in &issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].is_string(), "{key}: {issue}");
        }
        assert!(issue["location"]["lines"]["begin"].is_u64());
    }
    let fingerprints: std::collections::HashSet<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), issues.len());
}

#[test]
fn gitlab_tells_the_same_reference_twice_in_a_file_apart() {
    let work = tempfile::tempdir().unwrap();
    let text = "services:\n  a:\n    image: nginx:latest\n  b:\n    image: nginx:latest\n";
    std::fs::write(work.path().join("compose.yaml"), text).unwrap();
    let args = [
        "check",
        "--offline",
        "--no-config",
        "--format",
        "gitlab",
        ".",
    ];
    let output = tagpin(work.path(), &args);
    let issues: Vec<serde_json::Value> = serde_json::from_str(&output).unwrap();
    let fingerprints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), 2, "{output}");
    assert_ne!(fingerprints[0], fingerprints[1], "two issues, not one");
    assert_eq!(output, tagpin(work.path(), &args), "stable across runs");
}

/// A CI job that exits 2 says why: in its log (stderr) and in the report it uploads.
#[test]
fn every_format_carries_file_errors_and_stderr_names_them() {
    let cache = tempfile::tempdir().unwrap();
    let run = |format: &str| {
        let output = support::cli::command(cache.path(), &demo())
            .args(["check", "--offline", "--today", "2026-11-24", "--no-config"])
            .args(["--format", format, "cases/broken"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{format}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        for name in [
            "compose.yaml:5: invalid YAML",
            "docker-compose.yml:3: not valid UTF-8",
        ] {
            assert!(stderr.contains(name), "{format}: {stderr}");
        }
        String::from_utf8(output.stdout).unwrap()
    };
    let broken = "cases/broken/docker-compose.yml";
    for format in ["human", "concise"] {
        run(format);
    }
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["errors"][1]["path"], broken);
    let sarif = validate_sarif(&run("sarif"));
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notification = &invocation["toolExecutionNotifications"][1];
    assert_eq!(
        notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        broken
    );
    let gitlab: Vec<serde_json::Value> = serde_json::from_str(&run("gitlab")).unwrap();
    let issue = gitlab
        .iter()
        .find(|i| i["location"]["path"] == broken)
        .expect("the unreadable file is an issue");
    assert_eq!(issue["location"]["lines"]["begin"], 3);
    assert!(
        issue["description"]
            .as_str()
            .unwrap()
            .contains("not valid UTF-8")
    );
    let github = run("github");
    assert!(
        github.contains(&format!("::error file={broken},line=3,title=tagpin::")),
        "{github}"
    );
}

/// Help and messages wrap at spaces only: a quoted reference is never cut at a `/` or `-`.
#[test]
fn human_output_never_wraps_inside_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    // No tag (TP001): the message quotes the whole reference, at lengths that put the wrap
    // point everywhere along it.
    let services: String = (0..26)
        .map(|i| {
            let pad = "ab-".repeat(i);
            format!("  s{i}:\n    image: ghcr.io/acme-corp/{pad}service-with-a-long-name\n")
        })
        .collect();
    fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n{services}"),
    )
    .unwrap();
    let args = |format: &'static str| {
        [
            "check",
            "--offline",
            "--today",
            "2026-11-24",
            "--no-config",
            "--color",
            "never",
            "--format",
            format,
            ".",
        ]
    };
    let human = tagpin(dir.path(), &args("human"));
    let json: serde_json::Value = serde_json::from_str(&tagpin(dir.path(), &args("json"))).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 26);
    for finding in findings {
        let message = finding["message"].as_str().unwrap();
        for quoted in message.split('`').skip(1).step_by(2) {
            // With its backticks: the source line shows the reference too.
            let quoted = format!("`{quoted}`");
            assert!(human.contains(&quoted), "{quoted} is cut:\n{human}");
        }
    }
}

/// A newline inside a quoted scalar stays an escape: one finding, one line.
#[test]
fn line_formats_keep_one_line_per_finding() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("compose.yaml"),
        "\u{feff}services:\n  a:\n    image: \"kestra/kestra:\\nlatest\"\n  b:\n    image: \"bad\\r\\nimage:latest\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--offline", "--no-config", "--today", "2026-11-24", "."]);
        tagpin(dir.path(), &all)
    };
    let concise = run(&["check", "--format", "concise", "-q"]);
    let lines: Vec<&str> = concise.lines().collect();
    assert_eq!(lines.len(), 2, "{concise}");
    assert!(
        lines[0].starts_with("compose.yaml:3:12 TP010 `kestra/kestra:\\nlatest`"),
        "{concise}"
    );
    let github = run(&["check", "--format", "github"]);
    assert_eq!(github.lines().count(), 2, "{github}");
    let images = tagpin(dir.path(), &["images", "--no-config", "."]);
    assert_eq!(images.lines().count(), 3, "{images}");
    assert!(images.contains("kestra/kestra:\\nlatest"), "{images}");
}

/// Every format says the same line and column: characters, counted after a BOM.
#[test]
fn the_human_header_counts_columns_as_every_other_format() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Dockerfile"), "\u{feff}FROM nginx:latest\n").unwrap();
    fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  b: {x: \"éé\", image: nginx:latest}\n",
    )
    .unwrap();
    let run = |format: &str| {
        let args = ["check", "--offline", "--no-config", "--color", "never"];
        tagpin(
            dir.path(),
            &[&args[..], &["--format", format, "."]].concat(),
        )
    };
    let concise = run("concise");
    let human = run("human");
    for location in ["Dockerfile:1:12", "compose.yaml:2:29"] {
        assert!(concise.contains(location), "{concise}");
        assert!(human.contains(&format!("[{location}]")), "{human}");
    }
}

/// TP014 is reported in a file with no reference too, under the file's own kind.
#[test]
fn an_unused_suppression_in_a_file_without_references_is_reported_under_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  app: # tagpin: ignore\n    build: .\n",
    )
    .unwrap();
    let args = ["check", "--offline", "--no-config", "--format", "json", "."];
    let json: serde_json::Value = serde_json::from_str(&tagpin(dir.path(), &args)).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json}");
    assert_eq!(findings[0]["code"], "TP014");
    assert_eq!(findings[0]["kind"], "compose");
}
