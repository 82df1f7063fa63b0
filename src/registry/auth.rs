//! Credentials for registries, found where `docker login` and `podman login` put them, and the
//! `WWW-Authenticate` challenges that say how to use them.
//!
//! Secrets live in [`Secret`], whose `Debug` prints nothing, so no log line or error message can
//! carry one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

/// How long a `docker-credential-*` helper may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: String) -> Secret {
        Secret(secret)
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

/// Where credentials come from: Docker's config and podman's auth file, read once.
#[derive(Debug, Default)]
pub struct Credentials {
    files: Vec<(PathBuf, AuthFileData)>,
    /// Given by the caller (a Maven repository's user name and password): asked first.
    given: BTreeMap<String, Credential>,
}

#[derive(Debug, Default)]
struct AuthFileData {
    auths: BTreeMap<String, Credential>,
    creds_store: Option<String>,
    cred_helpers: BTreeMap<String, String>,
}

impl Credentials {
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, then `$REGISTRY_AUTH_FILE` or
    /// `$XDG_RUNTIME_DIR/containers/auth.json`. Unreadable files are passed over.
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
        Credentials::from_files(docker.iter().chain(podman.iter()).map(PathBuf::as_path))
    }

    pub fn from_files<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Credentials {
        let files = paths
            .into_iter()
            .filter_map(|path| {
                let text = std::fs::read_to_string(path).ok()?;
                let file: AuthFile = serde_json::from_str(&text).ok()?;
                Some((path.to_path_buf(), AuthFileData::from(file)))
            })
            .collect();
        Credentials {
            files,
            given: BTreeMap::new(),
        }
    }

    /// Use `credential` for `host` before any file's.
    pub fn with(mut self, host: &str, credential: Credential) -> Credentials {
        self.given.insert(host.to_string(), credential);
        self
    }

    /// The credential for a registry host (`docker.io` is Docker Hub), if any is configured.
    pub fn lookup(&self, host: &str) -> Option<Credential> {
        if let Some(given) = self.given.get(host) {
            return Some(given.clone());
        }
        let keys = keys_for(host);
        for (_, file) in &self.files {
            let helper = keys
                .iter()
                .find_map(|k| file.cred_helpers.get(k))
                .or(file.creds_store.as_ref());
            if let Some(found) = keys.iter().find_map(|k| file.auths.get(k)) {
                return Some(found.clone());
            }
            if let Some(helper) = helper
                && let Some(found) = keys.iter().find_map(|k| run_helper(helper, k))
            {
                return Some(found);
            }
        }
        None
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
            creds_store: file.creds_store,
            cred_helpers: file
                .cred_helpers
                .into_iter()
                .map(|(k, v)| (normalise_key(&k), v))
                .collect(),
        }
    }
}

impl AuthEntry {
    fn credential(self) -> Option<Credential> {
        if let Some(token) = self.identitytoken.filter(|t| !t.is_empty()) {
            return Some(Credential {
                username: "<token>".into(),
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

/// `https://index.docker.io/v1/` → `index.docker.io`: auth files key by URL or by host.
fn normalise_key(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key).to_string()
}

fn keys_for(host: &str) -> Vec<String> {
    if host == crate::reference::DOCKER_HUB {
        vec![
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ]
    } else {
        vec![host.to_string()]
    }
}

/// `docker-credential-<name> get`, fed the server on stdin, killed after [`HELPER_TIMEOUT`].
fn run_helper(name: &str, server: &str) -> Option<Credential> {
    let server = if server == "index.docker.io" {
        "https://index.docker.io/v1/"
    } else {
        server
    };
    let mut child = Command::new(format!("docker-credential-{name}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(server.as_bytes()).ok()?;
    let deadline = Instant::now() + HELPER_TIMEOUT;
    while child.try_wait().ok()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        return None;
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperAnswer {
        username: String,
        secret: String,
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).ok()?;
    Some(Credential {
        username: answer.username,
        password: Secret(answer.secret),
    })
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
        let hub = credentials.lookup("docker.io").unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.expose()),
            ("kestra", "s3cret")
        );
        assert_eq!(
            credentials.lookup("registry.kestra.io").unwrap().username,
            "lic"
        );
        assert_eq!(
            credentials.lookup("127.0.0.1:5000").unwrap().basic_header(),
            format!("Basic {}", STANDARD.encode("u:p"))
        );
        assert_eq!(credentials.lookup("ghcr.io"), None);
        assert!(!format!("{hub:?}").contains("s3cret"));
    }

    #[test]
    fn credential_helpers_are_run_with_a_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-fake");
        std::fs::write(&helper, "#!/bin/sh\nread server\necho \"{\\\"Username\\\": \\\"u-$server\\\", \\\"Secret\\\": \\\"s\\\"}\"\n").unwrap();
        let slow = dir.path().join("docker-credential-slow");
        std::fs::write(&slow, "#!/bin/sh\nexec sleep 30\n").unwrap();
        for script in [&helper, &slow] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        // SAFETY: tests in this module do not read PATH concurrently with this write.
        unsafe { std::env::set_var("PATH", path) };
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"credHelpers": {"ghcr.io": "fake", "slow.io": "slow"}, "credsStore": "fake"}"#,
        )
        .unwrap();
        let credentials = Credentials::from_files([config.as_path()]);
        assert_eq!(credentials.lookup("ghcr.io").unwrap().username, "u-ghcr.io");
        assert_eq!(credentials.lookup("quay.io").unwrap().username, "u-quay.io");
        let started = Instant::now();
        assert_eq!(credentials.lookup("slow.io"), None);
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}
