//! Who an archive is: Maven coordinates from, in order of trust, its own `pom.properties`,
//! its manifest, and its file name.
//!
//! - The *own* `pom.properties` is the one whose artifactId matches the file name or the
//!   manifest (or the only one). Any other `pom.properties` in the same archive describes
//!   a dependency shaded into it, reported on its own with `shaded_in`.
//! - Without one, the version comes from the manifest (`Implementation-Version`,
//!   `Bundle-Version`, …), then the file name; the artifactId from the file name, then the
//!   manifest; the groupId from `Implementation-Vendor-Id` (maven-archiver writes the
//!   groupId there), a short table of artifacts whose group cannot be guessed (as Syft
//!   keeps one), `Bundle-SymbolicName`, other reverse-domain attributes, and finally the
//!   artifactId itself, as Syft's purls do (and as old Maven artifacts such as
//!   `commons-io:commons-io` are named).

use super::descriptor::Manifest;

/// Maven coordinates and how they were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coordinates {
    pub group_id: String,
    pub artifact_id: String,
    pub version: String,
    /// `pom.properties`, `manifest` or `file name`: which source gave the version.
    pub identified_by: &'static str,
}

impl Coordinates {
    /// `groupId:artifactId`, the name Maven users know a package by.
    pub fn name(&self) -> String {
        format!("{}:{}", self.group_id, self.artifact_id)
    }
}

/// Name and version as a jar's file name gives them: `log4j-1.2-1.2.17.jar` → `log4j`,
/// `1.2-1.2.17`; `spring-core-5.3.4.RELEASE.jar` → `spring-core`, `5.3.4.RELEASE`.
///
/// Dash-separated parts belong to the name until one looks like a version: it starts with
/// a digit, or is `build` followed by a digit, or `r`/`rc` followed by digits (Syft's
/// rule). Without a dash-separated version, a trailing `_1.2` or `.1.2` is tried.
pub(crate) fn split_file_name(file_name: &str) -> (String, Option<String>) {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    // Names start with a letter; anything else is not worth guessing at.
    if !stem.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return (stem.to_owned(), None);
    }
    let mut name_end = None;
    let mut offset = 0;
    for (index, part) in stem.split('-').enumerate() {
        if index > 0 && looks_like_version(part) {
            name_end = Some(offset);
            break;
        }
        offset += part.len() + 1;
    }
    if let Some(end) = name_end
        && let (Some(name), Some(version)) = (stem.get(..end - 1), stem.get(end..))
    {
        return (name.to_owned(), Some(version.to_owned()));
    }
    // `name_1.2` or `name.1.2`: the first separator followed by a digit.
    let bytes = stem.as_bytes();
    for (at, window) in bytes.windows(2).enumerate() {
        if let [b'_' | b'.', digit] = window
            && digit.is_ascii_digit()
            && at > 0
            && let (Some(name), Some(version)) = (stem.get(..at), stem.get(at + 1..))
        {
            return (name.to_owned(), Some(version.to_owned()));
        }
    }
    (stem.to_owned(), None)
}

fn looks_like_version(part: &str) -> bool {
    let lower = part.to_ascii_lowercase();
    let digits_after = |prefix: &str| {
        lower
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    if part.starts_with(|c: char| c.is_ascii_digit()) || digits_after("build") {
        return true;
    }
    // `r4`, `rc5`, but not `rc5abc` (Syft's `rc?\d+` with no letters straight after).
    ["rc", "r"].iter().any(|prefix| {
        lower.strip_prefix(prefix).is_some_and(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && !rest[digits..].starts_with(|c: char| c.is_ascii_alphabetic())
        })
    })
}

/// Artifacts whose groupId is neither in their manifest nor derivable from it: the old
/// ones published before reverse-domain groups became the rule, and Spring's (which Syft
/// lists too). Sorted by artifactId.
const KNOWN_GROUPS: &[(&str, &str)] = &[
    ("antlr", "antlr"),
    ("aopalliance", "aopalliance"),
    ("commons-beanutils", "commons-beanutils"),
    ("commons-cli", "commons-cli"),
    ("commons-codec", "commons-codec"),
    ("commons-collections", "commons-collections"),
    ("commons-dbcp", "commons-dbcp"),
    ("commons-digester", "commons-digester"),
    ("commons-fileupload", "commons-fileupload"),
    ("commons-httpclient", "commons-httpclient"),
    ("commons-io", "commons-io"),
    ("commons-lang", "commons-lang"),
    ("commons-logging", "commons-logging"),
    ("commons-net", "commons-net"),
    ("commons-pool", "commons-pool"),
    ("commons-validator", "commons-validator"),
    ("dom4j", "dom4j"),
    ("javax.servlet-api", "javax.servlet"),
    ("joda-time", "joda-time"),
    ("jstl", "javax.servlet"),
    ("junit", "junit"),
    ("log4j", "log4j"),
    ("servlet-api", "javax.servlet"),
    ("spring-aop", "org.springframework"),
    ("spring-beans", "org.springframework"),
    ("spring-boot", "org.springframework.boot"),
    ("spring-context", "org.springframework"),
    ("spring-core", "org.springframework"),
    ("spring-expression", "org.springframework"),
    ("spring-jdbc", "org.springframework"),
    ("spring-security-core", "org.springframework.security"),
    ("spring-web", "org.springframework"),
    ("spring-webflux", "org.springframework"),
    ("spring-webmvc", "org.springframework"),
    ("xercesImpl", "xerces"),
    ("xml-apis", "xml-apis"),
];

