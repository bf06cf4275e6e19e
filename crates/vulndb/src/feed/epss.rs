//! FIRST EPSS scores (`epss_scores-YYYY-MM-DD.csv`, decompressed before it
//! gets here): an optional `#model_version:…,score_date:…` line, the header
//! `cve,epss,percentile`, then one row per CVE. Each row becomes an
//! `(cve, Epss)` in [`Parsed::epss`]; the file's `score_date` is its snapshot.

use portcullis_types::Epss;

use super::{Parsed, normalize_date, nvd::is_cve_id};

const UNIT: &str = "EPSS scores";

/// Where the three values are in a row.
#[derive(Clone, Copy)]
struct Columns {
    cve: usize,
    epss: usize,
    percentile: usize,
}

/// The published order, for files whose header is missing.
const DEFAULT_COLUMNS: Columns = Columns {
    cve: 0,
    epss: 1,
    percentile: 2,
};

/// Parses one EPSS CSV file.
pub(crate) fn parse(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut columns = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            read_comment(source, path, comment, out);
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        // The first row that is not a comment is the header, unless it is
        // already a score (a file cut without its header).
        let columns = match columns {
            Some(columns) => columns,
            None if fields.first().is_some_and(|f| is_cve_id(f)) => {
                *columns.insert(DEFAULT_COLUMNS)
            }
            None => match header_columns(&fields) {
                Some(found) => {
                    columns = Some(found);
                    continue;
                }
                None => {
                    out.warn(
                        source,
                        path,
                        Some(&format!("line {number}")),
                        format!("header `{line}` lacks cve, epss or percentile"),
                    );
                    return;
                }
            },
        };
        out.count(UNIT);
        match row(&fields, columns) {
            Ok(entry) => out.epss.push(entry),
            Err(reason) => out.warn(source, path, Some(&format!("line {number}")), reason),
        }
    }
}

/// Reads `model_version:v2025.03.14,score_date:2025-03-20T12:55:00Z`.
fn read_comment(source: &str, path: &str, comment: &str, out: &mut Parsed) {
    for pair in comment.split(',') {
        let Some((key, value)) = pair.split_once(':') else {
            continue;
        };
        if key.trim() != "score_date" {
            continue;
        }
        let value = value.trim();
        match score_date(value) {
            Some(date) => out.saw_date(&date),
            None => out.warn(
                source,
                path,
                None,
                format!("score_date `{value}` is not a date"),
            ),
        }
    }
}

/// A `score_date` as RFC 3339. Older files wrote the offset as `+0000`,
/// which RFC 3339 spells `+00:00`.
fn score_date(value: &str) -> Option<String> {
    normalize_date(value).or_else(|| {
        let split = value.len().checked_sub(5)?;
        let (stamp, offset) = (value.get(..split)?, value.get(split..)?);
        let (sign, digits) = offset.split_at(1);
        if !matches!(sign, "+" | "-") || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (hours, minutes) = digits.split_at(2);
        normalize_date(&format!("{stamp}{sign}{hours}:{minutes}"))
    })
}

fn header_columns(fields: &[&str]) -> Option<Columns> {
    let position = |name: &str| fields.iter().position(|f| f.eq_ignore_ascii_case(name));
    Some(Columns {
        cve: position("cve")?,
        epss: position("epss")?,
        percentile: position("percentile")?,
    })
}

