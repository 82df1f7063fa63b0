//! Credentials for registries, found where `docker login` and `podman login` put them, and the
//! `WWW-Authenticate` challenges that say how to use them.
//!
//! Lookup follows the clients users log in with: a `credHelpers` entry, else `credsStore`,
//! wins over `auths` (docker/cli `GetCredentialsStore`); within `auths` the most specific key
//! wins, `quay.io/org-a` over `quay.io` (containers-auth.json(5)). A helper runs at most once
//! per server and run. Secrets live in [`Secret`], whose `Debug` prints nothing, so no log line
//! or error message can carry one.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::reference::DOCKER_HUB;

/// How long a `docker-credential-*` helper may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(5);
/// The user name docker/cli uses for an identity token (`az acr login`, helpers).
const IDENTITY_TOKEN_USER: &str = "<token>";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A user name and password (or identity token) for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: Secret,
}

impl Credential {
    pub fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password.expose());
        format!("Basic {}", STANDARD.encode(pair))
    }

    /// An OAuth2 refresh token rather than a password: exchanged at the token realm with
    /// `grant_type=refresh_token` (docker/distribution `registry/client/auth/session.go`).
    pub fn is_identity_token(&self) -> bool {
        self.username == IDENTITY_TOKEN_USER
    }
}

#[derive(Debug, Default, Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

/// Where credentials come from: Docker's config and podman's auth files, read once.
#[derive(Debug, Default)]
pub struct Credentials {
    files: Vec<AuthFileData>,
    /// What the user should hear about (a file that does not parse, a helper not installed).
    notes: Mutex<Vec<String>>,
    /// Helper answers by (helper, server): each runs once per run.
    helpers: Mutex<HashMap<(String, String), Option<Credential>>>,
    /// Given by the caller (a Maven repository's user name and password): asked first.
    given: BTreeMap<String, Credential>,
}

#[derive(Debug, Default)]
struct AuthFileData {
    /// Normalised key (`docker.io`, `quay.io/org-a`) → credential.
    auths: BTreeMap<String, Credential>,
    creds_store: Option<String>,
    cred_helpers: BTreeMap<String, String>,
}

impl Credentials {
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, then podman's
    /// `$REGISTRY_AUTH_FILE` or `$XDG_RUNTIME_DIR/containers/auth.json`, then
    /// `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/containers/auth.json`).
    pub fn from_environment() -> Credentials {
        let env = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let docker = env("DOCKER_CONFIG")
            .map(|dir| dir.join("config.json"))
            .or_else(|| dirs::home_dir().map(|home| home.join(".docker/config.json")));
        let podman = env("REGISTRY_AUTH_FILE")
            .or_else(|| env("XDG_RUNTIME_DIR").map(|dir| dir.join("containers/auth.json")));
        let user = env("XDG_CONFIG_HOME")
            .or_else(|| dirs::home_dir().map(|home| home.join(".config")))
            .map(|dir| dir.join("containers/auth.json"));
        let paths: Vec<PathBuf> = [docker, podman, user].into_iter().flatten().collect();
        Credentials::from_files(paths.iter().map(PathBuf::as_path))
    }

    /// Missing files are passed over; a file that does not parse is passed over with a note.
    pub fn from_files<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Credentials {
        let mut notes = Vec::new();
        let mut files = Vec::new();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            match serde_json::from_str::<AuthFile>(&text) {
                Ok(file) => files.push(AuthFileData::from(file)),
                Err(e) => {
                    tracing::debug!("{}: {e}", path.display());
                    notes.push(format!(
                        "{} is not a valid auth file; its logins are not used (-v shows why)",
                        path.display()
                    ));
                }
            }
        }
        Credentials {
            files,
            notes: Mutex::new(notes),
            helpers: Mutex::default(),
            given: BTreeMap::new(),
        }
    }

    /// Use `credential` for `host` before any file's.
    pub fn with(mut self, host: &str, credential: Credential) -> Credentials {
        self.given.insert(host.to_string(), credential);
        self
    }

    /// Notes gathered so far (taken: each is said once).
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The credential for `repository` on a registry host (`docker.io` is Docker Hub), if any
    /// is configured. May run a credential helper: call it off the async runtime's workers.
    pub fn lookup(&self, host: &str, repository: &str) -> Option<Credential> {
        if let Some(given) = self.given.get(host) {
            return Some(given.clone());
        }
        let keys = keys_for(host, repository);
        for file in &self.files {
            let helper = file
                .cred_helpers
                .get(&canonical_host(host))
                .or(file.creds_store.as_ref());
            if let Some(helper) = helper
                && let Some(found) = self.helper(helper, host)
            {
                return Some(found);
            }
            if let Some(found) = keys.iter().find_map(|k| file.auths.get(k)) {
                return Some(found.clone());
            }
        }
        None
    }

    /// A helper's answer for `host`, asked once per run.
    fn helper(&self, name: &str, host: &str) -> Option<Credential> {
        let server = if canonical_host(host) == DOCKER_HUB {
            "https://index.docker.io/v1/".to_string()
        } else {
            host.to_string()
        };
        let mut answers = self.helpers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .entry((name.to_string(), server.clone()))
            .or_insert_with(|| match run_helper(name, &server) {
                Ok(found) => found,
                Err(note) => {
                    self.notes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(note);
                    None
                }
            })
            .clone()
    }
}

