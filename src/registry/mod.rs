//! The registry side: what a tag points to now, and which release shares that digest.
//!
//! Requests are HEADs wherever a digest is all that is needed (Docker Hub does not count them
//! against pull limits); tag lists follow `Link` pages as the server writes them. Answers are
//! cached on disk (see [`cache`]) and shared within a run, so identical references cost one
//! resolution.

pub mod auth;
pub mod cache;
pub(crate) mod transport;

use std::collections::HashMap;
use std::sync::Arc;

use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciImageIndex,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OnceCell};

use crate::reference::Image;
use crate::rules::data::RuleData;
use crate::version::TagVersion;
pub use auth::Credentials;
pub use cache::Cache;
pub use transport::Network;
use transport::Transport;

/// Every manifest type, so that the distribution server (which answers 404, not 406, when the
/// stored type is missing from `Accept`) finds indexes and single manifests alike.
const MANIFEST_TYPES: [&str; 4] = [
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];
const MAX_TAG_PAGES: usize = 1000;
const MAX_TAGS: usize = 200_000;
const PAGE_SIZE: usize = 1000;
/// At most this many release candidates are asked about one floating tag.
const MAX_CANDIDATES: usize = 48;

/// Why the registry could not answer; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct RegistryError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    Unreachable,
    Auth,
    NotFound,
    Offline,
    Other,
}

impl RegistryError {
    pub fn other(message: String) -> Self {
        RegistryError {
            kind: ErrorKind::Other,
            message,
        }
    }

    pub(crate) fn network(host: &str, error: &reqwest::Error) -> Self {
        let what = if error.is_timeout() {
            "timed out".to_string()
        } else if error.is_connect() {
            "cannot connect".to_string()
        } else if error.is_body() || error.is_decode() {
            "the answer was cut short".to_string()
        } else {
            "request failed".to_string()
        };
        let mut deepest: Option<&dyn std::error::Error> = std::error::Error::source(error);
        while let Some(next) = deepest.and_then(std::error::Error::source) {
            deepest = Some(next);
        }
        let cause = deepest.map(|s| format!(" ({s})")).unwrap_or_default();
        RegistryError {
            kind: ErrorKind::Unreachable,
            message: format!("registry {host} could not be reached: {what}{cause}"),
        }
    }

    pub(crate) fn auth(registry: &str) -> Self {
        RegistryError {
            kind: ErrorKind::Auth,
            message: format!(
                "{registry} refused access: log in with `docker login {registry}` (or podman login)"
            ),
        }
    }
}

/// What a floating reference points to now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The index digest (or single manifest digest) the tag has now.
    pub digest: String,
    /// The most specific release tag with the same digest, if one exists.
    pub release: Option<String>,
    /// Other tags seen with that digest.
    pub also: Vec<String>,
}

/// A manifest as a HEAD shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
}

impl Manifest {
    /// An index or manifest list: the multi-arch entry point.
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_IMAGE_INDEX_MEDIA_TYPE
            || self.media_type == IMAGE_MANIFEST_LIST_MEDIA_TYPE
    }
}

/// How a run uses the registry.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub network: Network,
    pub cache: Option<Cache>,
    /// No network: the cache only.
    pub offline: bool,
    /// Ignore cached answers (and replace them).
    pub refresh: bool,
}

/// One repository's tag list, fetched once however many references ask for it.
type SharedTags = Arc<OnceCell<Result<Vec<String>, RegistryError>>>;

pub struct Registry {
    transport: Transport,
    options: Options,
    tags: Mutex<HashMap<String, SharedTags>>,
    notes: std::sync::Mutex<Vec<String>>,
    /// Resolutions made in this run, reused however the disk cache is set.
    resolved: std::sync::Mutex<HashMap<String, Resolution>>,
}

