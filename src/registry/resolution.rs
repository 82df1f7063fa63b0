//! The search for the release that shares a floating reference's digest: HEAD the reference,
//! list the tags, HEAD the candidates the caller's policy gives ([`Candidates`]) a few at a
//! time until one has the digest. The policy lives with its caller (tagpin's reads the rule
//! data in `resolve/`): this module only asks, so the registry's answer decides.

use serde::{Deserialize, Serialize};

use super::endpoint::Endpoint;
use super::{ErrorKind, Registry, RegistryError};
use crate::reference::Image;

/// At most this many releases are asked whether they share one floating tag's digest.
const MAX_ASKED: usize = 256;

/// Which release tags may share a floating reference's digest, and the order to ask them in.
pub trait Candidates {
    /// Whether a release may share `tag`'s digest at all; when not (a build channel such as
    /// `develop`), the tag list is not read.
    fn may_have_release(&self, image: &Image, tag: &str) -> bool;

    /// The tags among `tags` (the registry's list) to ask, best first, for `tag` (`None` for a
    /// digest reference).
    fn order(&self, image: &Image, tag: Option<&str>, tags: &[String]) -> Vec<String>;
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
    /// Why there is no release where one may exist (the tag list was refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Registry {
    /// What a floating tag (or a digest) of `image` points to now, and the release that shares
    /// its digest. The tag list decides which tags exist, `candidates` only orders them: the
    /// release with the digest is found wherever it is (within `MAX_ASKED` HEADs).
    pub async fn resolve(
        &self,
        image: &Image,
        candidates: &impl Candidates,
    ) -> Result<Resolution, RegistryError> {
        let tag = image.tag.as_deref().unwrap_or("latest");
        let (reference, rest) = match &image.digest {
            Some(digest) => (digest.as_str(), format!("@{digest}")),
            None => (tag, format!(":{tag}")),
        };
        let run_key = format!("{}{rest}", image.full_name());
        if let Some(found) = self
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&run_key)
        {
            return Ok(found.clone());
        }
        if let Some((found, _)) = self.cached("resolution", image, &rest) {
            return Ok(found);
        }
        let (resolution, endpoint) = self.search(image, reference, &rest, candidates).await?;
        if resolution.note.is_none() {
            self.store(&endpoint, "resolution", image, &rest, &resolution);
        }
        self.resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(run_key, resolution.clone());
        Ok(resolution)
    }

    /// HEAD `reference` (its `rest` for messages), then its release among the candidates; the
    /// endpoint that answered the HEAD.
    async fn search(
        &self,
        image: &Image,
        reference: &str,
        rest: &str,
        candidates: &impl Candidates,
    ) -> Result<(Resolution, Endpoint), RegistryError> {
        let (current, endpoint) = self.manifest_at(image, reference).await?;
        let current = current.ok_or_else(|| RegistryError {
            kind: ErrorKind::NotFound,
            message: format!(
                "{}{rest} does not exist in {}",
                image.short_name(),
                image.registry
            ),
        })?;
        let mut resolution = Resolution {
            digest: current.digest.clone(),
            release: None,
            also: Vec::new(),
            note: None,
        };
        let floating = image.digest.is_none().then_some(reference);
        if floating.is_none_or(|tag| candidates.may_have_release(image, tag)) {
            match self.tags(image).await {
                Ok(tags) => {
                    let order = candidates.order(image, floating, &tags);
                    let (release, also) = self.first_match(image, &order, &current.digest).await?;
                    resolution.release = release;
                    resolution.also = also;
                }
                Err(error) if error.kind == ErrorKind::Offline => return Err(error),
                // ECR accounts and Harbor robots may pull but not list: the digest is known,
                // the release is not (the pin is still true).
                Err(error) => {
                    resolution.note = Some(format!(
                        "{}: the tag list could not be read ({error}); pinned the digest",
                        image.short_name()
                    ));
                }
            }
        }
        Ok((resolution, endpoint))
    }

    /// HEAD candidates in order, a few at a time (1, 2, 4, then `per_host`), until one shares
    /// `digest`; the first match in candidate order wins. At most [`MAX_ASKED`] are asked.
    async fn first_match(
        &self,
        image: &Image,
        candidates: &[String],
        digest: &str,
    ) -> Result<(Option<String>, Vec<String>), RegistryError> {
        let candidates = &candidates[..candidates.len().min(MAX_ASKED)];
        let mut start = 0;
        let mut batch = 1;
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
            if !matches.is_empty() {
                let best = matches.remove(0);
                return Ok((Some(best), matches));
            }
            start = end;
            batch = (batch * 2).min(self.options.network.per_host.max(1));
        }
        Ok((None, Vec::new()))
    }
}
