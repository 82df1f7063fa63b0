//! Plugin versions pinned from Maven: floating ones (TP012) get the newest release the Kestra
//! core of their image supports, exact ones that need a newer core are TP015. Each distinct
//! (plugin, version, core) is asked once per run, concurrently.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::check::{KestraImage, PluginSite, Plugins};
use crate::finding::{Finding, Subject};
use crate::maven::Maven;
use crate::pin::Pin;
use crate::plugin::{Coordinate, PluginPin, Requested, core_of_tag};
use crate::reference::Image;
use crate::registry::{ErrorKind, RegistryError};
use crate::rules::{Rule, floating_plugin, incompatible_plugin};

/// The Kestra core a reference runs: its release tag, or the release its floating tag
/// resolved to (the recommendation of the finding on it).
fn core_of(image: &KestraImage, recommended: &Recommendations<'_>) -> Option<String> {
    let tag = Image::parse(&image.text).ok()?.tag?;
    core_of_tag(&tag).or_else(|| {
        recommended
            .get(&(image.path.as_str(), image.reference))?
            .iter()
            .filter_map(|r| Image::parse(r).ok()?.tag)
            .find_map(|tag| core_of_tag(&tag))
    })
}

/// The recommendations of the findings on each reference (by file and reference), in order:
/// looked up once for every Kestra image, not by a pass over every finding.
type Recommendations<'a> = HashMap<(&'a str, usize), Vec<&'a str>>;

fn recommendations(findings: &[Finding]) -> Recommendations<'_> {
    let mut by_reference: Recommendations<'_> = HashMap::new();
    for f in findings {
        if let (Some(Subject::Reference(reference)), Some(recommendation)) =
            (f.subject, &f.recommendation)
        {
            by_reference
                .entry((f.path.as_str(), reference))
                .or_default()
                .push(recommendation);
        }
    }
    by_reference
}

/// What the Maven phase found: the pins by plugin as written, and why some are missing.
#[derive(Debug, Default)]
pub struct PluginPins {
    pins: BTreeMap<(String, String), Pin>,
    pub notes: Vec<String>,
}

impl PluginPins {
    /// Give a TP012 finding found again (on a fixed text) its pin.
    pub fn attach(&self, finding: &mut Finding) {
        if finding.rule != Rule::FloatingPlugin {
            return;
        }
        if let Some(pin) = self
            .pins
            .get(&(finding.path.clone(), finding.image.clone()))
        {
            finding.pin(pin.clone());
        }
    }
}

/// One question for Maven: what a request for a plugin means on a core (`None`: any).
type Ask = (Coordinate, String, Option<String>);

/// A plugin site with its coordinate and the Kestra core it runs on, if known.
type Sited<'a> = (&'a PluginSite, Coordinate, Option<String>);

/// The core an exact plugin version needs, by (plugin, version).
type Needs = BTreeMap<(Coordinate, String), Result<Option<String>, RegistryError>>;

/// Ask Maven about every plugin site: TP012 findings get their pins, TP015 findings are added.
pub async fn pin_plugins(
    maven: &Maven,
    findings: &mut Vec<Finding>,
    plugins: &Plugins,
) -> PluginPins {
    let sites = with_cores(plugins, findings);
    let needs = minimum_cores(maven, &sites).await;
    let answers = ask(maven, &questions(&sites, &needs)).await;
    let mut notes = Notes::default();
    let mut pins = PluginPins::default();
    for (site, coordinate, core) in &sites {
        match &site.requested {
            Requested::Exact(version) => {
                let Some(core) = core else { continue };
                let need = match needs.get(&(coordinate.clone(), version.clone())) {
                    Some(Ok(Some(need))) => need,
                    Some(Err(error)) => {
                        notes.add(error);
                        continue;
                    }
                    _ => continue,
                };
                let written = format!("{coordinate}:{version}");
                let at = (site.span().clone(), site.target().cloned());
                let Some(mut finding) = incompatible_plugin::check(&written, at, need, core)
                    .and_then(|d| site.finding(d))
                else {
                    continue;
                };
                let newest = (
                    coordinate.clone(),
                    key(&Requested::Missing),
                    Some(core.clone()),
                );
                match answers.get(&newest) {
                    Some(Ok(pin)) => {
                        let floating =
                            floating_plugin::pin(site.place, &site.requested, coordinate, pin);
                        finding.pin(incompatible_plugin::pin(floating, &pin.version, core));
                    }
                    Some(Err(error)) => notes.add(error),
                    None => {}
                }
                findings.push(finding);
            }
            requested => match answers.get(&(coordinate.clone(), key(requested), core.clone())) {
                Some(Ok(pin)) => {
                    let pin = floating_plugin::pin(site.place, requested, coordinate, pin);
                    if let Some(finding) = findings.iter_mut().find(|f| {
                        f.rule == Rule::FloatingPlugin
                            && f.path == site.path()
                            && &f.span == site.span()
                    }) {
                        finding.pin(pin.clone());
                    }
                    pins.pins
                        .insert((site.path().to_string(), site.written.clone()), pin);
                }
                Some(Err(error)) => notes.add(error),
                None => {}
            },
        }
    }
    pins.notes = notes.finish();
    pins
}

