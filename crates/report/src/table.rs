//! The table for people: one block per target (the OS packages, then each
//! file that language packages were found in), then a summary line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portcullis_types::{Finding, SeverityLevel};

use crate::ScanReport;

fn target(f: &Finding) -> String {
    if f.package.ecosystem.is_os() {
        "OS packages".to_owned()
    } else {
        f.package
            .found_in
            .first()
            .cloned()
            .unwrap_or_else(|| f.package.ecosystem.to_string())
    }
}

/// Renders the table.
pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    let mut targets: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        targets.entry(target(f)).or_default().push(f);
    }
    for (name, findings) in &targets {
        let _ = writeln!(out, "{name} ({} findings)", findings.len());
        let rows: Vec<[String; 6]> = findings
            .iter()
            .map(|f| {
                [
                    f.package.name.clone(),
                    f.package.version.clone(),
                    f.id.clone(),
                    format!(
                        "{}{}",
                        f.severity.as_str().to_uppercase(),
                        if f.kev.is_some() { " KEV" } else { "" }
                    ),
                    if f.fixed_versions.is_empty() {
                        f.status.as_str().replace('_', " ")
                    } else {
                        f.fixed_versions.join(", ")
                    },
                    f.summary
                        .as_deref()
                        .and_then(|s| s.lines().next())
                        .map(|s| s.chars().take(60).collect())
                        .unwrap_or_default(),
                ]
            })
            .collect();
        let header = [
            "PACKAGE",
            "INSTALLED",
            "VULNERABILITY",
            "SEVERITY",
            "FIXED IN",
            "TITLE",
        ];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut l = String::from(" ");
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    l.push_str(cell);
                } else {
                    let _ = write!(l, " {cell:<w$} ", w = widths[i]);
                }
            }
            l.trim_end().to_owned()
        };
        let _ = writeln!(out, "{}", line(&header.map(str::to_owned)));
        for row in &rows {
            let _ = writeln!(out, "{}", line(row));
        }
        out.push('\n');
    }
    let s = &report.summary;
    let count = |l: SeverityLevel| s.by_severity.get(&l).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "{} findings in {} of {} packages: {} critical, {} high, {} medium, {} low, {} negligible, {} unknown; {} fixable, {} known exploited",
        s.findings,
        s.vulnerable_packages,
        s.packages,
        count(SeverityLevel::Critical),
        count(SeverityLevel::High),
        count(SeverityLevel::Medium),
        count(SeverityLevel::Low),
        count(SeverityLevel::Negligible),
        count(SeverityLevel::Unknown),
        s.fixable,
        s.known_exploited
    );
    out
}
