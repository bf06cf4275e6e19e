//! The Node.js security working group's advisories (`nodejs/security-wg`,
//! `vuln/npm/<n>.json` for npm modules and `vuln/core/<n>.json` for the
//! runtime).
//!
//! The working group names them `NSWG-ECO-<n>` and `NSWG-COR-<n>`, `<n>`
//! being the number in the file name (its `vuln/README.md`). Ranges are
//! node-semver ranges, kept as a [`NativeRange`] and checked with
//! `portcullis_version::satisfies(Scheme::Npm, …)`.
//!
//! Core advisories affect the `node` runtime itself, not an npm package, so
//! their ecosystem is `Node.js` with package `node` (ranges still in
//! node-semver syntax); a matcher that finds a node binary can use them.
//!
//! Each directory also holds an `index.json` mapping every number to the
//! same record as its own file; it is recognised and skipped so that records
//! are not read twice.

use portcullis_types::{Advisory, Affected, NativeRange, Severity, SeverityKind, SeverityLevel};
use portcullis_version::Scheme;
use serde::Deserialize;

use super::{Parsed, normalize_date};

/// The ecosystem given to core advisories.
const CORE_ECOSYSTEM: &str = "Node.js";
const CORE_PACKAGE: &str = "node";
const RATER: &str = "nodejs";

#[derive(Deserialize)]
struct NpmRecord {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    overview: Option<String>,
    #[serde(default)]
    recommendation: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    publish_date: Option<String>,
    #[serde(default)]
    module_name: Option<String>,
    #[serde(default)]
    cves: Option<Vec<String>>,
    #[serde(default)]
    vulnerable_versions: Option<String>,
    #[serde(default)]
    patched_versions: Option<String>,
    #[serde(default)]
    references: Option<Vec<String>>,
    #[serde(default)]
    cvss_vector: Option<String>,
    #[serde(default)]
    cvss_score: Option<f64>,
}

#[derive(Deserialize)]
struct CoreRecord {
    #[serde(default)]
    cve: Option<Vec<String>>,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    vulnerable: Option<String>,
    #[serde(default)]
    patched: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    overview: Option<String>,
    #[serde(default, rename = "affectedEnvironments")]
    affected_environments: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    publish_date: Option<String>,
    /// `CWE-226: Sensitive Information Uncleared Before Release`.
    #[serde(default, rename = "type")]
    weakness: Option<String>,
    /// `3.0/AV:N/…`, without the `CVSS:` prefix.
    #[serde(default)]
    cvss: Option<String>,
}

/// The JSON object of a file, or `None` (with a warning) when it is not one
/// or is an `index.json` (an object of records keyed by number).
fn record_object(
    source: &str,
    path: &str,
    bytes: &[u8],
    key: &str,
    out: &mut Parsed,
) -> Option<serde_json::Value> {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(error) => {
            out.warn(source, path, None, format!("invalid JSON: {error}"));
            return None;
        }
    };
    let Some(object) = value.as_object() else {
        out.warn(source, path, None, "not a JSON object");
        return None;
    };
    let is_index = !object.contains_key(key)
        && !object.is_empty()
        && object
            .iter()
            .all(|(k, v)| v.is_object() && k.bytes().all(|b| b.is_ascii_digit()));
    (!is_index).then_some(value)
}

/// The number in the file name: `12` from `vuln/core/12.json`.
fn file_number(path: &str) -> Option<&str> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = name.strip_suffix(".json").unwrap_or(name);
    (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit())).then_some(stem)
}

/// Parses `vuln/npm/<n>.json`. Unit: `npm advisories`.
pub(crate) fn parse_npm(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let Some(value) = record_object(source, path, bytes, "module_name", out) else {
        return;
    };
    out.count("npm advisories");
    let record: NpmRecord = match serde_json::from_value(value) {
        Ok(record) => record,
        Err(error) => {
            out.warn(source, path, None, format!("malformed advisory: {error}"));
            return;
        }
    };
    let number = match &record.id {
        Some(serde_json::Value::Number(n)) => n.as_u64().map(|n| n.to_string()),
        Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
        _ => None,
    }
    .filter(|n| !n.is_empty())
    .or_else(|| file_number(path).map(str::to_owned));
    let Some(number) = number else {
        out.warn(source, path, None, "no advisory number");
        return;
    };
    let id = format!("NSWG-ECO-{number}");
    let mut advisory = Advisory::new(&id, source);
    advisory.aliases = ids(record.cves.unwrap_or_default(), &id);
    advisory.summary = non_empty(record.title);
    advisory.details = match (non_empty(record.overview), non_empty(record.recommendation)) {
        (Some(overview), Some(advice)) => Some(format!("{overview}\n\n{advice}")),
        (overview, advice) => overview.or(advice),
    };
    advisory.published = dated(record.publish_date, out);
    advisory.modified = dated(record.updated_at, out);
    advisory.references = record
        .references
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r.trim().is_empty())
        .collect();
    if let Some(vector) = non_empty(record.cvss_vector) {
        match super::cvss::severity_from_vector(RATER, &vector) {
            Some(severity) => advisory.severities.push(severity),
            None => {
                let kept = score_only(&vector, record.cvss_score);
                let reason = match &kept {
                    Some(severity) => format!(
                        "invalid CVSS vector `{vector}`; kept the published score {}",
                        severity.score.unwrap_or_default()
                    ),
                    None => format!("invalid CVSS vector `{vector}`"),
                };
                out.warn(source, path, Some(&id), reason);
                advisory.severities.extend(kept);
            }
        }
    }
    match non_empty(record.module_name) {
        Some(module) => match native_range(record.vulnerable_versions, record.patched_versions) {
            Ok(native) => {
                let mut affected = Affected::new("npm", module);
                affected.native = Some(native);
                advisory.affected.push(affected);
            }
            Err(reason) => out.warn(source, path, Some(&id), reason),
        },
        None => out.warn(source, path, Some(&id), "no module_name"),
    }
    out.advisories.push(advisory);
}

