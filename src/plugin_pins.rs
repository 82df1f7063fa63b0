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

type Ask = (Coordinate, String, Option<String>);

/// Ask Maven about every plugin site: TP012 findings get their pins, TP015 findings are added.
pub async fn pin_plugins(
    maven: &Maven,
    findings: &mut Vec<Finding>,
    plugins: &Plugins,
) -> PluginPins {
    let recommended = recommendations(findings);
    let cores: BTreeSet<String> = plugins
        .kestra
        .iter()
        .filter_map(|k| core_of(k, &recommended))
        .collect();
    // Flows and configuration without an image of their own run on the repository's Kestra,
    // when it has one version.
    let run_core = (cores.len() == 1).then(|| cores.first().cloned()).flatten();
    let sites: Vec<(&PluginSite, Coordinate, Option<String>)> = plugins
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
        .collect();
    // Floating versions: what the request means, for the core. Exact ones: the core they need,
    // and when the image's is older, the newest version it supports.
    let mut asks: BTreeMap<Ask, &Requested> = BTreeMap::new();
    let mut exact: BTreeSet<(Coordinate, String)> = BTreeSet::new();
    for (site, coordinate, core) in &sites {
        match &site.requested {
            Requested::Exact(version) => {
                if core.is_some() {
                    exact.insert((coordinate.clone(), version.clone()));
                }
            }
            // What the instance has installed decides; nothing to ask.
            Requested::Oldest(_) => {}
            requested => {
                asks.insert(
                    (coordinate.clone(), key(requested), core.clone()),
                    requested,
                );
            }
        }
    }
    let needs: BTreeMap<(Coordinate, String), Result<Option<String>, RegistryError>> =
        futures::future::join_all(
            exact
                .iter()
                .map(|(c, v)| async move { ((c.clone(), v.clone()), maven.min_core(c, v).await) }),
        )
        .await
        .into_iter()
        .collect();
    for (site, coordinate, core) in &sites {
        if let (Requested::Exact(version), Some(core)) = (&site.requested, core)
            && let Some(Ok(Some(need))) = needs.get(&(coordinate.clone(), version.clone()))
            && incompatible_plugin::needs_newer(need, core)
        {
            asks.insert(
                (
                    coordinate.clone(),
                    key(&Requested::Missing),
                    Some(core.clone()),
                ),
                &Requested::Missing,
            );
        }
    }
    let answers: BTreeMap<Ask, Result<PluginPin, RegistryError>> =
        futures::future::join_all(asks.iter().map(|(ask, requested)| async move {
            (
                ask.clone(),
                maven.pin(&ask.0, requested, ask.2.as_deref()).await,
            )
        }))
        .await
        .into_iter()
        .collect();
    let mut pins = PluginPins::default();
    let mut problems = BTreeSet::new();
    let mut offline = 0;
    let mut note = |error: &RegistryError| {
        if error.kind == ErrorKind::Offline {
            offline += 1;
        } else {
            problems.insert(error.message.clone());
        }
    };
    for (site, coordinate, core) in &sites {
        match &site.requested {
            Requested::Exact(version) => {
                let Some(core) = core else { continue };
                let need = match needs.get(&(coordinate.clone(), version.clone())) {
                    Some(Ok(Some(need))) => need,
                    Some(Err(error)) => {
                        note(error);
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
                match answers.get(&(
                    coordinate.clone(),
                    key(&Requested::Missing),
                    Some(core.clone()),
                )) {
                    Some(Ok(pin)) => {
                        let floating =
                            floating_plugin::pin(site.place, &site.requested, coordinate, pin);
                        finding.pin(incompatible_plugin::pin(floating, &pin.version, core));
                    }
                    Some(Err(error)) => note(error),
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
                Some(Err(error)) => note(error),
                None => {}
            },
        }
    }
    pins.notes = problems.into_iter().collect();
    if offline > 0 {
        pins.notes.push(format!(
            "offline: {offline} plugin version{} no cached Maven answer; run without --offline to resolve",
            if offline == 1 { " has" } else { "s have" }
        ));
    }
    pins
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
