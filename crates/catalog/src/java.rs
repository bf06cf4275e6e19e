//! Java archives: `.jar`, `.war`, `.ear`, `.par` and Jenkins `.jpi`/`.hpi` files, and the
//! archives nested in them (Spring Boot `BOOT-INF/lib/`, `WEB-INF/lib/`, any `*.jar`).
//!
//! Flow: while layers stream, [`Java::select`] asks for every archive to be summarised by
//! [`archive::summarize`] (manifest identity attributes and `pom.properties` of the
//! archive and of each nested archive; see [`archive::ArchiveLimits`] for the bounds).
//! [`Java::catalog`] then reads each summary and names each archive with
//! [`identity`]: `groupId:artifactId` and version, from its own `pom.properties`, else
//! its manifest and file name. `pom.properties` of other artifacts inside an archive are
//! dependencies shaded into it, listed with `metadata["shaded_in"]`.
//!
//! Every package's `found_in` is the file on disk; a package from a nested archive has
//! `metadata["path"]` = `/app.jar!/BOOT-INF/lib/inner.jar`.

mod archive;
mod descriptor;
mod identity;

use std::collections::{BTreeMap, BTreeSet};

use packageurl::PackageUrl;
use portcullis_image::{EntryInfo, NodeKind, Selection};
use portcullis_types::{Ecosystem, LayerRef, Package};

use crate::{CatalogError, Cataloger, Context};

pub use archive::ArchiveLimits;
use archive::{ArchiveRecord, Summary};
use descriptor::Manifest;
use identity::Coordinates;

/// Finds Java packages in archives.
#[derive(Debug, Default)]
pub struct Java;

impl Cataloger for Java {
    fn name(&self) -> &'static str {
        "java"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if archive::is_archive_name(entry.path) {
            Selection::Summarize(archive::summarize)
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let limits = ArchiveLimits::default();
        let mut packages = Vec::new();
        for (path, node) in cx.tree.iter() {
            if !matches!(node.kind, NodeKind::File) || !archive::is_archive_name(path) {
                continue;
            }
            let Some(content) = node.content() else {
                continue;
            };
            let summary = archive::load(content, &limits);
            for problem in &summary.problems {
                if summary.archives.is_empty() {
                    cx.warn(format!("skipped `{path}`: {problem}"));
                } else {
                    cx.warn(format!("skipped part of `{path}`: {problem}"));
                }
            }
            packages.extend(packages_of(path, &summary, cx.layer_of(path)));
        }
        Ok(packages)
    }
}

/// The packages one file on disk holds: each archive in it, and what is shaded into each.
fn packages_of(path: &str, summary: &Summary, layer: Option<LayerRef>) -> Vec<Package> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for record in &summary.archives {
        let location = if record.inner_path.is_empty() {
            path.to_owned()
        } else {
            format!("{path}!/{}", record.inner_path)
        };
        let file_name = location.rsplit('/').next().unwrap_or(&location);
        let manifest = record.manifest.as_ref();
        let own_pom = own_pom(record, file_name);
        let own = match own_pom {
            Some(index) => record.poms.get(index).map(|p| Coordinates {
                group_id: p.group_id.clone(),
                artifact_id: p.artifact_id.clone(),
                version: p.version.clone(),
                identified_by: "pom.properties",
            }),
            None => identity::from_manifest_and_name(manifest, file_name),
        };
        let mut push = |coords: &Coordinates, shaded_in: Option<&str>, licenses: Vec<String>| {
            let name = coords.name();
            if !seen.insert((name.clone(), coords.version.clone(), location.clone())) {
                return;
            }
            let mut metadata = BTreeMap::new();
            metadata.insert("identified_by".to_owned(), coords.identified_by.to_owned());
            if location != path {
                metadata.insert("path".to_owned(), location.clone());
            }
            if let Some(shaded_in) = shaded_in {
                metadata.insert("shaded_in".to_owned(), shaded_in.to_owned());
            }
            out.push(Package {
                ecosystem: Ecosystem::Maven,
                purl: purl(&coords.group_id, &coords.artifact_id, &coords.version),
                name,
                version: coords.version.clone(),
                arch: None,
                source_name: None,
                source_version: None,
                licenses,
                layer: layer.clone(),
                found_in: vec![path.to_owned()],
                files: Vec::new(),
                metadata,
            });
        };
        if let Some(own) = &own {
            push(own, None, manifest.map(licenses_of).unwrap_or_default());
        }
        let container = own
            .as_ref()
            .map_or_else(|| location.clone(), Coordinates::name);
        for (index, pom) in record.poms.iter().enumerate() {
            if Some(index) == own_pom {
                continue;
            }
            let coords = Coordinates {
                group_id: pom.group_id.clone(),
                artifact_id: pom.artifact_id.clone(),
                version: pom.version.clone(),
                identified_by: "pom.properties",
            };
            push(&coords, Some(&container), Vec::new());
        }
    }
    out
}

