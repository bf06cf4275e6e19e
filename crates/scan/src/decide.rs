//! The policy decision on a scanned image: what the policy may know about the image
//! ([`facts`]) and the evaluation of its findings for one stage ([`decide`]).

use portcullis_policy::{EvaluateError, Exceptions, ImageFacts, PolicySet, Subject};
use portcullis_report::{PolicyDecision, ScanReport};
use portcullis_types::AnnotationKind;

use crate::base::{BASE_DIGEST, BASE_NAME};

/// What the policy can know about the image from its manifest and annotations;
/// facts that are not known stay `None` and never make a rule fire.
pub fn facts(report: &ScanReport) -> ImageFacts {
    let image = &report.image;
    let base_pinned = image
        .annotations
        .get(BASE_NAME)
        .map(|_| image.annotations.contains_key(BASE_DIGEST));
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

/// Evaluates `policies` on the report's findings for `stage` at `now`; `repository`
/// overrides the one read from the image reference (the server knows it exactly).
pub fn decide(
    policies: &PolicySet,
    report: &ScanReport,
    stage: &str,
    team: Option<&str>,
    exceptions: Option<&Exceptions>,
    now: time::OffsetDateTime,
) -> Result<PolicyDecision, EvaluateError> {
    decide_with_facts(
        policies,
        report,
        facts(report),
        stage,
        team,
        exceptions,
        now,
    )
}

/// [`decide`] with facts the caller completed (e.g. the repository the server received
/// the image in).
pub fn decide_with_facts(
    policies: &PolicySet,
    report: &ScanReport,
    facts: ImageFacts,
    stage: &str,
    team: Option<&str>,
    exceptions: Option<&Exceptions>,
    now: time::OffsetDateTime,
) -> Result<PolicyDecision, EvaluateError> {
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
        now,
    )?;
    Ok(PolicyDecision {
        stage: stage.to_owned(),
        team: team.map(str::to_owned),
        policy: policies.organisation.name.clone(),
        decision,
    })
}