impl From<AuthFile> for AuthFileData {
    fn from(file: AuthFile) -> Self {
        let auths = file
            .auths
            .into_iter()
            .filter_map(|(key, entry)| Some((normalise_key(&key), entry.credential()?)))
            .collect();
        AuthFileData {
            auths,
            creds_store: file.creds_store.filter(|s| !s.is_empty()),
            cred_helpers: file
                .cred_helpers
                .into_iter()
                .map(|(k, v)| (canonical_host(&normalise_key(&k)), v))
                .collect(),
        }
    }
}

impl AuthEntry {
    fn credential(self) -> Option<Credential> {
        if let Some(token) = self.identitytoken.filter(|t| !t.is_empty()) {
            return Some(Credential {
                username: IDENTITY_TOKEN_USER.into(),
                password: Secret(token),
            });
        }
        if let (Some(username), Some(password)) = (self.username, self.password) {
            return Some(Credential {
                username,
                password: Secret(password),
            });
        }
        let decoded = STANDARD.decode(self.auth?.trim()).ok()?;
        let (username, password) = String::from_utf8(decoded)
            .ok()?
            .split_once(':')
            .map(|(u, p)| (u.to_string(), p.to_string()))?;
        Some(Credential {
            username,
            password: Secret(password),
        })
    }
}

/// An auth file key as `host[/namespace…]`: a key written as a URL
/// (`https://index.docker.io/v1/`) names its host only (docker/cli `ConvertToHostname`); a
/// bare key keeps its namespace (`quay.io/org-a`, containers-auth.json(5)).
fn normalise_key(key: &str) -> String {
    let key = key.trim();
    let (had_scheme, rest) = match key.split_once("://") {
        Some((_, rest)) => (true, rest),
        None => (false, key),
    };
    let rest = rest.trim_end_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = canonical_host(host);
    if had_scheme || path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// Docker Hub's many names as one.
fn canonical_host(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        other => other.to_string(),
    }
}

/// The keys that may hold `repository`'s login on `host`, most specific first.
fn keys_for(host: &str, repository: &str) -> Vec<String> {
    let host = canonical_host(host);
    let mut keys = Vec::new();
    let mut path = repository.trim_matches('/');
    while !path.is_empty() {
        keys.push(format!("{host}/{path}"));
        path = path.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    keys.push(host);
    keys
}

/// `docker-credential-<name> get`, fed the server on stdin, killed after [`HELPER_TIMEOUT`];
/// `Err` is a note for the user (not installed, failed, timed out).
fn run_helper(name: &str, server: &str) -> Result<Option<Credential>, String> {
    let program = format!("docker-credential-{name}");
    let mut child = match Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "credential helper `{program}` is not installed; {server} is asked without a login"
            ));
        }
        Err(e) => return Err(format!("credential helper `{program}` did not start: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let deadline = Instant::now() + HELPER_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "credential helper `{program}` took longer than {} s; {server} is asked without a login",
                    HELPER_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("credential helper `{program}`: {e}")),
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("credential helper `{program}`: {e}"))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stdout);
        // "credentials not found in native keychain": no login, nothing to tell.
        if said.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        tracing::debug!("{program} get {server}: {}", said.trim());
        return Err(format!(
            "credential helper `{program}` failed for {server} ({}); asked without a login (-v shows its answer)",
            output.status
        ));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperAnswer {
        username: String,
        secret: String,
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!("credential helper `{program}` gave an unreadable answer for {server} ({e})")
    })?;
    Ok(Some(Credential {
        username: answer.username,
        password: Secret(answer.secret),
    }))
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Basic,
}

impl Challenge {
    /// `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, rest) = header
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((header.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `key="quoted, value",key2=token` pairs.
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.push((key, value));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:kestra/kestra:pull""#;
        assert_eq!(
            Challenge::parse(header),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:kestra/kestra:pull".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=x"), None);
    }

