//! Plugin versions as Kestra writes them: an exact release, a moving keyword (`LATEST`,
//! `RELEASE`, Kestra's `OLDEST`), nothing at all, or a Maven range (`[1.0,)`).

use std::cmp::Ordering;

/// What a plugin version as written asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// No version: whatever is newest.
    Missing,
    /// `LATEST`, `RELEASE` (any case): the newest release.
    Latest(String),
    /// Kestra's `OLDEST`: the oldest version installed on the instance, which no repository
    /// knows.
    Oldest(String),
    /// A Maven range: the newest release inside it.
    Range(Range),
    /// One version.
    Exact(String),
}

impl Requested {
    pub fn parse(version: Option<&str>) -> Requested {
        let Some(text) = version.map(str::trim) else {
            return Requested::Missing;
        };
        if text.eq_ignore_ascii_case("latest") || text.eq_ignore_ascii_case("release") {
            Requested::Latest(text.to_string())
        } else if text.eq_ignore_ascii_case("oldest") {
            Requested::Oldest(text.to_string())
        } else if let Some(range) = Range::parse(text) {
            Requested::Range(range)
        } else {
            Requested::Exact(text.to_string())
        }
    }

    /// Whether the version moves as new releases ship.
    pub fn floats(&self) -> bool {
        !matches!(self, Requested::Exact(_))
    }

    /// Whether `version` is one the request may resolve to.
    pub fn admits(&self, version: &str) -> bool {
        match self {
            Requested::Range(range) => range.contains(version),
            Requested::Exact(exact) => exact == version,
            _ => true,
        }
    }
}

/// A Maven version range with one interval: `[1.0,2.0)`, `[1.0,)`, `(,1.0]`, `[1.2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub text: String,
    lower: Option<(String, bool)>,
    upper: Option<(String, bool)>,
}

impl Range {
    pub fn parse(text: &str) -> Option<Range> {
        let inclusive_low = match text.chars().next()? {
            '[' => true,
            '(' => false,
            _ => return None,
        };
        let inclusive_high = match text.chars().last()? {
            ']' => true,
            ')' => false,
            _ => return None,
        };
        let inner = text.get(1..text.len() - 1)?;
        let bound = |t: &str, inclusive| {
            let t = t.trim();
            (!t.is_empty()).then(|| (t.to_string(), inclusive))
        };
        let (lower, upper) = match inner.split_once(',') {
            Some((low, high)) => (bound(low, inclusive_low), bound(high, inclusive_high)),
            None if inclusive_low && inclusive_high => (bound(inner, true), bound(inner, true)),
            None => return None,
        };
        Some(Range {
            text: text.to_string(),
            lower,
            upper,
        })
    }

    pub fn contains(&self, version: &str) -> bool {
        let above = self.lower.as_ref().is_none_or(|(low, inclusive)| {
            let o = compare(version, low);
            o == Ordering::Greater || (*inclusive && o == Ordering::Equal)
        });
        let below = self.upper.as_ref().is_none_or(|(high, inclusive)| {
            let o = compare(version, high);
            o == Ordering::Less || (*inclusive && o == Ordering::Equal)
        });
        above && below
    }
}

/// A release: numbers only (`1.3.2`), no qualifier (`-SNAPSHOT`, `-rc1`).
pub fn is_release(version: &str) -> bool {
    !version.is_empty()
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Numeric components, a leading `v` dropped (`v1.3.30` → 1, 3, 30); the qualifier after `-`
/// is ignored by the numbers and ranks a version below its release.
fn key(version: &str) -> (Vec<u64>, bool) {
    let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let (numbers, qualifier) = match version.split_once('-') {
        Some((n, _)) => (n, true),
        None => (version, false),
    };
    let mut parts: Vec<u64> = numbers.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    (parts, !qualifier)
}

/// Maven's order, simplified to what plugin and Kestra versions use: numbers, then a
/// qualified version before its release.
pub fn compare(a: &str, b: &str) -> Ordering {
    key(a).cmp(&key(b))
}

/// A Kestra core version from an image tag: `v1.3.30`, `v2.0.5-slim`, `1.3.30`; `None` for a
/// moving tag.
pub fn core_of_tag(tag: &str) -> Option<String> {
    let bare = tag.strip_prefix('v').unwrap_or(tag);
    let numbers = bare.split('-').next()?;
    (is_release(numbers) && numbers.split('.').count() == 3).then(|| numbers.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(Requested::parse(None), Requested::Missing);
        assert!(matches!(
            Requested::parse(Some("latest")),
            Requested::Latest(_)
        ));
        assert!(matches!(
            Requested::parse(Some("RELEASE")),
            Requested::Latest(_)
        ));
        assert!(matches!(
            Requested::parse(Some("OLDEST")),
            Requested::Oldest(_)
        ));
        assert!(!Requested::parse(Some("1.2.3")).floats());
        let range = Requested::parse(Some("[1.0,2.0)"));
        assert!(range.floats());
        assert!(range.admits("1.9.9") && range.admits("1.0") && !range.admits("2.0.0"));
        let open = Requested::parse(Some("[1.2,)"));
        assert!(open.admits("7.0.0") && !open.admits("1.1.9"));
        let upto = Requested::parse(Some("(,1.0]"));
        assert!(upto.admits("1.0.0") && !upto.admits("1.0.1"));
        assert!(Requested::parse(Some("[1.2]")).admits("1.2.0"));
    }

    #[test]
    fn order_and_core_versions() {
        assert_eq!(compare("1.10.0", "1.9.3"), Ordering::Greater);
        assert_eq!(compare("v1.3.30", "1.3.30"), Ordering::Equal);
        assert_eq!(compare("1.0.0-rc1", "1.0.0"), Ordering::Less);
        assert!(is_release("1.2.3") && !is_release("1.2.3-SNAPSHOT") && !is_release(""));
        assert_eq!(core_of_tag("v2.0.5-slim").as_deref(), Some("2.0.5"));
        assert_eq!(core_of_tag("latest"), None);
        assert_eq!(core_of_tag("v1.3"), None);
    }
}
