//! TP009 platform-digest: a pinned digest that is one platform's manifest inside the index the
//! tag points to. The fix pins the index (safe: every platform keeps its image).

use super::digest_mismatch::{repin, short};
use super::{Diagnosis, DigestFacts, Rule, Tagged};
use crate::pin::Applicability;

pub(crate) fn check(t: &Tagged, digest: &str, facts: &DigestFacts) -> Option<Diagnosis> {
    let (platform, index) = (facts.platform.as_deref()?, facts.current.as_deref()?);
    let message = format!(
        "`{}:{}@{}…` pins the {platform} manifest, not the multi-arch index",
        t.name(),
        t.tag,
        short(digest)
    );
    let help = format!("pin the index `{index}` so that every platform gets its image");
    let mut d = t.diagnosis(Rule::PlatformDigest, message, Some(help));
    d.pin = Some(repin(t, index, Applicability::Safe));
    Some(d)
}
