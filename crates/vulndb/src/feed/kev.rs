//! CISA's Known Exploited Vulnerabilities catalog, as JSON
//! (`known_exploited_vulnerabilities.json`) or CSV (same columns). Each
//! entry becomes a `(cve, Kev)` in [`Parsed::kev`]. The snapshot is the
//! JSON's `dateReleased`, or the newest `dateAdded` (the CSV has no header).

use portcullis_types::Kev;
use serde::Deserialize;
use serde_json::Value;

use super::{Parsed, normalize_date, nvd::is_cve_id};

const UNIT: &str = "KEV entries";
/// The CSV is the same catalog; counted apart so that a source holding both
/// does not appear to have twice the entries.
const CSV_UNIT: &str = "KEV entries (CSV copy)";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    #[serde(default)]
    date_released: Option<String>,
    #[serde(default)]
    count: Option<u64>,
    /// Untyped so that one malformed entry is skipped alone.
    vulnerabilities: Vec<Value>,
}

/// The fields portcullis keeps, named as both the JSON and the CSV name them.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(rename = "dateAdded")]
    date_added: String,
    #[serde(rename = "dueDate", default)]
    due_date: Option<String>,
    #[serde(rename = "knownRansomwareCampaignUse", default)]
    ransomware: Option<String>,
    #[serde(rename = "vulnerabilityName", default)]
    name: Option<String>,
}

/// Parses the JSON catalog.
pub(crate) fn parse_json(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let catalog: Catalog = match serde_json::from_slice(bytes) {
        Ok(catalog) => catalog,
        Err(e) => {
            out.warn(source, path, None, format!("not a KEV catalog: {e}"));
            return;
        }
    };
    if let Some(released) = &catalog.date_released {
        out.saw_date(released);
    }
    let listed = catalog.vulnerabilities.len();
    if let Some(count) = catalog.count
        && usize::try_from(count).ok() != Some(listed)
    {
        out.warn(
            source,
            path,
            None,
            format!("the catalog says it has {count} entries but lists {listed}"),
        );
    }
    for (index, value) in catalog.vulnerabilities.into_iter().enumerate() {
        out.count(UNIT);
        let label = value
            .get("cveID")
            .and_then(Value::as_str)
            .map_or_else(|| format!("vulnerabilities[{index}]"), str::to_owned);
        match serde_json::from_value::<Entry>(value) {
            Ok(entry) => push(source, path, &label, entry, out),
            Err(e) => out.warn(source, path, Some(&label), format!("malformed entry: {e}")),
        }
    }
}

/// Parses the CSV catalog.
pub(crate) fn parse_csv(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(e) => {
            out.warn(source, path, None, format!("unreadable header: {e}"));
            return;
        }
    };
    for required in ["cveID", "dateAdded"] {
        if !headers.iter().any(|h| h == required) {
            out.warn(
                source,
                path,
                None,
                format!("the header has no `{required}` column"),
            );
            return;
        }
    }
    for record in reader.records() {
        out.count(CSV_UNIT);
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                out.warn(source, path, Some(&format!("line {line}")), e.to_string());
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        match record.deserialize::<Entry>(Some(&headers)) {
            Ok(entry) => {
                let label = entry.cve_id.trim().to_owned();
                push(source, path, &label, entry, out);
            }
            Err(e) => out.warn(
                source,
                path,
                Some(&format!("line {line}")),
                format!("malformed entry: {e}"),
            ),
        }
    }
}

/// Checks one entry and adds it.
fn push(source: &str, path: &str, label: &str, entry: Entry, out: &mut Parsed) {
    let cve = entry.cve_id.trim();
    if !is_cve_id(cve) {
        out.warn(
            source,
            path,
            Some(label),
            format!("`{cve}` is not a CVE ID"),
        );
        return;
    }
    let Some(date_added) = day(&entry.date_added) else {
        let added = entry.date_added;
        out.warn(
            source,
            path,
            Some(label),
            format!("dateAdded `{added}` is not a date"),
        );
        return;
    };
    out.saw_date(&date_added);
    let due_date = match non_empty(entry.due_date) {
        Some(due) => match day(&due) {
            Some(due) => Some(due),
            None => {
                out.warn(
                    source,
                    path,
                    Some(label),
                    format!("dueDate `{due}` is not a date"),
                );
                return;
            }
        },
        None => None,
    };
    let kev = Kev {
        date_added,
        due_date,
        ransomware: non_empty(entry.ransomware),
        name: non_empty(entry.name),
    };
    out.kev.push((cve.to_owned(), kev));
}

/// A date as `YYYY-MM-DD`, from a date or a timestamp.
fn day(text: &str) -> Option<String> {
    normalize_date(text)?.get(..10).map(str::to_owned)
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str =
        include_str!("../../tests/fixtures/kev/known_exploited_vulnerabilities.json");
    const CSV: &str = include_str!("../../tests/fixtures/kev/known_exploited_vulnerabilities.csv");

    fn run(parse: fn(&str, &str, &[u8], &mut Parsed), text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse("cisa-kev", "kev", text.as_bytes(), &mut out);
        out
    }

    fn expected() -> Vec<(String, Kev)> {
        vec![
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
        ]
    }

    fn reasons(out: &Parsed) -> Vec<(String, String)> {
        out.warnings
            .iter()
            .map(|w| (w.record.clone().unwrap_or_default(), w.reason.clone()))
            .collect()
    }

    #[test]
    fn json_catalog() {
        let out = run(parse_json, JSON);
        assert_eq!(out.kev, expected());
        assert_eq!(out.records.get(UNIT), Some(&5));
        assert_eq!(out.snapshot.as_deref(), Some("2025-08-25T17:04:19Z"));
        let warnings = reasons(&out);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(
            warnings[0],
            (
                String::new(),
                "the catalog says it has 6 entries but lists 5".into()
            )
        );
        assert_eq!(
            warnings[1],
            (
                "CVE-2024-0001".into(),
                "dateAdded `soon` is not a date".into()
            )
        );
        assert_eq!(warnings[2].0, "vulnerabilities[4]");
        assert!(warnings[2].1.contains("malformed entry"), "{warnings:?}");
    }

    #[test]
    fn csv_catalog() {
        let out = run(parse_csv, CSV);
        assert_eq!(out.kev, expected());
        assert_eq!(out.records.get(CSV_UNIT), Some(&5));
        // The CSV has no release date: the newest dateAdded stands for it.
        assert_eq!(out.snapshot.as_deref(), Some("2025-08-25T00:00:00Z"));
        let warnings = reasons(&out);
        assert_eq!(
            warnings,
            [
                (
                    "CVE-2024-0001".into(),
                    "dateAdded `soon` is not a date".into()
                ),
                ("cve-2024-1".into(), "`cve-2024-1` is not a CVE ID".into()),
            ]
        );
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "{",
            "{\"vulnerabilities\": {}}",
            "{\"vulnerabilities\": [1, null]}",
        ] {
            let out = run(parse_json, text);
            assert!(!out.warnings.is_empty(), "{text}");
        }
        for text in [
            "",
            "a,b\n1,2\n",
            "cveID,dateAdded\n\"unterminated\n",
            "cveID,dateAdded\nx",
        ] {
            run(parse_csv, text);
        }
        let out = run(parse_csv, "cveID,dateAdded\nCVE-2024-1234\n");
        assert_eq!(out.records.get(CSV_UNIT), Some(&1));
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.warnings[0].reason.contains("malformed"),
            "{:?}",
            out.warnings
        );
    }
}
