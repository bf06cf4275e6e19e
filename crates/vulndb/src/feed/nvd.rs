//! NVD CVE API 2.0 JSON: an API response page or a `nvdcve-2.0-*.json` data
//! feed (same top-level shape), one [`Advisory`] per `vulnerabilities[].cve`.
//!
//! NVD records carry descriptions, CVSS ratings (NVD's own and the CNA's,
//! kept apart), CWEs and references. Portcullis does not turn CPE
//! configurations into affected entries, so NVD advisories never match by
//! themselves; they enrich the records of other sources through the CVE ID.

use std::fmt;

use portcullis_types::{Advisory, Severity, SeverityKind, SeverityLevel};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Parsed, cvss::severity_from_vector, normalize_date};

const UNIT: &str = "NVD CVEs";

/// The source name NVD uses for its own analysis in `metrics[].source`.
const NVD_SOURCE: &str = "nvd@nist.gov";

/// Longest summary cut from a description that has no short first sentence.
const SUMMARY_MAX: usize = 200;

#[derive(Deserialize)]
struct Entry {
    cve: Cve,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve {
    id: String,
    #[serde(default)]
    source_identifier: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(default)]
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<LangString>,
    #[serde(default)]
    metrics: Metrics,
    #[serde(default)]
    weaknesses: Vec<Weakness>,
    #[serde(default)]
    references: Vec<Reference>,
}

#[derive(Deserialize)]
struct LangString {
    lang: String,
    value: String,
}

/// Metrics stay untyped so that one bad rating is skipped alone.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metrics {
    #[serde(default)]
    cvss_metric_v40: Vec<Value>,
    #[serde(default)]
    cvss_metric_v31: Vec<Value>,
    #[serde(default)]
    cvss_metric_v30: Vec<Value>,
    #[serde(default)]
    cvss_metric_v2: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    #[serde(default)]
    source: Option<String>,
    cvss_data: CvssData,
    /// Where CVSS v2 puts the rating (v3 and v4 put it in `cvssData`).
    #[serde(default)]
    base_severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CvssData {
    vector_string: String,
    #[serde(default)]
    base_score: Option<f32>,
    #[serde(default)]
    base_severity: Option<String>,
}

#[derive(Deserialize)]
struct Weakness {
    #[serde(default)]
    description: Vec<LangString>,
}

#[derive(Deserialize)]
struct Reference {
    url: String,
}

/// Parses an NVD CVE API 2.0 page or data feed.
pub(crate) fn parse(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let page = PageSeed {
        source,
        path,
        index: 0,
        out: &mut *out,
    };
    // Records read before a syntax error are kept; the error is reported.
    let result = page.deserialize(&mut reader).and_then(|()| reader.end());
    if let Err(e) = result {
        out.warn(
            source,
            path,
            None,
            format!("not a whole NVD CVE API 2.0 document: {e}"),
        );
    }
}

/// Reads the top level, handing each `vulnerabilities[]` entry to [`entry`]
/// as soon as it is read: a yearly feed is hundreds of megabytes, and the
/// whole of it as `serde_json::Value`s would take gigabytes.
struct PageSeed<'a> {
    source: &'a str,
    path: &'a str,
    index: usize,
    out: &'a mut Parsed,
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an NVD CVE API 2.0 object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut listed = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "timestamp" => {
                    if let Some(timestamp) = map.next_value::<Option<String>>()? {
                        self.out.saw_date(&timestamp);
                    }
                }
                "vulnerabilities" => {
                    map.next_value_seed(Entries(&mut self))?;
                    listed = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if listed {
            Ok(())
        } else {
            Err(de::Error::missing_field("vulnerabilities"))
        }
    }
}

/// The `vulnerabilities` array.
struct Entries<'s, 'a>(&'s mut PageSeed<'a>);

impl<'de> DeserializeSeed<'de> for Entries<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of CVE entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let page = self.0;
        // Each entry goes through `Value` first so that a malformed one is
        // reported and skipped alone.
        while let Some(value) = seq.next_element::<Value>()? {
            entry(page.source, page.path, page.index, value, page.out);
            page.index += 1;
        }
        Ok(())
    }
}

fn entry(source: &str, path: &str, index: usize, value: Value, out: &mut Parsed) {
    out.count(UNIT);
    // Name the record by its ID when it has one, by position otherwise.
    let label = value
        .pointer("/cve/id")
        .and_then(Value::as_str)
        .map_or_else(|| format!("vulnerabilities[{index}]"), str::to_owned);
    match serde_json::from_value::<Entry>(value) {
        Ok(entry) => {
            if let Some(advisory) = convert(source, path, entry.cve, out) {
                out.advisories.push(advisory);
            }
        }
        Err(e) => out.warn(source, path, Some(&label), format!("malformed CVE: {e}")),
    }
}

