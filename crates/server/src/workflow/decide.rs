//! Deciding an image once its scans are recorded, approving a held one, and promoting:
//! each a transaction with its audit entries and events.

use portcullis_policy::Outcome;
use portcullis_store::audit::{NewAuditEntry, SYSTEM_ACTOR};
use portcullis_store::workflow::{ImageRecord, ImageState, Transition};
use portcullis_store::{StoreError, StoreTransaction};
use portcullis_types::{Digest, Principal};
use serde_json::json;

use super::stage::Evaluation;
use super::{ApproveError, Workflow, chain, scanned_repository};

impl Workflow {
    /// Tags `tag` (or, with none, every tag pushed for the image; the bare digest when it
    /// has none) in the scanned zone, with audit entries and `image.promoted` events.
    pub(super) async fn promote_tag(
        &self,
        tx: &mut StoreTransaction,
        image: &ImageRecord,
        tag: Option<&str>,
        actor: &str,
    ) -> Result<(), StoreError> {
        let Some(target) = scanned_repository(&self.config, &image.repository) else {
            return Ok(());
        };
        let digest: Digest = image.digest.parse().map_err(|_| StoreError::Corrupt {
            column: "images.digest",
            value: image.digest.clone(),
        })?;
        let tags: Vec<Option<String>> = match tag {
            Some(t) => vec![Some(t.to_owned())],
            None => {
                let pushed = self.pushed_tags(image.id).await?;
                if pushed.is_empty() {
                    vec![None]
                } else {
                    pushed.into_iter().map(Some).collect()
                }
            }
        };
        // What is copied is what was judged: the manifests the push reaches, read again now,
        // must be exactly the images that were scanned and decided (manifests are immutable,
        // so a difference means the records were tampered with or a child disappeared).
        let graph =
            super::graph::walk(tx, &self.config.data_dir, &image.repository, &digest).await?;
        let judged: std::collections::BTreeSet<String> = self
            .store
            .image_children(image.id)
            .await?
            .into_iter()
            .map(|c| c.digest)
            .collect();
        let reached: std::collections::BTreeSet<String> =
            graph.images.iter().map(|(d, _)| d.to_string()).collect();
        if let Some(problem) = graph.problem.as_ref().or((reached != judged)
            .then_some(&"the manifests it reaches are not the ones that were scanned".to_owned()))
        {
            return Err(StoreError::Corrupt {
                column: "promotion",
                value: format!("image {} cannot be promoted: {problem}", image.id),
            });
        }
        let copyable = graph.copyable(&digest);
        for tag in &tags {
            if tag.as_deref().is_some_and(super::is_referrer_tag) {
                continue;
            }
            portcullis_registry::promote(
                tx,
                &image.repository,
                &digest,
                tag.as_deref(),
                &target,
                &copyable,
            )
            .await
            .map_err(promotion_error)?;
            if let Some(t) = tag {
                tx.mark_tag_promoted(image.id, t).await?;
            }
            let subject = match tag {
                Some(t) => format!("{target}:{t}"),
                None => format!("{target}@{digest}"),
            };
            tx.append_audit(
                NewAuditEntry::new(actor, "image.promoted", &subject)
                    .with_detail("image", image.id)
                    .with_detail("digest", image.digest.clone())
                    .with_detail("from", image.repository.clone()),
            )
            .await?;
            let data = json!({
                "image": image.id,
                "repository": target,
                "digest": image.digest,
                "tag": tag,
                "from": image.repository,
                "links": self.image_links(image),
            });
            tx.emit_event(&self.event("image.promoted", &subject, &image.team, data))
                .await?;
        }
        Ok(())
    }

    /// The tags pushed for image `id` (committed with the pushes, before any decision).
    async fn pushed_tags(&self, id: i64) -> Result<Vec<String>, StoreError> {
        Ok(self
            .store
            .image_tags(id)
            .await?
            .into_iter()
            .map(|t| t.tag)
            .collect())
    }

