//! The table for people: one block per target (the OS packages, then each
//! file that language packages were found in), then a summary line. Advisory
//! text is printed with its control characters replaced, so that a hostile
//! summary cannot send escape sequences to the terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portcullis_types::{Finding, SeverityLevel};

use crate::ScanReport;
use crate::text::{target, terminal_safe, title, truncate};

/// Renders the table.
pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    let mut targets: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        targets.entry(target(f)).or_default().push(f);
    }
    for (name, findings) in &targets {
        let _ = writeln!(out, "{} ({} findings)", terminal_safe(name), findings.len());
        let rows: Vec<[String; 6]> = findings
            .iter()
            .map(|f| {
                [
                    terminal_safe(&f.package.name),
                    terminal_safe(&f.package.version),
                    terminal_safe(&f.id),
                    format!(
                        "{}{}",
                        f.severity.as_str().to_uppercase(),
                        if f.kev.is_some() { " KEV" } else { "" }
                    ),
                    if f.fixed_versions.is_empty() {
                        f.status.as_str().replace('_', " ")
                    } else {
                        terminal_safe(&f.fixed_versions.join(", "))
                    },
                    title(f)
                        .map(|s| terminal_safe(&s.chars().take(60).collect::<String>()))
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
                    l.push(' ');
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
    let describe = |a: &portcullis_types::Annotation| {
        let mut text = format!("{:?} {}", a.kind, a.status).to_lowercase();
        if let Some(j) = &a.justification {
            text.push_str(&format!(" ({j})"));
        }
        if let Some(d) = &a.detail {
            text.push_str(&format!(": {}", truncate(d, 80)));
        }
        if let Some(e) = &a.expires {
            text.push_str(&format!(" [expires {e}]"));
        }
        text.push_str(&format!(" — {}", a.source));
        terminal_safe(&text)
    };
    let noted: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| !f.annotations.is_empty())
        .collect();
    if !noted.is_empty() {
        let _ = writeln!(out, "Annotated ({} findings)", noted.len());
        for f in noted {
            for a in &f.annotations {
                let _ = writeln!(
                    out,
                    "  {} {} {}: {}",
                    terminal_safe(&f.id),
                    terminal_safe(&f.package.name),
                    terminal_safe(&f.package.version),
                    describe(a)
                );
            }
        }
        out.push('\n');
    }
    if !report.suppressed.is_empty() {
        let _ = writeln!(
            out,
            "Suppressed ({} findings, not counted below)",
            report.suppressed.len()
        );
        for f in &report.suppressed {
            for a in f.annotations.iter().filter(|a| a.suppresses) {
                let _ = writeln!(
                    out,
                    "  {} {} {}: {}",
                    terminal_safe(&f.id),
                    terminal_safe(&f.package.name),
                    terminal_safe(&f.package.version),
                    describe(a)
                );
            }
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
    if s.suppressed > 0 {
        // Keep the counts on the last line, where scripts look for them.
        out.pop();
        let _ = writeln!(
            out,
            "; {} suppressed by VEX or ignore entries",
            s.suppressed
        );
    }
    out
}
