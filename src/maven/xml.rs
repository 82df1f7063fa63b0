//! The two Maven files tagpin reads: `maven-metadata.xml` (which versions exist) and a POM
//! (which Kestra core a plugin version was built against).

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::Event;

/// `maven-metadata.xml`'s `<versioning>`.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Metadata {
    pub release: Option<String>,
    pub latest: Option<String>,
    pub versions: Vec<String>,
}

/// Every element with text, as (`a/b/c` path, text), in document order, plus where each
/// element named `group` opens, so repeated records (`<dependency>`) can be told apart.
fn leaves(xml: &[u8], group: &str) -> Result<Vec<(String, String, usize)>, String> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut record = 0;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == group {
                    record += 1;
                }
                path.push(name);
            }
            Ok(Event::End(_)) => {
                path.pop();
            }
            Ok(Event::Text(t)) => {
                let text = t.decode().map_err(|e| e.to_string())?;
                let text = quick_xml::escape::unescape(&text).map_err(|e| e.to_string())?;
                out.push((path.join("/"), text.trim().to_string(), record));
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "not valid XML at byte {}: {e}",
                    reader.error_position()
                ));
            }
        }
        buf.clear();
    }
    Ok(out)
}

impl Metadata {
    pub fn parse(xml: &[u8]) -> Result<Metadata, String> {
        let mut metadata = Metadata::default();
        for (path, text, _) in leaves(xml, "")? {
            match path.as_str() {
                "metadata/versioning/release" => metadata.release = Some(text),
                "metadata/versioning/latest" => metadata.latest = Some(text),
                "metadata/versioning/versions/version" => metadata.versions.push(text),
                _ => {}
            }
        }
        Ok(metadata)
    }
}

/// The Kestra core version a plugin's POM was built against: the version of its `io.kestra`
/// `platform` (imported BOM) or `core` dependency, `${property}` references resolved.
///
/// Why the POM: a plugin's build sets the Gradle property `kestraVersion` and depends on
/// `enforcedPlatform("io.kestra:platform:$kestraVersion")` and `io.kestra:core:$kestraVersion`
/// (kestra-io/plugin-template, `build.gradle` and `gradle.properties`). Kestra's release
/// indexer publishes that same property as the plugin version's `minCoreCompatibilityVersion`
/// (kestra-io/actions, `index-plugin-release.sh`: `MIN_CORE=… grep '^kestraVersion:'`), the
/// "Min. Compatible Kestra Version" shown on kestra.io. The JAR's manifest carries only the
/// plugin's own version (`X-Kestra-Version: project.version`, read by Kestra's
/// `PluginArtifact.fromFile`), so JARs are never downloaded.
pub fn kestra_core(pom: &[u8]) -> Result<Option<String>, String> {
    let leaves = leaves(pom, "dependency")?;
    let mut properties = BTreeMap::new();
    for (path, text, _) in &leaves {
        if let Some(name) = path.strip_prefix("project/properties/") {
            properties.insert(name.to_string(), text.clone());
        }
    }
    let mut records: BTreeMap<usize, BTreeMap<&str, &str>> = BTreeMap::new();
    for (path, text, record) in &leaves {
        let in_dependency = path.starts_with("project/dependencies/dependency/")
            || path.starts_with("project/dependencyManagement/dependencies/dependency/");
        if in_dependency && let Some((_, field)) = path.rsplit_once('/') {
            records.entry(*record).or_default().insert(field, text);
        }
    }
    let version_of = |artifact: &str| {
        records.values().find_map(|fields| {
            (fields.get("groupId") == Some(&"io.kestra")
                && fields.get("artifactId") == Some(&artifact))
            .then(|| fields.get("version").map(|v| expand(v, &properties)))
            .flatten()
        })
    };
    // An unknown `${property}` or an empty version says nothing.
    let known = |v: &String| !v.is_empty() && !v.contains("${");
    Ok(version_of("platform")
        .filter(known)
        .or_else(|| version_of("core").filter(known)))
}

/// `${name}` from the POM's properties; unknown ones stay as written.
fn expand(text: &str, properties: &BTreeMap<String, String>) -> String {
    text.strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .and_then(|name| properties.get(name))
        .cloned()
        .unwrap_or_else(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_versions_and_release() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>io.kestra.plugin</groupId>
  <artifactId>plugin-aws</artifactId>
  <versioning>
    <latest>1.3.0-SNAPSHOT</latest>
    <release>1.2.1</release>
    <versions>
      <version>1.1.0</version>
      <version>1.2.1</version>
    </versions>
    <lastUpdated>20261101000000</lastUpdated>
  </versioning>
</metadata>"#;
        let m = Metadata::parse(xml).unwrap();
        assert_eq!(m.release.as_deref(), Some("1.2.1"));
        assert_eq!(m.latest.as_deref(), Some("1.3.0-SNAPSHOT"));
        assert_eq!(m.versions, ["1.1.0", "1.2.1"]);
        assert!(Metadata::parse(b"<metadata><versioning></metadata>").is_err());
    }

    #[test]
    fn core_from_the_platform_import_or_core_dependency() {
        let pom = br#"<project>
  <properties><kestraVersion>1.3.13</kestraVersion></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>org.other</groupId><artifactId>platform</artifactId><version>9</version></dependency>
    <dependency><groupId>io.kestra</groupId><artifactId>platform</artifactId>
      <version>${kestraVersion}</version><type>pom</type><scope>import</scope></dependency>
  </dependencies></dependencyManagement>
</project>"#;
        assert_eq!(kestra_core(pom).unwrap().as_deref(), Some("1.3.13"));
        let core = br#"<project><dependencies><dependency><groupId>io.kestra</groupId>
<artifactId>core</artifactId><version>0.24.2</version><scope>provided</scope></dependency>
</dependencies></project>"#;
        assert_eq!(kestra_core(core).unwrap().as_deref(), Some("0.24.2"));
        assert_eq!(kestra_core(b"<project/>").unwrap(), None);
        let unknown = br#"<project><dependencies><dependency><groupId>io.kestra</groupId>
<artifactId>core</artifactId><version>${kestra.version}</version></dependency></dependencies></project>"#;
        assert_eq!(kestra_core(unknown).unwrap(), None);
    }
}