impl Registry {
    pub fn new(options: Options, credentials: Credentials) -> Result<Registry, RegistryError> {
        Ok(Registry {
            transport: Transport::new(options.network.clone(), credentials)?,
            options,
            tags: Mutex::new(HashMap::new()),
            notes: std::sync::Mutex::new(Vec::new()),
            resolved: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.transport.requests()
    }

    /// Notes for the user (a discarded cache file).
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn cached<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        let cache = self
            .options
            .cache
            .as_ref()
            .filter(|_| !self.options.refresh)?;
        match cache.get(key) {
            Ok(value) => value,
            Err(note) => {
                self.notes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(note);
                None
            }
        }
    }

    fn store<T: Serialize>(&self, key: &str, value: &T) {
        if let Some(cache) = &self.options.cache {
            cache.put(key, value);
        }
    }

    fn offline(&self, what: &str) -> RegistryError {
        RegistryError {
            kind: ErrorKind::Offline,
            message: format!("offline: no cached answer for {what}"),
        }
    }

    /// A cached answer for `key`, or `Err` when offline without one (`what` names it); `Ok(None)`
    /// means: ask the registry.
    fn lookup<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        what: impl FnOnce() -> String,
    ) -> Result<Option<T>, RegistryError> {
        match self.cached::<T>(key) {
            Some(found) => Ok(Some(found)),
            None if self.options.offline => Err(self.offline(&what())),
            None => Ok(None),
        }
    }

    fn manifest_url(&self, image: &Image, reference: &str) -> String {
        format!(
            "{}/v2/{}/manifests/{reference}",
            self.transport.base_url(&image.registry),
            image.repository
        )
    }

    /// A request about `image`'s repository.
    async fn send(
        &self,
        method: Method,
        image: &Image,
        url: &str,
        accept: &[&str],
    ) -> Result<transport::Answer, RegistryError> {
        self.transport
            .send(method, &image.registry, &image.repository, url, accept)
            .await
    }

    /// A GET that must succeed.
    async fn get(
        &self,
        image: &Image,
        url: &str,
        accept: &[&str],
    ) -> Result<transport::Answer, RegistryError> {
        let answer = self.send(Method::GET, image, url, accept).await?;
        if !answer.status.is_success() {
            return Err(RegistryError::other(format!(
                "{} answered {} for {url}",
                image.registry, answer.status
            )));
        }
        Ok(answer)
    }

    /// What `reference` (a tag or a digest) of `image`'s repository points to, by HEAD; `None`
    /// when the registry does not know it.
    pub async fn manifest(
        &self,
        image: &Image,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let key = format!("manifest {}:{reference}", image.full_name());
        if let Some(found) =
            self.lookup::<Option<Manifest>>(&key, || format!("{}:{reference}", image.short_name()))?
        {
            return Ok(found);
        }
        let url = self.manifest_url(image, reference);
        let head = self
            .send(Method::HEAD, image, &url, &MANIFEST_TYPES)
            .await?;
        let found = match head.status.as_u16() {
            404 => None,
            200 => {
                let media_type = header(&head.headers, "content-type").unwrap_or_default();
                let digest = match header(&head.headers, "docker-content-digest") {
                    Some(digest) => digest,
                    None => self.digest_by_get(image, &url).await?,
                };
                Some(Manifest { digest, media_type })
            }
            status => {
                return Err(RegistryError::other(format!(
                    "{} answered {status} for {}:{reference}",
                    image.registry,
                    image.short_name()
                )));
            }
        };
        self.store(&key, &found);
        Ok(found)
    }

    /// The digest of a manifest whose HEAD had no `Docker-Content-Digest`: the body's sha256,
    /// checked against the header when the GET has one.
    async fn digest_by_get(&self, image: &Image, url: &str) -> Result<String, RegistryError> {
        let get = self.get(image, url, &MANIFEST_TYPES).await?;
        let computed = format!("sha256:{:x}", Sha256::digest(&get.body));
        match header(&get.headers, "docker-content-digest") {
            Some(claimed) if claimed != computed => Err(RegistryError::other(format!(
                "{} sent a manifest whose digest {computed} is not the {claimed} it claims",
                image.registry
            ))),
            _ => Ok(computed),
        }
    }