/// Which `pom.properties` of an archive is the archive's own: one that matches its file
/// name or manifest (preferring one whose version the file name also carries), else the
/// only one.
fn own_pom(record: &ArchiveRecord, file_name: &str) -> Option<usize> {
    let manifest = record.manifest.as_ref();
    let (_, file_version) = identity::split_file_name(file_name);
    let matching: Vec<usize> = record
        .poms
        .iter()
        .enumerate()
        .filter(|(_, p)| identity::pom_is_own(&p.group_id, &p.artifact_id, manifest, file_name))
        .map(|(i, _)| i)
        .collect();
    let by_version = matching.iter().copied().find(|&i| {
        record
            .poms
            .get(i)
            .is_some_and(|p| Some(&p.version) == file_version.as_ref())
    });
    by_version
        .or_else(|| matching.first().copied())
        .or_else(|| (record.poms.len() == 1).then_some(0))
}

/// Licenses from `Bundle-License`: SPDX identifiers as written, and the URLs of common
/// licenses mapped to their identifiers. Free text is left out rather than guessed at.
fn licenses_of(manifest: &Manifest) -> Vec<String> {
    const BY_URL: &[(&str, &str)] = &[
        ("apache.org/licenses/license-2.0", "Apache-2.0"),
        ("opensource.org/licenses/mit", "MIT"),
        ("eclipse.org/legal/epl-2.0", "EPL-2.0"),
        ("eclipse.org/legal/epl-v10", "EPL-1.0"),
        ("gnu.org/licenses/old-licenses/lgpl-2.1", "LGPL-2.1-only"),
        ("opensource.org/licenses/bsd-3-clause", "BSD-3-Clause"),
    ];
    let Some(header) = manifest.main("Bundle-License") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in header.split(',') {
        let value = entry
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        let lower = value.to_ascii_lowercase();
        let license = if lower.contains("://") {
            BY_URL
                .iter()
                .find(|(url, _)| lower.contains(url))
                .map(|(_, id)| (*id).to_owned())
        } else if !value.is_empty()
            && !value.contains(char::is_whitespace)
            && value != "<<EXTERNAL>>"
        {
            Some(value.to_owned())
        } else {
            None
        };
        if let Some(license) = license
            && !out.contains(&license)
        {
            out.push(license);
        }
    }
    out
}

/// `pkg:maven/<groupId>/<artifactId>@<version>`.
fn purl(group_id: &str, artifact_id: &str, version: &str) -> String {
    let Ok(mut purl) = PackageUrl::new("maven", artifact_id) else {
        return format!("pkg:maven/{group_id}/{artifact_id}@{version}");
    };
    if !group_id.is_empty() {
        let _ = purl.with_namespace(group_id);
    }
    let _ = purl.with_version(version);
    purl.to_string()
}

#[cfg(test)]
mod tests {
    use super::archive::tests::zip_of;
    use super::*;

