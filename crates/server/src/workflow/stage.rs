//! Decisions at any stage of the policy, and approvals given at a stage.
//!
//! [`Workflow::evaluate_at`] evaluates the stored scans of an image under the current
//! policies at one stage; the promotion decision ([`Workflow::decide`]) is that function at
//! the promotion stage, so that what `portcullis gate --stage` is told and what promotes
//! cannot drift. [`Workflow::stage_view`] is what the decision API and the approval page
//! show: at the stage the image was decided at, the stored decision; elsewhere, the
//! evaluation now. [`Workflow::approve_at`] approves at the promotion stage (which
//! promotes) or records an approval of a nudge at another stage (which does not).

use portcullis_policy::Outcome;
use portcullis_report::{PolicyDecision, ScanReport};
use portcullis_store::audit::NewAuditEntry;
use portcullis_store::workflow::{Approval, ImageRecord, ImageState};
use portcullis_store::{StoreError, StoreTransaction};
use portcullis_types::Principal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApproveError, Workflow, chain};
use crate::policies;

/// One platform manifest's decision (the image itself when it is not an index).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformDecision {
    pub digest: String,
    pub platform: Option<String>,
    pub outcome: Outcome,
    pub decision: PolicyDecision,
}

/// The stored scans of an image evaluated at one stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evaluation {
    /// A scan the image needs is not recorded yet.
    Pending,
    /// No decision can be taken: a scan failed, or the stored policies are unusable.
    Failed(String),
    /// The strictest outcome of the platforms, and each platform's decision.
    Decided {
        outcome: Outcome,
        platforms: Vec<PlatformDecision>,
    },
}

/// The decision as stored on an image (`images.decision`).
#[derive(Debug, Serialize, Deserialize)]
struct StoredDecision {
    stage: String,
    outcome: Outcome,
    platforms: Vec<PlatformDecision>,
}

/// What the policy says about an image at a stage, and the approval given there.
#[derive(Clone, Debug)]
pub struct StageView {
    pub stage: String,
    /// The stage whose decision promotes (the server's `promotion-stage`).
    pub promotion_stage: String,
    /// True when this is the decision stored when the image was decided (its promotion
    /// decision), false when evaluated now under the current policies.
    pub stored: bool,
    /// `None` while the image is being scanned or when it cannot be decided.
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub platforms: Vec<PlatformDecision>,
    pub approval: Option<Approval>,
}

