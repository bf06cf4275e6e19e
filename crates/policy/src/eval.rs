//! Evaluation: a [`PolicySet`], a stage and a team, the findings, the image's
//! facts and the exceptions register in; a [`Decision`] out.
//!
//! Each finding is first checked against the exceptions: one in force removes
//! it from the rules (an `exception-applied` info diagnostic); an expired one
//! leaves it in and adds an `exception-expired` warning. The remaining findings
//! go through every rule in force; a rule that matches at least one finding
//! gives one diagnostic listing them. Image rules look at [`ImageFacts`].
//! Findings already suppressed by VEX give info diagnostics only, so that they
//! are shown and never make a decision stricter.

use std::collections::BTreeMap;

use portcullis_types::{AnnotationKind, Finding};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time};

use crate::decision::{Decision, Diagnostic, DiagnosticAction, FindingRef, ImageFacts};
use crate::exception::{Exception, ExceptionContext, Exceptions, package_matches};
use crate::policy::{Action, Conditions, ImageConditions, PolicySet};

/// Where the image is going: the stage, the owning team, and its facts.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub stage: &'a str,
    pub team: Option<&'a str>,
    pub image: &'a ImageFacts,
}

/// Why a policy could not be evaluated at all.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error("stage `{stage}` is not in policy `{policy}` (its stages: {known})")]
    UnknownStage {
        stage: String,
        policy: String,
        known: String,
    },
}

fn action(a: Action) -> DiagnosticAction {
    match a {
        Action::Warn => DiagnosticAction::Warn,
        Action::Nudge => DiagnosticAction::Nudge,
        Action::Block => DiagnosticAction::Block,
    }
}

fn finding_ref(f: &Finding) -> FindingRef {
    FindingRef {
        id: f.id.clone(),
        package: f.package.name.clone(),
        version: f.package.version.clone(),
    }
}

fn refs<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<FindingRef> {
    let mut out: Vec<FindingRef> = findings.into_iter().map(finding_ref).collect();
    out.sort();
    out.dedup();
    out
}

/// A date or RFC 3339 timestamp, as advisories publish them.
pub(crate) fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339).ok().or_else(|| {
        let date =
            Date::parse(text.get(..10)?, format_description!("[year]-[month]-[day]")).ok()?;
        Some(date.with_time(Time::MIDNIGHT).assume_utc())
    })
}

/// True when every condition holds for the finding at `now`.
pub fn matches(when: &Conditions, f: &Finding, now: OffsetDateTime) -> bool {
    when.severity_at_least.is_none_or(|s| f.severity >= s)
        && when.cvss_at_least.is_none_or(|min| {
            f.cvss
                .as_ref()
                .and_then(|c| c.score)
                .is_some_and(|s| s >= min)
        })
        && when.fix_available.is_none_or(|b| f.fixable() == b)
        && when.kev.is_none_or(|b| f.kev.is_some() == b)
        && when
            .epss_score_at_least
            .is_none_or(|min| f.epss.is_some_and(|e| e.score >= min))
        && when
            .epss_percentile_at_least
            .is_none_or(|min| f.epss.is_some_and(|e| e.percentile >= min))
        && when.layer.is_none_or(|l| f.layer_role == Some(l))
        && (when.ecosystems.is_empty() || when.ecosystems.contains(&f.package.ecosystem))
        && (when.advisories.is_empty()
            || when.advisories.iter().any(|a| {
                f.id.eq_ignore_ascii_case(a) || f.aliases.iter().any(|x| x.eq_ignore_ascii_case(a))
            }))
        && (when.packages.is_empty() || when.packages.iter().any(|p| package_matches(p, f)))
        && when.fix_published_days_ago.is_none_or(|days| {
            f.fixable()
                && f.published
                    .as_deref()
                    .and_then(parse_instant)
                    .is_none_or(|at| now - at >= Duration::days(i64::from(days)))
        })
}

