//! The enrichment feeds (NVD, EPSS, KEV) through the public API: format
//! detection by content, then parsing, on the real CISA KEV catalog and on
//! fixtures written from the published formats.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use portcullis_types::{Epss, Kev, Severity, SeverityKind, SeverityLevel};
use portcullis_vulndb::{FeedKind, Parsed, detect, parse};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every regular file of a `.tar.gz`, by path inside the archive.
fn untar(archive: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let file =
        std::fs::File::open(archive).with_context(|| format!("open {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = BTreeMap::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        files.insert(path, bytes);
    }
    Ok(files)
}

/// Detects the format as the source walker does (from the first bytes) and parses.
fn detect_and_parse(source: &str, path: &str, bytes: &[u8]) -> (Option<FeedKind>, Parsed) {
    let head = bytes.get(..4096).unwrap_or(bytes);
    let kind = detect(path, head);
    let mut out = Parsed::default();
    if let Some(kind) = kind {
        parse(kind, source, path, bytes, &mut out);
    }
    (kind, out)
}

fn fixture(path: &str) -> Result<(String, Vec<u8>)> {
    let full = manifest_dir().join("tests/fixtures").join(path);
    let bytes = std::fs::read(&full).with_context(|| format!("read {}", full.display()))?;
    Ok((path.to_owned(), bytes))
}

#[test]
fn real_kev_catalog_reads_the_same_from_json_and_csv() -> Result<()> {
    let archive = manifest_dir().join("../../../shared/vulndata/cisa-kev.tar.gz");
    let files = untar(&archive)?;
    let json_path = "cisa-kev/known_exploited_vulnerabilities.json";
    let csv_path = "cisa-kev/known_exploited_vulnerabilities.csv";
    let json = files.get(json_path).context("json missing")?;
    let csv = files.get(csv_path).context("csv missing")?;
    // The licence is not a feed.
    let licence = files.get("cisa-kev/LICENSE").context("licence missing")?;
    assert_eq!(detect("cisa-kev/LICENSE", licence), None);

    let (json_kind, from_json) = detect_and_parse("cisa-kev", json_path, json);
    let (csv_kind, from_csv) = detect_and_parse("cisa-kev", csv_path, csv);
    assert_eq!(json_kind, Some(FeedKind::KevJson));
    assert_eq!(csv_kind, Some(FeedKind::KevCsv));

    for (out, unit) in [
        (&from_json, "KEV entries"),
        (&from_csv, "KEV entries (CSV copy)"),
    ] {
        assert_eq!(out.warnings, []);
        assert_eq!(out.records.get(unit), Some(&1404));
        assert_eq!(out.kev.len(), 1404);
        assert!(out.advisories.is_empty() && out.epss.is_empty());
    }
    assert_eq!(from_json.snapshot.as_deref(), Some("2025-08-25T17:04:19Z"));
    assert_eq!(from_csv.snapshot.as_deref(), Some("2025-08-25T00:00:00Z"));

    let by_cve = |out: &Parsed| -> BTreeMap<String, Kev> { out.kev.iter().cloned().collect() };
    let json_map = by_cve(&from_json);
    let csv_map = by_cve(&from_csv);
    assert_eq!(json_map.len(), 1404, "every CVE appears once");
    assert_eq!(json_map, csv_map);
    let known = json_map
        .values()
        .filter(|k| k.ransomware.as_deref() == Some("Known"))
        .count();
    assert_eq!(known, 293);
    assert!(
        json_map
            .values()
            .all(|k| k.due_date.is_some() && k.name.is_some())
    );

    let kev = |date_added: &str, due: &str, ransomware: &str, name: &str| Kev {
        date_added: date_added.into(),
        due_date: Some(due.into()),
        ransomware: Some(ransomware.into()),
        name: Some(name.into()),
    };
    let spot = [
        (
            "CVE-2025-48384",
            kev(
                "2025-08-25",
                "2025-09-15",
                "Unknown",
                "Git Link Following Vulnerability",
            ),
        ),
        (
            "CVE-2021-44228",
            kev(
                "2021-12-10",
                "2021-12-24",
                "Known",
                "Apache Log4j2 Remote Code Execution Vulnerability",
            ),
        ),
        (
            "CVE-2017-0144",
            kev(
                "2022-02-10",
                "2022-08-10",
                "Known",
                "Microsoft SMBv1 Remote Code Execution Vulnerability",
            ),
        ),
        (
            "CVE-2014-6271",
            kev(
                "2022-01-28",
                "2022-07-28",
                "Unknown",
                "GNU Bourne-Again Shell (Bash) Arbitrary Code Execution Vulnerability",
            ),
        ),
        (
            "CVE-2020-29583",
            kev(
                "2021-11-03",
                "2022-05-03",
                "Unknown",
                "Zyxel Multiple Products Use of Hard-Coded Credentials Vulnerability",
            ),
        ),
    ];
    for (cve, expected) in spot {
        assert_eq!(json_map.get(cve), Some(&expected), "{cve}");
    }
    // File order is kept: the catalog lists the newest first.
    assert_eq!(
        from_json.kev.first().map(|(c, _)| c.as_str()),
        Some("CVE-2025-48384")
    );
    assert_eq!(
        from_csv.kev.last().map(|(c, _)| c.as_str()),
        Some("CVE-2020-29583")
    );
    Ok(())
}

#[test]
fn kev_fixtures_are_detected_and_parsed() -> Result<()> {
    let (path, json) = fixture("kev/known_exploited_vulnerabilities.json")?;
    let (kind, from_json) = detect_and_parse("cisa-kev", &path, &json);
    assert_eq!(kind, Some(FeedKind::KevJson));
    let (path, csv) = fixture("kev/known_exploited_vulnerabilities.csv")?;
    let (kind, from_csv) = detect_and_parse("cisa-kev", &path, &csv);
    assert_eq!(kind, Some(FeedKind::KevCsv));
    let expected = vec![
        (
            "CVE-2021-44228".to_owned(),
            Kev {
                date_added: "2021-12-10".into(),
                due_date: Some("2021-12-24".into()),
                ransomware: Some("Known".into()),
                name: Some("Apache Log4j2 Remote Code Execution Vulnerability".into()),
            },
        ),
        (
            "CVE-2025-48384".to_owned(),
            Kev {
                date_added: "2025-08-25".into(),
                due_date: Some("2025-09-15".into()),
                ransomware: Some("Unknown".into()),
                name: Some("Git Link Following Vulnerability".into()),
            },
        ),
        (
            "CVE-2002-0367".to_owned(),
            Kev {
                date_added: "2022-03-03".into(),
                due_date: None,
                ransomware: None,
                name: None,
            },
        ),
    ];
    assert_eq!(from_json.kev, expected);
    assert_eq!(from_csv.kev, expected);
    // JSON: count mismatch, bad date, entry with a numeric ID.
    assert_eq!(from_json.warnings.len(), 3, "{:?}", from_json.warnings);
    // CSV: bad date, bad ID.
    assert_eq!(from_csv.warnings.len(), 2, "{:?}", from_csv.warnings);
    assert!(
        from_csv
            .warnings
            .iter()
            .all(|w| w.source == "cisa-kev" && w.file == path)
    );
    Ok(())
}

#[test]
fn nvd_fixture_is_detected_and_parsed() -> Result<()> {
    let (path, bytes) = fixture("nvd/cves-page.json")?;
    let (kind, out) = detect_and_parse("nvd", &path, &bytes);
    assert_eq!(kind, Some(FeedKind::Nvd));
    assert_eq!(out.records.get("NVD CVEs"), Some(&7));
    assert_eq!(out.advisories.len(), 5);
    assert_eq!(out.warnings.len(), 3, "{:?}", out.warnings);
    assert_eq!(out.snapshot.as_deref(), Some("2025-08-25T12:00:00Z"));

    let log4shell = out
        .advisories
        .iter()
        .find(|a| a.id == "CVE-2021-44228")
        .context("CVE-2021-44228")?;
    assert_eq!(log4shell.source, "nvd");
    assert_eq!(log4shell.cve(), Some("CVE-2021-44228"));
    assert_eq!(log4shell.aliases, [] as [String; 0]);
    assert_eq!(log4shell.published.as_deref(), Some("2021-12-10T10:15:09Z"));
    assert_eq!(log4shell.modified.as_deref(), Some("2025-02-04T15:15:13Z"));
    assert_eq!(log4shell.withdrawn, None);
    assert_eq!(log4shell.cwes, ["CWE-20", "CWE-400", "CWE-502", "CWE-917"]);
    assert_eq!(log4shell.references.len(), 2);
    assert!(log4shell.affected.is_empty());
    let ratings: Vec<(&str, SeverityKind, Option<f32>, SeverityLevel)> = log4shell
        .severities
        .iter()
        .map(|s| (s.source.as_str(), s.kind, s.score, s.level))
        .collect();
    assert_eq!(
        ratings,
        [
            (
                "nvd",
                SeverityKind::CvssV3,
                Some(10.0),
                SeverityLevel::Critical
            ),
            (
                "security@apache.org",
                SeverityKind::CvssV3,
                Some(9.0),
                SeverityLevel::Critical
            ),
            ("nvd", SeverityKind::CvssV2, Some(9.3), SeverityLevel::High),
        ]
    );

    let v4 = out
        .advisories
        .iter()
        .find(|a| a.id == "CVE-2024-12345")
        .context("CVE-2024-12345")?;
    assert_eq!(
        v4.severities,
        [Severity {
            source: "f86ef6dc-4d3a-42ad-8f28-e6d5547a5007".into(),
            kind: SeverityKind::CvssV4,
            vector: Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into()),
            score: Some(9.3),
            level: SeverityLevel::Critical,
        }]
    );
    assert_eq!(
        v4.details.as_deref(),
        Some(
            "A heap overflow in Example Widget 3.1.4. Remote attackers can execute code by \
             sending a crafted packet."
        )
    );

    let rejected = out
        .advisories
        .iter()
        .find(|a| a.id == "CVE-2023-0001")
        .context("CVE-2023-0001")?;
    assert_eq!(rejected.withdrawn.as_deref(), Some("2023-06-01T08:30:00Z"));
    Ok(())
}

#[test]
fn epss_fixture_is_detected_and_parsed() -> Result<()> {
    let (path, bytes) = fixture("epss/epss_scores-2025-03-20.csv")?;
    let (kind, out) = detect_and_parse("epss", &path, &bytes);
    assert_eq!(kind, Some(FeedKind::Epss));
    assert_eq!(out.records.get("EPSS scores"), Some(&9));
    assert_eq!(out.snapshot.as_deref(), Some("2025-03-20T12:55:00Z"));
    let scores: BTreeMap<&str, Epss> = out.epss.iter().map(|(c, e)| (c.as_str(), *e)).collect();
    assert_eq!(scores.len(), 4);
    assert_eq!(
        scores.get("CVE-2021-44228"),
        Some(&Epss {
            score: 0.94358,
            percentile: 0.99987
        })
    );
    assert_eq!(
        scores.get("CVE-2024-1234"),
        Some(&Epss {
            score: 0.00043,
            percentile: 0.1023
        })
    );
    let lines: Vec<&str> = out
        .warnings
        .iter()
        .filter_map(|w| w.record.as_deref())
        .collect();
    assert_eq!(lines, ["line 7", "line 8", "line 9", "line 10", "line 11"]);
    Ok(())
}
