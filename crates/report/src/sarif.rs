//! SARIF 2.1.0 as GitHub code scanning reads it: one rule per vulnerability
//! ID (help text and Markdown, `security-severity`, tags), one result per
//! finding with a level, a message naming the package, its version and the
//! fixed versions, a physical location (the file the package was found in,
//! or the image reference), and `partialFingerprints` so that uploads of the
//! same finding are recognised as one alert.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portcullis_types::{Finding, SeverityLevel};
use serde_json::{Value, json};

use crate::text::{
    best_score, content_hash, cvss_ratings, epss_percent, escape_markdown, is_rfc3339, is_web_url,
    json_number, level_score, path_uri, rating_method, solution, title, truncate,
};
use crate::{ReportError, ScanReport};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF level of a severity: `error` for critical and high, `warning`
/// for medium, `note` below.
fn level(severity: SeverityLevel) -> &'static str {
    match severity {
        SeverityLevel::Critical | SeverityLevel::High => "error",
        SeverityLevel::Medium => "warning",
        SeverityLevel::Low | SeverityLevel::Negligible | SeverityLevel::Unknown => "note",
    }
}

/// The artifact a finding points at: the file its package was found in,
/// relative (GitHub wants a path in the repository), else the image reference.
fn location_uri(report: &ScanReport, f: &Finding) -> String {
    let path = f
        .package
        .found_in
        .first()
        .map(|p| p.trim_start_matches('/'))
        .filter(|p| !p.is_empty())
        .unwrap_or(report.image.reference.as_str());
    let uri = path_uri(path);
    if uri.is_empty() {
        "image".to_owned()
    } else {
        uri
    }
}

fn rule(id: &str, findings: &[&Finding]) -> Value {
    let first = findings[0];
    let severity = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(SeverityLevel::Unknown);
    let score = findings
        .iter()
        .filter_map(|f| best_score(f))
        .reduce(f32::max)
        .unwrap_or_else(|| level_score(severity));
    let heading = title(first).unwrap_or(id);
    let mut tags = vec![
        "vulnerability".to_owned(),
        "security".to_owned(),
        severity.as_str().to_owned(),
    ];
    if findings.iter().any(|f| f.kev.is_some()) {
        tags.push("known-exploited".to_owned());
    }
    if findings.iter().any(|f| f.fixable()) {
        tags.push("fixable".to_owned());
    }
    let mut rule = json!({
        "id": id,
        "shortDescription": { "text": truncate(heading, 1_000) },
        "fullDescription": { "text": first.summary.clone().unwrap_or_else(|| id.to_owned()) },
        "defaultConfiguration": { "level": level(severity) },
        "help": { "text": help_text(id, findings), "markdown": help_markdown(id, findings) },
        "properties": {
            "security-severity": format!("{score:.1}"),
            "precision": "very-high",
            "tags": tags,
        },
    });
    if let Some(uri) = first.references.iter().find(|r| is_web_url(r)) {
        rule["helpUri"] = uri.as_str().into();
    }
    rule
}

fn help_text(id: &str, findings: &[&Finding]) -> String {
    let first = findings[0];
    let mut out = format!("Vulnerability {id}");
    if !first.aliases.is_empty() {
        let _ = write!(out, " (also {})", first.aliases.join(", "));
    }
    if let Some(summary) = &first.summary {
        let _ = write!(out, "\n{summary}");
    }
    for f in findings {
        let _ = write!(
            out,
            "\nPackage {} {} ({}): {}",
            f.package.name,
            f.package.version,
            f.severity,
            solution(f)
        );
    }
    for reference in &first.references {
        let _ = write!(out, "\n{reference}");
    }
    out
}

