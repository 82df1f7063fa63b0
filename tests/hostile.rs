//! Hostile trees built at test time: every bad file ends in a clear error naming it, the run
//! exits 2, and the good files beside them are still checked. A run that does not end within a
//! generous bound is a hang, and fails.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tagpin(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tagpin"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read while it runs: a report larger than the pipe would otherwise block it.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).map(|_| bytes)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("tagpin hung on {}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader.join().unwrap().unwrap();
    let json = serde_json::from_slice(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&stdout)));
    (status.code().unwrap(), json)
}

fn as_nobody(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    // A copy nobody can reach, whatever the folders above the build are.
    let binary = tempfile::Builder::new()
        .prefix("tagpin-nobody")
        .tempdir()
        .unwrap();
    fs::set_permissions(binary.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let copy = binary.path().join("tagpin");
    fs::copy(env!("CARGO_BIN_EXE_tagpin"), &copy).unwrap();
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&copy)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("setpriv (util-linux) runs tagpin as nobody");
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap(), json)
}

/// One field of each finding.
fn findings<'a>(json: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[field].as_str().unwrap())
        .collect()
}

fn errors(json: &serde_json::Value) -> Vec<(String, String)> {
    json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn hostile_files_are_errors_and_the_rest_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |name: &str, bytes: &[u8]| fs::write(root.join(name), bytes).unwrap();
    write(
        "good.compose.yaml",
        b"services:\n  app:\n    image: nginx:latest\n",
    );
    // Hostile files hold `image`: a file without any word a scanner looks for is not parsed.
    write(
        "deep-flow.yaml",
        format!("image: {}", "[".repeat(100_000)).as_bytes(),
    );
    let block: String = (0..1_000)
        .map(|depth| format!("{}image:\n", " ".repeat(depth)))
        .collect();
    write("deep-block.yaml", block.as_bytes());
    let mut bomb = String::from("x-a0: &a0 {image: nginx:latest}\n");
    for i in 1..40 {
        bomb.push_str(&format!(
            "x-a{i}: &a{i} [*a{}, *a{}, *a{}, *a{}]\n",
            i - 1,
            i - 1,
            i - 1,
            i - 1
        ));
    }
    bomb.push_str("services:\n  app:\n    <<: *a0\n  other:\n    extends: *a39\n");
    write("compose.yaml", bomb.as_bytes());
    write("values.yaml", b"image: caf\xe9:latest\n");
    write("Dockerfile", b"FROM alpine\0\n");
    let mut huge = b"services:\n  a:\n    image: ".to_vec();
    huge.resize(50 * 1024 * 1024, b'a');
    write("docker-compose.yml", &huge);
    std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
    // A file that disappears between the walk and the read looks like a dangling link.
    std::os::unix::fs::symlink("gone.yaml", root.join("values-gone.yaml")).unwrap();
    let status = Command::new("mkfifo")
        .arg(root.join("compose.fifo.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    write(".gitignore", b"ignored.yaml\n");
    write("ignored.yaml", b"services: {a: {image: ignored:latest}}\n");

    let (code, json) = tagpin(root, &["check", "--format", "json", "--no-config", "."]);
    assert_eq!(code, 2, "{json:#}");
    let errors = errors(&json);
    let expect = [
        ("deep-flow.yaml", "invalid YAML"),
        ("deep-block.yaml", "nesting deeper than"),
        ("values.yaml", "not valid UTF-8"),
        ("Dockerfile", "NUL byte"),
        ("docker-compose.yml", "larger than"),
        ("loop", "symlink loop"),
        ("compose.fifo.yaml", "not a regular file"),
        ("values-gone.yaml", "No such file"),
    ];
    for (path, message) in expect {
        assert!(
            errors.iter().any(|(p, m)| p == path && m.contains(message)),
            "no `{message}` error for {path}: {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    let images = findings(&json, "image");
    assert_eq!(images, ["nginx:latest", "nginx:latest"], "{json:#}");
    let paths = findings(&json, "path");
    assert_eq!(paths, ["compose.yaml", "good.compose.yaml"]);
    assert_eq!(
        json["findings"][0]["line"], 1,
        "the anchored value is where the alias points"
    );
}

#[test]
fn a_named_file_is_checked_even_when_excluded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("vendor")).unwrap();
    fs::write(
        root.join("vendor/compose.yaml"),
        "services: {a: {image: x:latest}}\n",
    )
    .unwrap();
    let (code, json) = tagpin(
        root,
        &["check", "--format", "json", "--exclude", "vendor/", "."],
    );
    assert_eq!((code, json["summary"]["files"].as_u64()), (0, Some(0)));
    let (code, json) = tagpin(
        root,
        &[
            "check",
            "--format",
            "json",
            "--exclude",
            "vendor/",
            "vendor/compose.yaml",
        ],
    );
    assert_eq!((code, json["summary"]["findings"].as_u64()), (1, Some(1)));
}

#[test]
fn a_symlink_and_its_target_are_checked_and_fixed_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("real")).unwrap();
    // Line 1.0 ended before the fixed day: TP006, with an unsafe fix known offline.
    let before = "services:\n  a:\n    image: kestra/kestra:v1.0.40\n";
    fs::write(root.join("real/compose.yaml"), before).unwrap();
    std::os::unix::fs::symlink("real/compose.yaml", root.join("linked.compose.yaml")).unwrap();
    let check = ["check", "--format", "json", "--no-config", "--offline"];
    let day = ["--today", "2026-11-24"];
    for paths in [
        &["."][..],
        &["linked.compose.yaml", "real/compose.yaml"],
        &["real/compose.yaml", "./real/compose.yaml"],
    ] {
        let args: Vec<&str> = check.iter().chain(&day).chain(paths).copied().collect();
        let (_, json) = tagpin(root, &args);
        assert_eq!(json["summary"]["files"], 1, "{paths:?}: {json:#}");
        let codes = findings(&json, "code");
        assert_eq!(codes, ["TP006"], "{paths:?}: {json:#}");
    }
    let fix: Vec<&str> = check
        .iter()
        .chain(&day)
        .chain(&["--fix", "--unsafe-fixes", "linked.compose.yaml", "."])
        .copied()
        .collect();
    let (code, json) = tagpin(root, &fix);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["errors"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["fixes"].as_array().unwrap().len(), 1, "{json:#}");
    assert_eq!(
        fs::read_to_string(root.join("real/compose.yaml")).unwrap(),
        before.replace("v1.0.40", "v1.3.30")
    );
    assert!(
        fs::symlink_metadata(root.join("linked.compose.yaml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A walk meets a file before a symlink to it or after it; either way the file is checked once.
#[test]
fn a_file_met_before_its_symlink_is_checked_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for folder in ["a", "b"] {
        fs::create_dir(root.join(folder)).unwrap();
    }
    fs::write(
        root.join("a/compose.yaml"),
        "services: {a: {image: x:latest}}
",
    )
    .unwrap();
    fs::write(
        root.join("b/first.yaml"),
        "services: {b: {image: y:latest}}
",
    )
    .unwrap();
    std::os::unix::fs::symlink("../a/compose.yaml", root.join("b/compose.yaml")).unwrap();
    std::os::unix::fs::symlink("b", root.join("c")).unwrap();
    let (_, json) = tagpin(
        root,
        &["check", "--format", "json", "--no-config", "--offline", "."],
    );
    let paths = findings(&json, "path");
    assert_eq!(paths, ["a/compose.yaml", "b/first.yaml"], "{json:#}");
    assert_eq!(json["summary"]["files"], 2, "{json:#}");
}

#[test]
fn an_unreadable_file_is_an_error_and_the_rest_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("good.compose.yaml"),
        b"services:\n  app:\n    image: nginx:latest\n",
    )
    .unwrap();
    fs::write(root.join("values.yaml"), b"image: nginx:latest\n").unwrap();
    fs::set_permissions(root.join("values.yaml"), fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any file: then tagpin runs as `nobody` (setpriv, util-linux) to see the error.
    let privileged = fs::File::open(root.join("values.yaml")).is_ok();
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    let args = ["check", "--format", "json", "--no-config", "--offline", "."];
    let (code, json) = if privileged {
        as_nobody(root, &args)
    } else {
        tagpin(root, &args)
    };
    assert_eq!(code, 2);
    let errors = errors(&json);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].1.contains("Permission denied"), "{errors:?}");
    assert_eq!(json["summary"]["findings"], 1);
}

