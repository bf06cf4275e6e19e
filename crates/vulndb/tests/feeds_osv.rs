//! The OSV, RustSec and RubySec parsers over the real snapshots in
//! `shared/vulndata` (see its README): record counts as published, no
//! panics, the exact warnings where the data is invalid, and known records
//! checked field by field.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use flate2::read::GzDecoder;
use portcullis_types::{
    Advisory, AffectedStatus, NativeRange, OsvEvent, OsvRangeKind, SeverityKind, SeverityLevel,
};
use portcullis_vulndb::{FeedKind, Parsed, detect, parse};

/// What parsing one snapshot gave, with how `detect` recognised its files.
struct Snapshot {
    out: Parsed,
    /// Files by the format `detect` gave them (`None`: not recognised).
    detected: BTreeMap<Option<FeedKind>, u64>,
}

/// Parses every file of `shared/vulndata/NAME.tar.gz` whose path (inside the
/// archive) `wanted` accepts as `kind`, reading the archive as a stream.
fn ingest(name: &str, kind: FeedKind, wanted: impl Fn(&str) -> bool) -> Snapshot {
    let archive = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vulndata")
        .join(format!("{name}.tar.gz"));
    let file = std::fs::File::open(&archive)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", archive.display()));
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    let mut out = Parsed::default();
    let mut detected = BTreeMap::new();
    for entry in tar.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        if !wanted(&path) {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("entry bytes");
        *detected.entry(detect(&path, &bytes)).or_default() += 1;
        parse(kind, name, &path, &bytes, &mut out);
    }
    Snapshot { out, detected }
}

fn find<'a>(out: &'a Parsed, id: &str) -> &'a Advisory {
    let mut found = out.advisories.iter().filter(|a| a.id == id);
    let advisory = found.next().unwrap_or_else(|| panic!("{id} not parsed"));
    assert!(found.next().is_none(), "{id} parsed twice");
    advisory
}

/// The record `id` about `package`: RubySec publishes one file per gem, so
/// an ID can name several records (60 file names recur, 75 times).
fn find_for<'a>(out: &'a Parsed, id: &str, package: &str) -> &'a Advisory {
    out.advisories
        .iter()
        .find(|a| a.id == id && a.affected.iter().any(|e| e.package == package))
        .unwrap_or_else(|| panic!("{id} for {package} not parsed"))
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn events(pairs: &[(&str, &str)]) -> Vec<OsvEvent> {
    pairs
        .iter()
        .map(|(kind, v)| match *kind {
            "introduced" => OsvEvent::Introduced((*v).to_owned()),
            "fixed" => OsvEvent::Fixed((*v).to_owned()),
            "last_affected" => OsvEvent::LastAffected((*v).to_owned()),
            _ => OsvEvent::Limit((*v).to_owned()),
        })
        .collect()
}

