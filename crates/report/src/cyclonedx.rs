//! CycloneDX 1.6 JSON with vulnerabilities: `metadata.component` is the
//! image, `components` the vulnerable packages (one per purl, the purl being
//! the `bom-ref`), and `vulnerabilities` one entry per vulnerability ID and
//! package, with its source, aliases as references, ratings, description,
//! recommendation, advisories (the references that are URLs), publication
//! date and the affected package version.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_types::{Finding, Severity, SeverityKind, SeverityLevel};
use serde_json::{Value, json};

use crate::text::{content_uuid, is_rfc3339, is_web_url, json_number, solution, truncate};
use crate::{ReportError, ScanReport};

/// CycloneDX limits versions to 1024 characters.
const MAX_VERSION: usize = 1_024;

fn severity(level: SeverityLevel) -> &'static str {
    match level {
        SeverityLevel::Critical => "critical",
        SeverityLevel::High => "high",
        SeverityLevel::Medium => "medium",
        SeverityLevel::Low => "low",
        SeverityLevel::Negligible => "info",
        SeverityLevel::Unknown => "unknown",
    }
}

fn method(s: &Severity) -> &'static str {
    match s.kind {
        SeverityKind::CvssV2 => "CVSSv2",
        SeverityKind::CvssV3
            if s.vector
                .as_deref()
                .is_some_and(|v| v.starts_with("CVSS:3.0")) =>
        {
            "CVSSv3"
        }
        SeverityKind::CvssV3 => "CVSSv31",
        SeverityKind::CvssV4 => "CVSSv4",
        SeverityKind::Rating => "other",
    }
}

/// Who published an ID: NVD for CVEs, GitHub for GHSAs, else the feed that
/// matched.
fn source(id: &str, matched_source: Option<&str>) -> Value {
    if id.starts_with("CVE-") {
        json!({ "name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{id}") })
    } else if id.starts_with("GHSA-") {
        json!({ "name": "GitHub Advisory Database", "url": format!("https://github.com/advisories/{id}") })
    } else {
        json!({ "name": matched_source.unwrap_or("unknown") })
    }
}

fn rating(s: &Severity) -> Value {
    let mut value = json!({
        "source": { "name": s.source },
        "severity": severity(s.level),
        "method": method(s),
    });
    if let Some(score) = s.score.filter(|x| x.is_finite()) {
        value["score"] = json_number(score);
    }
    if let Some(vector) = &s.vector {
        value["vector"] = vector.as_str().into();
    }
    value
}

fn vulnerability(f: &Finding) -> Value {
    let matched_source = f.matched.first().map(|m| m.source.as_str());
    let mut ratings: Vec<Value> = Vec::new();
    for s in f.cvss.iter().chain(&f.severities) {
        let r = rating(s);
        if !ratings.contains(&r) {
            ratings.push(r);
        }
    }
    if ratings.is_empty() {
        ratings.push(json!({
            "source": { "name": f.severity_source.as_deref().unwrap_or("portcullis") },
            "severity": severity(f.severity),
            "method": "other",
        }));
    }
    let references: Vec<Value> = f
        .aliases
        .iter()
        .map(|a| json!({ "id": a, "source": source(a, matched_source) }))
        .collect();
    let advisories: Vec<Value> = f
        .references
        .iter()
        .filter(|r| is_web_url(r))
        .map(|r| json!({ "url": r }))
        .collect();
    let mut properties = vec![json!({ "name": "portcullis:status", "value": f.status.as_str() })];
    if let Some(epss) = f.epss {
        properties.push(
            json!({ "name": "portcullis:epss:score", "value": format!("{:.5}", epss.score) }),
        );
        properties.push(json!({ "name": "portcullis:epss:percentile", "value": format!("{:.5}", epss.percentile) }));
    }
    if let Some(kev) = &f.kev {
        properties.push(json!({ "name": "portcullis:kev:date-added", "value": kev.date_added }));
    }
    for fixed in &f.fixed_versions {
        properties.push(json!({ "name": "portcullis:fixed-version", "value": fixed }));
    }
    let mut value = json!({
        "bom-ref": format!("{}:{}", f.id, package_ref(f)),
        "id": f.id,
        "source": source(&f.id, matched_source),
        "ratings": ratings,
        "recommendation": solution(f),
        "affects": [{
            "ref": package_ref(f),
            "versions": [{
                "version": truncate(&f.package.version, MAX_VERSION),
                "status": "affected",
            }],
        }],
        "properties": properties,
    });
    if !references.is_empty() {
        value["references"] = references.into();
    }
    if let Some(summary) = &f.summary {
        value["description"] = summary.as_str().into();
    }
    if !advisories.is_empty() {
        value["advisories"] = advisories.into();
    }
    if let Some(published) = f.published.as_deref().filter(|p| is_rfc3339(p)) {
        value["published"] = published.into();
    }
    value
}

