//! OSV records (schema 1.x), one per file, in JSON (osv.dev exports, the Go
//! vulnerability database, AlmaLinux) or YAML (the PyPA advisory database).
//!
//! A JSON file may also hold an array of records or an osv.dev query answer
//! (`{"vulns": […]}`); each record is counted and read on its own.
//!
//! Choices the specification leaves open:
//! - An `affected` entry whose ecosystem has no known version order is skipped
//!   with a warning; one without a `package` (a `GIT`-only entry of an
//!   osv.dev CVE record) is skipped silently, as it names nothing to match.
//! - An entry without ranges and without versions is kept, with the note
//!   [`NO_VERSION_INFO`]: the specification gives it no meaning, so matchers
//!   never match it, but the record still resolves aliases.
//! - Event versions of `ECOSYSTEM` and `SEMVER` ranges are validated with the
//!   ecosystem's scheme (SemVer 2.0 for `SEMVER`); an invalid one skips the
//!   entry with a warning, since evaluating its range would fail at match
//!   time. Listed `versions` are kept as published, valid or not: they name
//!   real releases (PyPI's legacy `2.0.1rc2-git`) and match as strings.
//! - Go's zero time (`0001-01-01T00:00:00Z`, the Go database's `modified`)
//!   means "not set" and is dropped.

use std::fmt::Write as _;

use portcullis_types::{
    Advisory, Affected, OsvEvent, OsvRange, OsvRangeKind, Severity, SeverityKind, SeverityLevel,
};
use portcullis_version::{Scheme, osv_range_affected, scheme_for_osv_ecosystem};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::Parsed;
use super::cvss::severity_from_vector;

/// What one record is called in counts.
const UNIT: &str = "OSV records";

/// The note of an entry that names a package but no versions.
pub(crate) const NO_VERSION_INFO: &str = "no version information";

/// One OSV record as published; fields the model has no place for are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawRecord {
    id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    aliases: Vec<String>,
    /// Schema 1.7: IDs this record was derived from; they name the same issue.
    #[serde(deserialize_with = "null_as_default")]
    upstream: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    related: Vec<String>,
    summary: Option<String>,
    details: Option<String>,
    published: Option<String>,
    modified: Option<String>,
    withdrawn: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    severity: Vec<RawSeverity>,
    #[serde(deserialize_with = "null_as_default")]
    affected: Vec<RawAffected>,
    #[serde(deserialize_with = "null_as_default")]
    references: Vec<RawReference>,
    /// Free-form: read leniently (GHSA's `severity` and `cwe_ids`).
    database_specific: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(deserialize_with = "null_as_default")]
    ranges: Vec<RawRange>,
    #[serde(deserialize_with = "null_as_default")]
    versions: Vec<String>,
    /// Schema 1.7 allows a severity per package; it joins the record's.
    #[serde(deserialize_with = "null_as_default")]
    severity: Vec<RawSeverity>,
    /// Free-form: Go's `imports`, Debian's `urgency`.
    ecosystem_specific: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(deserialize_with = "null_as_default")]
    events: Vec<RawEvent>,
}

/// An event is an object with exactly one of these keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawReference {
    url: String,
}

/// Only the ID, to name a record whose other fields do not deserialize.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawId {
    id: Option<Value>,
}

/// `null` (or an empty YAML value) read as the type's default.
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses a JSON file: one record, an array of records, or `{"vulns": […]}`.
pub(crate) fn parse_json(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(error) => {
            out.count(UNIT);
            out.warn(source, path, None, format!("invalid JSON: {error}"));
            return;
        }
    };
    let records = match value {
        Value::Array(records) => records,
        // osv.dev answers a query that finds nothing with `{}`.
        Value::Object(object) if object.is_empty() => Vec::new(),
        Value::Object(mut object) if !object.contains_key("id") && object.contains_key("vulns") => {
            match object.remove("vulns") {
                Some(Value::Array(records)) => records,
                Some(Value::Null) | None => Vec::new(),
                Some(_) => {
                    out.warn(source, path, None, "`vulns` is not an array");
                    return;
                }
            }
        }
        other => vec![other],
    };
    for value in records {
        out.count(UNIT);
        let id = RawId::deserialize(&value)
            .ok()
            .and_then(|raw| raw.id)
            .and_then(|id| id.as_str().map(str::to_owned));
        match RawRecord::deserialize(value) {
            Ok(raw) => ingest(source, path, raw, out),
            Err(error) => out.warn(
                source,
                path,
                id.as_deref(),
                format!("invalid OSV record: {error}"),
            ),
        }
    }
}

