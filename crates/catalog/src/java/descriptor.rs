//! The two descriptors a Java archive carries about itself: `META-INF/MANIFEST.MF` (the
//! JAR manifest: a main section and named per-entry sections, with 72-byte lines folded
//! onto continuation lines that start with one space) and Maven's
//! `META-INF/maven/<groupId>/<artifactId>/pom.properties` (a Java properties file).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Manifest attributes that say what an archive is; the rest (`Export-Package` can run to
/// tens of kilobytes) is dropped so that summaries stay small.
pub(crate) const IDENTITY_ATTRIBUTES: &[&str] = &[
    "Automatic-Module-Name",
    "Bundle-License",
    "Bundle-Name",
    "Bundle-SymbolicName",
    "Bundle-Version",
    "Extension-Name",
    "Group-Id",
    "Implementation-Title",
    "Implementation-Vendor",
    "Implementation-Vendor-Id",
    "Implementation-Version",
    "Long-Name",
    "Plugin-Version",
    "Short-Name",
    "Specification-Title",
    "Specification-Vendor",
    "Specification-Version",
];

/// The identity attributes of a manifest, names in their canonical spelling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The main section, which describes the archive itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub main: BTreeMap<String, String>,
    /// Per-entry sections (`Name: org/apache/log4j`) that carry identity attributes; old
    /// jars such as log4j 1.2 put `Implementation-Version` only there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<BTreeMap<String, String>>,
}

impl Manifest {
    /// A usable value of `attribute` in the main section: trimmed, non-empty, and not an
    /// unexpanded placeholder (`%bundleName` localisation keys, `${project.version}`).
    pub fn main(&self, attribute: &str) -> Option<&str> {
        self.main.get(attribute).and_then(|v| usable(v))
    }

    /// The first usable value of `attribute` in a named section.
    pub fn in_sections(&self, attribute: &str) -> Option<&str> {
        self.sections
            .iter()
            .find_map(|s| s.get(attribute).and_then(|v| usable(v)))
    }
}

fn usable(value: &str) -> Option<&str> {
    let value = value.trim().trim_matches('"').trim();
    (!value.is_empty() && !value.starts_with('%') && !value.contains("${")).then_some(value)
}