/// Why an image rule fires, or `None` when it does not (or a fact is unknown).
fn image_reasons(
    when: &ImageConditions,
    image: &ImageFacts,
    now: OffsetDateTime,
) -> Option<Vec<String>> {
    let mut reasons = Vec::new();
    if let Some(want) = when.runs_as_root {
        if image.runs_as_root()? != want {
            return None;
        }
        reasons.push(
            if want {
                "the image runs as root"
            } else {
                "the image does not run as root"
            }
            .to_owned(),
        );
    }
    if let Some(want) = when.base_pinned {
        if image.base_pinned? != want {
            return None;
        }
        reasons.push(
            if want {
                "the base image is pinned by digest"
            } else {
                "the base image is not pinned by digest"
            }
            .to_owned(),
        );
    }
    if let Some(max) = when.size_over_bytes {
        let size = image.size?;
        if size <= max {
            return None;
        }
        reasons.push(format!("the image is {size} bytes, over {max}"));
    }
    if let Some(days) = when.older_than_days {
        let age = now - image.created?;
        if age <= Duration::days(i64::from(days)) {
            return None;
        }
        reasons.push(format!(
            "the image was created {} days ago, more than {days}",
            age.whole_days()
        ));
    }
    Some(reasons)
}

fn image_remedy(when: &ImageConditions) -> String {
    let mut out = Vec::new();
    if when.runs_as_root == Some(true) {
        out.push("set a non-root `USER` in the image");
    }
    if when.base_pinned == Some(false) {
        out.push("name the base image by digest (`FROM image@sha256:…`)");
    }
    if when.size_over_bytes.is_some() {
        out.push("make the image smaller (multi-stage build, slimmer base)");
    }
    if when.older_than_days.is_some() {
        out.push("rebuild the image");
    }
    out.join("; ")
}

/// A fixed version written as a bare version (`3.0.0`, or `>=3.0.0` as some advisories
/// write it); `None` for a range (`>= 0.6.14, < 1.0.0`).
fn plain_fix(v: &str) -> Option<&str> {
    let plain = v.trim().trim_start_matches(">=").trim();
    (!plain.is_empty() && !plain.contains(['<', '>', '=', ' ', ','])).then_some(plain)
}

/// Describes conditions for a message: `severity ≥ critical, fix available`.
pub fn describe(when: &Conditions) -> String {
    let mut parts = Vec::new();
    if let Some(s) = when.severity_at_least {
        parts.push(format!("severity ≥ {s}"));
    }
    if let Some(s) = when.cvss_at_least {
        parts.push(format!("CVSS ≥ {s}"));
    }
    match when.fix_available {
        Some(true) => parts.push("fix available".to_owned()),
        Some(false) => parts.push("no fix available".to_owned()),
        None => {}
    }
    if let Some(d) = when.fix_published_days_ago {
        parts.push(format!("fixed at least {d} days ago"));
    }
    if let Some(s) = when.epss_score_at_least {
        parts.push(format!("EPSS ≥ {s}"));
    }
    if let Some(s) = when.epss_percentile_at_least {
        parts.push(format!("EPSS percentile ≥ {s}"));
    }
    match when.kev {
        Some(true) => parts.push("known exploited (KEV)".to_owned()),
        Some(false) => parts.push("not in KEV".to_owned()),
        None => {}
    }
    for (label, list) in [("package", &when.packages), ("advisory", &when.advisories)] {
        if !list.is_empty() {
            parts.push(format!("{label} {}", list.join(" or ")));
        }
    }
    if !when.ecosystems.is_empty() {
        let names: Vec<&str> = when.ecosystems.iter().map(|e| e.as_str()).collect();
        parts.push(format!("ecosystem {}", names.join(" or ")));
    }
    if let Some(l) = when.layer {
        parts.push(format!(
            "in the {} layers",
            if l == portcullis_types::LayerRole::Base {
                "base"
            } else {
                "application"
            }
        ));
    }
    if parts.is_empty() {
        "any finding".to_owned()
    } else {
        parts.join(", ")
    }
}

