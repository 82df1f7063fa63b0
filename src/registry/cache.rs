//! The on-disk cache of registry answers: one JSON file per key under the user cache folder,
//! written atomically (temporary file, then rename), so concurrent runs never see half a file;
//! a file that does not parse is discarded with a note. Keys name the endpoint that answered,
//! so a mirror's answer is never taken for the registry's; `--offline` reads only this cache
//! and `--refresh` only writes it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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
    /// Keys this run found no file for: a large tree asks about the same few thousand times.
    missing: Arc<Mutex<HashSet<String>>>,
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
        Cache {
            dir,
            ttl,
            missing: Arc::default(),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hash = Sha256::digest(key.as_bytes());
        let mut name = String::with_capacity(37);
        for b in &hash[..16] {
            name.push(HEX[usize::from(b >> 4)].into());
            name.push(HEX[usize::from(b & 15)].into());
        }
        name.push_str(".json");
        self.dir.join(name)
    }

    fn missing(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.missing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A fresh value for `key`; `Err` carries a note when a bad file was discarded.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, String> {
        if self.missing().contains(key) {
            return Ok(None);
        }
        let path = self.path(key);
        let Ok(bytes) = std::fs::read(&path) else {
            self.missing().insert(key.to_string());
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
        if file.write_all(&bytes).is_ok() && file.persist(self.path(key)).is_ok() {
            self.missing().remove(key);
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
        // The file name is the first half of the key's SHA-256: caches of earlier runs stay valid.
        assert_eq!(
            cache.path("k"),
            dir.path().join("8254c329a92850f6d539dd376f4816ee.json")
        );
        assert_eq!(
            cache.get::<Vec<String>>("k").unwrap(),
            Some(vec!["a".to_string()])
        );
        assert_eq!(cache.get::<Vec<String>>("other").unwrap(), None);
        // A key found missing is found once stored, by this cache and its clones.
        cache.clone().put("other", &vec!["b".to_string()]);
        assert_eq!(
            cache.get::<Vec<String>>("other").unwrap(),
            Some(vec!["b".to_string()])
        );
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
