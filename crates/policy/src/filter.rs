//! Applying an ignore file and VEX documents to a scan's findings.
//!
//! A VEX statement that suppresses is checked first, as it says the finding is
//! not real for this image; then the ignore file, which says it is accepted.
//! A finding neither removes is kept, with the VEX statement that annotates it
//! (`affected`, `under_investigation`, `exploitable`, `in_triage`) and the
//! expired ignore entry that would have removed it, if any.

use portcullis_types::Finding;
use serde::Serialize;
use time::OffsetDateTime;

use crate::ignore::{IgnoreEntry, IgnoreFile, IgnoreOutcome};
use crate::vex::{ImageScope, VexDocument, VexVerdict, evaluate_documents};

/// What to apply, and when.
#[derive(Debug, Clone, Copy)]
pub struct Filters<'a> {
    pub ignore: Option<&'a IgnoreFile>,
    pub vex: &'a [VexDocument],
    pub image: &'a ImageScope,
    /// The instant expiries are compared with.
    pub now: OffsetDateTime,
}

/// A finding that stays in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptFinding {
    pub finding: Finding,
    /// A VEX statement about it that does not suppress it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vex: Option<VexVerdict>,
    /// An ignore entry that matched it but has expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_ignore: Option<IgnoreEntry>,
}

/// Why a finding was removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum Suppression {
    Vex(VexVerdict),
    Ignore(IgnoreEntry),
}

/// A finding removed from the report, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuppressedFinding {
    pub finding: Finding,
    pub suppression: Suppression,
}

/// The findings split by [`apply`], each list in input order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterResult {
    pub kept: Vec<KeptFinding>,
    pub suppressed: Vec<SuppressedFinding>,
    /// Every entry of the ignore file that has expired, matched or not.
    pub expired_entries: Vec<IgnoreEntry>,
}

/// Split `findings` into those kept and those suppressed. Every input finding
/// appears exactly once in the result; none is added.
pub fn apply(findings: Vec<Finding>, filters: &Filters<'_>) -> FilterResult {
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for finding in findings {
        let verdict = evaluate_documents(filters.vex, &finding, filters.image);
        if let Some(verdict) = verdict.as_ref().filter(|v| v.suppresses) {
            suppressed.push(SuppressedFinding {
                suppression: Suppression::Vex(verdict.clone()),
                finding,
            });
            continue;
        }
        let outcome = filters.ignore.map_or(IgnoreOutcome::None, |file| {
            file.evaluate(&finding, filters.now)
        });
        match outcome {
            IgnoreOutcome::Applies(entry) => suppressed.push(SuppressedFinding {
                suppression: Suppression::Ignore(entry.clone()),
                finding,
            }),
            IgnoreOutcome::Expired(entry) => kept.push(KeptFinding {
                finding,
                vex: verdict,
                expired_ignore: Some(entry.clone()),
            }),
            IgnoreOutcome::None => kept.push(KeptFinding {
                finding,
                vex: verdict,
                expired_ignore: None,
            }),
        }
    }
    let expired_entries = filters
        .ignore
        .map(|file| {
            file.expired_entries(filters.now)
                .into_iter()
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    FilterResult {
        kept,
        suppressed,
        expired_entries,
    }
}