    fn rows(path: &str, archive: &[u8]) -> Vec<(String, String, BTreeMap<String, String>)> {
        let summary = archive::summarize_with(archive, &ArchiveLimits::default());
        packages_of(path, &summary, None)
            .into_iter()
            .map(|p| (p.name, p.version, p.metadata))
            .collect()
    }

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn shaded_poms_are_listed_with_their_container() {
        let jar = zip_of(&[
            (
                "META-INF/maven/com.example/app/pom.properties",
                b"groupId=com.example\nartifactId=app\nversion=1.0\n",
            ),
            (
                "META-INF/maven/com.google.guava/guava/pom.properties",
                b"groupId=com.google.guava\nartifactId=guava\nversion=31.1-jre\n",
            ),
        ]);
        assert_eq!(
            rows("/srv/app-1.0.jar", &jar),
            vec![
                (
                    "com.example:app".into(),
                    "1.0".into(),
                    meta(&[("identified_by", "pom.properties")])
                ),
                (
                    "com.google.guava:guava".into(),
                    "31.1-jre".into(),
                    meta(&[
                        ("identified_by", "pom.properties"),
                        ("shaded_in", "com.example:app")
                    ])
                ),
            ]
        );
        // Renamed on disk with a manifest that names nothing: the archive itself is
        // unknown, and what it holds is still listed.
        let rows = rows("/srv/service.jar", &jar);
        assert_eq!(rows.len(), 2);
        assert!(
            rows.iter()
                .all(|r| r.2.get("shaded_in").map(String::as_str) == Some("/srv/service.jar"))
        );
    }

    #[test]
    fn nested_archives_carry_their_path() {
        let inner = zip_of(&[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Vendor-Id: org.yaml\nImplementation-Version: 1.33\n",
        )]);
        let outer = zip_of(&[
            (
                "META-INF/maven/com.example/demo/pom.properties",
                b"groupId=com.example\nartifactId=demo\nversion=0.0.1-SNAPSHOT\n",
            ),
            ("BOOT-INF/lib/snakeyaml-1.33.jar", &inner),
        ]);
        assert_eq!(
            rows("/app/app.jar", &outer),
            vec![
                (
                    "com.example:demo".into(),
                    "0.0.1-SNAPSHOT".into(),
                    meta(&[("identified_by", "pom.properties")])
                ),
                (
                    "org.yaml:snakeyaml".into(),
                    "1.33".into(),
                    meta(&[
                        ("identified_by", "manifest"),
                        ("path", "/app/app.jar!/BOOT-INF/lib/snakeyaml-1.33.jar")
                    ])
                ),
            ]
        );
    }

    #[test]
    fn bundle_licenses() {
        let m = descriptor::parse_manifest(b"Bundle-License: https://www.apache.org/licenses/LICENSE-2.0.txt, MIT;link=x, \"Some text\"\n");
        assert_eq!(licenses_of(&m), ["Apache-2.0", "MIT"]);
        assert!(licenses_of(&Manifest::default()).is_empty());
    }

    #[test]
    fn purls() {
        assert_eq!(
            purl("log4j", "log4j", "1.2.17"),
            "pkg:maven/log4j/log4j@1.2.17"
        );
        assert_eq!(
            purl("org.apache.commons", "commons-text", "1.10.0"),
            "pkg:maven/org.apache.commons/commons-text@1.10.0"
        );
    }

    #[test]
    fn selects_archives_only() {
        let select = |path| {
            !Java
                .select(&EntryInfo {
                    path,
                    size: 1,
                    mode: 0o644,
                })
                .is_skip()
        };
        assert!(select("/opt/app/lib/log4j-1.2-1.2.17.jar"));
        assert!(select("/usr/local/tomcat/webapps/ROOT.war"));
        assert!(!select("/opt/app/lib/readme.txt"));
        assert!(!select("/opt/app/lib/x.jar.sha1"));
    }
}
