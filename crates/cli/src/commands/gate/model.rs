//! What a gate found out, as the screens, JSON and JUnit show it.

use std::collections::BTreeMap;

use portcullis_policy::{DiagnosticAction, Outcome};
use portcullis_report::{PolicyDecision, ScanReport};
use portcullis_types::{Ecosystem, LayerRole, SeverityLevel};
use portcullis_version::Scheme;
use serde::Serialize;

/// How the gate ended, and its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateResult {
    /// The policy passed: nothing to approve.
    Passed,
    /// Nudged, and somebody approved.
    Approved,
    /// Nudged, and no approval was waited for (`--timeout 0`).
    AwaitingApproval,
    /// Nudged, and nobody approved in time.
    TimedOut,
    /// Nudged, and the person at the terminal declined.
    Declined,
    /// The policy blocked it.
    Blocked,
}

/// Pass, or approved.
pub const EXIT_PASS: u8 = 0;
/// A nudge nobody approved (declined, timed out, or not waited for).
pub const EXIT_NUDGE: u8 = 3;
/// Blocked.
pub const EXIT_BLOCK: u8 = 4;

impl GateResult {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Passed | Self::Approved => EXIT_PASS,
            Self::AwaitingApproval | Self::TimedOut | Self::Declined => EXIT_NUDGE,
            Self::Blocked => EXIT_BLOCK,
        }
    }
}

/// The gate's whole answer (`--format json` prints it as it is).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gate {
    /// `unscanned/<team>/<app>:<tag>` (or `@digest`).
    pub image: String,
    pub digest: String,
    /// The server's id for the pushed image.
    pub id: i64,
    pub stage: String,
    #[serde(serialize_with = "outcome_name")]
    pub outcome: Outcome,
    pub result: GateResult,
    pub exit_code: u8,
    /// Where deployments pull it from, once promoted.
    pub promoted_to: Option<String>,
    pub approval: Option<Approval>,
    /// One per platform (one for a single-platform image).
    pub platforms: Vec<PlatformSummary>,
    /// Why (nudge and block reasons first).
    pub diagnostics: Vec<Diag>,
    /// What would let it through, for a block or an unapproved nudge.
    pub ways_out: Vec<String>,
    pub links: Links,
    /// How long the gate waited for an approval (`--timeout`), when it waited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited: Option<String>,
}

fn outcome_name<S: serde::Serializer>(o: &Outcome, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(outcome_str(*o))
}