#[test]
fn pypa_advisory_database() {
    let Snapshot { out, detected } = ingest("pypa", FeedKind::OsvYaml, |p| {
        p.contains("/vulns/") && p.ends_with(".yaml")
    });
    assert_eq!(out.records, counts(&[("OSV records", 7_080)]));
    assert_eq!(out.advisories.len(), 7_080);
    // In 11 long files the `id:` key comes after thousands of listed
    // versions; `detect` must still recognise them.
    assert_eq!(detected.get(&Some(FeedKind::OsvYaml)), Some(&7_080));
    assert_eq!(detected.get(&None), None);
    // One record states a `modified` date in the future (2027); it is
    // ignored, so the snapshot is the README's 2026-07-23.
    assert_eq!(out.snapshot.as_deref(), Some("2026-07-23T14:34:38Z"));

    // Range events that are not PEP 440 versions (`2.6.0-NA`, dates): the
    // entry is skipped, the rest of the record kept.
    let skipped: Vec<(&str, &str)> = out
        .warnings
        .iter()
        .map(|w| {
            let record = w.record.as_deref().unwrap_or_default();
            let version = w.reason.split('`').nth(1).unwrap_or_default();
            assert!(
                w.reason
                    .ends_with("not a PEP 440 version (packaging raises InvalidVersion)")
                    && w.reason.starts_with("invalid version `"),
                "{w}"
            );
            (record, version)
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("PYSEC-2024-264 apache-airflow", "2.9.0-NA"),
            ("PYSEC-2024-266 apache-airflow", "2.10.0-NA"),
            ("PYSEC-2025-85 apache-airflow", "3.0.3-NA"),
            (
                "PYSEC-2026-1194 assemblyline-service-client",
                "4.6.0.stable11"
            ),
            ("PYSEC-2021-371 binderhub", "0.2.0-n653"),
            ("PYSEC-2025-93 chuanhuchatgpt", "2024-09-25"),
            ("PYSEC-2025-94 chuanhuchatgpt", "2024-09-19"),
            ("PYSEC-2025-95 chuanhuchatgpt", "2024-09-19"),
            ("PYSEC-2025-96 chuanhuchatgpt", "2024-12-04"),
            ("PYSEC-2025-97 chuanhuchatgpt", "2024-12-04"),
            ("PYSEC-2026-57 dokuwiki", "2018-04-22b"),
            ("PYSEC-2018-155 evm-py", "0.2.0-alpha\\.33"),
            ("PYSEC-2025-117 gdal", "3.10.2-NA"),
            ("PYSEC-2026-686 neutron", "7.2.0-12.1"),
            ("PYSEC-2025-146 ollama", "0.1.33-NA"),
            ("PYSEC-2025-147 ollama", "0.6.7-NA"),
            ("PYSEC-2026-101 ollama", "0.12.10-NA"),
            ("PYSEC-2026-102 ollama", "0.12.10-NA"),
            ("PYSEC-2026-3450 ollama", "0.7.1-NA"),
            ("PYSEC-2024-299 pyd3tn", "0.14.0-NA"),
            ("PYSEC-2024-325 pynetbox", "4.1.0-NA"),
            ("PYSEC-2019-125 steam", "2019-09-12"),
            ("PYSEC-2025-189 torch", "2.6.0-cu124"),
            ("PYSEC-2025-190 torch", "2.6.0-cu124"),
            ("PYSEC-2025-192 torch", "2.6.0-NA"),
            ("PYSEC-2025-193 torch", "2.6.0-NA"),
            ("PYSEC-2025-194 torch", "2.6.0-NA"),
            ("PYSEC-2025-195 torch", "2.6.0-NA"),
            ("PYSEC-2025-196 torch", "2.6.0-NA"),
            ("PYSEC-2025-197 torch", "2.6.0-NA"),
            ("PYSEC-2025-210 torch", "2.5.0-NA"),
        ]
    );
    assert!(out.advisories.iter().all(|a| a.source == "pypa"));
    let withdrawn = out
        .advisories
        .iter()
        .filter(|a| a.withdrawn.is_some())
        .count();
    assert_eq!(withdrawn, 269);

    // Django's ranges are listed out of order; the order is kept, the
    // evaluator sorts.
    let django = find(&out, "PYSEC-2019-10");
    assert_eq!(django.aliases, ["CVE-2019-12781", "GHSA-6c7v-2f49-8h26"]);
    assert_eq!(django.published.as_deref(), Some("2019-07-01T14:15:00Z"));
    assert_eq!(django.modified.as_deref(), Some("2020-08-24T17:37:00Z"));
    assert_eq!(django.summary, None);
    assert!(
        django
            .details
            .as_deref()
            .unwrap()
            .starts_with("An issue was discovered in Django 1.11")
    );
    assert_eq!(django.references.len(), 13);
    assert_eq!(django.affected.len(), 1);
    let entry = &django.affected[0];
    assert_eq!(
        (entry.ecosystem.as_str(), entry.package.as_str()),
        ("PyPI", "django")
    );
    assert_eq!(entry.status, AffectedStatus::Affected);
    assert_eq!(entry.ranges.len(), 1);
    assert_eq!(entry.ranges[0].kind, OsvRangeKind::Ecosystem);
    assert_eq!(
        entry.ranges[0].events,
        events(&[
            ("introduced", "2.1"),
            ("fixed", "2.1.10"),
            ("introduced", "2.2"),
            ("fixed", "2.2.3"),
            ("introduced", "1.11"),
            ("fixed", "1.11.22"),
        ])
    );
    assert_eq!(entry.versions.len(), 33);
    assert_eq!(entry.versions.first().map(String::as_str), Some("1.11"));
    assert!(
        portcullis_version::osv_ranges_affected(
            portcullis_version::Scheme::Pep440,
            "1.11.21",
            &entry.ranges,
            &[]
        )
        .unwrap()
    );

    // A CVSS v3.1 vector, and an entry without versions.
    let gdal = find(&out, "PYSEC-2026-4");
    assert_eq!(gdal.aliases, ["CVE-2026-8212", "GHSA-r5m4-5vww-w9f5"]);
    assert_eq!(gdal.modified.as_deref(), Some("2026-05-13T15:31:52Z"));
    assert_eq!(gdal.severities.len(), 1);
    let severity = &gdal.severities[0];
    assert_eq!(severity.source, "pysec");
    assert_eq!(severity.kind, SeverityKind::CvssV3);
    assert_eq!(
        severity.vector.as_deref(),
        Some("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L")
    );
    assert_eq!(severity.score, Some(5.3));
    assert_eq!(severity.level, SeverityLevel::Medium);
    assert!(gdal.affected[0].ranges.is_empty() && gdal.affected[0].versions.is_empty());
    assert_eq!(
        gdal.affected[0].note.as_deref(),
        Some("no version information")
    );

    // A withdrawn record.
    let loguru = find(&out, "PYSEC-2022-15");
    assert_eq!(loguru.withdrawn.as_deref(), Some("2022-02-22T16:15:07Z"));
    assert_eq!(loguru.modified.as_deref(), Some("2022-01-29T16:47:14Z"));

    // Legacy (pre-PEP 440) releases stay in `versions`.
    let nltk = find(&out, "PYSEC-2019-106");
    assert!(
        nltk.affected[0]
            .versions
            .iter()
            .any(|v| v == "2.0.1rc2-git")
    );
}