/// Parses `vuln/core/<n>.json`. Unit: `core advisories`.
pub(crate) fn parse_core(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let Some(value) = record_object(source, path, bytes, "vulnerable", out) else {
        return;
    };
    out.count("core advisories");
    let Some(number) = file_number(path) else {
        out.warn(
            source,
            path,
            None,
            "file name is not the advisory number (`<n>.json`)",
        );
        return;
    };
    let id = format!("NSWG-COR-{number}");
    let record: CoreRecord = match serde_json::from_value(value) {
        Ok(record) => record,
        Err(error) => {
            out.warn(
                source,
                path,
                Some(&id),
                format!("malformed advisory: {error}"),
            );
            return;
        }
    };
    let mut advisory = Advisory::new(&id, source);
    advisory.aliases = ids(record.cve.unwrap_or_default(), &id);
    advisory.summary = non_empty(record.description);
    advisory.details = non_empty(record.overview);
    advisory.published = dated(record.publish_date, out);
    advisory.references.extend(non_empty(record.reference));
    if let Some(weakness) = non_empty(record.weakness) {
        let cwe = weakness.split(':').next().unwrap_or_default().trim();
        if cwe.starts_with("CWE-") {
            advisory.cwes.push(cwe.to_owned());
        }
    }
    if let Some(cvss) = non_empty(record.cvss) {
        let vector = if cvss.starts_with("CVSS:") {
            cvss
        } else {
            format!("CVSS:{cvss}")
        };
        match super::cvss::severity_from_vector(RATER, &vector) {
            Some(severity) => advisory.severities.push(severity),
            None => out.warn(
                source,
                path,
                Some(&id),
                format!("invalid CVSS vector `{vector}`"),
            ),
        }
    }
    if let Some(word) = non_empty(record.severity) {
        match SeverityLevel::parse_word(&word) {
            Some(SeverityLevel::Unknown) => {}
            Some(level) => advisory.severities.push(Severity {
                source: RATER.to_owned(),
                kind: SeverityKind::Rating,
                vector: None,
                score: None,
                level,
            }),
            None => out.warn(
                source,
                path,
                Some(&id),
                format!("unknown severity `{word}`"),
            ),
        }
    }
    match native_range(record.vulnerable, record.patched) {
        Ok(native) => {
            let mut affected = Affected::new(CORE_ECOSYSTEM, CORE_PACKAGE);
            affected.native = Some(native);
            let environments: Vec<String> = record
                .affected_environments
                .unwrap_or_default()
                .into_iter()
                .filter(|e| !e.trim().is_empty() && e.trim() != "all")
                .collect();
            if !environments.is_empty() {
                affected.note = Some(format!("affects {} only", environments.join(", ")));
            }
            advisory.affected.push(affected);
        }
        Err(reason) => out.warn(source, path, Some(&id), reason),
    }
    out.advisories.push(advisory);
}

/// A rating from the published score when the vector does not parse
/// (`…/I:U/A:U` in one record): the score is still the WG's assessment.
/// `None` for the placeholder score `-1` or a vector of unknown version.
fn score_only(vector: &str, score: Option<f64>) -> Option<Severity> {
    let score = score.filter(|s| (0.0..=10.0).contains(s))? as f32;
    let kind = match vector.get(..6) {
        Some("CVSS:3") => SeverityKind::CvssV3,
        Some("CVSS:4") => SeverityKind::CvssV4,
        _ => return None,
    };
    Some(Severity {
        source: RATER.to_owned(),
        kind,
        vector: None,
        score: Some(score),
        level: SeverityLevel::from_cvss_score(score),
    })
}