/// The file kinds beyond compose and Helm get the same bounds: size, depth, aliases, long
/// lines. Each hostile file ends in an error naming it, or is read in bounded time with short
/// messages; the good file beside them is still checked.
#[test]
fn hostile_files_of_every_kind_are_bounded() {
    // Each file holds a word its scanners look for (here in a comment), so that the pre-filter
    // lets it through to the parser, as an attacker's file would.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |name: &str, bytes: &[u8]| {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    };
    let big = 50 * 1024 * 1024;
    let long = "a".repeat(5 * 1024 * 1024);
    let block: String = (0..1_000)
        .map(|depth| format!("{}a:\n", " ".repeat(depth)))
        .collect();
    let mut bomb = String::from("x-a0: &a0 {image: nginx:latest}\n");
    for i in 1..40 {
        let a = format!("*a{}", i - 1);
        bomb.push_str(&format!("x-a{i}: &a{i} [{a}, {a}, {a}, {a}]\n"));
    }
    write(
        "good.compose.yaml",
        b"services:\n  app:\n    image: nginx:latest\n",
    );
    write(
        ".github/workflows/deep.yml",
        format!("# image\non: push\njobs:\n{block}").as_bytes(),
    );
    write(
        ".github/workflows/bomb.yml",
        format!("{bomb}jobs:\n  a:\n    container: *a39\n    runs-on: x\n").as_bytes(),
    );
    write(
        ".gitlab-ci.yml",
        format!("{bomb}job:\n  image: *a39\n").as_bytes(),
    );
    write(
        "bitbucket-pipelines.yml",
        format!("# image\n{}", "[".repeat(100_000)).as_bytes(),
    );
    write(
        "argo.yaml",
        format!(
            "# image\napiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {}",
            "{a: ".repeat(20_000)
        )
        .as_bytes(),
    );
    write(
        "tekton.yaml",
        format!(
            "apiVersion: tekton.dev/v1\nkind: Task\nspec:\n  steps:\n    - name: a\n      image: busybox:{long}\n"
        )
        .as_bytes(),
    );
    write(
        "flows/bomb.yaml",
        format!("{bomb}id: a\nnamespace: b\ntasks:\n  - id: c\n    type: io.kestra.plugin.scripts.shell.Commands\n    containerImage: *a39\n").as_bytes(),
    );
    let mut config = b"kestra:\n  plugins:\n    repositories: ".to_vec();
    config.resize(big, b'a');
    write("application.yaml", &config);
    let mut env = b"KESTRA_IMAGE=kestra/kestra:".to_vec();
    env.resize(big, b'a');
    write("huge/.env", &env);
    write(
        "long/.env",
        format!("KESTRA_IMAGE=kestra/kestra:{long}\n").as_bytes(),
    );
    let many: String = (0..200_000).map(|i| format!("K{i}=v{i}\n")).collect();
    write("many/.env", many.as_bytes());
    let mut script = b"kestra plugins install io.kestra.plugin:plugin-aws:".to_vec();
    script.resize(big, b'a');
    write("huge.sh", &script);
    write(
        "long.sh",
        format!("#!/bin/sh\nkestra plugins install io.kestra.plugin:plugin-aws:{long}\n")
            .as_bytes(),
    );
    write("deep.json", "[".repeat(100_000).as_bytes());

    let (code, json) = tagpin(
        root,
        &["check", "--format", "json", "--no-config", "--offline", "."],
    );
    assert_eq!(code, 2, "{:#}", json["errors"]);
    let errors = errors(&json);
    let expect = [
        (".github/workflows/deep.yml", "nesting deeper than"),
        ("application.yaml", "larger than"),
        ("argo.yaml", "invalid YAML"),
        ("bitbucket-pipelines.yml", "invalid YAML"),
        ("huge.sh", "larger than"),
        ("huge/.env", "larger than"),
    ];
    for (path, message) in expect {
        assert!(
            errors.iter().any(|(p, m)| p == path && m.contains(message)),
            "no `{message}` error for {path}: {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    let findings: Vec<(&str, &str, usize)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let message = f["message"].as_str().unwrap();
            (
                f["path"].as_str().unwrap(),
                f["code"].as_str().unwrap(),
                message.len(),
            )
        })
        .collect();
    let found: Vec<(&str, &str)> = findings.iter().map(|&(p, c, _)| (p, c)).collect();
    assert_eq!(
        found,
        [
            (".gitlab-ci.yml", "TP002"),
            ("good.compose.yaml", "TP002"),
            ("tekton.yaml", "TP010"),
        ],
        "the alias bomb is one reference; the 5 MB tag one finding"
    );
    assert!(
        findings.iter().all(|&(_, _, length)| length < 400),
        "messages quote a long reference shortened: {findings:?}"
    );
}