fn convert(source: &str, path: &str, cve: Cve, out: &mut Parsed) -> Option<Advisory> {
    let id = cve.id.trim();
    if !is_cve_id(id) {
        out.warn(source, path, Some(id), format!("`{id}` is not a CVE ID"));
        return None;
    }
    let mut advisory = Advisory::new(id, source);
    advisory.published = date_field(source, path, id, "published", cve.published, out);
    advisory.modified = date_field(source, path, id, "lastModified", cve.last_modified, out);
    if let Some(modified) = &advisory.modified {
        out.saw_date(modified);
    }
    if cve.vuln_status.as_deref() == Some("Rejected") {
        // A rejected CVE keeps no date of its own for the rejection; the last
        // modification is when it happened. Never leave it unset.
        advisory.withdrawn = Some(
            advisory
                .modified
                .clone()
                .or_else(|| advisory.published.clone())
                .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned()),
        );
    }

    let english = cve
        .descriptions
        .iter()
        .find(|d| d.lang == "en")
        .or_else(|| cve.descriptions.iter().find(|d| d.lang.starts_with("en")));
    if let Some(text) = english.map(|d| d.value.trim()).filter(|t| !t.is_empty()) {
        advisory.summary = Some(summary_of(text));
        advisory.details = Some(text.to_owned());
    }

    let cna = cve.source_identifier.as_deref().unwrap_or_default();
    let groups = [
        (
            SeverityKind::CvssV4,
            "cvssMetricV40",
            cve.metrics.cvss_metric_v40,
        ),
        (
            SeverityKind::CvssV3,
            "cvssMetricV31",
            cve.metrics.cvss_metric_v31,
        ),
        (
            SeverityKind::CvssV3,
            "cvssMetricV30",
            cve.metrics.cvss_metric_v30,
        ),
        (
            SeverityKind::CvssV2,
            "cvssMetricV2",
            cve.metrics.cvss_metric_v2,
        ),
    ];
    for (kind, field, metrics) in groups {
        for value in metrics {
            match severity_of(kind, cna, value) {
                Ok(severity) => {
                    if !advisory.severities.contains(&severity) {
                        advisory.severities.push(severity);
                    }
                }
                Err(reason) => {
                    out.warn(source, path, Some(id), format!("{field} skipped: {reason}"));
                }
            }
        }
    }

    let mut cwes: Vec<String> = cve
        .weaknesses
        .iter()
        .flat_map(|w| &w.description)
        .map(|d| d.value.trim())
        // `NVD-CWE-Other` and `NVD-CWE-noinfo` say there is no CWE.
        .filter(|v| v.starts_with("CWE-"))
        .map(str::to_owned)
        .collect();
    cwes.sort();
    cwes.dedup();
    advisory.cwes = cwes;

    for reference in cve.references {
        let url = reference.url.trim();
        if !url.is_empty() && !advisory.references.iter().any(|r| r == url) {
            advisory.references.push(url.to_owned());
        }
    }
    Some(advisory)
}

/// A date field as RFC 3339; a date that does not parse is dropped with a warning.
fn date_field(
    source: &str,
    path: &str,
    id: &str,
    field: &str,
    value: Option<String>,
    out: &mut Parsed,
) -> Option<String> {
    let value = value?;
    let date = normalize_date(&value);
    if date.is_none() {
        out.warn(
            source,
            path,
            Some(id),
            format!("{field} `{value}` is not a date"),
        );
    }
    date
}

/// One rating. The vector must parse (it is what matchers and reports show);
/// the score and rating are NVD's as published, not recomputed.
fn severity_of(expected: SeverityKind, cna: &str, value: Value) -> Result<Severity, String> {
    let metric: Metric = serde_json::from_value(value).map_err(|e| e.to_string())?;
    // NVD's own analysis is `nvd`; a CNA's keeps its identifier (an email or
    // a UUID) so that the two never merge.
    let rater = match metric.source.as_deref().map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case(NVD_SOURCE) => "nvd".to_owned(),
        Some(s) if !s.is_empty() => s.to_ascii_lowercase(),
        _ if !cna.trim().is_empty() => cna.trim().to_ascii_lowercase(),
        _ => "nvd".to_owned(),
    };
    let data = metric.cvss_data;
    let mut severity = severity_from_vector(&rater, &data.vector_string)
        .ok_or_else(|| format!("vector `{}` does not parse", data.vector_string))?;
    if severity.kind != expected {
        return Err(format!(
            "vector `{}` is not of the metric's CVSS version",
            data.vector_string
        ));
    }
    if let Some(score) = data.base_score {
        if !(0.0..=10.0).contains(&score) {
            return Err(format!("base score {score} is outside 0–10"));
        }
        severity.score = Some(score);
        severity.level = level_of_score(expected, score);
    }
    let word = data.base_severity.or(metric.base_severity);
    if let Some(level) = word.as_deref().and_then(SeverityLevel::parse_word) {
        severity.level = level;
    }
    Ok(severity)
}