/// What would make a rule's findings go away: upgrades where a fix is known,
/// else an exception or a VEX statement.
fn remedy(findings: &[&Finding]) -> String {
    let mut upgrades: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    let mut unfixed = 0usize;
    for f in findings {
        if f.fixable() {
            upgrades
                .entry(f.package.name.as_str())
                .or_default()
                .extend(f.fixed_versions.iter().map(String::as_str));
        } else {
            unfixed += 1;
        }
    }
    let mut parts: Vec<String> = upgrades
        .iter()
        .take(5)
        .map(|(name, versions)| match versions.iter().next().copied() {
            // Some advisories give the fix as a range already (`>=3.0.0`).
            Some(v) if versions.len() == 1 && plain_fix(v).is_some() => {
                format!("upgrade {name} to ≥ {}", plain_fix(v).unwrap_or(v))
            }
            _ => format!(
                "upgrade {name} to a fixed version ({})",
                versions.iter().copied().collect::<Vec<_>>().join(", ")
            ),
        })
        .collect();
    if upgrades.len() > 5 {
        parts.push(format!("and {} more packages", upgrades.len() - 5));
    }
    if unfixed > 0 {
        parts.push(format!(
            "for the {unfixed} without a fix: add an exception with compensating controls, or a VEX statement if not affected"
        ));
    } else {
        parts.push("or add an exception".to_owned());
    }
    parts.join("; ")
}

fn rule_label(stage: &str, name: &str, team: Option<&str>) -> String {
    match team {
        Some(t) => format!("team {t}: {stage}/{name}"),
        None => format!("{stage}/{name}"),
    }
}

/// Evaluates the policy for `subject`. `vex_suppressed` are the findings a VEX
/// statement already removed; they give info diagnostics only.
pub fn evaluate(
    policies: &PolicySet,
    subject: &Subject<'_>,
    findings: &[Finding],
    vex_suppressed: &[Finding],
    exceptions: &Exceptions,
    now: OffsetDateTime,
) -> Result<Decision, EvaluateError> {
    let stage = subject.stage;
    if !policies.has_stage(stage) {
        let known: Vec<&str> = policies
            .organisation
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        return Err(EvaluateError::UnknownStage {
            stage: stage.to_owned(),
            policy: policies.organisation.name.clone(),
            known: known.join(", "),
        });
    }
    let rules = policies.rules(stage, subject.team);
    let context = ExceptionContext {
        stage,
        team: subject.team,
        repository: subject.image.repository.as_deref(),
        digest: subject.image.digest.as_deref(),
    };
    let mut hits: Vec<Vec<&Finding>> = vec![Vec::new(); rules.len()];
    let mut applied: BTreeMap<(u64, u64), (&Exception, Vec<&Finding>)> = BTreeMap::new();
    let mut expired: BTreeMap<(u64, u64), (&Exception, Vec<&Finding>)> = BTreeMap::new();
    for finding in findings {
        if !exceptions.entries.is_empty() {
            let (active, stale) = exceptions.lookup(finding, &context, now);
            if let Some(e) = active {
                applied
                    .entry((e.position.line, e.position.column))
                    .or_insert((e, Vec::new()))
                    .1
                    .push(finding);
                continue;
            }
            if let Some(e) = stale {
                expired
                    .entry((e.position.line, e.position.column))
                    .or_insert((e, Vec::new()))
                    .1
                    .push(finding);
            }
        }
        for (i, rule) in rules.iter().enumerate() {
            if matches(&rule.rule.when, finding, now) {
                hits[i].push(finding);
            }
        }
    }
    let mut diagnostics = Vec::new();
    for (rule, found) in rules.iter().zip(&hits) {
        if found.is_empty() {
            continue;
        }
        let r = rule.rule;
        let message = r.message.clone().unwrap_or_else(|| {
            let n = found.len();
            format!(
                "{n} finding{} match {}",
                if n == 1 { "" } else { "s" },
                describe(&r.when)
            )
        });
        diagnostics.push(Diagnostic {
            code: r.code.clone(),
            action: action(r.action),
            rule: rule_label(stage, &r.name, rule.team),
            findings: refs(found.iter().copied()),
            message,
            remedy: Some(remedy(found)),
        });
    }
    for rule in policies.image_rules(stage, subject.team) {
        let r = rule.rule;
        if let Some(reasons) = image_reasons(&r.when, subject.image, now) {
            diagnostics.push(Diagnostic {
                code: r.code.clone(),
                action: action(r.action),
                rule: rule_label(stage, &r.name, rule.team),
                findings: Vec::new(),
                message: r.message.clone().unwrap_or_else(|| reasons.join("; ")),
                remedy: Some(image_remedy(&r.when)),
            });
        }
    }
    for (exception, found) in applied.values() {
        diagnostics.push(exception_diagnostic(exceptions, exception, found, true));
    }
    for (exception, found) in expired.values() {
        diagnostics.push(exception_diagnostic(exceptions, exception, found, false));
    }
    diagnostics.extend(vex_diagnostics(vex_suppressed));
    Ok(Decision::from_diagnostics(diagnostics))
}