#[test]
fn go_vulnerability_database() {
    let Snapshot { out, detected } = ingest("go-vulndb", FeedKind::OsvJson, |p| {
        p.contains("/data/osv/") && p.ends_with(".json")
    });
    assert_eq!(out.records, counts(&[("OSV records", 4_291)]));
    assert_eq!(detected, BTreeMap::from([(Some(FeedKind::OsvJson), 4_291)]));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(out.advisories.len(), 4_291);
    let stdlib = out
        .advisories
        .iter()
        .filter(|a| a.affected.iter().any(|e| e.package == "stdlib"))
        .count();
    assert_eq!(stdlib, 167);
    // Go's `modified` is the zero time (unset); `published` dates the data.
    assert!(out.advisories.iter().all(|a| a.modified.is_none()));
    assert_eq!(out.snapshot.as_deref(), Some("2026-08-18T20:23:02Z"));
    assert_eq!(
        out.advisories
            .iter()
            .filter(|a| a.withdrawn.is_some())
            .count(),
        17
    );

    let gin = find(&out, "GO-2020-0001");
    assert_eq!(gin.aliases, ["CVE-2020-36567", "GHSA-6vm3-jj99-7229"]);
    assert_eq!(gin.published.as_deref(), Some("2021-04-14T20:04:52Z"));
    assert_eq!(gin.modified, None);
    assert_eq!(
        gin.summary.as_deref(),
        Some("Arbitrary log line injection in github.com/gin-gonic/gin")
    );
    assert_eq!(gin.references.len(), 2);
    let entry = &gin.affected[0];
    assert_eq!(
        (entry.ecosystem.as_str(), entry.package.as_str()),
        ("Go", "github.com/gin-gonic/gin")
    );
    assert_eq!(entry.ranges[0].kind, OsvRangeKind::Semver);
    assert_eq!(entry.fixed_versions(), ["1.6.0"]);
    assert_eq!(
        entry.symbols,
        [
            "github.com/gin-gonic/gin:Default",
            "github.com/gin-gonic/gin:Logger",
            "github.com/gin-gonic/gin:LoggerWithConfig",
            "github.com/gin-gonic/gin:LoggerWithFormatter",
            "github.com/gin-gonic/gin:LoggerWithWriter",
        ]
    );

    // The standard library, with pre-release bounds; both dates unset.
    let url = find(&out, "GO-2026-6218");
    assert_eq!(
        (url.published.as_deref(), url.modified.as_deref()),
        (None, None)
    );
    let entry = &url.affected[0];
    assert_eq!(entry.package, "stdlib");
    assert_eq!(
        entry.ranges[0].events,
        events(&[
            ("introduced", "0"),
            ("fixed", "1.25.13"),
            ("introduced", "1.26.0-0"),
            ("fixed", "1.26.6"),
            ("introduced", "1.27.0-0"),
            ("fixed", "1.27.0-rc.3"),
        ])
    );
    assert_eq!(
        entry.symbols,
        [
            "net/url:URL.Parse",
            "net/url:URL.ResolveReference",
            "net/url:resolvePath"
        ]
    );

    let withdrawn = find(&out, "GO-2022-0617");
    assert_eq!(withdrawn.withdrawn.as_deref(), Some("2024-08-21T16:25:56Z"));
    assert_eq!(withdrawn.aliases, ["CVE-2020-8562", "GHSA-qh36-44jv-c8xj"]);
}