/// Parses a YAML file holding one record.
pub(crate) fn parse_yaml(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    out.count(UNIT);
    match serde_saphyr::from_slice::<RawRecord>(bytes) {
        Ok(raw) => ingest(source, path, raw, out),
        Err(error) => {
            let id = serde_saphyr::from_slice::<RawId>(bytes)
                .ok()
                .and_then(|raw| raw.id)
                .and_then(|id| id.as_str().map(str::to_owned));
            // saphyr's messages span several lines with a source excerpt; the first says it.
            let error = error.to_string();
            let reason = error.lines().next().unwrap_or_default();
            out.warn(
                source,
                path,
                id.as_deref(),
                format!("invalid OSV record: {reason}"),
            );
        }
    }
}

/// The lowercase name of the database that publishes IDs with this prefix,
/// used as the source of the ratings a record carries.
pub(super) fn database_of(id: &str) -> String {
    let prefix = id.split('-').next().unwrap_or_default();
    let name = match prefix {
        "GHSA" => "ghsa",
        "PYSEC" => "pysec",
        "GO" => "go",
        "RUSTSEC" => "rustsec",
        "ALSA" | "ALBA" | "ALEA" => "almalinux",
        "RLSA" | "RXSA" | "RLBA" | "RLEA" => "rocky",
        "DSA" | "DLA" | "DTSA" => "debian",
        "USN" | "UBUNTU" | "LSN" => "ubuntu",
        "RHSA" | "RHBA" | "RHEA" => "redhat",
        "MAL" => "ossf-malicious",
        _ => return prefix.to_ascii_lowercase(),
    };
    name.to_owned()
}

/// Sorted, deduplicated IDs without `own`.
pub(super) fn clean_ids(ids: impl IntoIterator<Item = String>, own: &str) -> Vec<String> {
    let mut ids: Vec<String> = ids
        .into_iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty() && id != own)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A timestamp as RFC 3339 UTC, or as published when it has another shape
/// (kept rather than dropped: a `withdrawn` date must never be lost).
pub(super) fn timestamp(text: Option<String>) -> Option<String> {
    let text = text?;
    let text = text.trim();
    if text.is_empty() || text.starts_with("0001-01-01") {
        return None;
    }
    Some(super::normalize_date(text).unwrap_or_else(|| text.to_owned()))
}

fn ingest(source: &str, path: &str, raw: RawRecord, out: &mut Parsed) {
    let Some(id) = raw
        .id
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
    else {
        out.warn(source, path, None, "record has no `id`");
        return;
    };
    let database = database_of(&id);
    let mut advisory = Advisory::new(id.clone(), source);
    advisory.aliases = clean_ids(raw.aliases.into_iter().chain(raw.upstream), &id);
    advisory.related = clean_ids(raw.related, &id);
    advisory.summary = raw.summary.filter(|s| !s.trim().is_empty());
    advisory.details = raw.details.filter(|s| !s.trim().is_empty());
    advisory.published = timestamp(raw.published);
    advisory.modified = timestamp(raw.modified);
    advisory.withdrawn = timestamp(raw.withdrawn);
    // Each date the record states: Go's `modified` is not set, `published` is.
    for date in [&advisory.published, &advisory.modified, &advisory.withdrawn]
        .into_iter()
        .flatten()
    {
        out.saw_date(date);
    }

    let mut severities = Vec::new();
    for severity in &raw.severity {
        if let Some(severity) = read_severity(source, path, &id, &database, severity, out) {
            severities.push(severity);
        }
    }
    if let Some(level) = raw
        .database_specific
        .get("severity")
        .and_then(Value::as_str)
        .and_then(SeverityLevel::parse_word)
        .filter(|level| *level != SeverityLevel::Unknown)
    {
        severities.push(rating(&database, level));
    }
    if let Some(level) = errata_rating(&database, advisory.summary.as_deref()) {
        severities.push(rating(&database, level));
    }

    for entry in raw.affected {
        for severity in &entry.severity {
            if let Some(severity) = read_severity(source, path, &id, &database, severity, out) {
                severities.push(severity);
            }
        }
        if let Some(affected) = read_affected(source, path, &id, entry, out) {
            advisory.affected.push(affected);
        }
    }
    for severity in severities {
        if !advisory.severities.contains(&severity) {
            advisory.severities.push(severity);
        }
    }

    for reference in raw.references {
        let url = reference.url.trim();
        if !url.is_empty() && !advisory.references.iter().any(|known| known == url) {
            advisory.references.push(url.to_owned());
        }
    }
    if let Some(cwes) = raw
        .database_specific
        .get("cwe_ids")
        .and_then(Value::as_array)
    {
        let cwes = cwes.iter().filter_map(Value::as_str).map(str::to_owned);
        advisory.cwes = clean_ids(cwes, "");
    }
    out.advisories.push(advisory);
}

