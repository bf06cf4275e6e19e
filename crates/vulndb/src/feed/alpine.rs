//! Alpine secdb: `{distroversion, reponame, packages: [{pkg: {name,
//! secfixes: {version: [line…]}}}]}`, as JSON (today's
//! `secdb.alpinelinux.org/v3.20/main.json`) or YAML (the older repository).
//!
//! Each secfixes line names the vulnerabilities fixed in `version` of the
//! origin package `name`: `CVE-2017-8904 XSA-214`, `XSA-207`,
//! `CVE-2018-16301 (was fixed in libpcap)`. The first CVE on the line is the
//! advisory's ID and the other IDs its aliases; a line without a CVE takes
//! its first ID-like token (`XSA-207`, `wnpa-sec-2017-18`). Version `0`
//! means the package was never affected. One [`Advisory`] is made per ID and
//! file; the same ID from several branches is merged later by (source, ID).

use std::collections::{BTreeMap, BTreeSet};

use portcullis_types::{Advisory, Affected, AffectedStatus, OsvEvent, OsvRange, OsvRangeKind};
use portcullis_version::ApkVersion;
use serde::de::{self, IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};

use super::Parsed;

const UNIT: &str = "secfixes lines";

#[derive(Deserialize)]
struct SecDb {
    #[serde(default)]
    distroversion: Option<Scalar>,
    #[serde(default)]
    packages: Option<Vec<PackageEntry>>,
}

/// A package entry, or what stood in its place when it does not have the
/// expected shape (reported and skipped; the other packages are kept).
#[derive(Deserialize)]
#[serde(untagged)]
enum PackageEntry {
    Valid { pkg: Package },
    Malformed(IgnoredAny),
}

#[derive(Deserialize)]
struct Package {
    name: String,
    #[serde(default)]
    secfixes: Option<BTreeMap<Scalar, Option<Vec<Option<Scalar>>>>>,
}

/// A scalar read as text: YAML types `0:` or `1.2:` as numbers, but they are
/// versions and IDs here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Parses today's JSON secdb.
pub(crate) fn parse_json(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    match serde_json::from_slice::<SecDb>(bytes) {
        Ok(db) => ingest(source, path, db, out),
        Err(error) => out.warn(source, path, None, format!("not an Alpine secdb: {error}")),
    }
}

/// Parses the older YAML secdb.
pub(crate) fn parse_yaml(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    match serde_saphyr::from_slice::<SecDb>(bytes) {
        Ok(db) => ingest(source, path, db, out),
        Err(error) => out.warn(source, path, None, format!("not an Alpine secdb: {error}")),
    }
}

/// The advisory being assembled for one ID.
#[derive(Default)]
struct Entry {
    aliases: BTreeSet<String>,
    affected: Vec<Affected>,
}

