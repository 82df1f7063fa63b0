//! A repository from a stranger, built at test time: escape sequences in references, keys,
//! comments and file names; symlinks to a file and a folder outside it; a config that names
//! `/etc/passwd` and points a registry at a plain-HTTP mirror. Every output format is checked
//! byte by byte: no control character reaches the terminal, nothing outside the root is read
//! unless asked, no credential goes where the repository's config points.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/fake.rs"]
mod fake;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use fake::{Behaviour, FakeRegistry};

/// Text from outside the repository: it must never be shown.
const OUTSIDE: &str = "outside-secret";

/// `top/repo` (the repository) beside `top/outside` (the rest of the machine).
fn hostile_tree(top: &Path) -> std::path::PathBuf {
    let outside = top.join("outside");
    fs::create_dir_all(outside.join("folder")).unwrap();
    let stranger = format!("services:\n  a:\n    image: postgres:{OUTSIDE}\n");
    fs::write(outside.join("docker-compose.yml"), &stranger).unwrap();
    fs::write(outside.join("folder/docker-compose.yml"), &stranger).unwrap();

    let repo = top.join("repo");
    fs::create_dir_all(&repo).unwrap();
    symlink(
        "../outside/docker-compose.yml",
        repo.join("docker-compose.yml"),
    )
    .unwrap();
    symlink("../outside/folder", repo.join("linked")).unwrap();
    // A reference, a key and comments holding escape sequences, C1 and a bidi override; the
    // key and the comments are on the lines a snippet shows around the reference.
    let compose = "services:\n  web:\n    # \x1b[2J\x1b[1;1H all clear \u{9b}31m\u{202e}\n    image: \"kestra/kestra:\\e]0;pwned\\a\\e[2Jlatest\" # \x1b]0;title\x07\x7f\n    \x1b[8m\x08: hidden\n  db:\n    image: postgres:latest\n";
    for folder in ["\x1b]0;pwned\x07", "a::error::x", "\u{9b}2J,title=x"] {
        fs::create_dir_all(repo.join(folder)).unwrap();
        fs::write(repo.join(folder).join("docker-compose.yml"), compose).unwrap();
    }
    fs::write(repo.join("compose\x1b[2J\r.yaml"), compose).unwrap();
    fs::write(
        repo.join("Dockerfile"),
        "FROM kestra/kestra:latest # \x1b[31m\x07\nRUN echo \x1b[2J\n",
    )
    .unwrap();
    // A file that does not parse, with control characters in what the parser quotes (and a
    // word the pre-filter lets through to the parser).
    fs::create_dir_all(repo.join("bad\x1b[31m")).unwrap();
    fs::write(
        repo.join("bad\x1b[31m/docker-compose.yml"),
        "services:\n  a: [\x1b[2J\x07 image\n  b: \"\x1b]0;x\n",
    )
    .unwrap();
    repo
}

/// The first control character a terminal would act on, with what surrounds it.
fn control(output: &str) -> Option<String> {
    let (at, c) = output.char_indices().find(|&(_, c)| {
        (c < ' ' && c != '\n')
            || ('\x7f'..='\u{9f}').contains(&c)
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })?;
    let line_start = output[..at].rfind('\n').map_or(0, |n| n + 1);
    let line = output[line_start..].lines().next().unwrap_or_default();
    Some(format!("{c:?} at byte {at}, in the line {line:?}"))
}

fn run(repo: &Path, args: &[&str], no_color: bool) -> (i32, Vec<u8>, Vec<u8>) {
    let cache = repo.parent().unwrap().join("cache");
    let mut command = cli::command(&cache, repo);
    command.args(args);
    if no_color {
        command.env("NO_COLOR", "1");
    }
    let output = command.output().unwrap();
    (output.status.code().unwrap(), output.stdout, output.stderr)
}

