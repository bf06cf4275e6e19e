//! Reads a Java archive from memory into a [`Summary`]: for the archive and every archive
//! nested in it (Spring Boot `BOOT-INF/lib/*.jar`, `WEB-INF/lib/*.jar`, plugins in a war),
//! the manifest's identity attributes and every `pom.properties`. Nothing else is kept, so
//! a 100 MB fat jar summarises to a few kilobytes.
//!
//! Archives come from untrusted images, so reading is bounded ([`ArchiveLimits`]): entries
//! per archive, nesting depth, bytes decompressed per descriptor, per nested archive and
//! in total. A limit that is hit stops that part of the walk and is recorded as a problem;
//! what was read so far is kept.

use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

use super::descriptor::{Manifest, PomProperties, parse_manifest, parse_pom_properties};

/// Marks summary bytes, so that a reader can tell them from a whole archive (which the
/// image reader keeps instead when it cannot summarize).
const FORMAT: &str = "portcullis-java-summary/1";

/// Bounds on reading one archive (with everything nested in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Entries looked at per archive; real fat jars have a few thousand.
    pub max_entries: usize,
    /// Archives inside archives: 1 reads `app.war!/WEB-INF/lib/x.jar`, 2 also the jars
    /// inside that jar.
    pub max_depth: usize,
    /// Largest nested archive decompressed into memory.
    pub max_nested_bytes: u64,
    /// Largest manifest or `pom.properties` read.
    pub max_descriptor_bytes: u64,
    /// Bytes decompressed in all, per outermost archive: the bound against zip bombs.
    pub max_total_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_entries: 200_000,
            max_depth: 3,
            max_nested_bytes: 256 << 20,
            max_descriptor_bytes: 1 << 20,
            max_total_bytes: 1 << 30,
        }
    }
}

/// What one file on disk holds, as far as identifying Java packages goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Summary {
    format: String,
    /// The archive itself first, then nested archives in the order of the walk.
    pub archives: Vec<ArchiveRecord>,
    /// What could not be read (a nested archive that is not a zip, a limit hit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One archive: the file itself, or one nested in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ArchiveRecord {
    /// Where it is inside the outermost archive, levels joined by `!/`
    /// (`WEB-INF/lib/a.jar!/lib/b.jar`); empty for the file itself.
    pub inner_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// Every `META-INF/maven/**/pom.properties`, sorted by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poms: Vec<PomProperties>,
}

/// The [`portcullis_image::Summarizer`] for Java archives, with default limits.
pub(crate) fn summarize(_path: &str, content: &[u8]) -> Option<Vec<u8>> {
    serde_json::to_vec(&summarize_with(content, &ArchiveLimits::default())).ok()
}

/// Reads the bytes the tree holds for an archive: a summary, or (when the reader kept the
/// whole file) the archive itself, which is summarised now.
pub(crate) fn load(content: &[u8], limits: &ArchiveLimits) -> Summary {
    if !content.starts_with(b"PK")
        && let Ok(summary) = serde_json::from_slice::<Summary>(content)
        && summary.format == FORMAT
    {
        return summary;
    }
    summarize_with(content, limits)
}

/// Summarises an archive held in memory.
pub(crate) fn summarize_with(content: &[u8], limits: &ArchiveLimits) -> Summary {
    let mut walk = Walk {
        limits,
        budget: limits.max_total_bytes,
        summary: Summary {
            format: FORMAT.to_owned(),
            ..Summary::default()
        },
    };
    walk.archive(content, String::new(), 0);
    walk.summary
}

struct Walk<'a> {
    limits: &'a ArchiveLimits,
    /// Bytes still allowed to be decompressed.
    budget: u64,
    summary: Summary,
}