/// Why a stage's decision cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("the policy has no stage `{stage}`; its stages are {}", stages.join(", "))]
    Unknown { stage: String, stages: Vec<String> },
    #[error("{0}; fix the stored policy (PUT /api/v1/policies/NAME)")]
    Policy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Workflow {
    /// The stages of the policy in force for `team`, in the policy's order.
    pub async fn stages(&self, team: &str) -> Result<Vec<String>, String> {
        let (set, _) = policies::load(&self.store, team).await?;
        Ok(set
            .organisation
            .stages
            .iter()
            .map(|s| s.name.clone())
            .collect())
    }

    /// Evaluates the stored scans of `image` under the current policies at `stage`.
    pub async fn evaluate_at(
        &self,
        image: &ImageRecord,
        stage: &str,
    ) -> Result<Evaluation, StoreError> {
        let children = self.store.image_children(image.id).await?;
        let targets: Vec<(String, Option<String>)> = if children.is_empty() {
            vec![(image.digest.clone(), None)]
        } else {
            children
                .into_iter()
                .map(|c| (c.digest, c.platform))
                .collect()
        };
        let mut scans = Vec::new();
        for (digest, platform) in targets {
            match self.store.scan(&digest).await? {
                Some(scan) => scans.push((digest, platform, scan)),
                None => return Ok(Evaluation::Pending),
            }
        }
        let loaded = policies::load(&self.store, &image.team).await;
        let mut platforms = Vec::new();
        let mut worst = Outcome::Pass;
        let mut failure: Option<String> = None;
        for (digest, platform, scan) in scans {
            let decision = match (&loaded, scan.state.as_str(), scan.report.as_deref()) {
                (_, "failed", _) | (_, _, None) => {
                    failure = Some(format!(
                        "the scan of {digest} failed: {}",
                        scan.error.as_deref().unwrap_or("no report")
                    ));
                    continue;
                }
                (Err(e), _, _) => {
                    failure = Some(e.clone());
                    continue;
                }
                (Ok((set, exceptions)), _, Some(report)) => {
                    match decide_one(set, exceptions.as_ref(), report, image, stage) {
                        Ok(d) => d,
                        Err(e) => {
                            failure = Some(e);
                            continue;
                        }
                    }
                }
            };
            worst = worst.max(decision.decision.outcome);
            platforms.push(PlatformDecision {
                digest,
                platform,
                outcome: decision.decision.outcome,
                decision,
            });
        }
        Ok(match failure {
            Some(reason) => Evaluation::Failed(reason),
            None => Evaluation::Decided {
                outcome: worst,
                platforms,
            },
        })
    }

    /// The decision JSON stored on an image decided at `stage`.
    pub(super) fn stored_decision(
        stage: &str,
        outcome: Outcome,
        platforms: &[PlatformDecision],
    ) -> String {
        json!({ "stage": stage, "outcome": outcome, "platforms": platforms }).to_string()
    }

    /// What the policy says about `image` at `stage` (the promotion stage when `None`).
    pub async fn stage_view(
        &self,
        image: &ImageRecord,
        stage: Option<&str>,
    ) -> Result<StageView, StageError> {
        let promotion_stage = self.config.promotion_stage.clone();
        let stage = stage.unwrap_or(&promotion_stage).to_owned();
        if stage != promotion_stage && image.stage.as_deref() != Some(stage.as_str()) {
            let stages = self.stages(&image.team).await.map_err(StageError::Policy)?;
            if !stages.contains(&stage) {
                return Err(StageError::Unknown { stage, stages });
            }
        }
        let approval = self.store.approval_at(image.id, &stage).await?;
        let mut view = StageView {
            stage,
            promotion_stage,
            stored: false,
            outcome: None,
            reason: image.reason.clone(),
            platforms: Vec::new(),
            approval,
        };
        match image.state {
            ImageState::Queued | ImageState::Scanning => {
                view.reason = Some(format!(
                    "the image is {}: no decision yet; ask again once it is scanned",
                    image.state
                ));
            }
            ImageState::Failed => {}
            _ if image.stage.as_deref() == Some(view.stage.as_str()) => {
                let stored: Option<StoredDecision> = image
                    .decision
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok());
                view.stored = true;
                if let Some(stored) = stored {
                    view.outcome = Some(stored.outcome);
                    view.platforms = stored.platforms;
                }
            }
            _ => match self.evaluate_at(image, &view.stage).await? {
                Evaluation::Pending => {
                    view.reason = Some("a scan of the image is not recorded yet".to_owned());
                }
                Evaluation::Failed(reason) => view.reason = Some(reason),
                Evaluation::Decided { outcome, platforms } => {
                    view.reason = Some(evaluated_reason(
                        outcome,
                        &view.stage,
                        view.approval.as_ref(),
                    ));
                    view.outcome = Some(outcome);
                    view.platforms = platforms;
                }
            },
        }
        Ok(view)
    }

    /// Approves image `id` at `stage`: at the promotion stage (or with none) a held image is
    /// approved and promoted ([`Workflow::approve`]); at another stage the policy must nudge
    /// there, and the approval is recorded without promoting.
    pub async fn approve_at(
        &self,
        id: i64,
        principal: &Principal,
        reason: &str,
        stage: Option<&str>,
    ) -> Result<ImageRecord, ApproveError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ApproveError::NoReason);
        }
        let image = self
            .store
            .image(id)
            .await?
            .ok_or(ApproveError::Unknown(id))?;
        let stage = match stage.map(str::trim).filter(|s| !s.is_empty()) {
            None => return self.approve(id, principal, reason).await,
            Some(s) if s == self.config.promotion_stage => {
                return self.approve(id, principal, reason).await;
            }
            Some(s) => s,
        };
        let stages = self
            .stages(&image.team)
            .await
            .map_err(ApproveError::Policy)?;
        if !stages.iter().any(|s| s == stage) {
            return Err(ApproveError::UnknownStage {
                stage: stage.to_owned(),
                stages,
            });
        }
        if !image.state.is_settled() || image.state == ImageState::Failed {
            return Err(ApproveError::NotDecided {
                id,
                state: image.state,
            });
        }
        match self.evaluate_at(&image, stage).await? {
            Evaluation::Decided {
                outcome: Outcome::Nudge,
                ..
            } => {}
            Evaluation::Decided { outcome, .. } => {
                return Err(ApproveError::NotNudged {
                    stage: stage.to_owned(),
                    says: match outcome {
                        Outcome::Pass => "passes it there: nothing needs approving".to_owned(),
                        _ => "blocks it there: only a fix, a policy change or an exception releases it".to_owned(),
                    },
                });
            }
            Evaluation::Failed(why) => {
                return Err(ApproveError::NotNudged {
                    stage: stage.to_owned(),
                    says: format!("cannot decide there: {why}"),
                });
            }
            Evaluation::Pending => {
                return Err(ApproveError::NotDecided {
                    id,
                    state: image.state,
                });
            }
        }
        let mut tx = self.store.begin().await?;
        self.record_approval(&mut tx, &image, principal, reason, stage, false)
            .await?;
        tx.commit().await?;
        Ok(image)
    }
}