    #[test]
    fn auth_files_docker_and_podman() {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("config.json");
        let encoded = STANDARD.encode("kestra:s3cret");
        std::fs::write(
            &docker,
            format!(r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{encoded}"}}, "registry.kestra.io": {{"username": "lic", "password": "fp"}}}}}}"#),
        )
        .unwrap();
        let podman = dir.path().join("auth.json");
        std::fs::write(
            &podman,
            format!(
                r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{}"}}}}}}"#,
                STANDARD.encode("u:p")
            ),
        )
        .unwrap();
        let credentials = Credentials::from_files([docker.as_path(), podman.as_path()]);
        let hub = credentials.lookup("docker.io", "kestra/kestra").unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.expose()),
            ("kestra", "s3cret")
        );
        assert_eq!(
            credentials
                .lookup("registry.kestra.io", "docker/kestra-ee")
                .unwrap()
                .username,
            "lic"
        );
        assert_eq!(
            credentials
                .lookup("127.0.0.1:5000", "app")
                .unwrap()
                .basic_header(),
            format!("Basic {}", STANDARD.encode("u:p"))
        );
        assert_eq!(credentials.lookup("ghcr.io", "app"), None);
        assert!(!format!("{hub:?}").contains("s3cret"));
        assert!(credentials.take_notes().is_empty());
    }

    #[test]
    fn the_most_specific_namespace_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        let entry =
            |user: &str| format!(r#"{{"auth": "{}"}}"#, STANDARD.encode(format!("{user}:pw")));
        std::fs::write(
            &file,
            format!(
                r#"{{"auths": {{"quay.io": {}, "quay.io/org-a": {}, "quay.io/org-b/app": {}, "docker.io/library": {}}}}}"#,
                entry("any"),
                entry("a"),
                entry("b-app"),
                entry("lib")
            ),
        )
        .unwrap();
        let credentials = Credentials::from_files([file.as_path()]);
        let user = |host: &str, repo: &str| credentials.lookup(host, repo).map(|c| c.username);
        assert_eq!(user("quay.io", "org-a/app").as_deref(), Some("a"));
        assert_eq!(user("quay.io", "org-b/app").as_deref(), Some("b-app"));
        assert_eq!(user("quay.io", "org-b/other").as_deref(), Some("any"));
        assert_eq!(user("quay.io", "org-c/x").as_deref(), Some("any"));
        assert_eq!(user("docker.io", "library/nginx").as_deref(), Some("lib"));
        assert_eq!(user("docker.io", "kestra/kestra"), None);
    }

    #[test]
    fn a_broken_file_is_a_note_not_silence() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, "{\"auths\": {").unwrap();
        let credentials = Credentials::from_files([file.as_path()]);
        let notes = credentials.take_notes();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("config.json is not a valid auth file"),
            "{notes:?}"
        );
    }

    fn script(dir: &Path, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn credential_helpers_win_run_once_and_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        script(
            dir.path(),
            "fake",
            &format!(
                "#!/bin/sh\nread server\necho run >> {}\necho \"{{\\\"Username\\\": \\\"u-$server\\\", \\\"Secret\\\": \\\"s\\\"}}\"\n",
                runs.display()
            ),
        );
        script(dir.path(), "slow", "#!/bin/sh\nexec sleep 30\n");
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        // SAFETY: tests in this module do not read PATH concurrently with this write.
        unsafe { std::env::set_var("PATH", path) };
        let config = dir.path().join("config.json");
        let auth = STANDARD.encode("file:pw");
        std::fs::write(
            &config,
            format!(r#"{{"auths": {{"ghcr.io": {{"auth": "{auth}"}}}}, "credHelpers": {{"ghcr.io": "fake", "slow.io": "slow", "gone.io": "missing"}}, "credsStore": "fake"}}"#),
        )
        .unwrap();
        let credentials = Credentials::from_files([config.as_path()]);
        assert_eq!(
            credentials.lookup("ghcr.io", "a").unwrap().username,
            "u-ghcr.io",
            "credHelpers wins over auths"
        );
        assert_eq!(
            credentials.lookup("ghcr.io", "b").unwrap().username,
            "u-ghcr.io"
        );
        assert_eq!(
            credentials.lookup("quay.io", "a").unwrap().username,
            "u-quay.io"
        );
        assert_eq!(
            std::fs::read_to_string(&runs).unwrap().lines().count(),
            2,
            "once per server"
        );
        let started = Instant::now();
        assert_eq!(credentials.lookup("slow.io", "a"), None);
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(credentials.lookup("gone.io", "a"), None);
        let notes = credentials.take_notes();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`docker-credential-missing` is not installed")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("docker-credential-slow")),
            "{notes:?}"
        );
    }
}