fn rating(source: &str, level: SeverityLevel) -> Severity {
    Severity {
        source: source.to_owned(),
        kind: SeverityKind::Rating,
        vector: None,
        score: None,
        level,
    }
}

/// AlmaLinux and Rocky Linux errata carry Red Hat's rating only as the
/// summary's first word (`Important: thunderbird security update`).
fn errata_rating(database: &str, summary: Option<&str>) -> Option<SeverityLevel> {
    if !matches!(database, "almalinux" | "rocky") {
        return None;
    }
    let (word, _) = summary?.split_once(':')?;
    match word.trim() {
        "Critical" | "Important" | "Moderate" | "Low" => SeverityLevel::parse_word(word),
        _ => None,
    }
}

fn read_severity(
    source: &str,
    path: &str,
    id: &str,
    database: &str,
    raw: &RawSeverity,
    out: &mut Parsed,
) -> Option<Severity> {
    match raw.kind.as_str() {
        "CVSS_V2" | "CVSS_V3" | "CVSS_V4" => {
            let severity = severity_from_vector(database, &raw.score);
            if severity.is_none() {
                out.warn(
                    source,
                    path,
                    Some(id),
                    format!("invalid {} vector `{}`", raw.kind, raw.score),
                );
            }
            severity
        }
        // Ubuntu's priority words (`negligible` … `critical`).
        "Ubuntu" => match SeverityLevel::parse_word(&raw.score) {
            Some(level) => Some(rating("ubuntu", level)),
            None => {
                out.warn(
                    source,
                    path,
                    Some(id),
                    format!("unknown Ubuntu priority `{}`", raw.score),
                );
                None
            }
        },
        other => {
            out.warn(
                source,
                path,
                Some(id),
                format!("unknown severity type `{other}`"),
            );
            None
        }
    }
}

fn read_affected(
    source: &str,
    path: &str,
    id: &str,
    raw: RawAffected,
    out: &mut Parsed,
) -> Option<Affected> {
    let package = raw.package?;
    let ecosystem = package.ecosystem.trim();
    let name = package.name.trim();
    let record = format!("{id} {name}");
    let Some(scheme) = scheme_for_osv_ecosystem(ecosystem) else {
        out.warn(
            source,
            path,
            Some(&record),
            format!("unknown ecosystem `{ecosystem}`"),
        );
        return None;
    };
    if name.is_empty() {
        out.warn(source, path, Some(id), "affected package has no name");
        return None;
    }
    let mut affected = Affected::new(ecosystem, name);
    for range in raw.ranges {
        match read_range(scheme, range) {
            Ok(range) => affected.ranges.push(range),
            Err(reason) => {
                out.warn(source, path, Some(&record), reason);
                return None;
            }
        }
    }
    // Listed versions are kept even when the scheme cannot parse them: they
    // are releases as the registry names them (PyPI's pre-PEP 440
    // `2.0.1rc2-git`), and matchers compare them as strings first.
    affected.versions = raw
        .versions
        .iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if affected.ranges.is_empty() && affected.versions.is_empty() {
        affected.note = Some(NO_VERSION_INFO.to_owned());
    }
    affected.symbols = go_symbols(&raw.ecosystem_specific);
    // Debian's OSV records rate each package with the tracker's urgency.
    affected.severity = raw
        .ecosystem_specific
        .get("urgency")
        .and_then(Value::as_str)
        .and_then(SeverityLevel::parse_word)
        .filter(|level| *level != SeverityLevel::Unknown);
    Some(affected)
}