    /// The manifests an index lists, as (digest, `os/architecture`).
    pub async fn index_entries(
        &self,
        image: &Image,
        digest: &str,
    ) -> Result<Vec<(String, String)>, RegistryError> {
        let key = format!("index {}@{digest}", image.full_name());
        if let Some(found) = self
            .lookup::<Vec<(String, String)>>(&key, || format!("{}@{digest}", image.short_name()))?
        {
            return Ok(found);
        }
        let url = self.manifest_url(image, digest);
        let answer = self.get(image, &url, &MANIFEST_TYPES[..2]).await?;
        let computed = format!("sha256:{:x}", Sha256::digest(&answer.body));
        if computed != digest {
            return Err(RegistryError::other(format!(
                "{} sent an index whose digest is {computed}, not {digest}",
                image.registry
            )));
        }
        let index: OciImageIndex = serde_json::from_slice(&answer.body).map_err(|e| {
            RegistryError::other(format!("{} sent an unreadable index: {e}", image.registry))
        })?;
        let entries: Vec<(String, String)> = index
            .manifests
            .into_iter()
            .map(|entry| {
                let platform = entry
                    .platform
                    .map(|p| format!("{}/{}", p.os, p.architecture))
                    .unwrap_or_default();
                (entry.digest, platform)
            })
            .collect();
        self.store(&key, &entries);
        Ok(entries)
    }

    /// Every tag of `image`'s repository, once per run and repository.
    pub async fn tags(&self, image: &Image) -> Result<Vec<String>, RegistryError> {
        let cell = {
            let mut tags = self.tags.lock().await;
            tags.entry(image.full_name()).or_default().clone()
        };
        cell.get_or_init(|| self.fetch_tags(image)).await.clone()
    }

    async fn fetch_tags(&self, image: &Image) -> Result<Vec<String>, RegistryError> {
        let key = format!("tags {}", image.full_name());
        if let Some(tags) =
            self.lookup::<Vec<String>>(&key, || format!("the tags of {}", image.short_name()))?
        {
            return Ok(tags);
        }
        let base = self.transport.base_url(&image.registry);
        let mut url = format!("{base}/v2/{}/tags/list?n={PAGE_SIZE}", image.repository);
        let mut tags = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_TAG_PAGES {
            if !seen.insert(url.clone()) {
                return Err(RegistryError::other(format!(
                    "{}: the tag list pages loop back to {url}",
                    image.registry
                )));
            }
            let page = self.get(image, &url, &["application/json"]).await?;
            #[derive(Deserialize)]
            struct TagList {
                tags: Option<Vec<String>>,
            }
            let list: TagList = serde_json::from_slice(&page.body).map_err(|e| {
                RegistryError::other(format!(
                    "{} sent an unreadable tag list: {e}",
                    image.registry
                ))
            })?;
            tags.extend(list.tags.unwrap_or_default());
            if tags.len() > MAX_TAGS {
                return Err(RegistryError::other(format!(
                    "{} has more than {MAX_TAGS} tags; stopped listing",
                    image.short_name()
                )));
            }
            match header(&page.headers, "link").and_then(|link| next_link(&link)) {
                Some(next) => url = absolute(&base, &next),
                None => {
                    self.store(&key, &tags);
                    return Ok(tags);
                }
            }
        }
        Err(RegistryError::other(format!(
            "{}: more than {MAX_TAG_PAGES} pages of tags; stopped",
            image.registry
        )))
    }