impl Walk<'_> {
    fn archive(&mut self, content: &[u8], inner_path: String, depth: usize) {
        let label = if inner_path.is_empty() {
            "archive".to_owned()
        } else {
            format!("nested archive `{inner_path}`")
        };
        let mut zip = match zip::ZipArchive::new(Cursor::new(content)) {
            Ok(zip) => zip,
            Err(e) => {
                self.summary
                    .problems
                    .push(format!("{label} is not a readable zip file ({e})"));
                return;
            }
        };
        let mut record = ArchiveRecord {
            inner_path: inner_path.clone(),
            ..ArchiveRecord::default()
        };
        let mut nested = Vec::new();
        let count = zip.len();
        if count > self.limits.max_entries {
            self.summary.problems.push(format!(
                "{label} has {count} entries; only the first {} were read (the limit)",
                self.limits.max_entries
            ));
        }
        for index in 0..count.min(self.limits.max_entries) {
            // Names come from the central directory: looking at them opens nothing.
            let Some(Ok(name)) = zip.name_for_index(index) else {
                continue;
            };
            let kind = entry_kind(&name);
            if kind == EntryKind::Other {
                continue;
            }
            let name = name.into_owned();
            if kind == EntryKind::Archive && depth >= self.limits.max_depth {
                self.summary.problems.push(format!(
                    "{label}: `{name}` is nested deeper than {} archives and was not read",
                    self.limits.max_depth
                ));
                continue;
            }
            let cap = match kind {
                EntryKind::Archive => self.limits.max_nested_bytes,
                _ => self.limits.max_descriptor_bytes,
            };
            let Ok(entry) = zip.by_index(index) else {
                // Encrypted or unsupported entries hold nothing we could identify.
                continue;
            };
            let bytes = match self.read_entry(entry, cap) {
                Ok(bytes) => bytes,
                Err(why) => {
                    self.summary
                        .problems
                        .push(format!("{label}: `{name}` was not read: {why}"));
                    if self.budget == 0 {
                        break;
                    }
                    continue;
                }
            };
            match kind {
                EntryKind::Manifest => record.manifest = Some(parse_manifest(&bytes)),
                EntryKind::PomProperties => {
                    record.poms.extend(parse_pom_properties(&name, &bytes));
                }
                EntryKind::Archive => nested.push((name, bytes)),
                EntryKind::Other => {}
            }
        }
        record.poms.sort();
        self.summary.archives.push(record);
        for (name, bytes) in nested {
            let path = if inner_path.is_empty() {
                name
            } else {
                format!("{inner_path}!/{name}")
            };
            self.archive(&bytes, path, depth + 1);
        }
    }

    /// Decompresses one entry, trusting neither its declared size nor its content.
    fn read_entry(&mut self, entry: impl Read, cap: u64) -> Result<Vec<u8>, String> {
        let allowed = cap.min(self.budget);
        let mut bytes = Vec::new();
        entry
            .take(allowed.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format!("corrupt entry ({e})"))?;
        let read = bytes.len() as u64;
        self.budget = self.budget.saturating_sub(read.min(allowed));
        if read > allowed {
            return Err(if allowed < cap {
                format!(
                    "more than {} bytes decompressed from this archive in all (the limit)",
                    self.limits.max_total_bytes
                )
            } else {
                format!("larger than {cap} bytes decompressed (the limit)")
            });
        }
        Ok(bytes)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Manifest,
    PomProperties,
    Archive,
    Other,
}

fn entry_kind(name: &str) -> EntryKind {
    if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
        EntryKind::Manifest
    } else if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
        EntryKind::PomProperties
    } else if is_archive_name(name) {
        EntryKind::Archive
    } else {
        EntryKind::Other
    }
}