#[test]
fn no_output_format_prints_a_control_character_or_a_file_from_outside() {
    let top = tempfile::tempdir().unwrap();
    let repo = hostile_tree(top.path());
    let formats: &[(&[&str], &str)] = &[
        (&["check", "--format", "human"], r"\e]0;pwned\x07"),
        (&["check", "--format", "concise"], r"\e]0;pwned\x07"),
        (&["check", "--format", "json"], r"\u001b]0;pwned\u0007"),
        (&["check", "--format", "sarif"], r"\u001b]0;pwned\u0007"),
        (&["check", "--format", "github"], r"\e]0;pwned\x07"),
        (&["check", "--format", "gitlab"], r"\u001b]0;pwned\u0007"),
        (&["images"], r"\e]0;pwned\x07"),
        (&["images", "--format", "json"], r"\u001b]0;pwned\u0007"),
    ];
    for (args, shown) in formats {
        for (color, no_color) in [("never", false), ("auto", true)] {
            let mut all = vec!["-v", "--color", color];
            all.extend_from_slice(args);
            if args[0] == "check" {
                all.push("--offline");
            }
            all.extend(["--no-config", "."]);
            let (code, stdout, stderr) = run(&repo, &all, no_color);
            let (stdout, stderr) = (
                String::from_utf8(stdout).unwrap(),
                String::from_utf8(stderr).unwrap(),
            );
            let context = format!("{all:?} exited {code}\n{stdout}\n{stderr}");
            assert_eq!(code, 2, "the file that does not parse: {context}");
            assert!(stdout.contains(shown), "escaped, not dropped: {context}");
            for (name, output) in [("stdout", &stdout), ("stderr", &stderr)] {
                if let Some(found) = control(output) {
                    panic!("{name} of {all:?} holds {found}");
                }
            }
            assert!(
                !stdout.contains(OUTSIDE) && !stderr.contains(OUTSIDE),
                "{context}"
            );
            assert!(
                stderr.contains("linked: a symlink out of .; not followed"),
                "-v says why: {context}"
            );
            if args.contains(&"github") {
                for line in stdout.lines() {
                    let command = line.split("::").nth(1).unwrap_or_default();
                    let properties = command.split_once(' ').map_or("", |(_, p)| p);
                    assert!(
                        line.starts_with("::") && line.split("::").count() == 3,
                        "one command per line, none injected: {line}"
                    );
                    let keys = ["file", "line", "col", "endLine", "endColumn", "title"];
                    assert!(
                        properties
                            .split(',')
                            .all(|p| p.split_once('=').is_some_and(|(k, _)| keys.contains(&k))),
                        "no property injected: {line}"
                    );
                }
                assert!(stdout.contains("a%3A%3Aerror%3A%3Ax/"), "{stdout}");
            }
        }
    }
}

#[test]
fn follow_reads_symlinks_out_of_the_root_and_a_named_symlink_is_read() {
    let top = tempfile::tempdir().unwrap();
    let repo = hostile_tree(top.path());
    let cache = top.path().join("cache");
    let followed = cli::tagpin(&cache, &repo, &["images", "--follow", "."]).stdout;
    for path in [
        "linked/docker-compose.yml:3:12 ",
        "\ndocker-compose.yml:3:12 ",
    ] {
        let line = followed
            .lines()
            .find(|l| format!("\n{l}").contains(path.trim()));
        assert!(
            line.is_some_and(|l| l.contains(OUTSIDE)),
            "{path}: {followed}"
        );
    }
    for named in ["docker-compose.yml", "linked"] {
        let run = cli::tagpin(&cache, &repo, &["images", named]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains(OUTSIDE),
            "{named} named: {}",
            run.stdout
        );
    }
}

#[test]
fn color_always_still_escapes_what_files_hold() {
    let top = tempfile::tempdir().unwrap();
    let repo = hostile_tree(top.path());
    let args = [
        "--color",
        "always",
        "check",
        "--offline",
        "--no-config",
        ".",
    ];
    let (_, stdout, _) = run(&repo, &args, false);
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(stdout.contains('\x1b'), "colored: {stdout}");
    for sequence in ["\x1b]", "\x1b[2J", "\x1b[8m", "\x07", "\u{9b}", "\r"] {
        assert!(!stdout.contains(sequence), "{sequence:?} in {stdout}");
    }
}

#[test]
fn a_config_cannot_read_files_outside_its_folder() {
    let top = tempfile::tempdir().unwrap();
    let repo = hostile_tree(top.path());
    symlink("../outside/docker-compose.yml", repo.join("rules.yaml")).unwrap();
    for (rules, why) in [
        ("[../../etc/passwd]", "leaves the config's folder"),
        ("/etc/passwd", "is absolute"),
        (
            "[ok/../../outside/docker-compose.yml]",
            "leaves the config's folder",
        ),
        (
            "[rules.yaml]",
            "is a symlink leading out of the config's folder",
        ),
    ] {
        fs::write(
            repo.join(".tagpin.yaml"),
            format!("# \x1b[2J\nrules: {rules}\n"),
        )
        .unwrap();
        let (code, stdout, stderr) = run(
            &repo,
            &["--color", "never", "check", "--offline", "."],
            false,
        );
        let stderr = String::from_utf8(stderr).unwrap();
        assert_eq!(control(&stderr), None, "{stderr}");
        // As one line: the message is wrapped to the width.
        let stderr = stderr
            .replace('│', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty(), "nothing checked");
        assert!(stderr.contains("`rules` path"), "{stderr}");
        assert!(stderr.contains(why), "{rules}: {stderr}");
        assert!(
            stderr.contains(".tagpin.yaml:2:"),
            "points at the item: {stderr}"
        );
        assert!(
            !stderr.contains("root:") && !stderr.contains(OUTSIDE),
            "{stderr}"
        );
    }
}