#[test]
fn almalinux_errata() {
    let Snapshot { out, detected } =
        ingest("almalinux-osv", FeedKind::OsvJson, |p| p.ends_with(".json"));
    assert_eq!(out.records, counts(&[("OSV records", 5_680)]));
    assert_eq!(detected, BTreeMap::from([(Some(FeedKind::OsvJson), 5_680)]));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(out.snapshot.as_deref(), Some("2026-08-21T12:56:10Z"));
    let mut releases = BTreeMap::<&str, u64>::new();
    for advisory in &out.advisories {
        for entry in &advisory.affected {
            *releases.entry(entry.ecosystem.as_str()).or_default() += 1;
        }
    }
    assert_eq!(
        releases.keys().copied().collect::<Vec<_>>(),
        ["AlmaLinux:10", "AlmaLinux:8", "AlmaLinux:9"]
    );
    assert_eq!(releases.values().sum::<u64>(), 71_329);

    let erratum = find(&out, "ALSA-2023:6938");
    assert_eq!(
        erratum.summary.as_deref(),
        Some("Moderate: container-tools:4.0 security and bug fix update")
    );
    assert_eq!(erratum.published.as_deref(), Some("2023-11-14T00:00:00Z"));
    assert_eq!(erratum.modified.as_deref(), Some("2023-11-24T13:34:19Z"));
    assert!(erratum.aliases.is_empty());
    assert!(erratum.related.iter().any(|id| id == "CVE-2023-24540"));
    assert!(erratum.related.is_sorted());
    assert_eq!(erratum.references.len(), 34);
    // The rating is the summary's first word, Red Hat's convention.
    assert_eq!(erratum.severities.len(), 1);
    assert_eq!(erratum.severities[0].source, "almalinux");
    assert_eq!(erratum.severities[0].kind, SeverityKind::Rating);
    assert_eq!(erratum.severities[0].level, SeverityLevel::Medium);
    assert_eq!(erratum.affected.len(), 41);
    let buildah = erratum
        .affected
        .iter()
        .find(|e| e.package == "buildah")
        .expect("buildah");
    assert_eq!(buildah.ecosystem, "AlmaLinux:8");
    assert_eq!(
        buildah.ranges[0].events,
        events(&[
            ("introduced", "0"),
            ("fixed", "1:1.24.6-7.module_el8.9.0+3627+db8ec155")
        ])
    );
    // The epoch orders: 1:1.24.6 is newer than any epoch-0 release.
    assert!(
        portcullis_version::osv_ranges_affected(
            portcullis_version::Scheme::Rpm,
            "99.0-1.el8",
            &buildah.ranges,
            &[]
        )
        .unwrap()
    );
    let thunderbird = find(&out, "ALSA-2023:4063");
    assert_eq!(thunderbird.severities[0].level, SeverityLevel::High);
    assert_eq!(
        thunderbird.affected[0].fixed_versions(),
        ["102.13.0-2.el8_8.alma"]
    );
}

