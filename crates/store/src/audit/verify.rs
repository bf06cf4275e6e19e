//! Walking the audit chain and naming the first broken link.

use std::fmt;

use super::{AuditHead, GENESIS_HASH, PAGE};
use crate::{Store, StoreError};

/// The result of [`Store::verify_audit`]: how far the chain holds, and the first problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditVerification {
    /// Entries whose hash and link were checked and found sound.
    pub verified: u64,
    /// The last sound entry (`None` if none was).
    pub last_verified: Option<AuditHead>,
    /// The first problem found; the walk stops there.
    pub problem: Option<AuditProblem>,
}

impl AuditVerification {
    /// Whether the whole chain, its head and any expected head check out.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The first broken link of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditProblem {
    /// Entry `seq` was changed after it was appended: its hash does not match its content
    /// (or its stored hash was replaced).
    HashMismatch {
        seq: i64,
        stored: String,
        computed: String,
    },
    /// Entry `seq` does not link to the entry before it: that one was replaced, or entries
    /// in between were removed and the numbers rewritten.
    BrokenLink {
        seq: i64,
        prev_hash: String,
        expected: String,
    },
    /// Entries `expected` to `found - 1` are missing (removed from the middle).
    Gap { expected: i64, found: i64 },
    /// The details of entry `seq` are not a JSON object: the row was edited by hand.
    UnreadableDetails { seq: i64 },
    /// The recorded head does not match the last entry: the tail was removed, or the head
    /// was rewritten.
    HeadMismatch {
        recorded: Option<AuditHead>,
        last: Option<AuditHead>,
    },
    /// The head exported earlier is not in the chain with that hash: the log was rewritten
    /// or truncated at or before it.
    ExpectedHeadMissing {
        expected: AuditHead,
        found_hash: Option<String>,
    },
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |head: &Option<AuditHead>| match head {
            Some(head) => head.to_string(),
            None => "none (empty)".to_owned(),
        };
        match self {
            Self::HashMismatch { seq, .. } => {
                write!(
                    f,
                    "audit entry {seq} was changed: its hash does not match its content"
                )
            }
            Self::BrokenLink { seq, .. } => write!(
                f,
                "audit entry {seq} does not link to entry {}: that entry was replaced or entries were removed",
                seq - 1
            ),
            Self::Gap { expected, found } => {
                write!(f, "audit entries {expected} to {} are missing", found - 1)
            }
            Self::UnreadableDetails { seq } => {
                write!(
                    f,
                    "audit entry {seq} has details that are not a JSON object"
                )
            }
            Self::HeadMismatch { recorded, last } => write!(
                f,
                "the recorded audit head is {} but the last entry is {}: the tail was removed or the head rewritten",
                show(recorded),
                show(last)
            ),
            Self::ExpectedHeadMissing {
                expected,
                found_hash,
            } => match found_hash {
                Some(_) => write!(
                    f,
                    "audit entry {} no longer has the exported hash: the log was rewritten",
                    expected.seq
                ),
                None => write!(
                    f,
                    "audit entry {} exported earlier is gone: the log was truncated",
                    expected.seq
                ),
            },
        }
    }
}

impl Store {
    /// Walks the whole chain in order, a page at a time, recomputing every hash; checks that
    /// the recorded head matches the last entry and, given `expected` (a head exported
    /// earlier), that the chain still holds that entry with that hash. See the module
    /// documentation for what this can and cannot detect.
    pub async fn verify_audit(
        &self,
        expected: Option<&AuditHead>,
    ) -> Result<AuditVerification, StoreError> {
        // The head first: entries appended during the walk are beyond it and not walked.
        let recorded = self.audit_head().await?;
        let mut verification = AuditVerification {
            verified: 0,
            last_verified: None,
            problem: None,
        };
        let mut prev_hash = GENESIS_HASH.to_owned();
        let mut next_seq = 1;
        let mut expected_found: Option<String> = None;
        let limit = recorded.as_ref().map_or(0, |head| head.seq);
        'walk: while next_seq <= limit {
            let rows = self.audit_rows(next_seq - 1, PAGE).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                if row.seq > limit {
                    break 'walk;
                }
                let entry = match row.into_entry() {
                    Ok(entry) => entry,
                    Err(seq) => {
                        verification.problem = Some(AuditProblem::UnreadableDetails { seq });
                        return Ok(verification);
                    }
                };
                let problem = if entry.seq != next_seq {
                    Some(AuditProblem::Gap {
                        expected: next_seq,
                        found: entry.seq,
                    })
                } else if entry.compute_hash() != entry.hash {
                    Some(AuditProblem::HashMismatch {
                        seq: entry.seq,
                        computed: entry.compute_hash(),
                        stored: entry.hash.clone(),
                    })
                } else if entry.prev_hash != prev_hash {
                    Some(AuditProblem::BrokenLink {
                        seq: entry.seq,
                        prev_hash: entry.prev_hash.clone(),
                        expected: prev_hash.clone(),
                    })
                } else {
                    None
                };
                if let Some(problem) = problem {
                    verification.problem = Some(problem);
                    return Ok(verification);
                }
                if expected.is_some_and(|head| head.seq == entry.seq) {
                    expected_found = Some(entry.hash.clone());
                }
                verification.verified += 1;
                next_seq = entry.seq + 1;
                prev_hash.clone_from(&entry.hash);
                verification.last_verified = Some(entry.head());
            }
        }
        if verification.last_verified != recorded {
            verification.problem = Some(AuditProblem::HeadMismatch {
                recorded,
                last: verification.last_verified.clone(),
            });
            return Ok(verification);
        }
        if let Some(expected) = expected
            && expected_found.as_deref() != Some(expected.hash.as_str())
        {
            verification.problem = Some(AuditProblem::ExpectedHeadMissing {
                expected: expected.clone(),
                found_hash: expected_found,
            });
        }
        Ok(verification)
    }
}