/// The rating a score implies when no word is given (v2 has no `CRITICAL`).
fn level_of_score(kind: SeverityKind, score: f32) -> SeverityLevel {
    match kind {
        SeverityKind::CvssV2 if score >= 7.0 => SeverityLevel::High,
        SeverityKind::CvssV2 if score >= 4.0 => SeverityLevel::Medium,
        SeverityKind::CvssV2 => SeverityLevel::Low,
        _ => SeverityLevel::from_cvss_score(score),
    }
}

/// The first sentence of a description, or its first words up to
/// [`SUMMARY_MAX`] characters with an ellipsis when that sentence is longer.
fn summary_of(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or_default().trim();
    let mut sentence = first_line;
    let mut chars = first_line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // A sentence ends at `. ` before a capital letter, so that `1.2.3`
        // and `e.g. the` do not end it.
        if c == '.'
            && let Some(&(_, ' ')) = chars.peek()
        {
            let rest = first_line[i + 1..].trim_start();
            if rest.starts_with(|c: char| c.is_uppercase()) {
                sentence = &first_line[..=i];
                break;
            }
        }
    }
    if sentence.chars().count() <= SUMMARY_MAX {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(SUMMARY_MAX).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(space) if space > SUMMARY_MAX / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

/// `CVE-YYYY-NNNN…`: four-digit year, at least four digits of sequence.
pub(super) fn is_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = include_str!("../../tests/fixtures/nvd/cves-page.json");

    fn parse_page(text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse("nvd", "cves-page.json", text.as_bytes(), &mut out);
        out
    }

    fn find<'a>(out: &'a Parsed, id: &str) -> &'a Advisory {
        out.advisories
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    }

    #[test]
    fn primary_and_secondary_ratings_stay_apart() {
        let out = parse_page(PAGE);
        let a = find(&out, "CVE-2021-44228");
        assert_eq!(a.source, "nvd");
        assert_eq!(a.published.as_deref(), Some("2021-12-10T10:15:09Z"));
        assert_eq!(a.modified.as_deref(), Some("2025-02-04T15:15:13Z"));
        assert_eq!(a.withdrawn, None);
        assert_eq!(
            a.summary.as_deref(),
            Some(
                "Apache Log4j2 2.0-beta9 through 2.15.0 (excluding security releases 2.12.2, \
                 2.12.3, and 2.3.1) JNDI features used in configuration, log messages, and \
                 parameters do not protect against an attacker…"
            )
        );
        assert!(
            a.details
                .as_deref()
                .unwrap()
                .ends_with("from 2.16.0 onwards.")
        );
        assert_eq!(a.cwes, ["CWE-20", "CWE-400", "CWE-502", "CWE-917"]);
        assert_eq!(
            a.references,
            [
                "https://logging.apache.org/log4j/2.x/security.html",
                "https://www.kb.cert.org/vuls/id/930724"
            ]
        );
        assert_eq!(a.affected, []);
        let expected = [
            Severity {
                source: "nvd".into(),
                kind: SeverityKind::CvssV3,
                vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H".into()),
                score: Some(10.0),
                level: SeverityLevel::Critical,
            },
            Severity {
                source: "security@apache.org".into(),
                kind: SeverityKind::CvssV3,
                vector: Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H".into()),
                score: Some(9.0),
                level: SeverityLevel::Critical,
            },
            Severity {
                source: "nvd".into(),
                kind: SeverityKind::CvssV2,
                vector: Some("AV:N/AC:M/Au:N/C:C/I:C/A:C".into()),
                score: Some(9.3),
                level: SeverityLevel::High,
            },
        ];
        assert_eq!(a.severities, expected);
    }

    #[test]
    fn cvss_v4_only_rejected_and_unrated_records() {
        let out = parse_page(PAGE);
        let v4 = find(&out, "CVE-2024-12345");
        assert_eq!(
            v4.severities,
            [Severity {
                source: "f86ef6dc-4d3a-42ad-8f28-e6d5547a5007".into(),
                kind: SeverityKind::CvssV4,
                vector: Some(
                    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into()
                ),
                score: Some(9.3),
                level: SeverityLevel::Critical,
            }]
        );
        assert_eq!(v4.cwes, ["CWE-787"]);
        assert_eq!(
            v4.summary.as_deref(),
            Some("A heap overflow in Example Widget 3.1.4.")
        );

        let rejected = find(&out, "CVE-2023-0001");
        assert_eq!(rejected.withdrawn.as_deref(), Some("2023-06-01T08:30:00Z"));
        assert_eq!(rejected.severities, []);

        let bare = find(&out, "CVE-2025-0002");
        assert_eq!(bare.severities, []);
        assert_eq!(bare.cwes, [] as [String; 0]);
        assert_eq!(
            bare.summary.as_deref(),
            Some("Short description without a full stop")
        );
    }

    #[test]
    fn a_malformed_entry_is_skipped_and_the_page_is_read() {
        let out = parse_page(PAGE);
        assert_eq!(out.records.get(UNIT), Some(&7));
        assert_eq!(
            out.advisories
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>(),
            [
                "CVE-2021-44228",
                "CVE-2024-12345",
                "CVE-2023-0001",
                "CVE-2025-0002",
                "CVE-2025-0003"
            ]
        );
        let warnings: Vec<_> = out
            .warnings
            .iter()
            .map(|w| (w.record.as_deref().unwrap_or("-"), w.reason.as_str()))
            .collect();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(warnings[0].0, "CVE-2025-0003");
        assert!(
            warnings[0].1.contains("cvssMetricV31 skipped"),
            "{warnings:?}"
        );
        assert_eq!(warnings[1].0, "vulnerabilities[5]");
        assert!(warnings[1].1.contains("missing field `id`"), "{warnings:?}");
        assert_eq!(warnings[2].0, "CVE-2025-0004");
        assert!(warnings[2].1.contains("malformed CVE"), "{warnings:?}");
        // The bad metric is dropped, the good one kept.
        let partial = find(&out, "CVE-2025-0003");
        assert_eq!(partial.severities.len(), 1);
        assert_eq!(partial.severities[0].kind, SeverityKind::CvssV3);
        assert_eq!(partial.severities[0].score, Some(5.3));
        assert_eq!(out.snapshot.as_deref(), Some("2025-08-25T12:00:00Z"));
    }

    #[test]
    fn a_truncated_feed_keeps_what_was_read() {
        let cut = PAGE.find("\"CVE-2024-12345\"").unwrap();
        let out = parse_page(&PAGE[..cut]);
        assert_eq!(
            out.advisories
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>(),
            ["CVE-2021-44228"]
        );
        assert_eq!(out.warnings.len(), 1);
        assert!(out.warnings[0].reason.contains("not a whole"));
        // The timestamp before the list was seen.
        assert_eq!(out.snapshot.as_deref(), Some("2025-08-25T12:00:00Z"));
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "{",
            "[]",
            "{\"vulnerabilities\": 3}",
            "{\"vulnerabilities\": [null, 1, {\"cve\": null}, {\"cve\": {\"id\": 5}}]}",
            "{\"vulnerabilities\": [{\"cve\": {\"id\": \"CVE-1-2\"}}]}",
            "{\"vulnerabilities\": [{\"cve\": {\"id\": \"CVE-2020-1234\", \"published\": \"x\", \
             \"metrics\": {\"cvssMetricV2\": [{\"cvssData\": {\"vectorString\": \"AV:Q\"}}]}}}]}",
        ] {
            let out = parse_page(text);
            assert!(!out.warnings.is_empty(), "{text}");
        }
    }

    #[test]
    fn summaries_stop_at_the_first_sentence() {
        assert_eq!(
            summary_of("In foo 1.2.3, e.g. the bar. Then more."),
            "In foo 1.2.3, e.g. the bar."
        );
        assert_eq!(summary_of("One line\nsecond line"), "One line");
        let long = "word ".repeat(100);
        let summary = summary_of(&long);
        assert!(summary.ends_with("word…"), "{summary}");
        assert!(summary.chars().count() <= SUMMARY_MAX + 1);
        assert!(is_cve_id("CVE-2024-123456"));
        assert!(!is_cve_id("CVE-24-1234"));
        assert!(!is_cve_id("cve-2024-1234"));
    }
}
