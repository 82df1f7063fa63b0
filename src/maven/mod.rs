//! Kestra plugin versions from Maven repositories: what `LATEST` means now, and the newest
//! release a given Kestra core can load.
//!
//! A Maven repository is static files: `group/path/artifact/maven-metadata.xml` lists the
//! versions (`<versioning><release>`, `<versions>`), `…/version/artifact-version.pom` is one
//! version's POM, which names the Kestra core the version was built against (see
//! [`xml::kestra_core`] for where that comes from). Requests go through the registry's
//! transport (timeouts, retries, 429, Basic challenges) and answers into the same cache with
//! the same TTL; `--offline` reads the cache only.

mod xml;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use reqwest::{Method, StatusCode};
use serde::Serialize;

use crate::plugin::{Coordinate, PluginPin, Requested, compare, is_release};
use crate::registry::auth::{Credential, Secret};
use crate::registry::endpoint::{Endpoint, host_of};
use crate::registry::transport::Transport;
use crate::registry::{Cache, Credentials, ErrorKind, Network, RegistryError};
pub use xml::Metadata;

/// Maven Central, where Kestra's open-source plugins are published.
pub const CENTRAL: &str = "https://repo.maven.apache.org/maven2";
/// Kestra's repository for Enterprise plugins (license id and fingerprint as credentials).
pub const KESTRA_EE: &str = "https://registry.kestra.io/maven";
/// Environment variables with the credentials for [`KESTRA_EE`] (or a `maven.repositories`
/// entry without its own).
pub const USERNAME_ENV: &str = "TAGPIN_MAVEN_USERNAME";
pub const PASSWORD_ENV: &str = "TAGPIN_MAVEN_PASSWORD";
/// At most this many POMs are read to find the newest version a core supports.
const MAX_POMS: usize = 16;

/// `maven:` in the config and `--maven-mirror`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MavenSettings {
    /// Repositories asked in order; empty: Maven Central (and Kestra's EE repository when
    /// credentials for it are in the environment).
    pub repositories: Vec<String>,
    /// One URL that answers for every repository (Nexus, Artifactory).
    pub mirror: Option<String>,
}

/// Where a plugin's files are in a Maven repository: `io/kestra/plugin/plugin-aws`.
fn path(coordinate: &Coordinate) -> String {
    let group = coordinate.group.replace('.', "/");
    format!("{group}/{}", coordinate.artifact)
}

/// Answers made in this run, one request however many asks need them at once.
struct Memo<T>(tokio::sync::Mutex<HashMap<String, Shared<T>>>);

type Shared<T> = Arc<OnceCell<Result<T, RegistryError>>>;

impl<T: Clone> Memo<T> {
    fn new() -> Self {
        Memo(tokio::sync::Mutex::new(HashMap::new()))
    }

    async fn get(
        &self,
        key: &str,
        make: impl std::future::Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        let cell = self
            .0
            .lock()
            .await
            .entry(key.to_string())
            .or_default()
            .clone();
        cell.get_or_init(|| make).await.clone()
    }
}

pub struct Maven {
    transport: Transport,
    metadata: Memo<Metadata>,
    poms: Memo<Option<String>>,
    repositories: Vec<Endpoint>,
    cache: Option<Cache>,
    offline: bool,
    refresh: bool,
    notes: Mutex<Vec<String>>,
}

