//! Release lines and their support windows, as an image's rule data describes them (Kestra:
//! LTS lines a year, feature lines until the next line ships, at most two LTS lines), completed
//! by what the registry shows (a newer line, where `latest-lts` points, the newest patches).

use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;

use crate::rules::data::{ImageRules, LineKind, Releases};
use crate::version::TagVersion;

/// One release line as tagpin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineInfo {
    pub line: String,
    pub kind: LineKind,
    /// `None` for a line only the registry knows.
    pub released: Option<Date>,
    /// The last day of support, when it is known.
    pub last_day: Option<Date>,
    /// The newest patch tag (`v1.3.30`).
    pub newest: Option<String>,
    pub requires: Option<String>,
}

/// Where a line stands on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Supported {
        last_day: Option<Date>,
    },
    /// Out of support since the day after `last_day` (or since a newer line shipped, when the
    /// registry shows one the data does not date).
    Ended {
        last_day: Option<Date>,
    },
    /// Older than every line the data knows.
    Unlisted,
}

#[derive(Debug, Clone)]
pub struct ReleaseTable {
    /// Oldest first.
    pub lines: Vec<LineInfo>,
    prefix: String,
    /// How many components a release has (`release-components`); without it, no tag the
    /// registry lists is taken for a release.
    components: Option<usize>,
}

/// A line as numbers, for ordering (`1.10` after `1.9`).
pub fn line_key(line: &str) -> Vec<u64> {
    line.split('.').filter_map(|p| p.parse().ok()).collect()
}

impl ReleaseTable {
    pub fn new(rules: &ImageRules, releases: &Releases) -> ReleaseTable {
        let mut lines: Vec<LineInfo> = releases
            .lines
            .iter()
            .map(|l| LineInfo {
                line: l.line.clone(),
                kind: l.kind,
                released: Some(l.released),
                last_day: None,
                newest: l.newest.clone(),
                requires: l.requires.clone(),
            })
            .collect();
        lines.sort_by_key(|l| line_key(&l.line));
        let mut table = ReleaseTable {
            lines,
            prefix: rules.version_prefix.clone(),
            components: rules.release_components,
        };
        table.compute_ends(releases);
        table
    }

    /// LTS: the planned date (or release plus the policy's months), cut short when the
    /// `max-lts-lines`-th newer LTS line ships; feature: the day before the next line ships.
    fn compute_ends(&mut self, releases: &Releases) {
        let planned = |line: &str| {
            releases
                .lines
                .iter()
                .find(|l| l.line == line)
                .and_then(|l| l.supported_until)
        };
        let policy = &releases.policy;
        let snapshot = self.lines.clone();
        for (i, line) in self.lines.iter_mut().enumerate() {
            let later = &snapshot[i + 1..];
            line.last_day = match line.kind {
                LineKind::Lts => {
                    let end = planned(&line.line).or_else(|| {
                        line.released.and_then(|r| {
                            r.checked_add((policy.lts_support_months as i64).months())
                                .ok()
                        })
                    });
                    let displaced = later
                        .iter()
                        .filter(|l| l.kind == LineKind::Lts)
                        .nth(policy.max_lts_lines.saturating_sub(1) as usize)
                        .and_then(|l| l.released)
                        .and_then(|d| d.yesterday().ok());
                    match (end, displaced) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                }
                LineKind::Feature => later
                    .first()
                    .and_then(|next| next.released)
                    .and_then(|d| d.yesterday().ok()),
            };
        }
    }

    /// Add what the registry shows: newest patches (the registry's, not the data's: a tag is
    /// only ever named if the registry lists it), lines newer than the data (the newest is the
    /// current feature line), and the line `latest-lts` points to (the current LTS line).
    pub fn complete(
        &mut self,
        releases: &Releases,
        tags: &[String],
        latest_lts: Option<&str>,
        variants: &[String],
    ) {
        let versions: Vec<TagVersion> = tags
            .iter()
            .filter_map(|t| TagVersion::parse(t, variants))
            .filter(|v| {
                v.is_release()
                    && v.variant.is_empty()
                    && v.prefix == self.prefix
                    && Some(v.components.len()) == self.components
            })
            .collect();
        for version in &versions {
            let line = version.line();
            if !self.lines.iter().any(|l| l.line == line)
                && self
                    .lines
                    .last()
                    .is_some_and(|last| line_key(&line) > line_key(&last.line))
            {
                self.lines.push(LineInfo {
                    line,
                    kind: LineKind::Feature,
                    released: None,
                    last_day: None,
                    newest: None,
                    requires: None,
                });
            }
        }
        self.lines.sort_by_key(|l| line_key(&l.line));
        if let Some(components) = self.components.filter(|_| !versions.is_empty()) {
            for line in &mut self.lines {
                line.newest = newest_on(tags, variants, &self.prefix, components, &line.line, "");
            }
        }
        if let Some(lts) = latest_lts.and_then(|t| TagVersion::parse(t, variants))
            && let Some(line) = self.lines.iter_mut().find(|l| l.line == lts.line())
        {
            line.kind = LineKind::Lts;
        }
        self.compute_ends(releases);
        // A line the registry shows but the data does not date ended its predecessor already.
        let undated: Vec<usize> = (1..self.lines.len())
            .filter(|&i| self.lines[i].released.is_none())
            .collect();
        for i in undated {
            let previous = &mut self.lines[i - 1];
            if previous.kind == LineKind::Feature && previous.last_day.is_none() {
                previous.last_day = Some(Date::MIN);
            }
        }
    }