/// A repository's config sends a registry to a plain-HTTP mirror of its choosing: the mirror
/// never sees the user's login for that registry, whether it challenges with Basic or with a
/// token service that asks for credentials.
#[test]
fn a_mirror_set_by_a_repository_gets_no_credentials() {
    // The registry the user is logged in to (a closed loopback port: nothing leaves the machine).
    const UPSTREAM: &str = "127.0.0.1:1";
    for behaviour in [
        Behaviour {
            basic_auth: Some(("kestra".into(), "s3cret".into())),
            ..Behaviour::default()
        },
        Behaviour {
            token_auth: true,
            token_credentials: Some(("kestra".into(), "s3cret".into())),
            ..Behaviour::default()
        },
    ] {
        let mirror =
            FakeRegistry::start(behaviour.with_repo("kestra/kestra", [("latest", "2.0.5")]));
        let top = tempfile::tempdir().unwrap();
        let cache = top.path().join("cache");
        let docker = cache.join("no-docker-config");
        fs::create_dir_all(&docker).unwrap();
        let login = r#"{"username": "kestra", "password": "s3cret"}"#;
        fs::write(
            docker.join("config.json"),
            format!(r#"{{"auths": {{"{UPSTREAM}": {login}, "docker.io": {login}}}}}"#),
        )
        .unwrap();
        let repo = top.path().join("repo");
        fs::create_dir_all(&repo).unwrap();
        fs::write(
            repo.join(".tagpin.yaml"),
            format!(
                "registries:\n  {UPSTREAM}: {{mirror: \"{url}\", insecure: true}}\n  docker.io: {{mirror: \"{url}\", insecure: true}}\n",
                url = mirror.url
            ),
        )
        .unwrap();
        fs::write(
            repo.join("docker-compose.yml"),
            format!("services:\n  a:\n    image: {UPSTREAM}/kestra/kestra:latest\n  b:\n    image: kestra/kestra:latest\n"),
        )
        .unwrap();
        let output = cli::command(&cache, &repo)
            .args(["check", "--refresh", "--format", "json", "."])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let requests = mirror.requests();
        assert!(requests.len() >= 2, "the mirror was asked: {stderr}");
        let secret = fake::basic("kestra", "s3cret");
        for request in requests {
            assert_ne!(
                request.authorization.as_deref(),
                Some(secret.as_str()),
                "{request:?}"
            );
            assert!(!request.body.contains("s3cret"), "{request:?}");
        }
    }
}

/// `--diff` shows lines of the file: what they hold is escaped like a snippet.
#[test]
fn a_diff_shows_control_characters_as_escapes() {
    const UPSTREAM: &str = "127.0.0.1:1";
    let mirror = FakeRegistry::start(
        Behaviour::default().with_repo("kestra/kestra", [("latest", "2.0.5"), ("v2.0.5", "2.0.5")]),
    );
    let top = tempfile::tempdir().unwrap();
    let repo = top.path().join("repo");
    fs::create_dir_all(&repo).unwrap();
    fs::write(
        repo.join("docker-compose.yml"),
        format!("services:\n  a:\n    image: {UPSTREAM}/kestra/kestra:latest # \x1b]0;x\x07\x1b[2J\u{9b}\n"),
    )
    .unwrap();
    let output = cli::command(&top.path().join("cache"), &repo)
        .args(["check", "--diff", "--no-config", "--registry-mirror"])
        .arg(format!("{UPSTREAM}={}", mirror.url))
        .arg(".")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stdout.contains(&format!(
            "+    image: {UPSTREAM}/kestra/kestra:v2.0.5 # \\e]0;x\\x07\\e[2J\\u{{9b}}\n"
        )),
        "{stdout}{stderr}"
    );
    assert_eq!(control(&stdout), None, "{stdout}");
    assert_eq!(control(&stderr), None, "{stderr}");
}