fn exception_diagnostic(
    register: &Exceptions,
    e: &Exception,
    found: &[&Finding],
    active: bool,
) -> Diagnostic {
    let controls = if e.compensating_controls.is_empty() {
        String::new()
    } else {
        format!(
            "; compensating controls: {}",
            e.compensating_controls.join("; ")
        )
    };
    let (code, action, message, remedy) = if active {
        (
            "exception-applied",
            DiagnosticAction::Info,
            format!(
                "{} accepted until {}: {} (owner {}, approved by {}){controls}",
                e.advisory,
                e.expires.instant(),
                e.justification,
                e.owner,
                e.approved_by
            ),
            None,
        )
    } else {
        (
            "exception-expired",
            DiagnosticAction::Warn,
            format!(
                "the exception for {} expired at {}; the findings are judged by the rules again",
                e.advisory,
                e.expires.instant()
            ),
            Some(
                "fix the findings, or renew the exception with a new approval and expiry"
                    .to_owned(),
            ),
        )
    };
    Diagnostic {
        code: code.to_owned(),
        action,
        rule: format!("{}:{}", register.source, e.position.line),
        findings: refs(found.iter().copied()),
        message,
        remedy,
    }
}

fn vex_diagnostics(suppressed: &[Finding]) -> Vec<Diagnostic> {
    let mut by_status: BTreeMap<String, (Vec<&Finding>, Vec<String>)> = BTreeMap::new();
    for f in suppressed {
        let annotation = f
            .annotations
            .iter()
            .find(|a| a.kind == AnnotationKind::Vex && a.suppresses);
        let status = annotation.map_or("suppressed", |a| a.status.as_str());
        let entry = by_status.entry(status.to_owned()).or_default();
        entry.0.push(f);
        if let Some(j) = annotation.and_then(|a| a.justification.clone())
            && !entry.1.contains(&j)
        {
            entry.1.push(j);
        }
    }
    by_status
        .into_iter()
        .map(|(status, (found, justifications))| {
            let code = match status.as_str() {
                "not_affected" => "vex-not-affected",
                "fixed" => "vex-fixed",
                _ => "vex-suppressed",
            };
            let why = if justifications.is_empty() {
                String::new()
            } else {
                format!(" ({})", justifications.join(", "))
            };
            Diagnostic {
                code: code.to_owned(),
                action: DiagnosticAction::Info,
                rule: "vex".to_owned(),
                findings: refs(found.iter().copied()),
                message: format!("{} finding(s) stated `{status}` by VEX{why}", found.len()),
                remedy: None,
            }
        })
        .collect()
}
