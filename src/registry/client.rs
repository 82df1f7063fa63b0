//! The registry client: the distribution API's answers tagpin needs (a manifest by HEAD, the
//! tag list page by page, an index's entries), each asked of a mirror first and the registry
//! after it, and cached by the endpoint that gave it.

use std::collections::HashMap;
use std::sync::Arc;

use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciImageIndex,
};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OnceCell};

use super::endpoint::Endpoint;
use super::link::next_page;
use super::resolution::Resolution;
use super::transport::{self, Transport, header};
use super::{Cache, Credentials, ErrorKind, Network, RegistryError};
use crate::reference::Image;

/// Every manifest type, so that the distribution server (which answers 404, not 406, when the
/// stored type is missing from `Accept`) finds indexes, single manifests and old schema 1
/// manifests alike (the list containers/image `manifest.DefaultRequestedManifestMIMETypes`
/// sends).
const MANIFEST_TYPES: [&str; 6] = [
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
];
const MAX_TAG_PAGES: usize = 1000;
const MAX_TAGS: usize = 200_000;
const PAGE_SIZE: usize = 1000;

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

/// The registry client for a run; its fields are shared with `cache.rs` (the lookups) and
/// `resolution.rs` (the search for a release).
pub struct Registry {
    pub(super) transport: Transport,
    pub(super) options: Options,
    tags: Mutex<HashMap<String, SharedTags>>,
    notes: std::sync::Mutex<Vec<String>>,
    /// Resolutions made in this run, reused however the disk cache is set.
    pub(super) resolved: std::sync::Mutex<HashMap<String, Resolution>>,
}