/// Each plugin site with the core it runs on: its image's, or, for flows and configuration
/// without an image of their own, the repository's Kestra when it has one version.
fn with_cores<'a>(plugins: &'a Plugins, findings: &[Finding]) -> Vec<Sited<'a>> {
    let recommended = recommendations(findings);
    let cores: BTreeSet<String> = plugins
        .kestra
        .iter()
        .filter_map(|k| core_of(k, &recommended))
        .collect();
    let run_core = (cores.len() == 1).then(|| cores.first().cloned()).flatten();
    plugins
        .sites
        .iter()
        .filter_map(|site| {
            let (coordinate, _) = Coordinate::parse(&site.artifact)?;
            let core = match &site.image {
                Some(image) => core_of(image, &recommended),
                None => run_core.clone(),
            };
            Some((site, coordinate, core))
        })
        .collect()
}

/// The core each exact version on a known core needs (its POM), each asked once.
async fn minimum_cores(maven: &Maven, sites: &[Sited<'_>]) -> Needs {
    let exact: BTreeSet<(Coordinate, String)> = sites
        .iter()
        .filter_map(|(site, coordinate, core)| match (&site.requested, core) {
            (Requested::Exact(version), Some(_)) => Some((coordinate.clone(), version.clone())),
            _ => None,
        })
        .collect();
    let asked = exact.into_iter().map(|(c, v)| async move {
        let need = maven.min_core(&c, &v).await;
        ((c, v), need)
    });
    futures::future::join_all(asked).await.into_iter().collect()
}

/// What to ask Maven: what each floating request means for its core, and the newest version a
/// core supports where an exact version needs a newer one (TP015's fix). `OLDEST` is what the
/// instance has installed: nothing to ask.
fn questions<'a>(sites: &[Sited<'a>], needs: &Needs) -> BTreeMap<Ask, &'a Requested> {
    let mut asks = BTreeMap::new();
    for (site, coordinate, core) in sites {
        match &site.requested {
            Requested::Exact(version) => {
                if let Some(core) = core
                    && let Some(Ok(Some(need))) = needs.get(&(coordinate.clone(), version.clone()))
                    && incompatible_plugin::needs_newer(need, core)
                {
                    let newest = (
                        coordinate.clone(),
                        key(&Requested::Missing),
                        Some(core.clone()),
                    );
                    asks.insert(newest, &Requested::Missing);
                }
            }
            Requested::Oldest(_) => {}
            requested => {
                asks.insert(
                    (coordinate.clone(), key(requested), core.clone()),
                    requested,
                );
            }
        }
    }
    asks
}

/// Every question at once.
async fn ask(
    maven: &Maven,
    asks: &BTreeMap<Ask, &Requested>,
) -> BTreeMap<Ask, Result<PluginPin, RegistryError>> {
    let asked = asks.iter().map(|(ask, requested)| async move {
        let pin = maven.pin(&ask.0, requested, ask.2.as_deref()).await;
        (ask.clone(), pin)
    });
    futures::future::join_all(asked).await.into_iter().collect()
}

/// Why some plugin versions got no answer: distinct problems, and how many had no cached answer
/// offline.
#[derive(Default)]
struct Notes {
    problems: BTreeSet<String>,
    offline: usize,
}

impl Notes {
    fn add(&mut self, error: &RegistryError) {
        if error.kind == ErrorKind::Offline {
            self.offline += 1;
        } else {
            self.problems.insert(error.message.clone());
        }
    }

    fn finish(self) -> Vec<String> {
        let mut notes: Vec<String> = self.problems.into_iter().collect();
        let n = self.offline;
        if n > 0 {
            notes.push(format!(
                "offline: {n} plugin version{} no cached Maven answer; run without --offline to resolve",
                if n == 1 { " has" } else { "s have" }
            ));
        }
        notes
    }
}

/// A request as an ask key: equal keys resolve alike.
fn key(requested: &Requested) -> String {
    match requested {
        Requested::Missing | Requested::Latest(_) => "LATEST".into(),
        Requested::Oldest(_) => "OLDEST".into(),
        Requested::Range(range) => range.text.clone(),
        Requested::Exact(version) => version.clone(),
    }
}
