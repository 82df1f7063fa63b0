//! Image references: the distribution reference grammar, and the normalisation Docker applies.
//!
//! `kestra/kestra`, `docker.io/kestra/kestra` and `index.docker.io/kestra/kestra` name one
//! repository; rules and the registry need the normalised form, while findings need the ranges
//! of the name, tag and digest inside the text as written, so both are kept.

use std::fmt;
use std::ops::Range;

pub const DOCKER_HUB: &str = "docker.io";
const MAX_TAG_LEN: usize = 128;
const MAX_NAME_LEN: usize = 255;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Registry host (with port), normalised: `docker.io` for Docker Hub.
    pub registry: String,
    /// Repository path, normalised: `library/nginx` for `nginx`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// Byte ranges into the parsed text.
    pub name_range: Range<usize>,
    pub tag_range: Option<Range<usize>>,
    pub digest_range: Option<Range<usize>>,
}

/// Why a text is not an image reference; the message says what is wrong, and `range` (into
/// the parsed text) where, when it is the tag or the digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReferenceError {
    pub message: String,
    pub range: Option<Range<usize>>,
}

fn invalid(message: impl Into<String>) -> ReferenceError {
    ReferenceError {
        message: message.into(),
        range: None,
    }
}

impl ReferenceError {
    fn at(mut self, range: Range<usize>) -> Self {
        self.range = Some(range);
        self
    }
}

impl Image {
    pub fn parse(text: &str) -> Result<Image, ReferenceError> {
        if text.is_empty() {
            return Err(invalid("empty image reference"));
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace()) {
            return Err(invalid(format!("contains whitespace ({c:?})")));
        }
        let (rest, digest_range) = match text.find('@') {
            Some(at) => (&text[..at], Some(at + 1..text.len())),
            None => (text, None),
        };
        if let Some(range) = &digest_range {
            check_digest(&text[range.clone()]).map_err(|e| e.at(range.clone()))?;
        }
        // The tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name_end, tag_range) = match rest[last_slash..].find(':') {
            Some(colon) => {
                let colon = last_slash + colon;
                (colon, Some(colon + 1..rest.len()))
            }
            None => (rest.len(), None),
        };
        if let Some(range) = &tag_range {
            check_tag(&text[range.clone()]).map_err(|e| e.at(range.clone()))?;
        }
        let name = &text[..name_end];
        let (registry, path) = split_domain(name)?;
        check_path(path, name)?;
        let (registry, repository) = normalise(registry, path);
        // Docker counts the normalised name (`docker.io/library/…`).
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(invalid(format!(
                "repository name is longer than {MAX_NAME_LEN} characters (as `{registry}/…`)"
            )));
        }
        Ok(Image {
            registry,
            repository,
            tag: tag_range.clone().map(|r| text[r].to_string()),
            digest: digest_range.clone().map(|r| text[r].to_string()),
            name_range: 0..name_end,
            tag_range,
            digest_range,
        })
    }

    /// `registry/repository`, normalised.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Whether `name` is [`Image::full_name`], without making it.
    pub fn is_named(&self, name: &str) -> bool {
        name.strip_prefix(self.registry.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| rest == self.repository)
    }

    /// The name as a user would write it: Docker Hub's host and `library/` left out.
    pub fn short_name(&self) -> String {
        if self.registry == DOCKER_HUB {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            self.full_name()
        }
    }
}

impl fmt::Display for Image {
    /// The normalised reference: `docker.io/library/nginx:1.27`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The first component is a registry host when it has a `.` or `:` or is `localhost`. Docker
/// also takes an upper-case first component for a host, but `Kestra/kestra` is a typo far more
/// often than a registry, so it is reported as a repository that must be lowercase.
fn split_domain(name: &str) -> Result<(Option<&str>, &str), ReferenceError> {
    match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            check_domain(first)?;
            Ok((Some(first), rest))
        }
        _ => Ok((None, name)),
    }
}

fn normalise(registry: Option<&str>, path: &str) -> (String, String) {
    let registry = match registry {
        None | Some("index.docker.io") | Some("registry-1.docker.io") => DOCKER_HUB,
        Some(host) => host,
    };
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    (registry.to_string(), repository)
}