/// A range with its events, every ordered version checked against the scheme.
fn read_range(scheme: Scheme, raw: RawRange) -> Result<OsvRange, String> {
    let kind = match raw.kind.as_str() {
        "ECOSYSTEM" => OsvRangeKind::Ecosystem,
        "SEMVER" => OsvRangeKind::Semver,
        "GIT" => OsvRangeKind::Git,
        // Kept: an unknown type never matches, and the rest of the entry still does.
        _ => OsvRangeKind::Unknown,
    };
    let mut events = Vec::with_capacity(raw.events.len());
    for event in raw.events {
        let event = match event {
            RawEvent {
                introduced: Some(v),
                fixed: None,
                last_affected: None,
                limit: None,
            } => OsvEvent::Introduced(v.trim().to_owned()),
            RawEvent {
                introduced: None,
                fixed: Some(v),
                last_affected: None,
                limit: None,
            } => OsvEvent::Fixed(v.trim().to_owned()),
            RawEvent {
                introduced: None,
                fixed: None,
                last_affected: Some(v),
                limit: None,
            } => OsvEvent::LastAffected(v.trim().to_owned()),
            RawEvent {
                introduced: None,
                fixed: None,
                last_affected: None,
                limit: Some(v),
            } => OsvEvent::Limit(v.trim().to_owned()),
            _ => {
                return Err(format!(
                    "{} range has an event without exactly one of introduced, fixed, last_affected, limit",
                    raw.kind
                ));
            }
        };
        let version = match &event {
            OsvEvent::Introduced(v) if v == "0" => None,
            OsvEvent::Limit(v) if v == "*" => None,
            OsvEvent::Introduced(v)
            | OsvEvent::Fixed(v)
            | OsvEvent::LastAffected(v)
            | OsvEvent::Limit(v) => Some(v),
        };
        if let Some(version) = version
            && matches!(kind, OsvRangeKind::Ecosystem | OsvRangeKind::Semver)
            && let Err(error) = check_version(scheme, kind, version)
        {
            return Err(format!(
                "invalid version `{version}` in {} range: {error}",
                raw.kind
            ));
        }
        events.push(event);
    }
    Ok(OsvRange { kind, events })
}