impl Maven {
    /// A client over `network`'s timeouts, with the registry's cache options. Credentials come
    /// from a repository URL's user info (`https://user:password@host/maven`, taken out of the
    /// URL so it is never printed) or, for Kestra's repository, the environment.
    pub fn new(
        settings: &MavenSettings,
        network: Network,
        cache: Option<Cache>,
        offline: bool,
        refresh: bool,
    ) -> Result<Maven, RegistryError> {
        let env = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        let from_env = match (env(USERNAME_ENV), env(PASSWORD_ENV)) {
            (Some(username), Some(password)) => Some(Credential {
                username,
                password: Secret::new(password),
            }),
            _ => None,
        };
        let mut repositories = settings.repositories.clone();
        if repositories.is_empty() {
            repositories.push(CENTRAL.to_string());
            if from_env.is_some() {
                repositories.push(KESTRA_EE.to_string());
            }
        }
        if let Some(mirror) = &settings.mirror {
            repositories = vec![mirror.clone()];
        }
        let mut credentials = Credentials::from_environment();
        let mut endpoints = Vec::new();
        for url in repositories {
            let endpoint = Endpoint::from_url(url.trim_end_matches('/')).ok_or_else(|| {
                RegistryError::other(format!(
                    "`{}` is not an http(s) URL of a Maven repository",
                    host_of(&url)
                ))
            })?;
            // The environment's login is Kestra's (or a configured repository's): never Maven
            // Central's, never a mirror's.
            if let Some(credential) = &from_env
                && url != CENTRAL
                && settings.mirror.is_none()
            {
                credentials = credentials.with(&endpoint.host, credential.clone());
            }
            endpoints.push(endpoint);
        }
        Ok(Maven {
            transport: Transport::new(network, credentials),
            metadata: Memo::new(),
            poms: Memo::new(),
            repositories: endpoints,
            cache,
            offline,
            refresh,
            notes: Mutex::new(Vec::new()),
        })
    }

    /// The repositories, as cache keys and messages name them.
    fn labels(&self) -> String {
        let bases: Vec<String> = self.repositories.iter().map(Endpoint::base).collect();
        bases.join(" ")
    }