fn check_domain(domain: &str) -> Result<(), ReferenceError> {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid(format!("registry host `{domain}` has an unclosed `[`")))?;
        if v6.is_empty() || !v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(invalid(format!(
                "registry host `{domain}` is not an IPv6 address"
            )));
        }
        (None, after.strip_prefix(':').map(Some).unwrap_or(None))
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        let labels_ok = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !labels_ok {
            return Err(invalid(format!(
                "registry host `{domain}` is not a valid host name"
            )));
        }
    }
    if let Some(port) = port
        && (port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(invalid(format!(
            "registry port in `{domain}` is not a number"
        )));
    }
    Ok(())
}

/// Path components: `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn check_path(path: &str, name: &str) -> Result<(), ReferenceError> {
    if path.is_empty() {
        return Err(invalid("missing repository name"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    if let Some(c) = path.chars().find(|&c| !allowed(c)) {
        return Err(invalid(format!(
            "repository name `{name}` contains `{c}`; only a-z, 0-9, `.`, `_` and `-` are allowed"
        )));
    }
    if path.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid(format!(
            "repository name `{name}` must be lowercase"
        )));
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(invalid(format!(
                "repository name `{name}` has an empty path component"
            )));
        }
        let bytes = component.as_bytes();
        let separator_ok = !is_separator(bytes[0])
            && !is_separator(bytes[bytes.len() - 1])
            && component
                .split(|c: char| c.is_ascii_alphanumeric())
                .all(|sep| {
                    sep.is_empty()
                        || sep == "."
                        || sep == "_"
                        || sep == "__"
                        || sep.chars().all(|c| c == '-')
                });
        if !separator_ok {
            return Err(invalid(format!(
                "repository path component `{component}` must start and end with a letter or digit, \
                 with single `.`, `_` or `__`, or runs of `-` between"
            )));
        }
    }
    Ok(())
}

fn is_separator(b: u8) -> bool {
    matches!(b, b'.' | b'_' | b'-')
}

/// Whether `tag` is a tag the distribution grammar allows: what a registry lists is written
/// into files by `--fix`, so a tag that is not one (a hostile or broken registry) is never used.
pub fn is_valid_tag(tag: &str) -> bool {
    check_tag(tag).is_ok()
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), ReferenceError> {
    if tag.is_empty() {
        return Err(invalid("empty tag after `:`"));
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(invalid(format!(
            "tag is {} characters long; at most {MAX_TAG_LEN} are allowed",
            tag.chars().count()
        )));
    }
    if tag.starts_with(['.', '-']) {
        return Err(invalid(format!(
            "tag `{tag}` must not start with `.` or `-`"
        )));
    }
    if let Some(c) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(invalid(format!(
            "tag `{tag}` contains `{c}`; only letters, digits, `_`, `.` and `-` are allowed"
        )));
    }
    Ok(())
}