/// Extensions of Java archives: jar, web and enterprise archives, JBoss `.par`, Jenkins
/// plugins (`.jpi`, `.hpi`). Case-insensitive, without allocating: it runs for every file
/// of every layer.
pub(crate) fn is_archive_name(name: &str) -> bool {
    let Some(ext) = name.len().checked_sub(4).and_then(|at| name.get(at..)) else {
        return false;
    };
    let bytes = ext.as_bytes();
    if bytes.first() != Some(&b'.') || name.len() < 5 || name.ends_with("/.jar") {
        return false;
    }
    let ext = &ext[1..];
    ["jar", "war", "ear", "par", "jpi", "hpi"]
        .iter()
        .any(|e| ext.eq_ignore_ascii_case(e))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// Builds a zip in memory from (name, content) pairs.
    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in entries {
            out.start_file(*name, SimpleFileOptions::default()).unwrap();
            out.write_all(content).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    const POM: &[u8] = b"groupId=org.example\nartifactId=inner\nversion=1.0\n";

    #[test]
    fn reads_nested_archives_with_their_paths() {
        let deepest = zip_of(&[(
            "META-INF/maven/g/deep/pom.properties",
            b"groupId=g\nartifactId=deep\nversion=3\n",
        )]);
        let inner = zip_of(&[
            ("META-INF/maven/org.example/inner/pom.properties", POM),
            ("lib/deep-3.jar", &deepest),
        ]);
        let outer = zip_of(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\nImplementation-Title: app\n",
            ),
            ("BOOT-INF/lib/inner-1.0.jar", &inner),
            ("BOOT-INF/classes/App.class", b"\xca\xfe\xba\xbe"),
        ]);
        let summary = summarize_with(&outer, &ArchiveLimits::default());
        assert!(summary.problems.is_empty(), "{:?}", summary.problems);
        let paths: Vec<_> = summary
            .archives
            .iter()
            .map(|a| a.inner_path.as_str())
            .collect();
        assert_eq!(
            paths,
            [
                "",
                "BOOT-INF/lib/inner-1.0.jar",
                "BOOT-INF/lib/inner-1.0.jar!/lib/deep-3.jar"
            ]
        );
        assert_eq!(
            summary.archives[0]
                .manifest
                .as_ref()
                .unwrap()
                .main("Implementation-Title"),
            Some("app")
        );
        assert_eq!(summary.archives[2].poms[0].artifact_id, "deep");
        // The summary round-trips through the bytes the tree stores.
        let stored = summarize("/app.jar", &outer).unwrap();
        assert!(stored.len() < outer.len());
        assert_eq!(load(&stored, &ArchiveLimits::default()), summary);
        assert_eq!(load(&outer, &ArchiveLimits::default()), summary);
    }

    #[test]
    fn limits_stop_bombs_and_depth() {
        let inner = zip_of(&[("META-INF/maven/org.example/inner/pom.properties", POM)]);
        let outer = zip_of(&[("a.jar", &inner), ("META-INF/MANIFEST.MF", &[b'x'; 4096])]);
        let depth0 = ArchiveLimits {
            max_depth: 0,
            ..ArchiveLimits::default()
        };
        let s = summarize_with(&outer, &depth0);
        assert_eq!(s.archives.len(), 1);
        assert!(
            s.problems[0].contains("nested deeper than 0"),
            "{:?}",
            s.problems
        );
        let small = ArchiveLimits {
            max_descriptor_bytes: 100,
            ..ArchiveLimits::default()
        };
        let s = summarize_with(&outer, &small);
        assert!(s.archives[0].manifest.is_none());
        assert!(
            s.problems
                .iter()
                .any(|p| p.contains("larger than 100 bytes")),
            "{:?}",
            s.problems
        );
        let total = ArchiveLimits {
            max_total_bytes: 200,
            ..ArchiveLimits::default()
        };
        let s = summarize_with(&outer, &total);
        assert!(
            s.problems.iter().any(|p| p.contains("in all")),
            "{:?}",
            s.problems
        );
        // A highly compressible 64 MiB entry is cut at the cap, never held whole.
        let bomb = zip_of(&[("x.jar", &vec![0u8; 64 << 20])]);
        assert!(bomb.len() < 1 << 20);
        let s = summarize_with(
            &bomb,
            &ArchiveLimits {
                max_nested_bytes: 1 << 20,
                ..ArchiveLimits::default()
            },
        );
        assert!(
            s.problems[0].contains("larger than 1048576"),
            "{:?}",
            s.problems
        );
        let few = ArchiveLimits {
            max_entries: 1,
            ..ArchiveLimits::default()
        };
        let s = summarize_with(&outer, &few);
        assert!(s.problems[0].contains("has 2 entries"), "{:?}", s.problems);
    }

    #[test]
    fn garbage_is_a_problem_not_a_panic() {
        let s = summarize_with(b"not a zip", &ArchiveLimits::default());
        assert!(s.archives.is_empty());
        assert!(
            s.problems[0].starts_with("archive is not a readable zip file"),
            "{:?}",
            s.problems
        );
        let outer = zip_of(&[("lib/broken.jar", b"PK\x03\x04 truncated")]);
        let s = summarize_with(&outer, &ArchiveLimits::default());
        assert_eq!(s.archives.len(), 1);
        assert!(
            s.problems[0].starts_with("nested archive `lib/broken.jar` is not a readable zip"),
            "{:?}",
            s.problems
        );
    }

    #[test]
    fn archive_names() {
        for yes in [
            "/a/b.jar",
            "x.JAR",
            "/srv/app.war",
            "e.ear",
            "p.par",
            "j.jpi",
            "h.hpi",
        ] {
            assert!(is_archive_name(yes), "{yes}");
        }
        for no in [".jar", "/.jar", "a.jar.sha1", "a.zip", "jar", "", "é.ja"] {
            assert!(!is_archive_name(no), "{no}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = summarize_with(&bytes, &ArchiveLimits::default());
            let mut zipped = b"PK\x03\x04".to_vec();
            zipped.extend(&bytes);
            let _ = summarize_with(&zipped, &ArchiveLimits::default());
        }

        #[test]
        fn never_panics_on_corrupted_zips(flips in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY), 1..8)) {
            let inner = zip_of(&[("META-INF/maven/org.example/inner/pom.properties", POM)]);
            let mut outer = zip_of(&[("META-INF/MANIFEST.MF", b"Implementation-Version: 1\n"), ("lib/inner.jar", &inner)]);
            let len = outer.len();
            for (at, byte) in flips {
                outer[at % len] = byte;
            }
            let _ = summarize_with(&outer, &ArchiveLimits::default());
        }

        #[test]
        fn never_panics_on_a_corrupted_real_jar(flips in proptest::collection::vec((0usize..1 << 20, proptest::num::u8::ANY), 1..16)) {
            let mut jar = include_bytes!("../../tests/fixtures/java-archives/slf4j-api.jar").to_vec();
            let len = jar.len();
            for (at, byte) in flips {
                jar[at % len] = byte;
            }
            let _ = summarize_with(&jar, &ArchiveLimits::default());
        }
    }
}