    pub fn requests(&self) -> u64 {
        self.transport.requests()
    }

    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn cached<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        let cache = self.cache.as_ref().filter(|_| !self.refresh)?;
        cache.get(key).unwrap_or_else(|note| {
            self.notes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(note);
            None
        })
    }

    /// A cached answer, or the one `fetch` gets (then cached); offline without one: an error.
    async fn remembered<T, F>(&self, key: &str, what: &str, fetch: F) -> Result<T, RegistryError>
    where
        T: Serialize + serde::de::DeserializeOwned,
        F: std::future::Future<Output = Result<T, RegistryError>>,
    {
        if let Some(found) = self.cached(key) {
            return Ok(found);
        }
        if self.offline {
            return Err(RegistryError {
                kind: ErrorKind::Offline,
                message: format!("offline: no cached answer for {what}"),
            });
        }
        let value = fetch.await?;
        if let Some(cache) = &self.cache {
            cache.put(key, &value);
        }
        Ok(value)
    }

    /// GET `path` from each repository in order: the bodies of those that have it.
    async fn get_all(&self, path: &str, first_only: bool) -> Result<Vec<Vec<u8>>, RegistryError> {
        let mut bodies = Vec::new();
        let mut failure = None;
        for endpoint in &self.repositories {
            let url = format!("{}/{path}", endpoint.base());
            let host = &endpoint.host;
            match self
                .transport
                .send(Method::GET, endpoint, "", &url, &[])
                .await
            {
                Ok(answer) if answer.status.is_success() => {
                    bodies.push(answer.body);
                    if first_only {
                        break;
                    }
                }
                Ok(answer) if answer.status == StatusCode::NOT_FOUND => {}
                Ok(answer) => {
                    failure.get_or_insert(RegistryError::other(format!(
                        "Maven repository {host} answered {} for {path}",
                        answer.status
                    )));
                }
                Err(e) if e.kind == ErrorKind::Auth => {
                    failure.get_or_insert(RegistryError {
                        kind: ErrorKind::Auth,
                        message: format!(
                            "Maven repository {host} refused access: set {USERNAME_ENV} and {PASSWORD_ENV}"
                        ),
                    });
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(error) if bodies.is_empty() => Err(error),
            _ => Ok(bodies),
        }
    }

    /// The versions every repository lists, merged (Maven merges metadata the same way).
    pub async fn metadata(&self, coordinate: &Coordinate) -> Result<Metadata, RegistryError> {
        let key = format!("maven-metadata {} {coordinate}", self.labels());
        let what = format!("plugin {coordinate}");
        let ask = self.remembered(&key, &what, async {
            let path = format!("{}/maven-metadata.xml", path(coordinate));
            let mut merged = Metadata::default();
            for body in self.get_all(&path, false).await? {
                let metadata = Metadata::parse(&body)
                    .map_err(|e| RegistryError::other(format!("{path}: {e}")))?;
                merged.versions.extend(metadata.versions);
                for (mine, theirs) in [
                    (&mut merged.release, metadata.release),
                    (&mut merged.latest, metadata.latest),
                ] {
                    if let Some(theirs) = theirs
                        && mine.as_ref().is_none_or(|m| compare(&theirs, m).is_gt())
                    {
                        *mine = Some(theirs);
                    }
                }
            }
            if merged.versions.is_empty() && merged.release.is_none() {
                return Err(RegistryError {
                    kind: ErrorKind::NotFound,
                    message: format!("plugin {coordinate} is in no Maven repository asked"),
                });
            }
            merged.versions.sort_by(|a, b| compare(a, b));
            merged.versions.dedup();
            Ok(merged)
        });
        self.metadata.get(&key, ask).await
    }

    /// The Kestra core a plugin version was built against, from its POM; `None` when the POM
    /// does not say.
    pub async fn min_core(
        &self,
        coordinate: &Coordinate,
        version: &str,
    ) -> Result<Option<String>, RegistryError> {
        let key = format!("maven-pom {} {coordinate}:{version}", self.labels());
        let what = format!("plugin {coordinate}:{version}");
        let ask = self.remembered(&key, &what, async {
            let path = format!(
                "{}/{version}/{}-{version}.pom",
                path(coordinate),
                coordinate.artifact
            );
            let Some(body) = self.get_all(&path, true).await?.pop() else {
                return Ok(None);
            };
            xml::kestra_core(&body).map_err(|e| RegistryError::other(format!("{path}: {e}")))
        });
        self.poms.get(&key, ask).await
    }

    /// What `requested` (a floating version other than `OLDEST`) should be pinned to for a
    /// Kestra `core` (`None`: unknown): the newest release it admits that the core can load,
    /// newest first, reading at most [`MAX_POMS`] POMs; without a core, the newest release; at
    /// a POM that does not say, that version, unchecked.
    pub async fn pin(
        &self,
        coordinate: &Coordinate,
        requested: &Requested,
        core: Option<&str>,
    ) -> Result<PluginPin, RegistryError> {
        let metadata = self.metadata(coordinate).await?;
        let mut releases: Vec<&String> = metadata
            .versions
            .iter()
            .chain(metadata.release.iter())
            .filter(|v| is_release(v) && requested.admits(v))
            .collect();
        releases.sort_by(|a, b| compare(b, a));
        releases.dedup();
        let Some(current) = releases.first().map(|v| v.to_string()) else {
            return Err(RegistryError {
                kind: ErrorKind::NotFound,
                message: format!("plugin {coordinate} has no release matching the version"),
            });
        };
        let mut pin = PluginPin {
            version: current.clone(),
            current,
            min_core: None,
            core: None,
            incompatible: Vec::new(),
        };
        let Some(core) = core else {
            return Ok(pin);
        };
        for version in releases.into_iter().take(MAX_POMS) {
            let Some(needs) = self.min_core(coordinate, version).await? else {
                // No compatibility data: this version, unchecked.
                pin.version = version.clone();
                return Ok(pin);
            };
            if compare(&needs, core).is_le() {
                pin.version = version.clone();
                pin.min_core = Some(needs);
                pin.core = Some(core.to_string());
                return Ok(pin);
            }
            pin.incompatible.push((version.clone(), needs));
        }
        Err(RegistryError::other(format!(
            "no release of plugin {coordinate} among the newest {} supports Kestra {core}",
            pin.incompatible.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_and_user_info() {
        let (c, v) = Coordinate::parse("io.kestra.plugin:plugin-aws:[1.0,)").unwrap();
        assert_eq!(path(&c), "io/kestra/plugin/plugin-aws");
        assert_eq!(v, Some("[1.0,)"));
        assert!(Coordinate::parse("kestra/kestra:latest").is_none());
        let endpoint = Endpoint::from_url("https://id:finger@registry.kestra.io/maven").unwrap();
        assert_eq!(endpoint.base(), "https://registry.kestra.io/maven");
        assert_eq!(endpoint.host, "registry.kestra.io");
        assert!(!format!("{endpoint:?}").contains("finger"));
    }
}