fn help_markdown(id: &str, findings: &[&Finding]) -> String {
    let first = findings[0];
    let mut out = format!("**Vulnerability {}**", escape_markdown(id));
    if !first.aliases.is_empty() {
        let aliases: Vec<String> = first.aliases.iter().map(|a| escape_markdown(a)).collect();
        let _ = write!(out, " (also {})", aliases.join(", "));
    }
    if let Some(summary) = &first.summary {
        let lines: Vec<String> = summary.lines().map(escape_markdown).collect();
        let _ = write!(out, "\n\n{}", lines.join("\n"));
    }
    out.push_str("\n\n| Package | Installed | Severity | CVSS | EPSS | Fixed in |\n|---|---|---|---|---|---|");
    for f in findings {
        let cvss = cvss_ratings(f)
            .first()
            .and_then(|s| {
                s.score
                    .map(|score| format!("{score:.1} ({})", rating_method(s)))
            })
            .unwrap_or_default();
        let fixed = if f.fixable() {
            escape_markdown(&f.fixed_versions.join(", "))
        } else {
            f.status.as_str().replace('_', " ")
        };
        let _ = write!(
            out,
            "\n| {} | {} | {}{} | {} | {} | {} |",
            escape_markdown(&f.package.name),
            escape_markdown(&f.package.version),
            f.severity,
            if f.kev.is_some() {
                ", known exploited"
            } else {
                ""
            },
            cvss,
            f.epss.map(|e| epss_percent(e.score)).unwrap_or_default(),
            fixed
        );
    }
    let links: Vec<&String> = first.references.iter().filter(|r| is_web_url(r)).collect();
    if !links.is_empty() {
        out.push_str("\n\nReferences:");
        for link in links {
            let _ = write!(out, "\n- <{link}>");
        }
    }
    out
}

fn result(report: &ScanReport, f: &Finding, rule_index: usize) -> Value {
    let fixed = if f.fixable() {
        format!("fixed in {}", f.fixed_versions.join(", "))
    } else {
        format!("no fix available ({})", f.status.as_str().replace('_', " "))
    };
    let message = format!(
        "{} {} is affected by {} ({}{}); {}.",
        f.package.name,
        f.package.version,
        f.id,
        f.severity,
        if f.kev.is_some() {
            ", known exploited"
        } else {
            ""
        },
        fixed
    );
    let found_in = f.package.found_in.first().map_or("", String::as_str);
    let mut properties = json!({
        "package": f.package.name,
        "version": f.package.version,
        "purl": f.package.purl,
        "ecosystem": f.package.ecosystem.as_str(),
        "status": f.status.as_str(),
        "fixedVersions": f.fixed_versions,
        "severity": f.severity.as_str(),
    });
    if let Some(epss) = f.epss {
        properties["epss"] = json!({
            "score": json_number(epss.score),
            "percentile": json_number(epss.percentile),
        });
    }
    if let Some(kev) = &f.kev {
        properties["kev"] = json!({ "dateAdded": kev.date_added });
    }
    json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": location_uri(report, f) },
                "region": { "startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1 },
            },
            "message": { "text": f.package.purl },
        }],
        "partialFingerprints": {
            "portcullisFinding/v1": content_hash(&[&f.id, &f.package.purl, found_in]),
        },
        "properties": properties,
    })
}

/// The SARIF log of `report`.
pub fn render(report: &ScanReport) -> Result<Value, ReportError> {
    if !is_rfc3339(&report.scanned_at) {
        return Err(ReportError::ScannedAt(report.scanned_at.clone()));
    }
    let mut by_id: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_id.entry(f.id.as_str()).or_default().push(f);
    }
    let index: BTreeMap<&str, usize> = by_id.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = by_id.iter().map(|(id, fs)| rule(id, fs)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(report, f, index.get(f.id.as_str()).copied().unwrap_or(0)))
        .collect();
    let mut run_properties = json!({
        "image": report.image.reference,
        "findings": report.summary.findings,
        "packages": report.summary.packages,
    });
    if let Some(digest) = &report.image.manifest_digest {
        run_properties["manifestDigest"] = digest.to_string().into();
    }
    if let Some(distro) = &report.distro {
        run_properties["distro"] = distro.purl_qualifier().into();
    }
    Ok(json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": report.tool.name,
                    "version": report.tool.version,
                    "semanticVersion": report.tool.version,
                    "rules": rules,
                },
            },
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": report.scanned_at,
            }],
            "automationDetails": { "id": format!("{}/{}", report.tool.name, report.image.reference) },
            "results": results,
            "properties": run_properties,
        }],
    }))
}