fn ingest(source: &str, path: &str, db: SecDb, out: &mut Parsed) {
    let branch = db
        .distroversion
        .map(|Scalar(v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .or_else(|| branch_from_path(path));
    let Some(branch) = branch else {
        out.warn(source, path, None, "no distroversion");
        return;
    };
    let ecosystem = format!("Alpine:{branch}");
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for (index, package) in db.packages.unwrap_or_default().into_iter().enumerate() {
        let package = match package {
            PackageEntry::Valid { pkg } => pkg,
            PackageEntry::Malformed(_) => {
                let record = format!("package #{}", index + 1);
                out.warn(source, path, Some(&record), "malformed package entry");
                continue;
            }
        };
        for (Scalar(version), lines) in package.secfixes.unwrap_or_default() {
            // A line repeated under one version is one fix (the data has 19).
            let lines: BTreeSet<String> = lines
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .map(|Scalar(line)| line.trim().to_owned())
                .filter(|line| !line.is_empty())
                .collect();
            let version = version.trim();
            let record = format!("{} {version}", package.name);
            for _ in &lines {
                out.count(UNIT);
            }
            if version != "0"
                && let Err(error) = version.parse::<ApkVersion>()
            {
                let listed: Vec<&str> = lines.iter().map(String::as_str).collect();
                out.warn(
                    source,
                    path,
                    Some(&record),
                    format!("{error}; skipped {}", listed.join(", ")),
                );
                continue;
            }
            for line in &lines {
                let Some(parsed) = parse_line(line) else {
                    out.warn(
                        source,
                        path,
                        Some(&record),
                        format!("no vulnerability ID in `{line}`"),
                    );
                    continue;
                };
                let entry = entries.entry(parsed.id.clone()).or_default();
                entry.aliases.extend(parsed.aliases);
                let duplicate = entry
                    .affected
                    .iter()
                    .any(|a| a.package == package.name && fixed_version(a) == Some(version));
                if !duplicate {
                    let mut affected = Affected::new(&ecosystem, &package.name);
                    affected.note = parsed.note;
                    if version == "0" {
                        affected.status = AffectedStatus::NotAffected;
                    } else {
                        affected.ranges.push(OsvRange {
                            kind: OsvRangeKind::Ecosystem,
                            events: vec![
                                OsvEvent::Introduced("0".to_owned()),
                                OsvEvent::Fixed(version.to_owned()),
                            ],
                        });
                    }
                    entry.affected.push(affected);
                }
            }
        }
    }
    for (id, mut entry) in entries {
        entry.aliases.remove(&id);
        let mut advisory = Advisory::new(id, source);
        advisory.aliases = entry.aliases.into_iter().collect();
        advisory.affected = entry.affected;
        out.advisories.push(advisory);
    }
}

/// The fixed version of an entry made here; `0` for a not-affected one.
fn fixed_version(affected: &Affected) -> Option<&str> {
    if affected.status == AffectedStatus::NotAffected {
        return Some("0");
    }
    affected.fixed_versions().first().copied()
}

/// `v3.11` from `…/v3.11/main.yaml`, for a file without `distroversion`.
fn branch_from_path(path: &str) -> Option<String> {
    path.split(['/', '\\'])
        .rev()
        .find(|part| {
            part.strip_prefix('v')
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(str::to_owned)
}

struct Line {
    id: String,
    aliases: Vec<String>,
    note: Option<String>,
}

/// Splits a secfixes line into its ID, other IDs and remaining text.
fn parse_line(line: &str) -> Option<Line> {
    let mut ids = Vec::new();
    let mut cve = None;
    let mut rest = Vec::new();
    for token in line.split_whitespace() {
        if let Some(id) = cve_prefix(token) {
            if cve.is_none() {
                cve = Some(id.to_owned());
            } else {
                ids.push(id.to_owned());
            }
        } else if looks_like_id(token) {
            ids.push(token.to_owned());
        } else {
            rest.push(token);
        }
    }
    let id = match cve {
        Some(cve) => cve,
        None if !ids.is_empty() => ids.remove(0),
        None => return None,
    };
    let note = (!rest.is_empty()).then(|| rest.join(" "));
    Some(Line {
        id,
        aliases: ids,
        note,
    })
}

/// The CVE ID a token starts with: `CVE-2017-17434` from `CVE-2017-17434-1`
/// or `CVE-2017-8073.patch` (the suffix names a patch, not another CVE).
fn cve_prefix(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("CVE-")?;
    let year_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let after_year = rest.get(year_len..)?.strip_prefix('-')?;
    let number_len = after_year.bytes().take_while(u8::is_ascii_digit).count();
    if year_len != 4 || number_len < 4 {
        return None;
    }
    token.get(..4 + year_len + 1 + number_len)
}

/// `XSA-207`, `TALOS-2017-0499`, `GHSA-xxxx-…`, `wnpa-sec-2017-18`,
/// `ZBX-11023`: letters first, then `-` separated parts, one with a digit.
fn looks_like_id(token: &str) -> bool {
    let mut parts = token.split('-');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    !first.is_empty()
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && !rest.is_empty()
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && token.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"---
distroversion: v3.9
reponame: main
archs:
  - x86_64
urlprefix: https://alpine-mirror.invalid/alpine
apkurl: "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk"
packages:
  - pkg:
      name: xen
      secfixes:
        4.7.1-r5:
          - XSA-207
          - CVE-2017-8904 XSA-214
        4.11.2-r0:
          - CVE-????-?????  XSA-284
        4.10-1-r1:
          - CVE-2018-1000
  - pkg:
      name: tcpdump
      secfixes:
        4.9.3-r0:
          - CVE-2018-16301 (was fixed in libpcap)
          - CVE-2017-8904
          - CVE-2017-8904
          - CVE 2018-16859
        0:
          - CVE-2017-17434-1
          - CVE-2017-17434-2
  - pkg:
      secfixes: 3
  - pkg:
      name: quassel
      secfixes:
        0.12.5.-r0:
          - CVE-2018-1000178
          - CVE-2018-1000179
"#;

    #[test]
    fn yaml_lines_become_advisories() {
        let mut out = Parsed::default();
        parse_yaml("alpine", "v3.9/main.yaml", YAML.as_bytes(), &mut out);
        // 3 xen + 4 distinct tcpdump + 2 under `0` + 2 quassel.
        assert_eq!(out.records.get(UNIT), Some(&11));
        let ids: Vec<&str> = out.advisories.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "CVE-2017-17434",
                "CVE-2017-8904",
                "CVE-2018-16301",
                "XSA-207",
                "XSA-284"
            ]
        );
        let cve = &out.advisories[1];
        assert_eq!(cve.source, "alpine");
        assert_eq!(cve.aliases, ["XSA-214"]);
        assert_eq!(cve.affected.len(), 2);
        assert_eq!(cve.affected[0].ecosystem, "Alpine:v3.9");
        assert_eq!(cve.affected[0].package, "xen");
        assert_eq!(cve.affected[0].fixed_versions(), ["4.7.1-r5"]);
        assert_eq!(cve.affected[1].package, "tcpdump");
        assert_eq!(cve.affected[1].fixed_versions(), ["4.9.3-r0"]);
        assert_eq!(
            cve.affected[0].ranges[0].events[0],
            OsvEvent::Introduced("0".to_owned())
        );

        let never = &out.advisories[0];
        assert_eq!(never.affected.len(), 1);
        assert_eq!(never.affected[0].status, AffectedStatus::NotAffected);
        assert!(never.affected[0].ranges.is_empty());

        assert_eq!(
            out.advisories[2].affected[0].note.as_deref(),
            Some("(was fixed in libpcap)")
        );
        assert!(out.advisories[4].aliases.is_empty());
        assert!(out.advisories.iter().all(|a| a.id != "CVE-2018-1000178"));

        const APK: &str =
            "not a valid apk version (digits{.digits}[letter]{_suffix[N]}[~hash][-rN])";
        let reasons: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            reasons,
            [
                format!(
                    "alpine: v3.9/main.yaml: xen 4.10-1-r1: invalid apk version `4.10-1-r1`: \
                     {APK}; skipped CVE-2018-1000"
                ),
                "alpine: v3.9/main.yaml: tcpdump 4.9.3-r0: no vulnerability ID in `CVE 2018-16859`"
                    .to_owned(),
                "alpine: v3.9/main.yaml: package #3: malformed package entry".to_owned(),
                format!(
                    "alpine: v3.9/main.yaml: quassel 0.12.5.-r0: invalid apk version `0.12.5.-r0`: \
                     {APK}; skipped CVE-2018-1000178, CVE-2018-1000179"
                ),
            ]
        );
    }

    #[test]
    fn json_secdb_is_read_the_same_way() {
        let json = r#"{"apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
            "archs": ["x86_64"], "reponame": "main", "urlprefix": "https://alpine-mirror.invalid/alpine",
            "distroversion": "v3.20",
            "packages": [
              {"pkg": {"name": "openssl", "secfixes": {
                 "3.3.2-r0": ["CVE-2024-6119"],
                 "0": ["CVE-2024-2511 GHSA-jfh8-c2jp-5v3q"]}}},
              {"pkg": {"name": "busybox", "secfixes": {}}},
              {"pkg": {"name": "musl"}}
            ]}"#;
        let mut out = Parsed::default();
        parse_json("alpine", "v3.20/main.json", json.as_bytes(), &mut out);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.records.get(UNIT), Some(&2));
        assert_eq!(out.advisories.len(), 2);
        assert_eq!(out.advisories[0].id, "CVE-2024-2511");
        assert_eq!(out.advisories[0].aliases, ["GHSA-jfh8-c2jp-5v3q"]);
        assert_eq!(
            out.advisories[0].affected[0].status,
            AffectedStatus::NotAffected
        );
        assert_eq!(out.advisories[1].affected[0].ecosystem, "Alpine:v3.20");
        assert_eq!(out.advisories[1].affected[0].fixed_versions(), ["3.3.2-r0"]);
    }

    #[test]
    fn line_tokens() {
        let line = parse_line("CVE-2017-14450 TALOS-2017-0499").unwrap();
        assert_eq!(
            (line.id.as_str(), line.aliases.as_slice()),
            ("CVE-2017-14450", &["TALOS-2017-0499".to_owned()][..])
        );
        assert_eq!(
            parse_line("wnpa-sec-2017-18").unwrap().id,
            "wnpa-sec-2017-18"
        );
        assert_eq!(
            parse_line("CVE-2017-8073.patch").unwrap().id,
            "CVE-2017-8073"
        );
        assert_eq!(
            parse_line("XSA-1 CVE-2019-1 CVE-2019-12345").unwrap().id,
            "CVE-2019-12345"
        );
        assert!(parse_line("CVE_2019-2426").is_none());
        assert!(parse_line("(note only)").is_none());
        assert_eq!(cve_prefix("CVE-2019-1234x"), Some("CVE-2019-1234"));
        assert_eq!(cve_prefix("CVE-19-1234"), None);
    }

    #[test]
    fn malformed_files_are_one_warning() {
        let mut out = Parsed::default();
        parse_yaml("alpine", "x.yaml", b"- [", &mut out);
        parse_json("alpine", "x.json", b"{\"packages\": 3}", &mut out);
        parse_json("alpine", "x.json", b"{\"packages\": []}", &mut out);
        assert_eq!(out.warnings.len(), 3);
        assert!(out.warnings[2].reason.contains("no distroversion"));
    }
}
