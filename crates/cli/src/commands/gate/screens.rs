//! The gate's screens (text for people, JUnit for Jenkins); the JSON is the model itself.

use std::fmt::Write as _;

use portcullis_policy::{DiagnosticAction, Outcome};
use portcullis_types::SeverityLevel;

use super::model::{Diag, Gate, GateResult, PlatformSummary, short};

/// How many findings each reason lists before pointing at the report.
const FINDINGS_SHOWN: usize = 5;

/// The first screen once the decision is known: one line for a pass; for a nudge or a
/// block the summary, the reasons and the links.
pub fn decision(g: &Gate, command: &str) -> String {
    let mut out = String::new();
    match g.outcome {
        Outcome::Pass => {
            let _ = write!(out, "✔ pass: {} at stage {}", g.image, g.stage);
            if let Some(to) = &g.promoted_to {
                let _ = write!(out, "; deploy from {to}");
            }
            out.push('\n');
            return out;
        }
        Outcome::Nudge => {
            let _ = writeln!(
                out,
                "! nudge: {} ({}) at stage {} needs an approval",
                g.image,
                short(&g.digest),
                g.stage
            );
        }
        Outcome::Block => {
            let _ = writeln!(
                out,
                "✖ block: {} ({}) at stage {}",
                g.image,
                short(&g.digest),
                g.stage
            );
        }
    }
    for p in &g.platforms {
        let label = if g.platforms.len() > 1 {
            format!(
                "  {} ({}): ",
                p.platform.as_deref().unwrap_or("?"),
                p.outcome_name()
            )
        } else {
            "  ".to_owned()
        };
        let _ = writeln!(out, "{label}findings: {}", counts(p));
    }
    let reasons: Vec<&Diag> = g
        .diagnostics
        .iter()
        .filter(|d| d.action >= DiagnosticAction::Nudge)
        .collect();
    if !reasons.is_empty() {
        out.push_str("  why:\n");
    }
    for d in &reasons {
        let platform = d
            .platform
            .as_deref()
            .map_or(String::new(), |p| format!("[{p}] "));
        let _ = writeln!(
            out,
            "    {} {platform}{} ({}): {}",
            d.action.as_str(),
            d.code,
            d.rule,
            d.message
        );
        for f in d.findings.iter().take(FINDINGS_SHOWN) {
            let severity = f.severity.map_or("?", SeverityLevel::as_str);
            let kev = if f.known_exploited {
                " known exploited;"
            } else {
                ""
            };
            let fix = match f.fixed_versions.as_slice() {
                [] => "no fix yet".to_owned(),
                v => format!("fixed in {}", v.join(", ")),
            };
            let _ = writeln!(
                out,
                "        {:<18} {:<8} {} {}:{kev} {fix}",
                f.id, severity, f.package, f.version
            );
        }
        if d.findings.len() > FINDINGS_SHOWN {
            let _ = writeln!(
                out,
                "        … and {} more (see the report)",
                d.findings.len() - FINDINGS_SHOWN
            );
        }
        if let Some(remedy) = &d.remedy {
            let _ = writeln!(out, "        to pass: {remedy}");
        }
    }
    let other = g.diagnostics.len() - reasons.len();
    if other > 0 {
        let what = if other == 1 {
            "note or warning"
        } else {
            "notes and warnings"
        };
        let _ = writeln!(out, "  ({other} more {what} in the report)");
    }
    if g.outcome == Outcome::Block {
        ways_out(&mut out, g);
    }
    if let Some(report) = &g.links.report {
        let _ = writeln!(out, "  report:  {report}");
    }
    if g.outcome == Outcome::Nudge {
        if let Some(approve) = &g.links.approve {
            let _ = writeln!(out, "  approve: {approve}");
        }
        let _ = writeln!(
            out,
            "           or: portcullis approve {} --stage {} --reason TEXT",
            command, g.stage
        );
    }
    out
}

