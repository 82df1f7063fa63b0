//! Docker tags read as versions: `v1.2.3`, `1.2`, `16`, `1.27.3-alpine`, `v2.0.0-rc7`.
//!
//! semver wants exactly three components and no `v`; image tags have one to four, a prefix,
//! and a variant suffix that is not a pre-release (`-alpine`, `-slim`). This wrapper keeps
//! what tags carry and compares through `semver::Version`.

use std::cmp::Ordering;

/// Suffix words that mark a pre-release rather than a variant.
const PRERELEASE: [&str; 7] = ["rc", "alpha", "beta", "pre", "dev", "snapshot", "preview"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagVersion {
    /// `v` or nothing.
    pub prefix: String,
    /// The numeric components as written (1 to 4 of them).
    pub components: Vec<u64>,
    /// A pre-release marker (`-rc7`): not a release.
    pub pre: Option<String>,
    /// The variant suffix, with its dash (`-alpine`, `-slim`), or empty.
    pub variant: String,
}

impl TagVersion {
    /// Read a tag as a version; `None` when it does not start with one (`latest`, `develop`).
    /// `variants` are suffixes known to the image's rules, tried before generic splitting.
    pub fn parse(tag: &str, variants: &[String]) -> Option<TagVersion> {
        let (prefix, rest) = match tag.strip_prefix('v') {
            Some(rest) => ("v", rest),
            None => ("", tag),
        };
        let numeric_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let numeric = rest[..numeric_end].trim_end_matches('.');
        if numeric.is_empty() || numeric.starts_with('.') || numeric.contains("..") {
            return None;
        }
        let components: Vec<u64> = numeric
            .split('.')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        if components.len() > 4 {
            return None;
        }
        let suffix = &rest[numeric.len()..];
        if !suffix.is_empty() && !suffix.starts_with('-') {
            return None;
        }
        let (pre, variant) = split_suffix(suffix, variants);
        Some(TagVersion {
            prefix: prefix.to_string(),
            components,
            pre,
            variant,
        })
    }

    pub fn is_release(&self) -> bool {
        self.pre.is_none()
    }

    /// The version as semver, missing components as zero, for ordering.
    pub fn semver(&self) -> semver::Version {
        let part = |i: usize| self.components.get(i).copied().unwrap_or(0);
        semver::Version::new(part(0), part(1), part(2))
    }

    /// `major.minor`: the release line.
    pub fn line(&self) -> String {
        self.components
            .iter()
            .take(2)
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// More components first, then newer first: the order candidates are tried in.
    pub fn specific_then_newest(a: &TagVersion, b: &TagVersion) -> Ordering {
        b.components
            .len()
            .cmp(&a.components.len())
            .then_with(|| b.semver().cmp(&a.semver()))
            .then_with(|| b.components.get(3).cmp(&a.components.get(3)))
    }
}

/// `-rc7-slim` → (`rc7`, `-slim`); `-alpine` → (none, `-alpine`).
fn split_suffix(suffix: &str, variants: &[String]) -> (Option<String>, String) {
    if suffix.is_empty() {
        return (None, String::new());
    }
    if let Some(variant) = variants.iter().find(|v| suffix.ends_with(v.as_str())) {
        let rest = &suffix[..suffix.len() - variant.len()];
        let pre = rest
            .strip_prefix('-')
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        return (pre, variant.clone());
    }
    let first = suffix[1..].split('-').next().unwrap_or("");
    let word = first.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if PRERELEASE.contains(&word.to_ascii_lowercase().as_str()) {
        let variant = &suffix[1 + first.len()..];
        (Some(first.to_string()), variant.to_string())
    } else {
        (None, suffix.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tag: &str) -> TagVersion {
        TagVersion::parse(tag, &["-slim".into(), "-no-plugins".into()]).unwrap()
    }

    #[test]
    fn docker_tags_as_versions() {
        let t = v("v1.2.3");
        assert_eq!(
            (t.prefix.as_str(), t.components.clone(), t.variant.as_str()),
            ("v", vec![1, 2, 3], "")
        );
        assert_eq!(v("16").components, [16]);
        assert_eq!(v("1.27.3-alpine").variant, "-alpine");
        assert_eq!(v("v2.0.5-slim").variant, "-slim");
        let rc = v("v2.0.0-rc7");
        assert_eq!(
            (rc.pre.as_deref(), rc.variant.as_str(), rc.is_release()),
            (Some("rc7"), "", false)
        );
        let rc_slim = v("v2.0.0-rc7-slim");
        assert_eq!(
            (rc_slim.pre.as_deref(), rc_slim.variant.as_str()),
            (Some("rc7"), "-slim")
        );
        assert_eq!(v("17.2-bookworm").line(), "17.2");
        for tag in ["latest", "develop", "v", "1..2", "1.2.3.4.5", "1.2x", ".1"] {
            assert_eq!(TagVersion::parse(tag, &[]), None, "{tag}");
        }
    }

    #[test]
    fn most_specific_then_newest() {
        let mut tags: Vec<TagVersion> = ["v2.0", "v1.3.30", "v2.0.5", "v2.0.4", "v2", "v1.3.9"]
            .iter()
            .map(|t| v(t))
            .collect();
        tags.sort_by(TagVersion::specific_then_newest);
        let order: Vec<String> = tags.iter().map(|t| format!("{:?}", t.components)).collect();
        assert_eq!(
            order,
            [
                "[2, 0, 5]",
                "[2, 0, 4]",
                "[1, 3, 30]",
                "[1, 3, 9]",
                "[2, 0]",
                "[2]"
            ]
        );
    }
}
