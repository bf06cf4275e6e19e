//! Scan reports.
//!
//! A [`ScanReport`] is what `portcullis scan` found in one image: the image,
//! its distro, the advisory database it was matched against, and the
//! findings in priority order. [`write`] renders it in a [`Format`].

mod table;

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
    pub summary: Summary,
    /// In priority order (see `Finding::priority_key`).
    pub findings: Vec<Finding>,
    /// Packages whose versions could not be ordered, and similar.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ScanReport {
    /// A report over `findings` (sorted here), with the summary computed.
    pub fn new(
        tool: ToolInfo,
        image: ImageInfo,
        distro: Option<Distro>,
        database: DatabaseInfo,
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
        };
        ScanReport {
            schema: JSON_SCHEMA.into(),
            tool,
            image,
            distro,
            database,
            summary,
            findings,
            warnings,
        }
    }
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grouped by target, with a summary line, for people.
    Table,
    /// The documented JSON report.
    Json,
}

/// Errors of rendering.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot render the report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Renders `report` in `format`.
pub fn write(report: &ScanReport, format: Format) -> Result<Vec<u8>, ReportError> {
    Ok(match format {
        Format::Table => table::render(report).into_bytes(),
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(report)?;
            out.push(b'\n');
            out
        }
    })
}