#[test]
fn rustsec_advisory_database() {
    let Snapshot { out, detected } = ingest("rustsec", FeedKind::RustSec, |p| p.ends_with(".md"));
    assert_eq!(
        out.records,
        counts(&[
            ("RustSec advisories", 1_205),
            ("RustSec toolchain advisories", 20)
        ])
    );
    assert_eq!(detected, BTreeMap::from([(Some(FeedKind::RustSec), 1_225)]));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(out.advisories.len(), 1_205);
    assert!(out.advisories.iter().all(|a| a.id.starts_with("RUSTSEC-")));
    assert_eq!(
        out.advisories
            .iter()
            .filter(|a| a.withdrawn.is_some())
            .count(),
        13
    );
    assert_eq!(out.snapshot.as_deref(), Some("2026-08-20T00:00:00Z"));

    let abi = find(&out, "RUSTSEC-2020-0105");
    assert_eq!(
        abi.aliases,
        [
            "CVE-2020-36212",
            "CVE-2020-36213",
            "GHSA-vq23-5h4f-vwpv",
            "GHSA-wqxc-qrq4-w5v4"
        ]
    );
    assert_eq!(abi.published.as_deref(), Some("2020-12-21T00:00:00Z"));
    assert_eq!(
        abi.summary.as_deref(),
        Some("Update unsound DrainFilter and RString::retain")
    );
    assert!(
        abi.details
            .as_deref()
            .unwrap()
            .starts_with("Affected versions of this crate")
    );
    assert_eq!(
        abi.references,
        ["https://github.com/rodrimati1992/abi_stable_crates/issues/44"]
    );
    assert_eq!(abi.severities.len(), 1);
    assert_eq!(abi.severities[0].source, "rustsec");
    assert_eq!(abi.severities[0].score, Some(7.5));
    assert_eq!(abi.severities[0].level, SeverityLevel::High);
    let entry = &abi.affected[0];
    assert_eq!(
        (entry.ecosystem.as_str(), entry.package.as_str()),
        ("crates.io", "abi_stable")
    );
    assert_eq!(
        entry.native,
        Some(NativeRange {
            vulnerable: None,
            unaffected: vec![">= 0.9.1".to_owned()]
        })
    );
    assert_eq!(entry.note, None);

    let sha3 = find(&out, "RUSTSEC-2026-0074");
    let entry = &sha3.affected[0];
    assert_eq!(
        entry.symbols,
        [
            "libcrux_sha3::portable::incremental::Shake128Xof::squeeze",
            "libcrux_sha3::portable::incremental::Shake256Xof::squeeze"
        ]
    );
    // Published with a trailing space.
    assert_eq!(entry.native.as_ref().unwrap().unaffected, [">= 0.0.8"]);

    let adler = find(&out, "RUSTSEC-2025-0056");
    let entry = &adler.affected[0];
    assert_eq!(entry.note.as_deref(), Some("informational: unmaintained"));
    assert_eq!(
        entry.native,
        Some(NativeRange {
            vulnerable: Some("*".to_owned()),
            unaffected: vec![]
        })
    );

    let warp = find(&out, "RUSTSEC-2022-0082");
    assert_eq!(warp.affected[0].note.as_deref(), Some("os: windows"));

    let markdown = find(&out, "RUSTSEC-2022-0044");
    assert_eq!(markdown.withdrawn.as_deref(), Some("2025-04-28T00:00:00Z"));
}

