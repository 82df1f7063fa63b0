//! The registry side: what a tag points to now, and which release shares that digest.
//!
//! The registry is the source of truth: the tag list decides which tags exist, the caller's
//! policy only orders the search ([`Candidates`]; tagpin's reads the rule data in `resolve/`,
//! so this module knows nothing of rules), and every tag named exists. Requests are HEADs
//! wherever a digest is all that is needed (Docker Hub does not count them against pull
//! limits); tag lists follow `Link` pages as a URL resolver would. A mirror is asked first and
//! the registry after it, as Docker does. Answers are cached on disk by the endpoint that gave
//! them (see [`cache`]) and shared within a run, so identical references cost one resolution.
//!
//! `client` asks (manifest, tags, index entries), `resolution` searches for the release,
//! `endpoint` says where requests go (mirror, then registry), `transport` speaks HTTP (auth
//! challenges, retries, limits), `auth` finds credentials.

pub mod auth;
pub mod cache;
mod client;
pub(crate) mod endpoint;
mod error;
mod link;
mod resolution;
pub(crate) mod transport;

pub use auth::Credentials;
pub use cache::Cache;
pub use client::{Manifest, Options, Registry};
pub use endpoint::Network;
pub use error::{ErrorKind, RegistryError};
pub use resolution::{Candidates, Resolution};