impl Registry {
    /// A client for a run; `Err` when a mirror URL is not a URL (the message does not repeat
    /// it: it may hold a password).
    pub fn new(options: Options, credentials: Credentials) -> Result<Registry, RegistryError> {
        if let Some(registry) = options
            .network
            .mirrors
            .iter()
            .find(|(_, url)| Endpoint::from_url(url).is_none())
            .map(|(registry, _)| registry)
        {
            return Err(RegistryError::other(format!(
                "the mirror URL for {registry} is not a valid http:// or https:// URL"
            )));
        }
        Ok(Registry {
            transport: Transport::new(options.network.clone(), credentials),
            options,
            tags: Mutex::new(HashMap::new()),
            notes: std::sync::Mutex::new(Vec::new()),
            resolved: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// No network in this run: the cache only.
    pub fn is_offline(&self) -> bool {
        self.options.offline
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.transport.requests()
    }

    /// Notes for the user (a discarded cache file, a mirror that failed, a broken auth file),
    /// each once.
    pub fn take_notes(&self) -> Vec<String> {
        let mut notes = self.transport.take_notes();
        notes.append(&mut self.notes.lock().unwrap_or_else(|e| e.into_inner()));
        let mut seen = std::collections::HashSet::new();
        notes.retain(|n| seen.insert(n.clone()));
        notes
    }

    pub(super) fn note(&self, note: String) {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        if !notes.contains(&note) {
            notes.push(note);
        }
    }

    /// Ask `image`'s endpoints in turn, as Docker does with mirrors: any error or 404 from a
    /// mirror falls back to the registry itself. When the registry cannot be reached either,
    /// the mirror's answer stands (an air-gapped mirror's 404 is still an answer). `rest`
    /// follows `/v2/<repository>`.
    async fn ask(
        &self,
        method: Method,
        image: &Image,
        rest: &str,
        accept: &[&str],
    ) -> Result<(transport::Answer, Endpoint), RegistryError> {
        let mut endpoints = self.options.network.endpoints(&image.registry);
        let own = endpoints.pop().expect("a registry has its own endpoint");
        let mut from_mirror = None;
        if let Some(mirror) = endpoints.pop() {
            let answer = self
                .send_to(&mirror, method.clone(), image, rest, accept)
                .await;
            let failed = match &answer {
                Ok(answer) if answer.status.is_success() => None,
                Ok(answer) if answer.status == StatusCode::NOT_FOUND => None,
                Ok(answer) => Some(format!("answered {}", answer.status)),
                Err(error) => Some(error.message.clone()),
            };
            if answer.as_ref().is_ok_and(|a| a.status.is_success()) {
                return answer.map(|answer| (answer, mirror));
            }
            if let Some(failed) = failed {
                self.note(format!(
                    "mirror {} failed ({failed}); asked {} instead",
                    mirror.host, image.registry
                ));
            }
            tracing::debug!(
                "{method} {rest}: mirror {} did not answer; asking {}",
                mirror.host,
                own.host
            );
            from_mirror = Some((answer, mirror));
        }
        let answer = self.send_to(&own, method, image, rest, accept).await;
        match (answer, from_mirror) {
            (Err(error), Some((mirrored, mirror))) if error.kind == ErrorKind::Unreachable => {
                match mirrored {
                    Ok(answer) => Ok((answer, mirror)),
                    Err(mirror_error) => Err(RegistryError {
                        message: format!(
                            "{}; {} could not be reached either",
                            mirror_error.message, own.host
                        ),
                        ..mirror_error
                    }),
                }
            }
            (answer, _) => answer.map(|answer| (answer, own)),
        }
    }

    async fn send_to(
        &self,
        endpoint: &Endpoint,
        method: Method,
        image: &Image,
        rest: &str,
        accept: &[&str],
    ) -> Result<transport::Answer, RegistryError> {
        let url = endpoint.url(&image.repository, rest);
        let repository = endpoint.repository(&image.repository);
        self.transport
            .send(method, endpoint, &repository, &url, accept)
            .await
    }

    /// What `reference` (a tag or a digest) of `image`'s repository points to, by HEAD; `None`
    /// when the registry does not know it.
    pub async fn manifest(
        &self,
        image: &Image,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        Ok(self.manifest_at(image, reference).await?.0)
    }

    /// [`Registry::manifest`] and the cache label of the endpoint that answered.
    pub(super) async fn manifest_at(
        &self,
        image: &Image,
        reference: &str,
    ) -> Result<(Option<Manifest>, Endpoint), RegistryError> {
        let rest = format!(":{reference}");
        if let Some(found) = self.lookup("manifest", image, &rest, || {
            format!("{}:{reference}", image.short_name())
        })? {
            return Ok(found);
        }
        let path = format!("/manifests/{reference}");
        let (head, endpoint) = self
            .ask(Method::HEAD, image, &path, &MANIFEST_TYPES)
            .await?;
        let found = match head.status.as_u16() {
            404 => None,
            200 => {
                let media_type = header(&head.headers, "content-type").unwrap_or_default();
                let digest = match header(&head.headers, "docker-content-digest") {
                    Some(digest) => digest,
                    None => self.digest_by_get(image, &endpoint, &path).await?,
                };
                Some(Manifest { digest, media_type })
            }
            status => {
                return Err(RegistryError::other(format!(
                    "{} answered {status} for {}:{reference}",
                    endpoint.host,
                    image.short_name()
                )));
            }
        };
        self.store(&endpoint, "manifest", image, &rest, &found);
        Ok((found, endpoint))
    }

    /// The digest of a manifest whose HEAD had no `Docker-Content-Digest`: the body's sha256,
    /// checked against the header when the GET has one.
    async fn digest_by_get(
        &self,
        image: &Image,
        endpoint: &Endpoint,
        path: &str,
    ) -> Result<String, RegistryError> {
        let url = endpoint.url(&image.repository, path);
        let repository = endpoint.repository(&image.repository);
        let get = self
            .transport
            .send(Method::GET, endpoint, &repository, &url, &MANIFEST_TYPES)
            .await?;
        if !get.status.is_success() {
            return Err(RegistryError::other(format!(
                "{} answered {} for {url}",
                endpoint.host, get.status
            )));
        }
        let computed = format!("sha256:{:x}", Sha256::digest(&get.body));
        match header(&get.headers, "docker-content-digest") {
            Some(claimed) if claimed != computed => Err(RegistryError::other(format!(
                "{} sent a manifest whose digest {computed} is not the {claimed} it claims",
                endpoint.host
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
        let rest = format!("@{digest}");
        if let Some((found, _)) = self.lookup("index", image, &rest, || {
            format!("{}@{digest}", image.short_name())
        })? {
            return Ok(found);
        }
        let (answer, endpoint) = self
            .ask(
                Method::GET,
                image,
                &format!("/manifests/{digest}"),
                &MANIFEST_TYPES[..2],
            )
            .await?;
        if !answer.status.is_success() {
            return Err(RegistryError::other(format!(
                "{} answered {} for {}@{digest}",
                endpoint.host,
                answer.status,
                image.short_name()
            )));
        }
        let computed = format!("sha256:{:x}", Sha256::digest(&answer.body));
        if computed != digest {
            return Err(RegistryError::other(format!(
                "{} sent an index whose digest is {computed}, not {digest}",
                endpoint.host
            )));
        }
        let index: OciImageIndex = serde_json::from_slice(&answer.body).map_err(|e| {
            RegistryError::other(format!("{} sent an unreadable index: {e}", endpoint.host))
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
        self.store(&endpoint, "index", image, &rest, &entries);
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

    /// The tag list, page by page: `Link` targets resolved against the request URL as a URL
    /// resolver does (relative, absolute, Quay's absolute `next_page`); for Artifactory, whose
    /// `next` link drops the virtual repository's prefix (RTFACT-18971), only its `last` is
    /// taken, as Renovate's docker datasource does.
    async fn fetch_tags(&self, image: &Image) -> Result<Vec<String>, RegistryError> {
        let first = format!("/tags/list?n={PAGE_SIZE}");
        if let Some((tags, _)) = self.lookup("tags", image, "", || {
            format!("the tags of {}", image.short_name())
        })? {
            return Ok(tags);
        }
        let (mut page, endpoint) = self
            .ask(Method::GET, image, &first, &["application/json"])
            .await?;
        let repository = endpoint.repository(&image.repository);
        let mut url = endpoint.url(&image.repository, &first);
        let mut tags = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_TAG_PAGES {
            tags.extend(read_tag_page(&page, &endpoint, image)?);
            if tags.len() > MAX_TAGS {
                return Err(RegistryError::other(format!(
                    "{} has more than {MAX_TAGS} tags; stopped listing",
                    image.short_name()
                )));
            }
            let Some(next) = next_page(&url, &page.headers) else {
                self.store(&endpoint, "tags", image, "", &tags);
                return Ok(tags);
            };
            url = next;
            if !seen.insert(url.clone()) {
                return Err(RegistryError::other(format!(
                    "{}: the tag list pages loop back to {url}",
                    endpoint.host
                )));
            }
            page = self
                .transport
                .send(
                    Method::GET,
                    &endpoint,
                    &repository,
                    &url,
                    &["application/json"],
                )
                .await?;
        }
        Err(RegistryError::other(format!(
            "{}: more than {MAX_TAG_PAGES} pages of tags; stopped",
            endpoint.host
        )))
    }
}

/// The tags one page of the tag list names.
fn read_tag_page(
    page: &transport::Answer,
    endpoint: &Endpoint,
    image: &Image,
) -> Result<Vec<String>, RegistryError> {
    if !page.status.is_success() {
        let kind = match page.status {
            StatusCode::NOT_FOUND => ErrorKind::NotFound,
            _ => ErrorKind::Other,
        };
        return Err(RegistryError {
            kind,
            message: format!(
                "{} answered {} for the tag list of {}",
                endpoint.host,
                page.status,
                image.short_name()
            ),
        });
    }
    #[derive(Deserialize)]
    struct TagList {
        tags: Option<Vec<String>>,
    }
    let list: TagList = serde_json::from_slice(&page.body).map_err(|e| {
        RegistryError::other(format!(
            "{} sent an unreadable tag list: {e}",
            endpoint.host
        ))
    })?;
    let mut tags = list.tags.unwrap_or_default();
    tags.retain(|tag| crate::reference::is_valid_tag(tag));
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_list_keeps_only_tags_the_grammar_allows() {
        let body = r#"{"tags": ["v1.0.0", "v9.9.9\u001b[2J", "../../etc", "-x", "latest", ""]}"#;
        let page = transport::Answer {
            status: StatusCode::OK,
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        };
        let endpoint = Endpoint::from_url("https://registry.example").unwrap();
        let image = Image::parse("app").unwrap();
        let tags = read_tag_page(&page, &endpoint, &image).unwrap();
        assert_eq!(tags, ["v1.0.0", "latest"]);
    }
}