/// Parses a manifest. Lines end in CRLF, LF or a lone CR; a line starting with a space
/// continues the previous value (joined without the space, as `java.util.jar` does); an
/// empty line ends a section. Lines that are not `Name: value` are ignored rather than
/// failing the archive: the JDK would reject the jar, but its identity may still be clear.
pub(crate) fn parse_manifest(bytes: &[u8]) -> Manifest {
    let text = String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let mut sections: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.split('\n') {
        let Some(current) = sections.last_mut() else {
            continue;
        };
        if line.is_empty() {
            if !current.is_empty() {
                sections.push(Vec::new());
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix(' ') {
            if let Some((_, value)) = current.last_mut() {
                value.push_str(rest);
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            current.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    finish(sections)
}

/// Keeps the identity attributes of each section, under their canonical names.
fn finish(sections: Vec<Vec<(String, String)>>) -> Manifest {
    let mut manifest = Manifest::default();
    for (index, section) in sections.into_iter().enumerate() {
        let mut kept = BTreeMap::new();
        for (name, value) in section {
            if let Some(canonical) = IDENTITY_ATTRIBUTES
                .iter()
                .find(|a| a.eq_ignore_ascii_case(&name))
            {
                kept.insert((*canonical).to_owned(), value.trim().to_owned());
            }
        }
        if index == 0 {
            manifest.main = kept;
        } else if !kept.is_empty() {
            manifest.sections.push(kept);
        }
    }
    manifest
}

/// The coordinates in one `pom.properties`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct PomProperties {
    /// Where it was in its archive (`META-INF/maven/log4j/log4j/pom.properties`).
    pub path: String,
    pub group_id: String,
    pub artifact_id: String,
    pub version: String,
}

/// Parses `pom.properties`; `None` unless it names an artifact and a version. A missing
/// `groupId` is taken from the directory Maven stored the file under.
pub(crate) fn parse_pom_properties(path: &str, bytes: &[u8]) -> Option<PomProperties> {
    let text = String::from_utf8_lossy(bytes);
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(['=', ':']).unwrap_or(line.len());
        let (key, value) = line.split_at(split);
        let value = value.get(1..).unwrap_or("");
        let key = key.trim();
        if matches!(key, "groupId" | "artifactId" | "version") {
            values.insert(key, unescape(value.trim()));
        }
    }
    let mut dirs = path.rsplit('/').skip(1);
    let dir_artifact = dirs.next().unwrap_or("");
    let dir_group = dirs.next().unwrap_or("");
    let group_id = values
        .remove("groupId")
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| dir_group.to_owned());
    let artifact_id = values
        .remove("artifactId")
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| dir_artifact.to_owned());
    let version = values.remove("version").unwrap_or_default();
    if artifact_id.is_empty() || version.is_empty() || usable(&version).is_none() {
        return None;
    }
    Some(PomProperties {
        path: path.to_owned(),
        group_id,
        artifact_id,
        version,
    })
}

/// Undoes the properties-format escapes that appear in coordinates (`\:`, `\=`, `\\`).
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_sections_and_continuations() {
        let text = "Manifest-Version: 1.0\r\nBundle-SymbolicName: com.fasterxml.jackson.core.jack\r\n son-databind\r\nBundle-Version: 2.14.0\r\nExport-Package: a,\r\n b\r\n\r\nName: org/apache/log4j\r\nImplementation-Title: log4j\r\nImplementation-Vendor: \"Apache Software Foundation\"\r\nImplementation-Version: 1.2.17\r\n\r\nName: other\r\nSealed: true\r\n";
        let m = parse_manifest(text.as_bytes());
        assert_eq!(
            m.main("Bundle-SymbolicName"),
            Some("com.fasterxml.jackson.core.jackson-databind")
        );
        assert_eq!(m.main("Bundle-Version"), Some("2.14.0"));
        assert!(!m.main.contains_key("Export-Package"));
        assert_eq!(m.sections.len(), 1);
        assert_eq!(m.in_sections("Implementation-Version"), Some("1.2.17"));
        assert_eq!(
            m.in_sections("Implementation-Vendor"),
            Some("Apache Software Foundation")
        );
        assert_eq!(m.main("Implementation-Version"), None);
    }

    #[test]
    fn manifest_line_endings_and_placeholders() {
        for sep in ["\n", "\r\n", "\r"] {
            let text = [
                "Bundle-Name: %bundle.name",
                "implementation-version: 3.1",
                "",
                "Name: x",
                "Implementation-Title: t",
                "",
            ]
            .join(sep);
            let m = parse_manifest(text.as_bytes());
            assert_eq!(m.main("Bundle-Name"), None, "{sep:?}");
            assert_eq!(m.main("Implementation-Version"), Some("3.1"), "{sep:?}");
            assert_eq!(m.in_sections("Implementation-Title"), Some("t"), "{sep:?}");
        }
        let m = parse_manifest(b"Implementation-Version: ${project.version}\n");
        assert_eq!(m.main("Implementation-Version"), None);
        assert_eq!(parse_manifest(b""), Manifest::default());
        // A continuation before any attribute and lines without a colon are ignored.
        assert_eq!(
            parse_manifest(b" stray\ngarbage\n\xff\xfe"),
            Manifest::default()
        );
    }

    #[test]
    fn pom_properties_forms() {
        let p = parse_pom_properties(
            "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties",
            b"#Generated by org.apache.felix.bundleplugin\n#2026\ngroupId=com.fasterxml.jackson.core\nartifactId=jackson-databind\nversion=2.14.0\n",
        )
        .unwrap();
        assert_eq!(
            (
                p.group_id.as_str(),
                p.artifact_id.as_str(),
                p.version.as_str()
            ),
            ("com.fasterxml.jackson.core", "jackson-databind", "2.14.0")
        );
        // `key: value` form, CRLF, and the group taken from the directory.
        let p = parse_pom_properties(
            "META-INF/maven/org.example/lib/pom.properties",
            b"version : 1.0\r\nartifactId: lib\r\n",
        )
        .unwrap();
        assert_eq!(p.group_id, "org.example");
        assert_eq!(p.version, "1.0");
        assert!(
            parse_pom_properties("META-INF/maven/g/a/pom.properties", b"groupId=g\n").is_none()
        );
        assert!(parse_pom_properties("pom.properties", b"").is_none());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_manifest(&bytes);
            let _ = parse_pom_properties("META-INF/maven/g/a/pom.properties", &bytes);
        }
    }
}
