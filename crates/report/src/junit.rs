//! JUnit XML as Jenkins (and GitLab, Azure DevOps…) read it: one
//! `<testsuite>` per target (the OS packages, or the file language packages
//! were found in), one `<testcase>` per finding with a `<failure>` that says
//! what is affected and how to fix it. A clean image gives one passing test
//! case, so that a CI step that requires test results still finds some.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portcullis_types::Finding;

use crate::ScanReport;
use crate::text::{cvss_ratings, epss_percent, escape_xml, rating_method, solution, target, title};

fn attr(s: &str) -> String {
    escape_xml(s, true)
}

fn failure_body(f: &Finding) -> String {
    let mut out = String::new();
    if let Some(summary) = &f.summary {
        let _ = writeln!(out, "{summary}");
    }
    let _ = writeln!(out, "Package: {} {}", f.package.name, f.package.version);
    let _ = writeln!(out, "PURL: {}", f.package.purl);
    if let Some(path) = f.package.found_in.first() {
        let _ = writeln!(out, "Found in: {path}");
    }
    let _ = writeln!(out, "Severity: {}", f.severity);
    for rating in cvss_ratings(f) {
        if let Some(score) = rating.score {
            let _ = writeln!(
                out,
                "{}: {score:.1} {} ({})",
                rating_method(rating),
                rating.vector.as_deref().unwrap_or(""),
                rating.source
            );
        }
    }
    if let Some(epss) = f.epss {
        let _ = writeln!(
            out,
            "EPSS: {} (percentile {:.2})",
            epss_percent(epss.score),
            epss.percentile
        );
    }
    if let Some(kev) = &f.kev {
        let _ = writeln!(out, "Known exploited (CISA KEV) since {}", kev.date_added);
    }
    if !f.aliases.is_empty() {
        let _ = writeln!(out, "Aliases: {}", f.aliases.join(", "));
    }
    let _ = writeln!(out, "Solution: {}", solution(f));
    for reference in &f.references {
        let _ = writeln!(out, "{reference}");
    }
    out
}

/// The JUnit XML document of `report`.
pub fn render(report: &ScanReport) -> String {
    let mut targets: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        targets.entry(target(f)).or_default().push(f);
    }
    let total = report.findings.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{total}\" errors=\"0\" time=\"0\">",
        attr(&format!("{} {}", report.tool.name, report.image.reference)),
        total.max(1),
    );
    if targets.is_empty() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0\" timestamp=\"{}\">",
            attr(&report.image.reference),
            attr(&report.scanned_at)
        );
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"no known vulnerabilities in {} packages\" time=\"0\"/>",
            attr(&report.image.reference),
            report.summary.packages
        );
        out.push_str("  </testsuite>\n");
    }
    for (name, findings) in &targets {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{n}\" errors=\"0\" skipped=\"0\" time=\"0\" timestamp=\"{}\">",
            attr(name),
            attr(&report.scanned_at),
            n = findings.len(),
        );
        let _ = writeln!(
            out,
            "    <properties>\n      <property name=\"image\" value=\"{}\"/>\n    </properties>",
            attr(&report.image.reference)
        );
        for f in findings {
            let heading = title(f).unwrap_or("");
            let message = format!(
                "{} {} {}: {}{}",
                f.id,
                f.package.name,
                f.package.version,
                solution(f),
                if heading.is_empty() {
                    String::new()
                } else {
                    format!(" {heading}")
                }
            );
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">",
                attr(&format!("{}-{}", f.package.name, f.package.version)),
                attr(&format!(
                    "[{}] {}",
                    f.severity.as_str().to_uppercase(),
                    f.id
                )),
            );
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                attr(&message),
                f.severity,
                escape_xml(&failure_body(f), false)
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