fn known_group(artifact_id: &str) -> Option<&'static str> {
    KNOWN_GROUPS
        .binary_search_by(|(a, _)| (*a).cmp(artifact_id))
        .ok()
        .and_then(|i| KNOWN_GROUPS.get(i))
        .map(|(_, g)| *g)
}

/// Top-level domains that make an attribute value look like a groupId (Syft's list plus
/// a few common ones).
fn is_reverse_domain(value: &str) -> bool {
    [
        "com.", "org.", "net.", "io.", "be.", "de.", "jakarta.", "javax.",
    ]
    .iter()
    .any(|p| value.starts_with(p))
        && !value.contains(char::is_whitespace)
}

/// An OSGi header value without its directives: `org.foo;singleton:=true` → `org.foo`.
fn without_directives(value: &str) -> &str {
    value.split(';').next().unwrap_or("").trim()
}

/// The coordinates of an archive without an own `pom.properties`; `None` when neither a
/// name nor a version can be found.
pub(crate) fn from_manifest_and_name(
    manifest: Option<&Manifest>,
    file_name: &str,
) -> Option<Coordinates> {
    let empty = Manifest::default();
    let m = manifest.unwrap_or(&empty);
    let (file_artifact, file_version) = split_file_name(file_name);
    let manifest_version = m
        .main("Implementation-Version")
        .or_else(|| m.main("Bundle-Version"))
        .or_else(|| m.main("Plugin-Version"))
        .or_else(|| m.in_sections("Implementation-Version"));
    let (version, identified_by) = match (manifest_version, file_version) {
        (Some(v), _) => (v.to_owned(), "manifest"),
        (None, Some(v)) => (v, "file name"),
        (None, None) => (m.main("Specification-Version")?.to_owned(), "manifest"),
    };
    let artifact_id = if file_artifact.is_empty() {
        [
            "Implementation-Title",
            "Short-Name",
            "Extension-Name",
            "Bundle-Name",
        ]
        .iter()
        .filter_map(|a| m.main(a))
        .find(|v| !v.contains(char::is_whitespace))?
        .to_owned()
    } else {
        file_artifact
    };
    let group_id = group_from_manifest(m, &artifact_id).unwrap_or_else(|| artifact_id.clone());
    Some(Coordinates {
        group_id,
        artifact_id,
        version,
        identified_by,
    })
}

fn group_from_manifest(m: &Manifest, artifact_id: &str) -> Option<String> {
    if let Some(group) = m
        .main("Implementation-Vendor-Id")
        .or_else(|| m.main("Group-Id"))
        .filter(|g| !g.contains(char::is_whitespace))
    {
        return Some(group.to_owned());
    }
    if let Some(group) = known_group(artifact_id) {
        return Some(group.to_owned());
    }
    if let Some(symbolic) = m.main("Bundle-SymbolicName").map(without_directives) {
        // `com.fasterxml.jackson.core.jackson-databind` names the group then the artifact.
        if let Some(group) = symbolic
            .strip_suffix(artifact_id)
            .and_then(|g| g.strip_suffix('.'))
            && !group.is_empty()
        {
            return Some(group.to_owned());
        }
        if is_reverse_domain(symbolic) {
            return Some(symbolic.to_owned());
        }
    }
    [
        "Extension-Name",
        "Specification-Vendor",
        "Implementation-Vendor",
        "Automatic-Module-Name",
    ]
    .iter()
    .filter_map(|a| m.main(a).or_else(|| m.in_sections(a)))
    .map(without_directives)
    .find(|v| is_reverse_domain(v))
    .map(str::to_owned)
}