    /// The tag to move a `variant` release to on `line`: see [`existing_on`]; without the
    /// registry's tags (offline), what the data says.
    pub fn target(
        &self,
        line: &LineInfo,
        variant: &str,
        rules: &ImageRules,
        tags: Option<&[String]>,
    ) -> Option<String> {
        match tags {
            Some(tags) => existing_on(tags, rules, &line.line, variant),
            None => {
                let newest = line.newest.as_deref()?;
                Some(format!("{newest}{}", rules.variant_on(variant, &line.line)))
            }
        }
    }

    pub fn find(&self, line: &str) -> Option<&LineInfo> {
        self.lines.iter().find(|l| l.line == line)
    }

    pub fn support(&self, line: &str, today: Date) -> Support {
        match self.find(line) {
            Some(info) => match info.last_day {
                Some(last) if today > last => Support::Ended {
                    last_day: (last != Date::MIN).then_some(last),
                },
                last_day => Support::Supported { last_day },
            },
            None if self
                .lines
                .first()
                .is_some_and(|first| line_key(line) < line_key(&first.line)) =>
            {
                Support::Unlisted
            }
            None => Support::Supported { last_day: None },
        }
    }

    /// Lines supported on `today`, oldest first: every supported LTS line and the newest line.
    pub fn supported(&self, today: Date) -> Vec<&LineInfo> {
        let released = |l: &&LineInfo| l.released.is_none_or(|r| r <= today);
        let newest = self.lines.iter().rfind(|l| released(l));
        self.lines
            .iter()
            .filter(released)
            .filter(|l| matches!(self.support(&l.line, today), Support::Supported { .. }))
            .filter(|l| l.kind == LineKind::Lts || Some(*l) == newest)
            .collect()
    }

    /// Where a line out of support should go: the oldest supported line newer than it, or the
    /// line that one requires first (Kestra 2.0 requires 1.3).
    pub fn upgrade(&self, from: &str, today: Date) -> Option<&LineInfo> {
        let target = self
            .supported(today)
            .into_iter()
            .find(|l| line_key(&l.line) > line_key(from))?;
        match target.requires.as_deref().and_then(|r| self.find(r)) {
            Some(step) if line_key(from) < line_key(&step.line) => Some(step),
            _ => Some(target),
        }
    }
}

/// The newest release on `line` for a `variant` release among the registry's `tags`: in the
/// variant, in its new name (`-no-plugins` → `-slim`), or of the plain image, whichever exists.
pub fn existing_on(
    tags: &[String],
    rules: &ImageRules,
    line: &str,
    variant: &str,
) -> Option<String> {
    let renamed = rules.variant_on(variant, line);
    let components = rules.release_components?;
    [variant, renamed.as_str(), ""].into_iter().find_map(|v| {
        newest_on(
            tags,
            &rules.variants,
            &rules.version_prefix,
            components,
            line,
            v,
        )
    })
}