#[test]
fn ruby_advisory_database() {
    let Snapshot { out, detected } = ingest("rubysec", FeedKind::RubySec, |p| p.ends_with(".yml"));
    assert_eq!(
        out.records,
        counts(&[
            ("RubySec gem advisories", 1_234),
            ("RubySec ruby advisories", 147)
        ])
    );
    assert_eq!(detected, BTreeMap::from([(Some(FeedKind::RubySec), 1_381)]));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(out.advisories.len(), 1_381);
    assert_eq!(out.snapshot.as_deref(), Some("2026-08-18T00:00:00Z"));
    let mut ids: Vec<_> = out.advisories.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1_306);

    let mail_to = find_for(&out, "CVE-2011-0446", "actionpack");
    assert_eq!(mail_to.aliases, ["GHSA-75w6-p6mg-vh8j"]);
    assert_eq!(mail_to.published.as_deref(), Some("2017-10-24T00:00:00Z"));
    assert_eq!(
        mail_to.summary.as_deref(),
        Some("XSS vulnerabilities in the mail_to helper in rails/actionpack")
    );
    assert_eq!(
        mail_to.references.first().map(String::as_str),
        Some("https://groups.google.com/g/rubyonrails-security/c/8CpI7egxX4E/m/SmtqtyOKWzYJ")
    );
    // 14 related URLs, one of them twice, one the advisory's own URL.
    assert_eq!(mail_to.references.len(), 13);
    assert_eq!(mail_to.severities.len(), 1);
    let severity = &mail_to.severities[0];
    assert_eq!(
        (
            severity.kind,
            severity.score,
            severity.level,
            severity.vector.as_deref()
        ),
        (SeverityKind::CvssV2, Some(4.3), SeverityLevel::Medium, None)
    );
    let entry = &mail_to.affected[0];
    assert_eq!(
        (entry.ecosystem.as_str(), entry.package.as_str()),
        ("RubyGems", "actionpack")
    );
    assert_eq!(
        entry.native,
        Some(NativeRange {
            vulnerable: None,
            unaffected: vec!["~> 2.3.11".to_owned(), ">= 3.0.4".to_owned()]
        })
    );

    // Named after its GHSA, with a CVE alias.
    let trix = find_for(&out, "GHSA-53g2-mvcc-q9x3", "action_text-trix");
    assert_eq!(trix.aliases, ["CVE-2026-73428"]);
    assert_eq!(trix.references.len(), 8);

    let jruby_openssl = find_for(&out, "CVE-2025-46551", "jruby-openssl");
    let entry = &jruby_openssl.affected[0];
    assert_eq!(entry.note.as_deref(), Some("platform: jruby"));
    assert_eq!(
        entry.native.as_ref().unwrap().unaffected,
        [">= 0.15.4", "<= 0.12.1"]
    );
    let levels: Vec<_> = jruby_openssl
        .severities
        .iter()
        .map(|s| (s.kind, s.level))
        .collect();
    assert_eq!(
        levels,
        [
            (SeverityKind::CvssV3, SeverityLevel::Low),
            (SeverityKind::CvssV4, SeverityLevel::Medium)
        ]
    );

    let jruby = find_for(&out, "OSVDB-94644", "jruby");
    assert!(jruby.aliases.is_empty());
    assert_eq!(jruby.published.as_deref(), Some("2010-05-26T00:00:00Z"));
    let entry = &jruby.affected[0];
    assert_eq!(
        (entry.ecosystem.as_str(), entry.package.as_str()),
        ("Ruby", "jruby")
    );
    assert_eq!(entry.native.as_ref().unwrap().unaffected, [">= 1.6.2"]);

    let getaddrinfo = find_for(&out, "CVE-2026-46727", "ruby");
    assert_eq!(getaddrinfo.aliases, ["GHSA-jfc8-2xw7-c79m"]);
    let entry = &getaddrinfo.affected[0];
    assert_eq!(
        (entry.ecosystem.as_str(), entry.package.as_str()),
        ("Ruby", "ruby")
    );
    assert_eq!(
        entry.native.as_ref().unwrap().unaffected,
        [">= 4.0.5", "< 4.0"]
    );
}
