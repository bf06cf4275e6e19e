//! Policy unit tests (`portcullis policy test DIR`): each case names a policy,
//! a stage, a team, a findings fixture and the decision expected.
//!
//! ```yaml
//! apiVersion: portcullis.dev/v1
//! kind: PolicyTest
//! name: fixable critical blocks in prod
//! policy: ../org.yaml                # paths are relative to the case file
//! teamPolicies: [../payments.yaml]   # optional
//! exceptions: ../exceptions.yaml     # optional
//! findings: findings.json            # a `portcullis scan --format json` report
//! stage: prod
//! team: payments                     # optional
//! now: 2025-06-01T00:00:00Z          # optional: the evaluation time (default: now)
//! image: { user: "", basePinned: false, sizeBytes: 1000, created: 2025-01-01, repository: payments/api, digest: "sha256:…" }
//! expect:
//!   outcome: block
//!   codes: [fixable-critical, runs-as-root]   # every distinct code, in any order
//! ```
//!
//! The report's `findings` are evaluated; its `suppressed` entries that a VEX
//! statement removed are passed as VEX-suppressed findings.

use std::path::{Path, PathBuf};

use portcullis_types::{AnnotationKind, Finding};
use serde::Deserialize;
use serde_saphyr::Spanned;
use time::OffsetDateTime;

use crate::decision::{Decision, ImageFacts, Outcome};
use crate::eval::{EvaluateError, Subject, evaluate, parse_instant};
use crate::exception::Exceptions;
use crate::policy::parse::{self, check_header};
use crate::policy::{PolicyError, PolicySet};

/// Why a case could not be run (as opposed to running and failing).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("failed to read `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a JSON scan report with a `findings` array")]
    Findings {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: invalid time `{text}`: write a date or an RFC 3339 timestamp")]
    Time { file: String, text: String },
    #[error("{file}: cannot evaluate")]
    Evaluate {
        file: String,
        #[source]
        source: EvaluateError,
    },
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub expected_outcome: Outcome,
    pub expected_codes: Vec<String>,
    pub decision: Decision,
}

impl CaseResult {
    /// True when the outcome and the set of codes are as expected.
    pub fn passed(&self) -> bool {
        let mut want: Vec<&str> = self.expected_codes.iter().map(String::as_str).collect();
        want.sort_unstable();
        want.dedup();
        self.decision.outcome == self.expected_outcome && self.decision.codes() == want
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCase {
    api_version: Spanned<String>,
    kind: Spanned<String>,
    name: String,
    policy: String,
    #[serde(default)]
    team_policies: Vec<String>,
    #[serde(default)]
    exceptions: Option<String>,
    findings: String,
    stage: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    image: RawImage,
    expect: RawExpect,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawImage {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    base_pinned: Option<bool>,
    #[serde(default)]
    size_bytes: Option<u64>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    outcome: Outcome,
    #[serde(default)]
    codes: Vec<String>,
}

#[derive(Deserialize)]
struct Report {
    findings: Vec<Finding>,
    #[serde(default)]
    suppressed: Vec<Finding>,
}

fn time(file: &str, text: &str) -> Result<OffsetDateTime, SuiteError> {
    parse_instant(text).ok_or_else(|| SuiteError::Time {
        file: file.to_owned(),
        text: text.to_owned(),
    })
}

/// Runs the case in `path`.
pub fn run_case(path: &Path) -> Result<CaseResult, SuiteError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
        path: file.clone(),
        source,
    })?;
    let raw: RawCase = serde_saphyr::from_str(&text).map_err(|e| PolicyError::syntax(&file, &e))?;
    check_header(&file, &raw.api_version, &raw.kind, "PolicyTest")?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut set = PolicySet::new(parse::from_path(&dir.join(&raw.policy))?)?;
    for team in &raw.team_policies {
        set.add_team(parse::from_path(&dir.join(team))?)?;
    }
    let exceptions = match &raw.exceptions {
        Some(p) => Exceptions::from_path(&dir.join(p))?,
        None => Exceptions::default(),
    };
    let findings_path = dir.join(&raw.findings);
    let findings_name = findings_path.display().to_string();
    let report_text =
        std::fs::read_to_string(&findings_path).map_err(|source| SuiteError::Read {
            path: findings_name.clone(),
            source,
        })?;
    let report: Report =
        serde_json::from_str(&report_text).map_err(|source| SuiteError::Findings {
            path: findings_name,
            source,
        })?;
    let vex: Vec<Finding> = report
        .suppressed
        .into_iter()
        .filter(|f| {
            f.annotations
                .iter()
                .any(|a| a.kind == AnnotationKind::Vex && a.suppresses)
        })
        .collect();
    let now = match &raw.now {
        Some(t) => time(&file, t)?,
        None => OffsetDateTime::now_utc(),
    };
    let image = ImageFacts {
        user: raw.image.user,
        base_pinned: raw.image.base_pinned,
        size: raw.image.size_bytes,
        created: raw.image.created.map(|t| time(&file, &t)).transpose()?,
        repository: raw.image.repository,
        digest: raw.image.digest,
    };
    let subject = Subject {
        stage: &raw.stage,
        team: raw.team.as_deref(),
        image: &image,
    };
    let decision =
        evaluate(&set, &subject, &report.findings, &vex, &exceptions, now).map_err(|source| {
            SuiteError::Evaluate {
                file: file.clone(),
                source,
            }
        })?;
    Ok(CaseResult {
        file,
        name: raw.name,
        expected_outcome: raw.expect.outcome,
        expected_codes: raw.expect.codes,
        decision,
    })
}

/// The case files in `dir` (`*.test.yaml`, `*.test.yml`, searched recursively), sorted.
pub fn case_files(dir: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| SuiteError::Read {
            path: d.display().to_string(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| SuiteError::Read {
                path: d.display().to_string(),
                source,
            })?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".test.yaml") || n.ends_with(".test.yml"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
