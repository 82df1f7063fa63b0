//! The on-disk cache of registry answers: one JSON file per key under the user cache folder,
//! written atomically (temporary file, then rename), so concurrent runs never see half a file;
//! a file that does not parse is discarded with a note. Keys name the endpoint that answered,
//! so a mirror's answer is never taken for the registry's; `--offline` reads only this cache
//! and `--refresh` only writes it.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::endpoint::Endpoint;
use super::{ErrorKind, Registry, RegistryError};
use crate::reference::Image;

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    ttl: Duration,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry<T> {
    key: String,
    stored: u64,
    value: T,
}

impl Cache {
    /// `$XDG_CACHE_HOME/tagpin` or the platform's cache folder.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|dir| dir.join("tagpin"))
    }

    pub fn new(dir: PathBuf, ttl: Duration) -> Cache {
        Cache { dir, ttl }
    }

    fn path(&self, key: &str) -> PathBuf {
        let hash = Sha256::digest(key.as_bytes());
        let name: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    /// A fresh value for `key`; `Err` carries a note when a bad file was discarded.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, String> {
        let path = self.path(key);
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(None);
        };
        match serde_json::from_slice::<Entry<T>>(&bytes) {
            Ok(entry) if entry.key == key => {
                let age = now().saturating_sub(entry.stored);
                Ok((age <= self.ttl.as_secs()).then_some(entry.value))
            }
            Ok(_) => Ok(None),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(format!(
                    "discarded a corrupt cache file {} ({e})",
                    path.display()
                ))
            }
        }
    }

    /// Store a value; failures (read-only home, full disk) only cost the next run a request.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) {
        let entry = Entry {
            key: key.to_string(),
            stored: now(),
            value,
        };
        let Ok(bytes) = serde_json::to_vec(&entry) else {
            return;
        };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let Ok(mut file) = tempfile::NamedTempFile::new_in(&self.dir) else {
            return;
        };
        use std::io::Write;
        if file.write_all(&bytes).is_ok() {
            let _ = file.persist(self.path(key));
        }
    }
}

/// The key of one answer: the question (`what`, the repository, `rest` after it) and the
/// endpoint that answered it.
fn key(endpoint: &Endpoint, what: &str, image: &Image, rest: &str) -> String {
    format!(
        "{what} {} {}{rest}",
        endpoint.cache_label(),
        image.full_name()
    )
}

impl Registry {
    /// A cached answer to `what` from the first of `image`'s endpoints that has one, and that
    /// endpoint; never with `--refresh`.
    pub(super) fn cached<T: DeserializeOwned>(
        &self,
        what: &str,
        image: &Image,
        rest: &str,
    ) -> Option<(T, Endpoint)> {
        let cache = self
            .options
            .cache
            .as_ref()
            .filter(|_| !self.options.refresh)?;
        self.options
            .network
            .endpoints(&image.registry)
            .into_iter()
            .find_map(
                |endpoint| match cache.get(&key(&endpoint, what, image, rest)) {
                    Ok(value) => Some((value?, endpoint)),
                    Err(note) => {
                        self.note(note);
                        None
                    }
                },
            )
    }

    /// [`Registry::cached`], or `Err` when offline without one (`describe` names it);
    /// `Ok(None)` means: ask the registry.
    pub(super) fn lookup<T: DeserializeOwned>(
        &self,
        what: &str,
        image: &Image,
        rest: &str,
        describe: impl FnOnce() -> String,
    ) -> Result<Option<(T, Endpoint)>, RegistryError> {
        match self.cached(what, image, rest) {
            Some(found) => Ok(Some(found)),
            None if self.options.offline => Err(RegistryError {
                kind: ErrorKind::Offline,
                message: format!("offline: no cached answer for {}", describe()),
            }),
            None => Ok(None),
        }
    }

    /// Keep `endpoint`'s answer for the next run.
    pub(super) fn store<T: Serialize>(
        &self,
        endpoint: &Endpoint,
        what: &str,
        image: &Image,
        rest: &str,
        value: &T,
    ) {
        if let Some(cache) = &self.options.cache {
            cache.put(&key(endpoint, what, image, rest), value);
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_ttl_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(3600));
        cache.put("k", &vec!["a".to_string()]);
        assert_eq!(
            cache.get::<Vec<String>>("k").unwrap(),
            Some(vec!["a".to_string()])
        );
        assert_eq!(cache.get::<Vec<String>>("other").unwrap(), None);
        std::fs::write(cache.path("k"), b"{not json").unwrap();
        assert!(
            cache
                .get::<Vec<String>>("k")
                .unwrap_err()
                .contains("corrupt")
        );
        assert_eq!(cache.get::<Vec<String>>("k").unwrap(), None);
        let expired = Cache::new(dir.path().to_path_buf(), Duration::ZERO);
        let entry = Entry {
            key: "old".to_string(),
            stored: now() - 10,
            value: 1,
        };
        std::fs::write(expired.path("old"), serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(expired.get::<i32>("old").unwrap(), None);
    }
}