/// The component's `bom-ref`: its purl, or a name-based reference when the
/// package has none.
fn package_ref(f: &Finding) -> String {
    if f.package.purl.is_empty() {
        format!("package:{}@{}", f.package.name, f.package.version)
    } else {
        f.package.purl.clone()
    }
}

fn component(f: &Finding, found_in: &BTreeSet<&str>) -> Value {
    let mut properties =
        vec![json!({ "name": "portcullis:ecosystem", "value": f.package.ecosystem.as_str() })];
    for path in found_in {
        properties.push(json!({ "name": "portcullis:found-in", "value": path }));
    }
    json!({
        "type": "library",
        "bom-ref": package_ref(f),
        "name": f.package.name,
        "version": truncate(&f.package.version, MAX_VERSION),
        "purl": f.package.purl,
        "properties": properties,
    })
}

/// The CycloneDX document of `report`.
pub fn render(report: &ScanReport) -> Result<Value, ReportError> {
    if !is_rfc3339(&report.scanned_at) {
        return Err(ReportError::ScannedAt(report.scanned_at.clone()));
    }
    let image = &report.image;
    let digest = image
        .manifest_digest
        .as_ref()
        .or(image.config_digest.as_ref())
        .map(ToString::to_string);
    // Components are keyed by purl (the bom-ref), so a package found in two
    // places is one component listing both paths.
    let mut packages: BTreeMap<String, (&Finding, BTreeSet<&str>)> = BTreeMap::new();
    let mut vulnerabilities: BTreeMap<(&str, String), Value> = BTreeMap::new();
    for f in &report.findings {
        packages
            .entry(package_ref(f))
            .or_insert_with(|| (f, BTreeSet::new()))
            .1
            .extend(f.package.found_in.iter().map(String::as_str));
        vulnerabilities
            .entry((f.id.as_str(), package_ref(f)))
            .or_insert_with(|| vulnerability(f));
    }
    let image_ref = format!("image:{}", digest.as_deref().unwrap_or(&image.reference));
    let mut image_component = json!({
        "type": "container",
        "bom-ref": image_ref,
        "name": if image.reference.is_empty() { "image" } else { image.reference.as_str() },
    });
    if let Some(digest) = &digest {
        image_component["version"] = digest.as_str().into();
    }
    let serial = content_uuid(&[
        "cyclonedx",
        &image.reference,
        digest.as_deref().unwrap_or(""),
        &report.scanned_at,
    ]);
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {
            "timestamp": report.scanned_at,
            "tools": {
                "components": [{
                    "type": "application",
                    "name": report.tool.name,
                    "version": report.tool.version,
                }],
            },
            "component": image_component,
        },
        "components": packages
            .values()
            .map(|(f, found_in)| component(f, found_in))
            .collect::<Vec<_>>(),
        "vulnerabilities": vulnerabilities.into_values().collect::<Vec<_>>(),
    }))
}