/// Whether a `pom.properties` describes the archive it is in rather than something shaded
/// into it: its artifactId is the file name's, or the manifest's title or symbolic name.
pub(crate) fn pom_is_own(
    group_id: &str,
    artifact_id: &str,
    manifest: Option<&Manifest>,
    file_name: &str,
) -> bool {
    let (file_artifact, _) = split_file_name(file_name);
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    if file_artifact == artifact_id
        || stem == artifact_id
        || stem
            .strip_prefix(artifact_id)
            .is_some_and(|rest| rest.starts_with('-'))
    {
        return true;
    }
    let Some(m) = manifest else {
        return false;
    };
    let symbolic = m.main("Bundle-SymbolicName").map(without_directives);
    m.main("Implementation-Title") == Some(artifact_id)
        || symbolic == Some(artifact_id)
        || symbolic == Some(&format!("{group_id}.{artifact_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::java::descriptor::parse_manifest;

    #[test]
    fn file_names() {
        let cases = [
            ("log4j-1.2-1.2.17.jar", "log4j", Some("1.2-1.2.17")),
            (
                "spring-core-5.3.4.RELEASE.jar",
                "spring-core",
                Some("5.3.4.RELEASE"),
            ),
            ("my-http2-server-5.jar", "my-http2-server", Some("5")),
            ("jetpack-build235-rc5.jar", "jetpack", Some("build235-rc5")),
            ("ironman-r4-2009.jar", "ironman", Some("r4-2009")),
            ("guava-rc5abc.jar", "guava-rc5abc", None),
            ("commons-text.jar", "commons-text", None),
            ("prefix.thing-4.jar", "prefix.thing", Some("4")),
            ("jsr305_3.0.2.jar", "jsr305", Some("3.0.2")),
            ("xmlpull.1.1.3.1.jar", "xmlpull", Some("1.1.3.1")),
            ("app.jar", "app", None),
            ("-1.0.jar", "-1.0", None),
            ("", "", None),
        ];
        for (file, name, version) in cases {
            let (n, v) = split_file_name(file);
            assert_eq!((n.as_str(), v.as_deref()), (name, version), "{file}");
        }
    }

    #[test]
    fn debian_log4j_is_log4j_log4j() {
        // The main section of Debian's log4j 1.2.17 jar, and its per-package section.
        let m = parse_manifest(b"Bundle-Name: Apache Log4j\nBundle-SymbolicName: org.apache.log4j\nBundle-Version: 1.2.17\n\nName: org/apache/log4j\nImplementation-Title: log4j\nImplementation-Vendor: \"Apache Software Foundation\"\nImplementation-Version: 1.2.17\n");
        let c = from_manifest_and_name(Some(&m), "log4j-1.2-1.2.17.jar").unwrap();
        assert_eq!(
            (c.name().as_str(), c.version.as_str()),
            ("log4j:log4j", "1.2.17")
        );
        assert_eq!(c.identified_by, "manifest");
    }

    #[test]
    fn groups_from_manifests() {
        let group = |manifest: &str, file: &str| {
            from_manifest_and_name(Some(&parse_manifest(manifest.as_bytes())), file)
                .map(|c| (c.name(), c.version))
        };
        assert_eq!(
            group(
                "Implementation-Vendor-Id: org.example\nImplementation-Version: 2\n",
                "thing.jar"
            ),
            Some(("org.example:thing".into(), "2".into()))
        );
        assert_eq!(
            group(
                "Bundle-SymbolicName: com.fasterxml.jackson.core.jackson-core;singleton:=true\nBundle-Version: 2.14.0\n",
                "jackson-core.jar"
            ),
            Some((
                "com.fasterxml.jackson.core:jackson-core".into(),
                "2.14.0".into()
            ))
        );
        assert_eq!(
            group(
                "Bundle-SymbolicName: org.eclipse.jetty.server\n",
                "jetty-server-9.4.1.jar"
            ),
            Some((
                "org.eclipse.jetty.server:jetty-server".into(),
                "9.4.1".into()
            ))
        );
        assert_eq!(
            group(
                "Automatic-Module-Name: org.apache.commons.text\n",
                "commons-io-2.8.0.jar"
            ),
            Some(("commons-io:commons-io".into(), "2.8.0".into()))
        );
        // Nothing to go on but the file name: the artifactId doubles as the group.
        assert_eq!(
            group("", "left-pad-1.0.jar"),
            Some(("left-pad:left-pad".into(), "1.0".into()))
        );
        assert_eq!(
            from_manifest_and_name(None, "mystery.jar"),
            None,
            "no version anywhere: not a package"
        );
        assert_eq!(
            group(
                "Implementation-Title: widget\nSpecification-Version: 1.1\n",
                ".jar"
            )
            .map(|c| c.0),
            Some("widget:widget".into())
        );
    }

    #[test]
    fn own_pom_detection() {
        assert!(pom_is_own(
            "org.apache.commons",
            "commons-text",
            None,
            "commons-text.jar"
        ));
        assert!(pom_is_own(
            "g",
            "spring-boot",
            None,
            "spring-boot-3.1.0.jar"
        ));
        assert!(!pom_is_own("com.google.guava", "guava", None, "app.jar"));
        let m = parse_manifest(b"Bundle-SymbolicName: com.example.svc\n");
        assert!(pom_is_own("com.example", "svc", Some(&m), "app.jar"));
    }

    #[test]
    fn known_groups_are_sorted() {
        assert!(KNOWN_GROUPS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