    /// Decides image `id` if every scan it needs is recorded and it is not decided yet.
    pub async fn decide(&self, id: i64) -> Result<(), StoreError> {
        let Some(image) = self.store.image(id).await? else {
            return Ok(());
        };
        if image.state.is_settled() {
            return Ok(());
        }
        let stage = self.config.promotion_stage.clone();
        let (worst, platforms, failure) = match self.evaluate_at(&image, &stage).await? {
            Evaluation::Pending => return Ok(()),
            Evaluation::Failed(reason) => (Outcome::Pass, Vec::new(), Some(reason)),
            Evaluation::Decided { outcome, platforms } => (outcome, platforms, None),
        };
        let mut tx = self.store.begin().await?;
        let subject = format!("{}@{}", image.repository, image.digest);
        let from = [ImageState::Queued, ImageState::Scanning];
        if let Some(reason) = failure {
            let moved = tx
                .transition_image(
                    id,
                    &from,
                    &Transition {
                        to: ImageState::Failed,
                        reason: Some(&reason),
                        stage: Some(&stage),
                        outcome: None,
                        decision: None,
                    },
                )
                .await?;
            if moved {
                tx.append_audit(
                    NewAuditEntry::new(SYSTEM_ACTOR, "image.failed", &subject)
                        .with_detail("reason", reason.clone()),
                )
                .await?;
                let data =
                    json!({ "image": id, "reason": reason, "links": self.image_links(&image) });
                tx.emit_event(&self.event("scan.failed", &subject, &image.team, data))
                    .await?;
            }
            return tx.commit().await;
        }
        let outcome = outcome_str(worst);
        let decision_text = Self::stored_decision(&stage, worst, &platforms);
        let (state, reason) = match worst {
            Outcome::Pass => (ImageState::Promoted, "the policy passed".to_owned()),
            Outcome::Nudge => (
                ImageState::AwaitingApproval,
                format!("the policy nudged at stage {stage}: waiting for an approval"),
            ),
            Outcome::Block => (
                ImageState::Rejected,
                format!("the policy blocked it at stage {stage}"),
            ),
        };
        let moved = tx
            .transition_image(
                id,
                &from,
                &Transition {
                    to: state,
                    reason: Some(&reason),
                    stage: Some(&stage),
                    outcome: Some(outcome),
                    decision: Some(&decision_text),
                },
            )
            .await?;
        if !moved {
            return tx.rollback().await;
        }
        tx.append_audit(
            NewAuditEntry::new(SYSTEM_ACTOR, "image.decided", &subject)
                .with_detail("outcome", outcome)
                .with_detail("stage", stage.clone()),
        )
        .await?;
        let data = json!({
            "image": id,
            "repository": image.repository,
            "digest": image.digest,
            "stage": stage,
            "outcome": outcome,
            "links": self.image_links(&image),
        });
        match worst {
            Outcome::Pass => {
                self.promote_tag(&mut tx, &image, None, SYSTEM_ACTOR)
                    .await?
            }
            Outcome::Nudge => {
                tx.emit_event(&self.event("approval.requested", &subject, &image.team, data))
                    .await?;
            }
            Outcome::Block => {
                tx.emit_event(&self.event("image.rejected", &subject, &image.team, data))
                    .await?;
            }
        }
        tx.commit().await?;
        self.metrics.decisions.inc(outcome);
        Ok(())
    }

    /// Approves a nudged image with `reason` and promotes it.
    pub async fn approve(
        &self,
        id: i64,
        principal: &Principal,
        reason: &str,
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
        let mut tx = self.store.begin().await?;
        let moved = tx
            .transition_image(
                id,
                &[ImageState::AwaitingApproval],
                &Transition {
                    to: ImageState::Promoted,
                    reason: Some(&format!("approved by {}: {reason}", principal.name)),
                    stage: None,
                    outcome: None,
                    decision: None,
                },
            )
            .await?;
        if !moved {
            tx.rollback().await?;
            let state = self.store.image(id).await?.map_or(image.state, |i| i.state);
            return Err(ApproveError::NotAwaiting { id, state });
        }
        // The approval is at the stage the image was held at.
        let stage = image
            .stage
            .clone()
            .unwrap_or_else(|| self.config.promotion_stage.clone());
        self.record_approval(&mut tx, &image, principal, reason, &stage, true)
            .await?;
        self.promote_tag(&mut tx, &image, None, &principal.name)
            .await?;
        tx.commit().await?;
        self.store.image(id).await?.ok_or(ApproveError::Unknown(id))
    }
}

/// A promotion failure as the store error the hook and the jobs report: the store's own
/// errors pass through; a manifest gone from the source repository (deleted between push
/// and decision) is reported as such.
fn promotion_error(e: portcullis_registry::RegistryError) -> StoreError {
    match e {
        portcullis_registry::RegistryError::Store(e) => e,
        other => StoreError::Corrupt {
            column: "promotion",
            value: chain(&other),
        },
    }
}

/// The decision's name, as stored and shown.
pub fn outcome_str(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Nudge => "nudge",
        Outcome::Block => "block",
    }
}