/// Checks that `version` parses as the range kind orders it: the scheme for
/// `ECOSYSTEM`, SemVer 2.0 for `SEMVER` (through the evaluator itself, so
/// that what passes here evaluates at match time).
fn check_version(scheme: Scheme, kind: OsvRangeKind, version: &str) -> Result<(), String> {
    let probe = OsvRange {
        kind,
        events: vec![OsvEvent::Introduced(version.to_owned())],
    };
    osv_range_affected(scheme, version, &probe)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// Go's `ecosystem_specific.imports`: `path:Symbol` for each symbol, or the
/// bare path when the whole package is affected (no symbols listed).
fn go_symbols(ecosystem_specific: &Value) -> Vec<String> {
    let mut symbols = Vec::new();
    let Some(imports) = ecosystem_specific.get("imports").and_then(Value::as_array) else {
        return symbols;
    };
    for import in imports {
        let Some(path) = import.get("path").and_then(Value::as_str) else {
            continue;
        };
        let listed: Vec<&str> = import
            .get("symbols")
            .and_then(Value::as_array)
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if listed.is_empty() {
            symbols.push(path.to_owned());
        }
        for symbol in listed {
            let mut text = String::with_capacity(path.len() + symbol.len() + 1);
            let _ = write!(text, "{path}:{symbol}");
            symbols.push(text);
        }
    }
    symbols.dedup();
    symbols
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_types::AffectedStatus;

    fn json(text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse_json("test", "x.json", text.as_bytes(), &mut out);
        out
    }

    fn yaml(text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse_yaml("test", "x.yaml", text.as_bytes(), &mut out);
        out
    }

    const GHSA: &str = r#"{
      "schema_version": "1.4.0",
      "id": "GHSA-jfh8-c2jp-5v3q",
      "modified": "2024-03-01T12:00:00.123Z",
      "published": "2021-12-10T00:40:56Z",
      "aliases": ["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q", "CVE-2021-44228"],
      "related": ["CVE-2021-45046"],
      "summary": "Remote code injection in Log4j",
      "details": "Log4j2 JNDI features…",
      "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}
      ],
      "affected": [{
        "package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core",
                    "purl": "pkg:maven/org.apache.logging.log4j/log4j-core"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}]}],
        "database_specific": {"last_known_affected_version_range": "<= 2.14.1"}
      }, {
        "package": {"ecosystem": "Packagist", "name": "vendor/thing"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]
      }],
      "references": [{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"},
                     {"type": "WEB", "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"}],
      "database_specific": {"cwe_ids": ["CWE-917", "CWE-20", "CWE-502"], "severity": "CRITICAL",
                            "github_reviewed": true}
    }"#;

    #[test]
    fn ghsa_record_with_unknown_ecosystem_entry() {
        let out = json(GHSA);
        assert_eq!(out.records.get(UNIT), Some(&1));
        assert_eq!(out.advisories.len(), 1);
        let a = &out.advisories[0];
        assert_eq!(a.id, "GHSA-jfh8-c2jp-5v3q");
        assert_eq!(a.source, "test");
        assert_eq!(a.aliases, ["CVE-2021-44228"]);
        assert_eq!(a.related, ["CVE-2021-45046"]);
        assert_eq!(a.modified.as_deref(), Some("2024-03-01T12:00:00Z"));
        assert_eq!(out.snapshot.as_deref(), Some("2024-03-01T12:00:00Z"));
        assert_eq!(a.cwes, ["CWE-20", "CWE-502", "CWE-917"]);
        assert_eq!(
            a.references,
            ["https://nvd.nist.gov/vuln/detail/CVE-2021-44228"]
        );
        assert_eq!(a.severities.len(), 2);
        assert_eq!(a.severities[0].source, "ghsa");
        assert_eq!(a.severities[0].kind, SeverityKind::CvssV3);
        assert_eq!(a.severities[0].score, Some(10.0));
        assert_eq!(a.severities[1], rating("ghsa", SeverityLevel::Critical));
        assert_eq!(a.affected.len(), 1);
        assert_eq!(a.affected[0].ecosystem, "Maven");
        assert_eq!(a.affected[0].fixed_versions(), ["2.15.0"]);
        assert_eq!(out.warnings.len(), 1);
        assert_eq!(
            out.warnings[0].record.as_deref(),
            Some("GHSA-jfh8-c2jp-5v3q vendor/thing")
        );
        assert_eq!(out.warnings[0].reason, "unknown ecosystem `Packagist`");
    }

    #[test]
    fn arrays_and_query_answers_hold_several_records() {
        let one = r#"{"id": "PYSEC-1", "modified": "2020-01-01T00:00:00Z"}"#;
        let two = r#"{"id": "PYSEC-2", "modified": "2021-01-01T00:00:00Z"}"#;
        let out = json(&format!("[{one}, {two}, 5]"));
        assert_eq!(out.records.get(UNIT), Some(&3));
        assert_eq!(out.advisories.len(), 2);
        assert_eq!(out.warnings.len(), 1);
        let out = json(&format!("{{\"vulns\": [{one}, {two}]}}"));
        assert_eq!(out.records.get(UNIT), Some(&2));
        assert_eq!(out.advisories[1].id, "PYSEC-2");
        assert_eq!(out.snapshot.as_deref(), Some("2021-01-01T00:00:00Z"));
        // An empty query answer is `{}`.
        let out = json("{}");
        assert!(out.advisories.is_empty() && out.warnings.is_empty());
        assert_eq!(out.records.get(UNIT), None);
    }

    #[test]
    fn malformed_input_warns_without_panicking() {
        let out = json("{\"id\": \"X-1\", \"aliases\": 3}");
        assert_eq!(out.records.get(UNIT), Some(&1));
        assert!(out.advisories.is_empty());
        assert_eq!(out.warnings[0].record.as_deref(), Some("X-1"));
        let out = json("not json");
        assert_eq!(out.warnings.len(), 1);
        let out = json(r#"{"modified": "2020-01-01T00:00:00Z", "affected": []}"#);
        assert_eq!(out.warnings[0].reason, "record has no `id`");
        let out = yaml("id: [unterminated\n");
        assert_eq!(out.records.get(UNIT), Some(&1));
        assert_eq!(out.warnings.len(), 1);
        assert!(!out.warnings[0].reason.contains('\n'));
        // Nulls where lists are expected are empty lists.
        let out = json(
            r#"{"id": "X-2", "aliases": null, "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "ranges": null, "versions": null}]}"#,
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(
            out.advisories[0].affected[0].note.as_deref(),
            Some(NO_VERSION_INFO)
        );
    }

    #[test]
    fn yaml_record_keeps_out_of_order_events_and_unquoted_versions() {
        let out = yaml(
            "id: PYSEC-2019-10
aliases:
- GHSA-6c7v-2f49-8h26
- CVE-2019-12781
upstream: [CVE-2019-12781, PYSEC-2019-10]
affected:
- package:
    name: django
    ecosystem: PyPI
    purl: pkg:pypi/django
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: '2.1'
    - fixed: 2.1.10
    - introduced: 1.11
    - fixed: 1.11.22
  - type: GIT
    repo: https://github.com/django/django
    events:
    - introduced: 0
    - fixed: 1e5ab8a1a1c1
  versions: [1.11, 2.1.9]
  ecosystem_specific: {}
severity:
- type: CVSS_V4
  score: CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N
modified: 2020-08-24T17:37:00Z
published: '2019-07-01T14:15:00Z'
withdrawn: 2022-02-22
",
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        let a = &out.advisories[0];
        assert_eq!(a.aliases, ["CVE-2019-12781", "GHSA-6c7v-2f49-8h26"]);
        assert_eq!(a.withdrawn.as_deref(), Some("2022-02-22T00:00:00Z"));
        assert_eq!(a.severities[0].source, "pysec");
        assert_eq!(a.severities[0].kind, SeverityKind::CvssV4);
        let entry = &a.affected[0];
        assert_eq!(entry.status, AffectedStatus::Affected);
        assert_eq!(
            entry.ranges[0].events,
            [
                OsvEvent::Introduced("2.1".into()),
                OsvEvent::Fixed("2.1.10".into()),
                OsvEvent::Introduced("1.11".into()),
                OsvEvent::Fixed("1.11.22".into()),
            ]
        );
        assert_eq!(entry.ranges[1].kind, OsvRangeKind::Git);
        assert_eq!(entry.versions, ["1.11", "2.1.9"]);
        assert!(entry.symbols.is_empty());
    }

    #[test]
    fn invalid_versions_skip_the_entry_only() {
        let out = json(
            r#"{"id": "GO-2099-0001", "affected": [
              {"package": {"ecosystem": "Go", "name": "example.com/a"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}]},
              {"package": {"ecosystem": "Go", "name": "example.com/b"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}, {"limit": "*"}]}]},
              {"package": {"ecosystem": "Debian:12", "name": "c"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0", "introduced": "2"}]}]},
              {"package": {"ecosystem": "Alpine:v3.11", "name": "d"},
               "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.12.5.-r0"}]}]},
              {"package": {"ecosystem": "PyPI", "name": "nltk"},
               "versions": ["2.0.1rc2-git", "2.0.1"]},
              {"ranges": [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc"}]}]}
            ]}"#,
        );
        let a = &out.advisories[0];
        assert_eq!(a.affected.len(), 2);
        assert_eq!(a.affected[0].package, "example.com/b");
        assert_eq!(a.affected[1].versions, ["2.0.1rc2-git", "2.0.1"]);
        let reasons: Vec<_> = out
            .warnings
            .iter()
            .map(|w| (w.record.as_deref().unwrap_or(""), w.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert_eq!(reasons[0].0, "GO-2099-0001 example.com/a");
        assert!(reasons[0].1.contains("`1.2` in SEMVER"), "{}", reasons[0].1);
        assert!(reasons[1].1.contains("exactly one"), "{}", reasons[1].1);
        assert!(
            reasons[2].1.contains("`0.12.5.-r0` in ECOSYSTEM"),
            "{}",
            reasons[2].1
        );
    }

    #[test]
    fn go_symbols_debian_urgency_ubuntu_priority_and_errata_ratings() {
        let out = json(
            r#"{"id": "GO-2020-0001", "modified": "0001-01-01T00:00:00Z",
              "published": "2021-04-14T20:04:52Z", "affected": [{
              "package": {"ecosystem": "Go", "name": "github.com/gin-gonic/gin"},
              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.6.0"}]}],
              "ecosystem_specific": {"imports": [
                 {"path": "github.com/gin-gonic/gin", "symbols": ["Default", "Logger"], "goos": ["linux"]},
                 {"path": "github.com/gin-gonic/gin/render"}]}}]}"#,
        );
        // Go's zero time means "not set".
        assert_eq!(out.advisories[0].modified, None);
        assert_eq!(out.snapshot.as_deref(), Some("2021-04-14T20:04:52Z"));
        assert_eq!(
            out.advisories[0].affected[0].symbols,
            [
                "github.com/gin-gonic/gin:Default",
                "github.com/gin-gonic/gin:Logger",
                "github.com/gin-gonic/gin/render"
            ]
        );
        let out = json(
            r#"{"id": "DSA-5380-1", "affected": [{
              "package": {"ecosystem": "Debian:11", "name": "xorg-server"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2:1.20.11-1+deb11u6"}]}],
              "ecosystem_specific": {"urgency": "high**"}}, {
              "package": {"ecosystem": "Debian:11", "name": "other"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-1"}]}],
              "ecosystem_specific": {"urgency": "not yet assigned"}}]}"#,
        );
        let a = &out.advisories[0];
        assert_eq!(a.affected[0].severity, Some(SeverityLevel::High));
        assert_eq!(a.affected[1].severity, None);
        assert_eq!(a.affected[0].fixed_versions(), ["2:1.20.11-1+deb11u6"]);
        let out = json(
            r#"{"id": "USN-6000-1", "severity": [{"type": "Ubuntu", "score": "medium"},
              {"type": "CVSS_V3", "score": "CVSS:3.1/garbage"}, {"type": "OTHER", "score": "x"}]}"#,
        );
        assert_eq!(
            out.advisories[0].severities,
            [rating("ubuntu", SeverityLevel::Medium)]
        );
        assert_eq!(out.warnings.len(), 2);
        let out = json(
            r#"{"id": "ALSA-2023:4063", "summary": "Important: thunderbird security update"}"#,
        );
        assert_eq!(
            out.advisories[0].severities,
            [rating("almalinux", SeverityLevel::High)]
        );
    }

    #[test]
    fn database_names_come_from_id_prefixes() {
        assert_eq!(database_of("GHSA-xxxx-yyyy-zzzz"), "ghsa");
        assert_eq!(database_of("ALSA-2023:4063"), "almalinux");
        assert_eq!(database_of("RLSA-2023:1"), "rocky");
        assert_eq!(database_of("OSV-2020-1"), "osv");
        assert_eq!(database_of("BIT-foo-2020-1"), "bit");
    }

    #[test]
    fn every_truncation_is_survived() {
        for end in 0..GHSA.len() {
            let mut out = Parsed::default();
            parse_json("test", "x.json", &GHSA.as_bytes()[..end], &mut out);
            parse_yaml("test", "x.yaml", &GHSA.as_bytes()[..end], &mut out);
            assert_eq!(out.records.get(UNIT), Some(&2));
        }
    }
}
