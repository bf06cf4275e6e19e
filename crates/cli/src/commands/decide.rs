//! `scan --policy`: the policy decision on a scanned image, and its explanation.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use portcullis_policy::{Exceptions, Outcome, PolicySet};
use portcullis_report::{PolicyDecision, ScanReport};

/// The organisation policy, and a team policy on top of it.
pub fn load(organisation: &Path, team: Option<&Path>) -> anyhow::Result<PolicySet> {
    let org = portcullis_policy::policy::parse::from_path(organisation)?;
    let mut set = PolicySet::new(org)?;
    if let Some(team) = team {
        set.add_team(portcullis_policy::policy::parse::from_path(team)?)?;
    }
    Ok(set)
}

/// Evaluates `policies` on the report's findings for `stage`, now.
pub fn decide(
    policies: &PolicySet,
    report: &ScanReport,
    stage: &str,
    team: Option<&str>,
    exceptions: Option<&Exceptions>,
) -> anyhow::Result<PolicyDecision> {
    portcullis_scan::decide(
        policies,
        report,
        stage,
        team,
        exceptions,
        time::OffsetDateTime::now_utc(),
    )
    .with_context(|| format!("cannot decide for stage `{stage}`"))
}

/// The decision on stderr: one line, and with `explain` every diagnostic.
pub fn print(decision: &PolicyDecision, explain: bool) {
    let mut err = anstream::stderr().lock();
    let d = &decision.decision;
    let outcome = match d.outcome {
        Outcome::Pass => "pass",
        Outcome::Nudge => "nudge",
        Outcome::Block => "block",
    };
    let _ = writeln!(
        err,
        "decision: {outcome} for stage {}{} ({} diagnostics)",
        decision.stage,
        decision
            .team
            .as_deref()
            .map_or(String::new(), |t| format!(", team {t}")),
        d.diagnostics.len()
    );
    if !explain {
        return;
    }
    for diag in &d.diagnostics {
        let _ = writeln!(
            err,
            "  {} {} [{}]: {}",
            diag.action.as_str(),
            diag.code,
            diag.rule,
            diag.message
        );
        for f in diag.findings.iter().take(10) {
            let _ = writeln!(err, "      {} in {} {}", f.id, f.package, f.version);
        }
        if diag.findings.len() > 10 {
            let _ = writeln!(err, "      … and {} more", diag.findings.len() - 10);
        }
        if let Some(remedy) = &diag.remedy {
            let _ = writeln!(err, "      to pass: {remedy}");
        }
    }
}
