//! The GitLab container-scanning report (schema version 15.2.1): the scan
//! (analyzer, scanner, times, status), one vulnerability per finding with
//! its severity, solution, location (package, version, operating system,
//! image) and identifiers (the finding's ID first, then its aliases).
//! `remediations` stays empty: GitLab expects a patch there, and an image
//! upgrade is not one.

use portcullis_types::{Finding, SeverityLevel};
use serde_json::{Value, json};

use crate::text::{content_uuid, is_rfc3339, is_web_url, solution, title, truncate};
use crate::{ReportError, ScanReport};

/// The schema version this report follows.
pub const VERSION: &str = "15.2.1";

fn severity(level: SeverityLevel) -> &'static str {
    match level {
        SeverityLevel::Critical => "Critical",
        SeverityLevel::High => "High",
        SeverityLevel::Medium => "Medium",
        SeverityLevel::Low => "Low",
        SeverityLevel::Negligible => "Info",
        SeverityLevel::Unknown => "Unknown",
    }
}

/// `yyyy-mm-ddThh:mm:ss`, the only time format the schema accepts (UTC).
fn gitlab_time(rfc3339: &str) -> Result<String, ReportError> {
    let utc = rfc3339.ends_with('Z') || rfc3339.ends_with('z') || rfc3339.ends_with("+00:00");
    match rfc3339.get(..19) {
        Some(prefix) if is_rfc3339(rfc3339) && utc => Ok(prefix.replace('t', "T")),
        _ => Err(ReportError::ScannedAt(rfc3339.to_owned())),
    }
}

/// An identifier: its type is the ID's prefix in lowercase (`cve`, `ghsa`,
/// `pysec`, `dsa`…), with a link for the kinds that have a canonical page.
fn identifier(id: &str) -> Value {
    let kind = id
        .split('-')
        .next()
        .filter(|k| !k.is_empty())
        .unwrap_or("advisory")
        .to_ascii_lowercase();
    let url = match kind.as_str() {
        "cve" => Some(format!("https://nvd.nist.gov/vuln/detail/{id}")),
        "ghsa" => Some(format!("https://github.com/advisories/{id}")),
        _ => None,
    };
    let mut value = json!({ "type": kind, "name": id, "value": id });
    if let Some(url) = url.filter(|u| is_web_url(u)) {
        value["url"] = url.into();
    }
    value
}

fn non_empty(s: &str, fallback: &str) -> String {
    if s.trim().is_empty() {
        fallback.to_owned()
    } else {
        s.to_owned()
    }
}

fn vulnerability(report: &ScanReport, os: &str, f: &Finding) -> Value {
    let found_in = f.package.found_in.first().map_or("", String::as_str);
    let mut description = f.summary.clone().unwrap_or_else(|| f.id.clone());
    if let Some(path) = f.package.found_in.first() {
        description.push_str(&format!("\n\nFound in {path}."));
    }
    let mut identifiers = vec![identifier(&f.id)];
    identifiers.extend(
        f.aliases
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| identifier(a)),
    );
    let links: Vec<Value> = f
        .references
        .iter()
        .filter(|r| is_web_url(r))
        .map(|r| json!({ "url": r }))
        .collect();
    let mut value = json!({
        "id": content_uuid(&[&f.id, &f.package.purl, found_in]),
        "name": truncate(title(f).unwrap_or(&f.id), 255),
        "description": truncate(&description, 1_000_000),
        "severity": severity(f.severity),
        "solution": truncate(&solution(f), 7_000),
        "identifiers": identifiers,
        "location": {
            "dependency": {
                "package": { "name": f.package.name },
                "version": f.package.version,
            },
            "operating_system": os,
            "image": non_empty(&report.image.reference, "unknown"),
        },
    });
    if !links.is_empty() {
        value["links"] = links.into();
    }
    value
}

/// The GitLab container-scanning report of `report`.
pub fn render(report: &ScanReport) -> Result<Value, ReportError> {
    let time = gitlab_time(&report.scanned_at)?;
    let os = report
        .distro
        .as_ref()
        .map(|d| match &d.version_id {
            Some(v) => format!("{} {v}", d.id),
            None => d.id.clone(),
        })
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let tool = json!({
        "id": non_empty(&report.tool.name, "portcullis"),
        "name": non_empty(&report.tool.name, "portcullis"),
        "version": non_empty(&report.tool.version, "unknown"),
        "vendor": { "name": "portcullis" },
    });
    let vulnerabilities: Vec<Value> = report
        .findings
        .iter()
        .map(|f| vulnerability(report, &os, f))
        .collect();
    Ok(json!({
        "version": VERSION,
        "scan": {
            "analyzer": tool,
            "scanner": tool,
            "type": "container_scanning",
            "start_time": time,
            "end_time": time,
            "status": "success",
        },
        "vulnerabilities": vulnerabilities,
        "remediations": [],
    }))
}