    /// What a floating tag of `image` points to now, and the release that shares its digest.
    pub async fn resolve(
        &self,
        image: &Image,
        rules: &RuleData,
    ) -> Result<Resolution, RegistryError> {
        let tag = image.tag.as_deref().unwrap_or("latest");
        let key = format!("resolution {}:{tag}", image.full_name());
        if let Some(found) = self
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(found.clone());
        }
        if let Some(found) = self.cached::<Resolution>(&key) {
            return Ok(found);
        }
        let current = self
            .manifest(image, tag)
            .await?
            .ok_or_else(|| RegistryError {
                kind: ErrorKind::NotFound,
                message: format!(
                    "{}:{tag} does not exist in {}",
                    image.short_name(),
                    image.registry
                ),
            })?;
        let mut resolution = Resolution {
            digest: current.digest.clone(),
            release: None,
            also: Vec::new(),
        };
        if !rules.is_build_channel(tag) {
            let tags = self.tags(image).await?;
            let candidates = candidates(tag, &tags, image, rules);
            let (release, also) = self
                .first_match(image, &candidates, &current.digest)
                .await?;
            resolution.release = release;
            resolution.also = also;
        }
        self.store(&key, &resolution);
        self.resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, resolution.clone());
        Ok(resolution)
    }

    /// HEAD candidates in order, a few at a time (1, 2, 4, then `per_host`), until one shares
    /// `digest`; the most specific match of the batch wins.
    async fn first_match(
        &self,
        image: &Image,
        candidates: &[String],
        digest: &str,
    ) -> Result<(Option<String>, Vec<String>), RegistryError> {
        let mut start = 0;
        let mut batch = 1;
        let mut also = Vec::new();
        while start < candidates.len() {
            let end = (start + batch).min(candidates.len());
            let heads = futures::future::join_all(
                candidates[start..end]
                    .iter()
                    .map(|tag| self.manifest(image, tag)),
            )
            .await;
            let mut matches = Vec::new();
            for (tag, head) in candidates[start..end].iter().zip(heads) {
                if head?.is_some_and(|m| m.digest == digest) {
                    matches.push(tag.clone());
                }
            }
            if let Some(best) = matches.first().cloned() {
                also.extend(matches.into_iter().skip(1));
                return Ok((Some(best), also));
            }
            start = end;
            batch = (batch * 2).min(self.options.network.per_host.max(1));
        }
        Ok((None, also))
    }
}

/// Release tags that could share a floating tag's digest, in the order to try them: the same
/// variant, releases only, newest first and the most specific first among equals; narrowed by
/// the image's rules (a Kestra `latest-lts` only looks at LTS lines, `v1.3` at its own line).
pub fn candidates(tag: &str, tags: &[String], image: &Image, rules: &RuleData) -> Vec<String> {
    let image_rules = rules.image_rules(image);
    let variants: Vec<String> = image_rules.map(|r| r.variants.clone()).unwrap_or_default();
    let (line, variant) = match TagVersion::parse(tag, &variants) {
        Some(version) => (Some(version.components.clone()), version.variant),
        None => (None, rules.channel_variant(tag, &variants)),
    };
    let lts_only = tag.starts_with("latest-lts") || tag.starts_with("lts");
    let lts_lines = image_rules
        .and_then(|r| r.releases.as_ref())
        .map(|releases| {
            releases
                .lines
                .iter()
                .filter(|l| l.kind == crate::rules::data::LineKind::Lts)
                .map(|l| l.line.clone())
                .collect::<Vec<_>>()
        });
    let versions: Vec<(TagVersion, &String)> = tags
        .iter()
        .filter(|t| t.as_str() != tag)
        .filter_map(|t| Some((TagVersion::parse(t, &variants)?, t)))
        .filter(|(v, _)| {
            v.is_release()
                && (v.variant == variant
                    || image_rules.is_some_and(|r| r.variant_on(&variant, &v.line()) == v.variant))
        })
        .filter(|(v, _)| {
            line.as_ref().is_none_or(|line| {
                v.components.len() > line.len() && v.components.starts_with(line)
            })
        })
        .filter(|(v, _)| {
            !lts_only
                || lts_lines
                    .as_ref()
                    .is_none_or(|lines| lines.contains(&v.line()))
        })
        .collect();
    // `v2.0` beside `v2.0.5` is a moving alias, never the answer.
    let aliases: Vec<bool> = versions
        .iter()
        .map(|(v, _)| {
            versions.iter().any(|(other, _)| {
                other.components.len() > v.components.len()
                    && other.components.starts_with(&v.components)
            })
        })
        .collect();
    let mut versions: Vec<(TagVersion, &String)> = versions
        .into_iter()
        .zip(aliases)
        .filter(|(_, alias)| !alias)
        .map(|(v, _)| v)
        .collect();
    versions.sort_by(|(a, _), (b, _)| {
        b.semver()
            .cmp(&a.semver())
            .then_with(|| TagVersion::specific_then_newest(a, b))
    });
    versions
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, t)| t.clone())
        .collect()
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// The `rel="next"` target of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_string())
    })
}