fn row(fields: &[&str], columns: Columns) -> Result<(String, Epss), String> {
    let field = |index: usize, name: &str| {
        fields
            .get(index)
            .copied()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| format!("no {name} value"))
    };
    let cve = field(columns.cve, "cve")?;
    if !is_cve_id(cve) {
        return Err(format!("`{cve}` is not a CVE ID"));
    }
    let probability = |name: &str, index: usize| -> Result<f32, String> {
        let text = field(index, name).map_err(|e| format!("{cve}: {e}"))?;
        let value: f32 = text
            .parse()
            .map_err(|_| format!("{cve}: {name} `{text}` is not a number"))?;
        if !(0.0..=1.0).contains(&value) {
            return Err(format!("{cve}: {name} `{text}` is outside [0, 1]"));
        }
        Ok(value)
    };
    let score = probability("epss", columns.epss)?;
    let percentile = probability("percentile", columns.percentile)?;
    Ok((cve.to_owned(), Epss { score, percentile }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/epss/epss_scores-2025-03-20.csv");

    fn parse_text(text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse("epss", "epss_scores.csv", text.as_bytes(), &mut out);
        out
    }

    #[test]
    fn good_rows_are_kept_and_bad_rows_named_by_line() {
        let out = parse_text(FIXTURE);
        assert_eq!(out.snapshot.as_deref(), Some("2025-03-20T12:55:00Z"));
        assert_eq!(out.records.get(UNIT), Some(&9));
        assert_eq!(
            out.epss,
            [
                (
                    "CVE-1999-0001".to_owned(),
                    Epss {
                        score: 0.0046,
                        percentile: 0.7385
                    }
                ),
                (
                    "CVE-2021-44228".to_owned(),
                    Epss {
                        score: 0.94358,
                        percentile: 0.99987
                    }
                ),
                (
                    "CVE-2024-1234".to_owned(),
                    Epss {
                        score: 0.00043,
                        percentile: 0.1023
                    }
                ),
                (
                    "CVE-2025-0001".to_owned(),
                    Epss {
                        score: 0.0,
                        percentile: 1.0
                    }
                ),
            ]
        );
        let warnings: Vec<_> = out
            .warnings
            .iter()
            .map(|w| (w.record.as_deref().unwrap_or("-"), w.reason.as_str()))
            .collect();
        assert_eq!(
            warnings,
            [
                ("line 7", "`cve-2024-99` is not a CVE ID"),
                ("line 8", "CVE-2024-5678: epss `high` is not a number"),
                (
                    "line 9",
                    "CVE-2024-5679: percentile `1.2` is outside [0, 1]"
                ),
                ("line 10", "CVE-2024-5680: epss `-0.1` is outside [0, 1]"),
                ("line 11", "CVE-2024-5681: no percentile value"),
            ]
        );
    }

    #[test]
    fn files_without_comment_or_header_are_read() {
        let out = parse_text("cve,epss,percentile\r\nCVE-2024-1234,0.5,0.9\r\n");
        assert_eq!(out.epss.len(), 1);
        assert_eq!(out.snapshot, None);
        assert!(out.warnings.is_empty());

        let out = parse_text("CVE-2024-1234,0.5,0.9\n");
        assert_eq!(out.epss.len(), 1);

        // Columns are found by name.
        let out = parse_text("percentile,cve,epss\n0.9,CVE-2024-1234,0.5\n");
        assert_eq!(
            out.epss,
            [(
                "CVE-2024-1234".to_owned(),
                Epss {
                    score: 0.5,
                    percentile: 0.9
                }
            )]
        );
    }

    #[test]
    fn old_offsets_and_bad_headers() {
        let out = parse_text(
            "#model_version:v2023.03.01,score_date:2023-03-20T00:00:00+0000\n\
             cve,epss,percentile\n",
        );
        assert_eq!(out.snapshot.as_deref(), Some("2023-03-20T00:00:00Z"));

        let out = parse_text("#score_date:soon\nfoo,bar\nCVE-2024-1234,0.5,0.9\n");
        assert_eq!(out.epss, []);
        assert_eq!(out.warnings.len(), 2);
        assert_eq!(out.records.get(UNIT), None);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "#",
            "#score_date:",
            ",,,",
            "\u{feff}cve,epss,percentile\n,,\n",
        ] {
            parse_text(text);
        }
        let mut out = Parsed::default();
        parse(
            "epss",
            "x.csv",
            b"cve,epss,percentile\n\xff\xfe,1,1\n",
            &mut out,
        );
        assert_eq!(out.warnings.len(), 1);
    }
}