/// `algorithm:hex`, with sha256 (64) and sha512 (128) lengths checked.
fn check_digest(digest: &str) -> Result<(), ReferenceError> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(invalid(format!(
            "digest `{digest}` must be `algorithm:hex`"
        )));
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '_', '-']).all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !algorithm_ok {
        return Err(invalid(format!(
            "digest algorithm `{algorithm}` is not valid"
        )));
    }
    let expected = match algorithm {
        "sha256" => Some(64),
        "sha512" => Some(128),
        _ => None,
    };
    let hex_ok = hex.len() >= 32
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if !hex_ok || expected.is_some_and(|n| hex.len() != n) {
        let want = expected.map_or("at least 32".to_string(), |n| n.to_string());
        return Err(invalid(format!(
            "digest `{digest}` must have {want} lowercase hex digits after `{algorithm}:`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:bcb1b3b9f2bd7b8e0d1d3c1f57f8f3c5d9b4e0b4c6e7a1f2e3d4c5b6a7980112";

    fn parsed(text: &str) -> Image {
        Image::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn docker_hub_names_normalise_to_one_repository() {
        for text in [
            "kestra/kestra",
            "docker.io/kestra/kestra",
            "index.docker.io/kestra/kestra",
        ] {
            let image = parsed(text);
            assert_eq!(image.full_name(), "docker.io/kestra/kestra", "{text}");
            assert!(image.is_named("docker.io/kestra/kestra"));
            assert!(!image.is_named("docker.io/kestra/kestra-ee"));
            assert!(!image.is_named("docker.io.kestra/kestra"));
            assert_eq!(image.short_name(), "kestra/kestra");
        }
        assert_eq!(parsed("nginx").full_name(), "docker.io/library/nginx");
        assert_eq!(
            parsed("docker.io/nginx").full_name(),
            "docker.io/library/nginx"
        );
        assert_eq!(parsed("library/nginx:1").short_name(), "nginx");
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let image = parsed("localhost:5000/team/app");
        assert_eq!(image.registry, "localhost:5000");
        assert_eq!(image.repository, "team/app");
        assert_eq!(image.tag, None);
        let image = parsed("registry.kestra.io:443/docker/kestra-ee:v2.0.5");
        assert_eq!(image.registry, "registry.kestra.io:443");
        assert_eq!(image.tag.as_deref(), Some("v2.0.5"));
        assert_eq!(parsed("[::1]:5000/app:1").registry, "[::1]:5000");
    }

    #[test]
    fn ranges_point_into_the_text() {
        let text = format!("ghcr.io/kestra-io/pydata:latest@{SHA}");
        let image = parsed(&text);
        assert_eq!(&text[image.name_range.clone()], "ghcr.io/kestra-io/pydata");
        assert_eq!(&text[image.tag_range.clone().unwrap()], "latest");
        assert_eq!(&text[image.digest_range.clone().unwrap()], SHA);
        assert_eq!(image.to_string(), text);
    }

    #[test]
    fn invalid_references_say_what_is_wrong() {
        let cases = [
            ("", "empty image reference"),
            ("Kestra/kestra:latest", "must be lowercase"),
            ("kestra/kestra:", "empty tag"),
            ("kestra/kestra:lat!est", "contains `!`"),
            ("<YOUR-CONTAINER>", "contains `<`"),
            ("kestra/kestra:-x", "must not start with"),
            ("kestra//kestra", "empty path component"),
            ("kestra/-kestra", "must start and end"),
            ("kestra/kes..tra", "must start and end"),
            ("kestra/kestra@sha256:abc", "64 lowercase hex digits"),
            ("kestra/kestra@latest", "`algorithm:hex`"),
            ("my host/app", "whitespace"),
            ("bad_host.io:x/app", "not a valid host name"),
            ("host.io:12a/app", "not a number"),
        ];
        for (text, expected) in cases {
            let error = Image::parse(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let error = Image::parse("app:x!").unwrap_err();
        assert_eq!(error.range, Some(4..6));
        let long = format!("app:{}", "a".repeat(129));
        assert!(
            Image::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("at most 128")
        );
        assert!(Image::parse(&format!("app:{}", "a".repeat(128))).is_ok());
    }

    #[test]
    fn separators_follow_the_grammar() {
        for text in [
            "a__b/c",
            "a-----b",
            "ab/c_d.e/f-g",
            "quay.io/a/b/c/d:1.0_rc-1",
        ] {
            parsed(text);
        }
        assert!(Image::parse("a___b").is_err());
        assert!(Image::parse("a._b").is_err());
    }

    /// Found by fuzzing: a long one-component name fitted the limit as written but not once
    /// normalised, so its normalised form did not parse back.
    #[test]
    fn the_name_limit_counts_the_normalised_name() {
        assert!(Image::parse(&"a".repeat(250)).is_err());
        let name = "a".repeat(255 - "docker.io/library/".len());
        let image = parsed(&name);
        assert_eq!(
            Image::parse(&image.to_string()).unwrap().full_name(),
            image.full_name()
        );
        let crash = include_str!("../tests/fuzz-regressions/reference-long-name");
        if let Ok(image) = Image::parse(crash) {
            Image::parse(&image.to_string()).expect("a normalised reference parses");
        }
    }

    #[test]
    fn digest_alone_is_a_pin() {
        let image = parsed(&format!("kestra/kestra@{SHA}"));
        assert_eq!(image.tag, None);
        assert_eq!(image.digest.as_deref(), Some(SHA));
    }
}