/// A `Link` target made absolute against the registry's base URL, otherwise verbatim.
fn absolute(base: &str, target: &str) -> String {
    if target.contains("://") {
        return target.to_string();
    }
    let origin = match base.find("://") {
        Some(scheme_end) => {
            let after = &base[scheme_end + 3..];
            &base[..scheme_end + 3 + after.find('/').unwrap_or(after.len())]
        }
        None => base,
    };
    format!("{origin}{target}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/y?next_page=abc>;rel=next"#).as_deref(),
            Some("https://x/y?next_page=abc")
        );
        assert_eq!(next_link(r#"</a>; rel="prev""#), None);
        assert_eq!(
            absolute("http://127.0.0.1:5000", "/v2/x"),
            "http://127.0.0.1:5000/v2/x"
        );
        assert_eq!(
            absolute("https://mirror.lan/prefix", "/v2/x"),
            "https://mirror.lan/v2/x"
        );
    }

    #[test]
    fn candidates_follow_variant_line_and_rules() {
        let rules = RuleData::builtin();
        let kestra = Image::parse("kestra/kestra").unwrap();
        let all = tags(&[
            "latest",
            "latest-lts",
            "develop",
            "v2.0",
            "v2.0.4",
            "v2.0.5",
            "v2.0.5-slim",
            "v2.0.0-rc7",
            "v1.3",
            "v1.3.29",
            "v1.3.30",
            "v1.3.30-no-plugins",
            "v1.0.60",
            "v1.1.13",
        ]);
        assert_eq!(
            candidates("latest", &all, &kestra, &rules),
            [
                "v2.0.5", "v2.0.4", "v1.3.30", "v1.3.29", "v1.1.13", "v1.0.60"
            ]
        );
        assert_eq!(
            candidates("latest-slim", &all, &kestra, &rules),
            ["v2.0.5-slim"]
        );
        assert_eq!(
            candidates("latest-lts", &all, &kestra, &rules),
            ["v1.3.30", "v1.3.29", "v1.0.60"]
        );
        assert_eq!(
            candidates("latest-lts-no-plugins", &all, &kestra, &rules),
            ["v1.3.30-no-plugins"]
        );
        assert_eq!(
            candidates("v1.3", &all, &kestra, &rules),
            ["v1.3.30", "v1.3.29"]
        );
        let postgres = Image::parse("postgres").unwrap();
        let pg = tags(&[
            "17",
            "17.2",
            "17.2-bookworm",
            "16.6",
            "9.6.24",
            "latest",
            "bookworm",
        ]);
        assert_eq!(
            candidates("latest", &pg, &postgres, &rules),
            ["17.2", "16.6", "9.6.24"]
        );
        assert_eq!(
            candidates("bookworm", &pg, &postgres, &rules),
            ["17.2-bookworm"]
        );
    }
}