pub fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Nudge => "nudge",
        Outcome::Block => "block",
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub approver: String,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Links {
    pub report: Option<String>,
    pub approve: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSummary {
    pub platform: Option<String>,
    pub digest: String,
    #[serde(serialize_with = "outcome_name")]
    pub outcome: Outcome,
    pub findings: usize,
    pub by_severity: BTreeMap<SeverityLevel, usize>,
    pub fixable: usize,
    pub known_exploited: usize,
}

/// One reason of the decision, with its findings made concrete (severity, fix).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diag {
    /// Set for multi-platform images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub action: DiagnosticAction,
    pub code: String,
    pub rule: String,
    pub message: String,
    pub remedy: Option<String>,
    pub findings: Vec<DiagFinding>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DiagFinding {
    pub id: String,
    pub package: String,
    pub version: String,
    /// How its versions are ordered (when the report gave it).
    pub ecosystem: Option<Ecosystem>,
    pub severity: Option<SeverityLevel>,
    pub fixed_versions: Vec<String>,
    /// In the base image's layers (a rebuild on a newer base may fix it).
    pub in_base_image: bool,
    pub known_exploited: bool,
}

/// One platform's decision and, when it could be read, its report.
#[derive(Debug)]
pub struct PlatformDecision {
    pub platform: Option<String>,
    pub digest: String,
    pub decision: PolicyDecision,
    pub report: Option<ScanReport>,
}

/// Builds the diagnostics and summaries of `platforms`; `multi` labels them by platform.
pub fn explain(platforms: &[PlatformDecision]) -> (Vec<PlatformSummary>, Vec<Diag>) {
    let multi = platforms.len() > 1;
    let mut summaries = Vec::new();
    let mut diags = Vec::new();
    for p in platforms {
        let label = multi.then(|| p.platform.clone().unwrap_or_else(|| short(&p.digest)));
        let s = p.report.as_ref().map(|r| &r.summary);
        summaries.push(PlatformSummary {
            platform: p.platform.clone(),
            digest: p.digest.clone(),
            outcome: p.decision.decision.outcome,
            findings: s.map_or(0, |s| s.findings),
            by_severity: s.map(|s| s.by_severity.clone()).unwrap_or_default(),
            fixable: s.map_or(0, |s| s.fixable),
            known_exploited: s.map_or(0, |s| s.known_exploited),
        });
        for d in &p.decision.decision.diagnostics {
            let mut findings: Vec<DiagFinding> = d
                .findings
                .iter()
                .map(|f| {
                    let full = p.report.as_ref().and_then(|r| {
                        r.findings.iter().find(|x| {
                            x.id == f.id
                                && x.package.name == f.package
                                && x.package.version == f.version
                        })
                    });
                    DiagFinding {
                        id: f.id.clone(),
                        package: f.package.clone(),
                        version: f.version.clone(),
                        ecosystem: full.map(|x| x.package.ecosystem),
                        severity: full.map(|x| x.severity),
                        fixed_versions: full
                            .map(|x| x.fixed_versions.iter().map(|v| plain_version(v)).collect())
                            .unwrap_or_default(),
                        in_base_image: full.is_some_and(|x| x.layer_role == Some(LayerRole::Base)),
                        known_exploited: full.is_some_and(|x| x.kev.is_some()),
                    }
                })
                .collect();
            // Most severe first, known exploited before the rest; stable by id.
            findings.sort_by(|a, b| {
                b.known_exploited
                    .cmp(&a.known_exploited)
                    .then(b.severity.cmp(&a.severity))
                    .then_with(|| a.id.cmp(&b.id))
                    .then_with(|| a.package.cmp(&b.package))
            });
            diags.push(Diag {
                platform: label.clone(),
                action: d.action,
                code: d.code.clone(),
                rule: d.rule.clone(),
                message: d.message.clone(),
                remedy: d.remedy.clone(),
                findings,
            });
        }
    }
    // Block, then nudge, then the rest, as the policy orders them within a platform.
    diags.sort_by_key(|d| std::cmp::Reverse(d.action));
    (summaries, diags)
}

/// The ways out of a block or an unapproved nudge: upgrades, a newer base, an exception.
pub fn ways_out(diags: &[Diag], links: &Links) -> Vec<String> {
    let mut upgrades: BTreeMap<(String, String), (String, Vec<String>)> = BTreeMap::new();
    let mut unfixed: Vec<String> = Vec::new();
    let mut base = 0usize;
    let mut ids: Vec<String> = Vec::new();
    for d in diags.iter().filter(|d| d.action >= DiagnosticAction::Nudge) {
        for f in &d.findings {
            if !ids.contains(&f.id) {
                ids.push(f.id.clone());
            }
            if f.in_base_image {
                base += 1;
            }
            match upgrade_target(f) {
                Some(fixed) => {
                    let scheme = scheme_of(f);
                    let entry = upgrades
                        .entry((f.package.clone(), f.version.clone()))
                        .or_insert_with(|| (fixed.clone(), Vec::new()));
                    // The highest fix among the package's findings clears them all.
                    if later(scheme, &fixed, &entry.0) {
                        entry.0 = fixed;
                    }
                    if !entry.1.contains(&f.id) {
                        entry.1.push(f.id.clone());
                    }
                }
                None => {
                    if !unfixed.contains(&f.id) {
                        unfixed.push(f.id.clone());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((package, version), (fixed, found)) in &upgrades {
        out.push(format!(
            "upgrade {package} from {version} to {fixed} or later ({})",
            list(found, 3)
        ));
    }
    if base > 0 {
        out.push(format!(
            "rebuild on a newer base image: {base} of these findings are in the base image's packages"
        ));
    }
    if !unfixed.is_empty() {
        out.push(format!(
            "no fix is known yet for {}: remove the package if the image does not need it",
            list(&unfixed, 3)
        ));
    }
    if !ids.is_empty() {
        let at = links
            .approve
            .as_deref()
            .map_or_else(String::new, |l| format!(" (details: {l})"));
        out.push(format!(
            "ask the security team for an exception for {}, with a reason and an expiry{at}",
            list(&ids, 3)
        ));
    }
    out
}

/// A fixed version as people write it: some advisories give it as a range (`>=4.17.11`).
fn plain_version(v: &str) -> String {
    v.trim().trim_start_matches(">=").trim().to_owned()
}

fn scheme_of(f: &DiagFinding) -> Option<Scheme> {
    f.ecosystem.and_then(|e| e.as_str().parse().ok())
}

/// The version to upgrade to for one finding: the lowest fix above the installed version
/// (a finding fixed on several branches lists them all: 1.11.29, 2.2.11, 3.0.4), ignoring
/// range fragments (`< 1.0.0`) that some advisories list among their fixes.
fn upgrade_target(f: &DiagFinding) -> Option<String> {
    let scheme = scheme_of(f);
    let candidates: Vec<&String> = f
        .fixed_versions
        .iter()
        .filter(|v| !v.starts_with(['<', '>', '=']) && !v.contains(' '))
        .collect();
    let above = candidates
        .iter()
        .filter(|v| later(scheme, v, &f.version))
        .min_by(|a, b| order(scheme, a, b));
    above.or_else(|| candidates.first()).map(|v| (*v).clone())
}

/// Whether version `a` is later than `b`, by the ecosystem's rules when known.
fn later(scheme: Option<Scheme>, a: &str, b: &str) -> bool {
    order(scheme, a, b) == std::cmp::Ordering::Greater
}

fn order(scheme: Option<Scheme>, a: &str, b: &str) -> std::cmp::Ordering {
    if let Some(s) = scheme
        && let Ok(o) = portcullis_version::compare(s, a, b)
    {
        return o;
    }
    // Number by number, for versions no scheme orders (a display heuristic only).
    let key = |v: &str| -> Vec<(u64, String)> {
        v.split(|c: char| !c.is_ascii_alphanumeric())
            .map(|p| (p.parse().unwrap_or(0), p.to_owned()))
            .collect()
    };
    key(a).cmp(&key(b))
}

pub fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

/// `sha256:0123456789ab`.
pub fn short(digest: &str) -> String {
    digest.chars().take(19).collect()
}