/// The newest release tag on `line` in `variant` among `tags`.
pub fn newest_on(
    tags: &[String],
    variants: &[String],
    prefix: &str,
    components: usize,
    line: &str,
    variant: &str,
) -> Option<String> {
    tags.iter()
        .filter_map(|t| Some((TagVersion::parse(t, variants)?, t)))
        .filter(|(v, _)| {
            v.is_release()
                && v.prefix == prefix
                && v.variant == variant
                && v.components.len() == components
                && v.line() == line
        })
        .max_by(|(a, _), (b, _)| a.semver().cmp(&b.semver()))
        .map(|(_, t)| t.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::data::RuleData;

    fn kestra() -> ReleaseTable {
        let data = RuleData::builtin();
        let rules = data.images.get("kestra").unwrap();
        ReleaseTable::new(rules, rules.releases.as_ref().unwrap())
    }

    fn day(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn supported(table: &ReleaseTable, line: &str, today: &str) -> bool {
        matches!(table.support(line, day(today)), Support::Supported { .. })
    }

    #[test]
    fn every_boundary_of_the_kestra_table() {
        let table = kestra();
        let cases = [
            // 1.0 LTS: planned end 2026-09-09.
            ("1.0", "2026-09-09", true),
            ("1.0", "2026-09-10", false),
            // 1.1 feature: until 1.2 ships on 2026-01-13.
            ("1.1", "2026-01-12", true),
            ("1.1", "2026-01-13", false),
            // 1.2 feature: until 1.3 ships on 2026-03-03.
            ("1.2", "2026-03-02", true),
            ("1.2", "2026-03-03", false),
            // 1.3 LTS: planned end 2027-03-03.
            ("1.3", "2027-03-03", true),
            ("1.3", "2027-03-04", false),
            // 2.0 feature: current, no end known.
            ("2.0", "2030-01-01", true),
            ("0.19", "2026-11-24", false),
        ];
        for (line, today, expected) in cases {
            assert_eq!(
                supported(&table, line, today),
                expected,
                "{line} on {today}"
            );
        }
    }

    #[test]
    fn targets_and_upgrades() {
        let table = kestra();
        let lines = |today: &str| {
            table
                .supported(day(today))
                .iter()
                .map(|l| l.line.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(lines("2026-11-24"), ["1.3", "2.0"]);
        assert_eq!(lines("2026-09-09"), ["1.0", "1.3", "2.0"]);
        assert_eq!(lines("2026-02-01"), ["1.0", "1.2"]);
        assert_eq!(table.upgrade("1.0", day("2026-11-24")).unwrap().line, "1.3");
        assert_eq!(table.upgrade("1.2", day("2026-11-24")).unwrap().line, "1.3");
        assert_eq!(table.upgrade("1.1", day("2026-02-01")).unwrap().line, "1.2");
        assert_eq!(table.upgrade("1.3", day("2027-04-01")).unwrap().line, "2.0");
    }

    #[test]
    fn the_registry_completes_the_table() {
        let data = RuleData::builtin();
        let rules = data.images.get("kestra").unwrap();
        let releases = rules.releases.as_ref().unwrap();
        let mut table = ReleaseTable::new(rules, releases);
        let tags: Vec<String> = [
            "v2.0.5",
            "v2.0.7",
            "v2.1.0",
            "v2.1.1",
            "v2.1.1-slim",
            "v1.3.31",
            "latest-lts",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        table.complete(releases, &tags, Some("v2.1.1"), &rules.variants);
        assert_eq!(table.find("2.0").unwrap().newest.as_deref(), Some("v2.0.7"));
        assert_eq!(
            table.find("1.3").unwrap().newest.as_deref(),
            Some("v1.3.31")
        );
        let new = table.find("2.1").unwrap();
        assert_eq!(
            (new.kind, new.newest.as_deref()),
            (LineKind::Lts, Some("v2.1.1"))
        );
        assert!(
            !supported(&table, "2.0", "2026-11-24"),
            "2.1 superseded 2.0"
        );
        let lines: Vec<&str> = table
            .supported(day("2026-11-24"))
            .iter()
            .map(|l| l.line.as_str())
            .collect();
        assert_eq!(lines, ["1.3", "2.1"]);
    }

    /// Releases have as many components as `release-components` says: two here, so `v3.5` is
    /// a release (of line 3.5) and `v4.0.1` is not; without the key, no tag is a release.
    #[test]
    fn release_components_decide_what_a_release_is() {
        let yaml = "version: 1\nimages:\n  api:\n    repositories: [ghcr.io/acme/api]\n    version-prefix: v\n    release-components: 2\n    releases:\n      policy: {lts-support-months: 12, max-lts-lines: 2}\n      lines:\n        - {line: \"3.4\", kind: feature, released: 2026-01-15}\n";
        let data = RuleData::parse(yaml).unwrap();
        let rules = data.images.get("api").unwrap();
        let releases = rules.releases.as_ref().unwrap();
        let tags: Vec<String> = ["v3.4", "v3.5", "v3.5.1", "v4.0.1"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let mut table = ReleaseTable::new(rules, releases);
        table.complete(releases, &tags, None, &rules.variants);
        assert_eq!(table.find("3.4").unwrap().newest.as_deref(), Some("v3.4"));
        assert_eq!(table.find("3.5").unwrap().newest.as_deref(), Some("v3.5"));
        assert!(table.find("4.0").is_none(), "v4.0.1 is no release");
        assert_eq!(
            existing_on(&tags, rules, "3.5", "").as_deref(),
            Some("v3.5")
        );

        let mut unsaid = rules.clone();
        unsaid.release_components = None;
        let mut table = ReleaseTable::new(&unsaid, releases);
        table.complete(releases, &tags, None, &unsaid.variants);
        assert_eq!(table.find("3.4").unwrap().newest, None);
        assert!(table.find("3.5").is_none());
        assert!(table.find("4.0").is_none());
        assert_eq!(existing_on(&tags, &unsaid, "3.4", ""), None);
    }

    #[test]
    fn the_lts_channels_are_rule_data() {
        let data = RuleData::builtin();
        let releases = data.images["kestra"].releases.as_ref().unwrap();
        assert!(releases.is_lts_channel("latest-lts"));
        assert!(releases.is_lts_channel("latest-lts-slim"));
        assert!(!releases.is_lts_channel("latest"));
    }
}