/// The node-semver range of vulnerable and patched versions. No patched
/// range, or `<0.0.0` (the WG's "no fix"), leaves `unaffected` empty.
fn native_range(
    vulnerable: Option<String>,
    patched: Option<String>,
) -> Result<NativeRange, String> {
    let vulnerable = non_empty(vulnerable).ok_or("no vulnerable range")?;
    check_range(&vulnerable)?;
    let patched =
        non_empty(patched).filter(|p| p.split_whitespace().collect::<String>() != "<0.0.0");
    if let Some(patched) = &patched {
        check_range(patched)?;
    }
    Ok(NativeRange {
        vulnerable: Some(vulnerable),
        unaffected: patched.into_iter().collect(),
    })
}

fn check_range(range: &str) -> Result<(), String> {
    portcullis_version::satisfies(Scheme::Npm, "0.0.0", range)
        .map(|_| ())
        .map_err(|e| format!("invalid npm range `{range}`: {e}"))
}

/// Sorted, deduplicated IDs, without `own` and blanks.
fn ids(list: Vec<String>, own: &str) -> Vec<String> {
    let mut ids: Vec<String> = list
        .into_iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty() && id != own)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A date as RFC 3339, noted as seen; `None` when absent or unreadable.
fn dated(date: Option<String>, out: &mut Parsed) -> Option<String> {
    let date = normalize_date(&non_empty(date)?)?;
    out.saw_date(&date);
    Some(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_types::AffectedStatus;

    // Fields as the WG publishes them (`vuln/npm/*.json`).
    const NPM: &str = r#"{
      "id": 410,
      "title": "merge-options prototype pollution",
      "overview": "merge-options node module suffers from a prototype pollution vulnerability",
      "created_at": "2018-02-17",
      "updated_at": "2018-04-09",
      "publish_date": "2018-04-09",
      "author": {"name": "Olivier Arteau", "website": null, "username": "HoLyVieR"},
      "module_name": "merge-options",
      "cves": ["CVE-2018-3752", "CVE-2018-3752"],
      "vulnerable_versions": "<=1.0.0",
      "patched_versions": ">=1.0.1",
      "recommendation": "Update to version 1.0.1 or later.",
      "references": ["https://hackerone.com/reports/311336"],
      "cvss_vector": "CVSS:3.0/AV:N/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L",
      "cvss_score": 2,
      "coordinating_vendor": null
    }"#;

    fn npm(text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse_npm("nodejs", "vuln/npm/410.json", text.as_bytes(), &mut out);
        out
    }

    #[test]
    fn npm_advisory_fields() {
        let out = npm(NPM);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.records.get("npm advisories"), Some(&1));
        let adv = &out.advisories[0];
        assert_eq!(adv.id, "NSWG-ECO-410");
        assert_eq!(adv.source, "nodejs");
        assert_eq!(adv.aliases, ["CVE-2018-3752"]);
        assert_eq!(
            adv.summary.as_deref(),
            Some("merge-options prototype pollution")
        );
        assert!(adv.details.as_deref().unwrap().ends_with("1.0.1 or later."));
        assert_eq!(adv.published.as_deref(), Some("2018-04-09T00:00:00Z"));
        assert_eq!(adv.modified.as_deref(), Some("2018-04-09T00:00:00Z"));
        assert_eq!(out.snapshot.as_deref(), Some("2018-04-09T00:00:00Z"));
        assert_eq!(adv.references, ["https://hackerone.com/reports/311336"]);
        assert_eq!(adv.severities.len(), 1);
        assert_eq!(adv.severities[0].source, "nodejs");
        assert_eq!(adv.severities[0].kind, SeverityKind::CvssV3);
        assert_eq!(adv.severities[0].level, SeverityLevel::Low);
        let affected = &adv.affected[0];
        assert_eq!(
            (affected.ecosystem.as_str(), affected.package.as_str()),
            ("npm", "merge-options")
        );
        assert_eq!(affected.status, AffectedStatus::Affected);
        assert_eq!(
            affected.native,
            Some(NativeRange {
                vulnerable: Some("<=1.0.0".to_owned()),
                unaffected: vec![">=1.0.1".to_owned()],
            })
        );
    }

    #[test]
    fn npm_no_fix_and_bad_ranges() {
        let no_fix = NPM.replace("\">=1.0.1\"", "\"<0.0.0\"");
        let out = npm(&no_fix);
        let native = out.advisories[0].affected[0].native.clone().unwrap();
        assert!(native.unaffected.is_empty());
        let null_fix = NPM.replace("\">=1.0.1\"", "null");
        assert!(
            npm(&null_fix).advisories[0].affected[0]
                .native
                .as_ref()
                .unwrap()
                .unaffected
                .is_empty()
        );

        let bad = NPM.replace("\"<=1.0.0\"", "\"<=1.0.0 || >>2\"");
        let out = npm(&bad);
        assert_eq!(out.advisories.len(), 1);
        assert!(out.advisories[0].affected.is_empty());
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.warnings[0]
                .reason
                .contains("invalid npm range `<=1.0.0 || >>2`")
        );

        let bad_vector = NPM.replace("CVSS:3.0/AV:N", "CVSS:3.0/AV:Q");
        let out = npm(&bad_vector);
        let kept = &out.advisories[0].severities;
        assert_eq!(
            (kept[0].score, kept[0].vector.as_deref()),
            (Some(2.0), None)
        );
        assert_eq!(kept[0].level, SeverityLevel::Low);
        assert!(
            out.warnings[0]
                .reason
                .ends_with("kept the published score 2")
        );
        let no_score = bad_vector.replace("\"cvss_score\": 2", "\"cvss_score\": -1");
        let out = npm(&no_score);
        assert!(out.advisories[0].severities.is_empty());
        assert!(out.warnings[0].reason.contains("invalid CVSS vector"));

        let out = npm(r#"{"id": "x", "module_name": 3}"#);
        assert_eq!(out.records.get("npm advisories"), Some(&1));
        assert!(out.advisories.is_empty());
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn index_files_are_skipped() {
        let index = format!("{{\"410\": {NPM}, \"411\": {NPM}}}");
        let mut out = Parsed::default();
        parse_npm("nodejs", "vuln/npm/index.json", index.as_bytes(), &mut out);
        let core = r#"{"1": {"cve": [], "vulnerable": "4.x", "patched": "^4.1.2"}}"#;
        parse_core("nodejs", "vuln/core/index.json", core.as_bytes(), &mut out);
        assert!(out.advisories.is_empty());
        assert!(out.records.is_empty());
        assert!(out.warnings.is_empty());
    }

    // Fields as the WG publishes them (`vuln/core/*.json`).
    const CORE: &str = r#"{
      "cve": ["CVE-2016-5325"],
      "ref": "https://github.com/nodejs/node-private/pull/60",
      "vulnerable": " 6.x || 4.x || 5.x",
      "patched": "^6.7.0 || ^4.6.0",
      "author": "Romain Gaucher",
      "cvss": "3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N",
      "cvss_score": 4.8,
      "type": "CWE-113: Improper Neutralization of CRLF Sequences in HTTP Headers",
      "publish_date": "2016-09-27",
      "description": "reason argument in ServerResponse#writeHead() not properly validated",
      "affectedEnvironments": ["win32"],
      "severity": "medium"
    }"#;

    #[test]
    fn core_advisory_fields() {
        let mut out = Parsed::default();
        parse_core("nodejs", "vuln/core/18.json", CORE.as_bytes(), &mut out);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.records.get("core advisories"), Some(&1));
        let adv = &out.advisories[0];
        assert_eq!(adv.id, "NSWG-COR-18");
        assert_eq!(adv.aliases, ["CVE-2016-5325"]);
        assert_eq!(adv.cwes, ["CWE-113"]);
        assert_eq!(adv.published.as_deref(), Some("2016-09-27T00:00:00Z"));
        assert_eq!(
            adv.references,
            ["https://github.com/nodejs/node-private/pull/60"]
        );
        assert_eq!(adv.severities.len(), 2);
        assert_eq!(
            adv.severities[0].vector.as_deref(),
            Some("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N")
        );
        assert_eq!(adv.severities[0].score, Some(4.8));
        assert_eq!(adv.severities[1].kind, SeverityKind::Rating);
        assert_eq!(adv.severities[1].level, SeverityLevel::Medium);
        let affected = &adv.affected[0];
        assert_eq!(
            (affected.ecosystem.as_str(), affected.package.as_str()),
            ("Node.js", "node")
        );
        assert_eq!(affected.note.as_deref(), Some("affects win32 only"));
        let native = affected.native.as_ref().unwrap();
        assert_eq!(native.vulnerable.as_deref(), Some("6.x || 4.x || 5.x"));
        assert_eq!(native.unaffected, ["^6.7.0 || ^4.6.0"]);
    }

    #[test]
    fn core_without_number_or_json() {
        let mut out = Parsed::default();
        parse_core("nodejs", "vuln/core/latest.json", CORE.as_bytes(), &mut out);
        parse_core("nodejs", "vuln/core/1.json", b"[", &mut out);
        parse_core("nodejs", "vuln/core/1.json", b"[1]", &mut out);
        assert!(out.advisories.is_empty());
        assert_eq!(out.warnings.len(), 3);
        assert_eq!(out.records.get("core advisories"), Some(&1));
    }
}