/// The sentence explaining an evaluation at a stage other than the one decided at.
fn evaluated_reason(outcome: Outcome, stage: &str, approval: Option<&Approval>) -> String {
    match (outcome, approval) {
        (Outcome::Pass, _) => format!("the policy passes the image at stage {stage}"),
        (Outcome::Nudge, Some(a)) => format!(
            "the policy nudged at stage {stage}; approved by {}: {}",
            a.approver, a.reason
        ),
        (Outcome::Nudge, None) => {
            format!("the policy nudges at stage {stage}: an approval at this stage is needed")
        }
        (Outcome::Block, _) => format!("the policy blocks the image at stage {stage}"),
    }
}

/// The decision on one stored scan report.
fn decide_one(
    set: &portcullis_policy::PolicySet,
    exceptions: Option<&portcullis_policy::Exceptions>,
    report: &str,
    image: &ImageRecord,
    stage: &str,
) -> Result<PolicyDecision, String> {
    let report: ScanReport = serde_json::from_str(report)
        .map_err(|e| format!("stored scan report is unreadable: {e}"))?;
    let mut facts = portcullis_scan::facts(&report);
    facts.repository = Some(format!("{}/{}", image.team, image.app));
    facts.digest = Some(image.digest.clone());
    portcullis_scan::decide_with_facts(
        set,
        &report,
        facts,
        stage,
        Some(&image.team),
        exceptions,
        time::OffsetDateTime::now_utc(),
    )
    .map_err(|e| chain(&e))
}

impl Workflow {
    /// Records `principal`'s approval of `image` at `stage` in `tx`, with its audit entry and
    /// `approval.granted` event (`promoted` says whether this approval promotes); a second
    /// approval at the stage rolls back and names the first approver.
    pub(super) async fn record_approval(
        &self,
        tx: &mut StoreTransaction,
        image: &ImageRecord,
        principal: &Principal,
        reason: &str,
        stage: &str,
        promoted: bool,
    ) -> Result<(), ApproveError> {
        let id = image.id;
        if !tx.add_approval(id, &principal.name, reason, stage).await? {
            let by = self
                .store
                .approval_at(id, stage)
                .await?
                .map(|a| a.approver)
                .unwrap_or_default();
            return Err(ApproveError::AlreadyApproved {
                id,
                stage: stage.to_owned(),
                by,
            });
        }
        let subject = format!("{}@{}", image.repository, image.digest);
        tx.append_audit(
            NewAuditEntry::new(&principal.name, "approval.granted", &subject)
                .with_detail("image", id)
                .with_detail("reason", reason.to_owned())
                .with_detail("stage", stage.to_owned()),
        )
        .await?;
        let data = json!({
            "image": id,
            "approver": principal.name,
            "reason": reason,
            "stage": stage,
            "promoted": promoted,
            "links": self.image_links(image),
        });
        tx.emit_event(&self.event("approval.granted", &subject, &image.team, data))
            .await?;
        Ok(())
    }
}
