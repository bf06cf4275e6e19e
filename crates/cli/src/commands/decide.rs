//! `scan --policy`: the policy decision on a scanned image, and its explanation.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use portcullis_policy::{Exceptions, ImageFacts, Outcome, PolicySet, Subject};
use portcullis_report::{PolicyDecision, ScanReport};
use portcullis_types::AnnotationKind;

/// The organisation policy, and a team policy on top of it.
pub fn load(organisation: &Path, team: Option<&Path>) -> anyhow::Result<PolicySet> {
    let org = portcullis_policy::policy::parse::from_path(organisation)?;
    let mut set = PolicySet::new(org)?;
    if let Some(team) = team {
        set.add_team(portcullis_policy::policy::parse::from_path(team)?)?;
    }
    Ok(set)
}

/// What the policy can know about the image from its manifest and annotations;
/// facts that are not known stay `None` and never make a rule fire.
fn facts(report: &ScanReport) -> ImageFacts {
    let image = &report.image;
    let base_pinned = image
        .annotations
        .get(crate::commands::base::BASE_NAME)
        .map(|_| {
            image
                .annotations
                .contains_key(crate::commands::base::BASE_DIGEST)
        });
    let repository = image.reference.strip_prefix("docker://").map(|r| {
        let r = r.split('@').next().unwrap_or(r);
        // Drop the registry host and the tag: `team/app`.
        let path = match r.split_once('/') {
            Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
            _ => r,
        };
        match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo.to_owned(),
            _ => path.to_owned(),
        }
    });
    ImageFacts {
        user: image.user.clone(),
        base_pinned,
        size: (!image.layers.is_empty()).then(|| image.layers.iter().map(|l| l.size).sum()),
        created: image.created.as_deref().and_then(|c| {
            time::OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339).ok()
        }),
        repository,
        digest: image.manifest_digest.as_ref().map(ToString::to_string),
    }
}

/// Evaluates `policies` on the report's findings for `stage`.
pub fn decide(
    policies: &PolicySet,
    report: &ScanReport,
    stage: &str,
    team: Option<&str>,
    exceptions: Option<&Exceptions>,
) -> anyhow::Result<PolicyDecision> {
    let facts = facts(report);
    let vex_suppressed: Vec<_> = report
        .suppressed
        .iter()
        .filter(|f| {
            f.annotations
                .iter()
                .any(|a| a.kind == AnnotationKind::Vex && a.suppresses)
        })
        .cloned()
        .collect();
    let empty = Exceptions::default();
    let decision = portcullis_policy::evaluate(
        policies,
        &Subject {
            stage,
            team,
            image: &facts,
        },
        &report.findings,
        &vex_suppressed,
        exceptions.unwrap_or(&empty),
        time::OffsetDateTime::now_utc(),
    )
    .with_context(|| format!("cannot decide for stage `{stage}`"))?;
    Ok(PolicyDecision {
        stage: stage.to_owned(),
        team: team.map(str::to_owned),
        policy: policies.organisation.name.clone(),
        decision,
    })
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