/// The last line(s) once a nudge is settled (nothing for a pass or a block).
pub fn settled(g: &Gate) -> String {
    let mut out = String::new();
    match g.result {
        GateResult::Passed | GateResult::Blocked => {}
        GateResult::Approved => {
            let a = g.approval.as_ref();
            let _ = write!(
                out,
                "✔ approved by {} at stage {}: \"{}\"",
                a.map_or("?", |a| a.approver.as_str()),
                g.stage,
                a.map_or("", |a| a.reason.as_str())
            );
            if let Some(to) = &g.promoted_to {
                let _ = write!(out, "; deploy from {to}");
            }
            out.push('\n');
        }
        GateResult::AwaitingApproval => {
            let _ = writeln!(
                out,
                "✖ not approved yet (exit code {}): once someone with the security role approves, run the gate again",
                g.exit_code
            );
            ways_out(&mut out, g);
        }
        GateResult::TimedOut => {
            let _ = writeln!(
                out,
                "✖ no approval within {} (exit code {}): ask the security team to approve, then run the gate again",
                g.waited.as_deref().unwrap_or("the timeout"),
                g.exit_code
            );
            ways_out(&mut out, g);
        }
        GateResult::Declined => {
            let _ = writeln!(
                out,
                "✖ not approved: declined at the terminal (exit code {})",
                g.exit_code
            );
            ways_out(&mut out, g);
        }
    }
    out
}

fn ways_out(out: &mut String, g: &Gate) {
    if g.ways_out.is_empty() {
        return;
    }
    out.push_str("  ways out:\n");
    for w in &g.ways_out {
        let _ = writeln!(out, "    - {w}");
    }
}

fn counts(p: &PlatformSummary) -> String {
    let mut parts: Vec<String> = SeverityLevel::ALL
        .iter()
        .rev()
        .filter_map(|l| {
            let n = p.by_severity.get(l).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {}", l.as_str()))
        })
        .collect();
    if parts.is_empty() {
        parts.push("none".to_owned());
    }
    format!(
        "{} ({} in all; {} fixable, {} known exploited)",
        parts.join(", "),
        p.findings,
        p.fixable,
        p.known_exploited
    )
}

impl PlatformSummary {
    fn outcome_name(&self) -> &'static str {
        super::model::outcome_str(self.outcome)
    }
}

/// JUnit XML: one test case per nudge or block reason (a failure unless approved), or one
/// passing case when there is none.
pub fn junit(g: &Gate) -> String {
    let suite = format!("portcullis gate {} at stage {}", g.image, g.stage);
    let reasons: Vec<&Diag> = g
        .diagnostics
        .iter()
        .filter(|d| d.action >= DiagnosticAction::Nudge)
        .collect();
    let failing =
        |d: &Diag| d.action == DiagnosticAction::Block || g.result != GateResult::Approved;
    let failures = reasons.iter().filter(|d| failing(d)).count();
    let tests = reasons.len().max(1);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"portcullis gate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        attr(&suite)
    );
    let _ = writeln!(x, "    <properties>");
    for (k, v) in [
        ("image", g.image.as_str()),
        ("digest", g.digest.as_str()),
        ("stage", g.stage.as_str()),
        ("outcome", super::model::outcome_str(g.outcome)),
        ("report", g.links.report.as_deref().unwrap_or("")),
    ] {
        let _ = writeln!(x, "      <property name=\"{k}\" value=\"{}\"/>", attr(v));
    }
    let _ = writeln!(x, "    </properties>");
    let classname = format!("portcullis.gate.{}", g.stage);
    if reasons.is_empty() {
        let _ = writeln!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\"/>",
            attr(&classname),
            attr(&format!("policy at stage {}", g.stage))
        );
    }
    for d in &reasons {
        let name = match &d.platform {
            Some(p) => format!("{} {} [{p}]", d.code, d.rule),
            None => format!("{} {}", d.code, d.rule),
        };
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\">",
            attr(&classname),
            attr(&name)
        );
        let mut body = String::new();
        for f in &d.findings {
            let _ = writeln!(
                body,
                "{} {} {} {}: {}",
                f.id,
                f.severity.map_or("?", SeverityLevel::as_str),
                f.package,
                f.version,
                if f.fixed_versions.is_empty() {
                    "no fix yet".to_owned()
                } else {
                    format!("fixed in {}", f.fixed_versions.join(", "))
                }
            );
        }
        if let Some(r) = &d.remedy {
            let _ = writeln!(body, "to pass: {r}");
        }
        if let Some(r) = &g.links.report {
            let _ = writeln!(body, "report: {r}");
        }
        if failing(d) {
            let _ = write!(
                x,
                "\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    ",
                d.action.as_str(),
                attr(&d.message),
                text(&body)
            );
        } else if let Some(a) = &g.approval {
            let _ = write!(
                x,
                "\n      <system-out>{}</system-out>\n    ",
                text(&format!(
                    "{}: approved by {}: {}\n{body}",
                    d.message, a.approver, a.reason
                ))
            );
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// Attribute text.
fn attr(s: &str) -> String {
    portcullis_report::escape_xml(s, true)
}

/// Element text.
fn text(s: &str) -> String {
    portcullis_report::escape_xml(s, false)
}
