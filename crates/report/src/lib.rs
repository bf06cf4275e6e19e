//! Scan reports.
//!
//! A [`ScanReport`] is what `portcullis scan` found in one image: the image,
//! its distro, the advisory database it was matched against, when the scan
//! ran, and the findings in priority order. [`write`] renders it in a
//! [`Format`]: the table for people (`table`), the documented JSON report
//! (`FORMAT.md`), SARIF 2.1.0 (`sarif`), JUnit XML (`junit`), the GitLab
//! container-scanning report (`gitlab`), CycloneDX 1.6 with vulnerabilities
//! (`cyclonedx`) and a single-file HTML page (`html`).
//!
//! Rendering is pure: every timestamp comes from [`ScanReport::scanned_at`],
//! every identifier is derived from the report's content, and every list is
//! in a fixed order, so the same report always renders to the same bytes.

mod cyclonedx;
mod gitlab;
mod html;
mod junit;
mod sarif;
mod table;
mod text;

/// Escaping shared by every page and document that embeds report text.
pub use text::{escape_html, escape_xml};

use std::collections::BTreeMap;

use portcullis_types::{Distro, Finding, ImageInfo, SeverityLevel, ToolInfo};
use serde::{Deserialize, Serialize};

/// The version of the JSON report's layout.
pub const JSON_SCHEMA: &str = "portcullis-scan/1";

/// One source of the advisory database, as a report cites it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSource {
    pub name: String,
    /// The newest date the data states (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    pub fetched_at: String,
}

/// The advisory database a scan used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    pub built_at: String,
    pub schema_version: u32,
    pub sources: Vec<DatabaseSource>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub findings: usize,
    /// Findings per severity, every level present (zero included).
    pub by_severity: BTreeMap<SeverityLevel, usize>,
    pub fixable: usize,
    pub known_exploited: usize,
    pub packages: usize,
    pub vulnerable_packages: usize,
    /// Findings removed by VEX statements or ignore entries (listed in
    /// [`ScanReport::suppressed`], not counted above).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suppressed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What a scan found in one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// [`JSON_SCHEMA`].
    pub schema: String,
    pub tool: ToolInfo,
    pub image: ImageInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    pub database: DatabaseInfo,
    /// When the scan ran (RFC 3339, UTC: `2025-01-02T03:04:05Z`), as the caller
    /// stated it; the formats that carry a time take it from here.
    pub scanned_at: String,
    pub summary: Summary,
    /// In priority order (see `Finding::priority_key`).
    pub findings: Vec<Finding>,
    /// Packages whose versions could not be ordered, and similar.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Findings a VEX statement or an ignore entry removed, each with the
    /// annotation that removed it, in priority order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Finding>,
    /// The policy decision, when the scan ran with a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<PolicyDecision>,
}

/// A policy's decision on the image, for one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    pub stage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub policy: String,
    #[serde(flatten)]
    pub decision: portcullis_policy::Decision,
}

impl ScanReport {
    /// A report over `findings` (sorted here), with the summary computed.
    /// `scanned_at` is when the scan ran, RFC 3339 in UTC (see [`rfc3339_utc`]).
    #[allow(
        clippy::too_many_arguments,
        reason = "each argument is one independent part of the report"
    )]
    pub fn new(
        tool: ToolInfo,
        image: ImageInfo,
        distro: Option<Distro>,
        database: DatabaseInfo,
        scanned_at: String,
        packages: usize,
        mut findings: Vec<Finding>,
        warnings: Vec<String>,
    ) -> ScanReport {
        findings.sort_by(|a, b| a.priority_key().cmp(&b.priority_key()));
        let mut by_severity: BTreeMap<SeverityLevel, usize> =
            SeverityLevel::ALL.iter().map(|l| (*l, 0)).collect();
        for f in &findings {
            *by_severity.entry(f.severity).or_default() += 1;
        }
        let mut vulnerable: Vec<(&str, &str, &str)> = findings
            .iter()
            .map(|f| {
                (
                    f.package.purl.as_str(),
                    f.package.version.as_str(),
                    f.package.found_in.first().map_or("", String::as_str),
                )
            })
            .collect();
        vulnerable.sort_unstable();
        vulnerable.dedup();
        let summary = Summary {
            findings: findings.len(),
            by_severity,
            fixable: findings.iter().filter(|f| f.fixable()).count(),
            known_exploited: findings.iter().filter(|f| f.kev.is_some()).count(),
            packages,
            vulnerable_packages: vulnerable.len(),
            suppressed: 0,
        };
        ScanReport {
            schema: JSON_SCHEMA.into(),
            tool,
            image,
            distro,
            database,
            scanned_at,
            summary,
            findings,
            warnings,
            suppressed: Vec::new(),
            decision: None,
        }
    }

    /// Adds the findings that VEX or an ignore file removed.
    pub fn with_suppressed(mut self, mut suppressed: Vec<Finding>) -> ScanReport {
        suppressed.sort_by(|a, b| a.priority_key().cmp(&b.priority_key()));
        self.summary.suppressed = suppressed.len();
        self.suppressed = suppressed;
        self
    }
}

/// `seconds` since the Unix epoch as RFC 3339 in UTC, to the second
/// (`2025-01-02T03:04:05Z`): what [`ScanReport::scanned_at`] holds.
pub fn rfc3339_utc(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let rem = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grouped by target, with a summary line, for people.
    Table,
    /// The documented JSON report (`FORMAT.md`, schema `portcullis-scan/1`).
    Json,
    /// SARIF 2.1.0, as GitHub code scanning accepts it.
    Sarif,
    /// JUnit XML: one test suite per target, one failing test case per finding.
    Junit,
    /// The GitLab container-scanning report (schema 15.2.1).
    Gitlab,
    /// CycloneDX 1.6 JSON: the image, its vulnerable packages and their vulnerabilities.
    Cyclonedx,
    /// One self-contained HTML page, filterable, for people.
    Html,
}

/// Errors of rendering.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot render the report: {0}")]
    Json(#[from] serde_json::Error),
    /// A format that needs the scan time could not read [`ScanReport::scanned_at`].
    #[error("the scan time `{0}` is not an RFC 3339 date-time such as `2025-01-02T03:04:05Z`")]
    ScannedAt(String),
}

/// Renders `report` in `format`.
pub fn write(report: &ScanReport, format: Format) -> Result<Vec<u8>, ReportError> {
    let json = |value: serde_json::Value| -> Result<Vec<u8>, ReportError> {
        let mut out = serde_json::to_vec_pretty(&value)?;
        out.push(b'\n');
        Ok(out)
    };
    match format {
        Format::Table => Ok(table::render(report).into_bytes()),
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(report)?;
            out.push(b'\n');
            Ok(out)
        }
        Format::Sarif => json(sarif::render(report)?),
        Format::Junit => Ok(junit::render(report).into_bytes()),
        Format::Gitlab => json(gitlab::render(report)?),
        Format::Cyclonedx => json(cyclonedx::render(report)?),
        Format::Html => Ok(html::render(report).into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_format_as_utc_date_times() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_735_787_045), "2025-01-02T03:04:05Z");
        assert_eq!(rfc3339_utc(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
