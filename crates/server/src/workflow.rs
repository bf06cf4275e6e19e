//! The gating workflow: a push to the unscanned zone becomes an image record and scan jobs
//! ([`Workflow::on_push`], inside the registry's push transaction); workers scan each image
//! manifest digest once ([`Workflow::run_worker`]); the policy decides at the promotion stage;
//! `pass` promotes to the scanned zone, `nudge` holds the image until someone approves it
//! ([`Workflow::approve`]), `block` rejects it. Every change commits with its audit entry and
//! its event (the outbox), so that what is announced is exactly what happened.
//!
//! ```text
//! push ─▶ images(queued) + jobs(scan per digest, decide) ─▶ worker: scan ─▶ scans(digest)
//!      ─▶ decide ─▶ promoted (tags in scanned/) | awaiting_approval ─approve─▶ promoted | rejected
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use portcullis_policy::{Exceptions, Outcome, PolicySet};
use portcullis_registry::PushedManifest;
use portcullis_report::{PolicyDecision, ScanReport};
use portcullis_store::audit::{NewAuditEntry, SYSTEM_ACTOR};
use portcullis_store::webhooks::NewEvent;
use portcullis_store::workflow::{ImageRecord, ImageState, NewImage, ScanRecord, Transition};
use portcullis_store::{ClaimedJob, Store, StoreError, StoreTransaction};
use portcullis_types::{Digest, Principal};
use serde_json::{Value, json};

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::policies;

/// Job kinds this workflow queues.
pub const SCAN_JOB: &str = "scan";
pub const DECIDE_JOB: &str = "decide";

/// The workflow's shared state.
#[derive(Debug)]
pub struct Workflow {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
    /// The advisory database home.
    pub advisory_home: PathBuf,
}

/// Why an approval was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    #[error("image {0} does not exist")]
    Unknown(i64),
    #[error("image {id} is {state}, not awaiting approval; only nudged images can be approved")]
    NotAwaiting { id: i64, state: ImageState },
    #[error("a reason is required: say why this image may go ahead despite its findings")]
    NoReason,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("failed to promote the image: {0}")]
    Promote(String),
}

/// The team and application of `repository` in the unscanned zone: `unscanned/TEAM/APP…`.
pub fn team_and_app<'a>(repository: &'a str, unscanned_prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = repository.strip_prefix(unscanned_prefix)?;
    let (team, app) = rest.split_once('/')?;
    (!team.is_empty() && !app.is_empty()).then_some((team, app))
}

/// The scanned-zone repository an unscanned one is promoted to.
pub fn scanned_repository(config: &ServerConfig, repository: &str) -> Option<String> {
    repository
        .strip_prefix(&config.unscanned_prefix)
        .map(|rest| format!("{}{rest}", config.scanned_prefix))
}

impl Workflow {
    fn event(&self, kind: &str, subject: &str, team: &str, data: Value) -> NewEvent {
        NewEvent {
            id: uuid::Uuid::new_v4().to_string(),
            event_type: kind.to_owned(),
            source: format!("{}/api/v1/images", self.config.external_url()),
            subject: subject.to_owned(),
            data,
            team: Some(team.to_owned()),
        }
    }

    /// Links for an image, as events and the API show them.
    pub fn image_links(&self, image: &ImageRecord) -> Value {
        let base = self.config.external_url();
        json!({
            "self": format!("{base}/api/v1/images/{}", image.id),
            "report": format!("{base}/reports/{}", image.id),
        })
    }

    /// Called in the manifest-push transaction: records the image and queues its scans.
    /// Referrers (signatures, attestations) and pushes outside the unscanned zone are not
    /// images to gate.
    pub async fn on_push(
        &self,
        tx: &mut StoreTransaction,
        pushed: &PushedManifest,
    ) -> Result<(), StoreError> {
        let subject = format!("{}@{}", pushed.repository, pushed.digest);
        let mut entry = NewAuditEntry::new(&pushed.principal.name, "manifest.pushed", &subject)
            .with_detail("media_type", pushed.media_type.clone())
            .with_detail("size", pushed.size);
        if let Some(tag) = &pushed.tag {
            entry = entry.with_detail("tag", tag.clone());
        }
        if pushed.subject.is_some() {
            // An artifact about another image: kept, listed by the referrers API, not gated.
            tx.append_audit(entry.with_detail("referrer", true)).await?;
            return Ok(());
        }
        let Some((team, app)) = team_and_app(&pushed.repository, &self.config.unscanned_prefix)
        else {
            tx.append_audit(entry).await?;
            return Ok(());
        };
        let children = self.platform_children(pushed).await;
        let (image, created) = tx
            .record_push(&NewImage {
                repository: &pushed.repository,
                digest: &pushed.digest,
                media_type: &pushed.media_type,
                team,
                app,
                tag: pushed.tag.as_deref(),
                children: &children,
                pushed_by: &pushed.principal.name,
            })
            .await?;
        tx.append_audit(entry.with_detail("image", image.id))
            .await?;
        let data = json!({
            "image": image.id,
            "repository": image.repository,
            "digest": image.digest,
            "tag": pushed.tag,
            "pushedBy": pushed.principal.name,
            "links": self.image_links(&image),
        });
        tx.emit_event(&self.event("image.pushed", &subject, team, data))
            .await?;
        if created {
            let digests: Vec<String> = if children.is_empty() {
                vec![pushed.digest.to_string()]
            } else {
                children.iter().map(|(d, _)| d.to_string()).collect()
            };
            for digest in &digests {
                tx.enqueue(SCAN_JOB, digest, &json!({ "digest": digest }).to_string())
                    .await?;
            }
            // Decides at once when every scan exists already (the digest was pushed before,
            // elsewhere); a scan finishing later decides instead.
            tx.enqueue(
                DECIDE_JOB,
                &image.id.to_string(),
                &json!({ "image": image.id }).to_string(),
            )
            .await?;
        } else if image.state == ImageState::Promoted
            && let Some(tag) = &pushed.tag
        {
            // Same content, decided already: the new tag follows it.
            self.promote_tag(tx, &image, Some(tag), SYSTEM_ACTOR)
                .await?;
        }
        Ok(())
    }

    /// The platform manifests of a pushed index (attestation manifests, whose platform is
    /// `unknown/unknown`, are not images and are left out).
    async fn platform_children(&self, pushed: &PushedManifest) -> Vec<(Digest, Option<String>)> {
        if pushed.children.is_empty() {
            return Vec::new();
        }
        let path = self
            .config
            .data_dir
            .join("blobs")
            .join(pushed.digest.algorithm())
            .join(pushed.digest.hex());
        let platforms: Vec<(String, Option<String>)> = tokio::fs::read(&path)
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|v| {
                v.get("manifests")?.as_array().map(|m| {
                    m.iter()
                        .filter_map(|d| {
                            let digest = d.get("digest")?.as_str()?.to_owned();
                            let platform = d.get("platform").and_then(|p| {
                                let os = p.get("os")?.as_str()?;
                                let arch = p.get("architecture")?.as_str()?;
                                Some(match p.get("variant").and_then(Value::as_str) {
                                    Some(v) => format!("{os}/{arch}/{v}"),
                                    None => format!("{os}/{arch}"),
                                })
                            });
                            Some((digest, platform))
                        })
                        .collect()
                })
            })
            .unwrap_or_default();
        pushed
            .children
            .iter()
            .filter_map(|child| {
                let platform = platforms
                    .iter()
                    .find(|(d, _)| *d == child.to_string())
                    .and_then(|(_, p)| p.clone());
                (platform.as_deref() != Some("unknown/unknown")).then(|| (child.clone(), platform))
            })
            .collect()
    }

    /// Tags `tag` (or, with none, every tag pushed for the image; the bare digest when it
    /// has none) in the scanned zone, with audit entries and `image.promoted` events.
    async fn promote_tag(
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
                let pushed = self.store_tags_in(tx, image.id).await?;
                if pushed.is_empty() {
                    vec![None]
                } else {
                    pushed.into_iter().map(Some).collect()
                }
            }
        };
        for tag in &tags {
            portcullis_registry::promote(tx, &image.repository, &digest, tag.as_deref(), &target)
                .await
                .map_err(|e| StoreError::Corrupt {
                    column: "promotion",
                    value: e.to_string(),
                })?;
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

    async fn store_tags_in(
        &self,
        _tx: &mut StoreTransaction,
        id: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .store
            .image_tags(id)
            .await?
            .into_iter()
            .map(|t| t.tag)
            .collect())
    }

    /// Claims and runs jobs until `shutdown` turns true.
    pub async fn run_worker(
        self: Arc<Self>,
        name: String,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut idle = Duration::from_millis(20);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.claim(&name, self.config.job_lease).await {
                Ok(Some(job)) => {
                    idle = Duration::from_millis(20);
                    self.handle(job).await;
                    continue;
                }
                Ok(None) => {}
                Err(_) => self.metrics.worker_errors.inc(),
            }
            // Poll quickly after work, backing off to 250 ms when idle: a push is picked up
            // within a fraction of a second without hammering the database.
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => {}
            }
            idle = (idle * 2).min(Duration::from_millis(250));
        }
    }

    async fn handle(&self, job: ClaimedJob) {
        let digest = serde_json::from_str::<Value>(&job.payload).ok();
        let result = match job.kind.as_str() {
            SCAN_JOB => match digest
                .as_ref()
                .and_then(|v| v.get("digest"))
                .and_then(Value::as_str)
            {
                Some(d) => self.scan_job(d).await,
                None => Err(format!("scan job {} has no digest", job.id)),
            },
            DECIDE_JOB => match digest
                .as_ref()
                .and_then(|v| v.get("image"))
                .and_then(Value::as_i64)
            {
                Some(id) => self.decide(id).await.map_err(|e| e.to_string()),
                None => Err(format!("decide job {} has no image", job.id)),
            },
            other => Err(format!("unknown job kind `{other}`")),
        };
        match result {
            Ok(()) => {
                let _ = self.store.complete(&job, "{}").await;
            }
            Err(message) => {
                self.metrics.worker_errors.inc();
                let retry = Duration::from_secs(5 * u64::from(job.attempt));
                let state = self.store.fail(&job, &message, Some(retry)).await;
                // Out of attempts: the scan is recorded as failed, so its images say why.
                if matches!(state, Ok(portcullis_store::JobState::Failed)) && job.kind == SCAN_JOB {
                    let _ = self.record_failed_scan(&job, &message).await;
                }
            }
        }
    }

    async fn scan_job(&self, digest: &str) -> Result<(), String> {
        if self
            .store
            .scan(digest)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            // Scanned already (a lease lapsed after the scan was recorded): decide only.
            return self.decide_waiting(digest).await.map_err(|e| e.to_string());
        }
        let parsed: Digest = digest
            .parse()
            .map_err(|e| format!("invalid digest `{digest}`: {e}"))?;
        self.mark_scanning(digest)
            .await
            .map_err(|e| e.to_string())?;
        let started = now_ms();
        let timer = std::time::Instant::now();
        let outcome = self.scan_blocking(parsed).await;
        self.metrics
            .scan_seconds
            .observe(timer.elapsed().as_secs_f64());
        let record = match outcome {
            Ok(report) => ScanRecord {
                digest: digest.to_owned(),
                state: "done".to_owned(),
                started_at_ms: started,
                finished_at_ms: now_ms(),
                summary: serde_json::to_string(&report.summary).ok(),
                report: Some(serde_json::to_string(&report).map_err(|e| e.to_string())?),
                error: None,
            },
            // The job retries; its last failure records a failed scan (see `handle`).
            Err(message) => return Err(message),
        };
        self.finish_scan(&record).await.map_err(|e| e.to_string())?;
        self.decide_waiting(digest).await.map_err(|e| e.to_string())
    }

    async fn record_failed_scan(&self, job: &ClaimedJob, message: &str) -> Result<(), StoreError> {
        let Some(digest) = serde_json::from_str::<Value>(&job.payload)
            .ok()
            .and_then(|v| v.get("digest").and_then(Value::as_str).map(str::to_owned))
        else {
            return Ok(());
        };
        let record = ScanRecord {
            digest: digest.clone(),
            state: "failed".to_owned(),
            started_at_ms: now_ms(),
            finished_at_ms: now_ms(),
            summary: None,
            report: None,
            error: Some(message.to_owned()),
        };
        self.finish_scan(&record).await?;
        self.decide_waiting(&digest).await
    }

    async fn mark_scanning(&self, digest: &str) -> Result<(), StoreError> {
        let waiting = self.store.images_waiting_for(digest).await?;
        let mut tx = self.store.begin().await?;
        for image in &waiting {
            let moved = tx
                .transition_image(
                    image.id,
                    &[ImageState::Queued],
                    &Transition {
                        to: ImageState::Scanning,
                        reason: None,
                        stage: None,
                        outcome: None,
                        decision: None,
                    },
                )
                .await?;
            if moved {
                let subject = format!("{}@{}", image.repository, image.digest);
                let data = json!({ "image": image.id, "digest": digest, "links": self.image_links(image) });
                tx.emit_event(&self.event("scan.started", &subject, &image.team, data))
                    .await?;
            }
        }
        tx.commit().await
    }

    async fn finish_scan(&self, record: &ScanRecord) -> Result<(), StoreError> {
        let waiting = self.store.images_waiting_for(&record.digest).await?;
        let mut tx = self.store.begin().await?;
        if !tx.put_scan(record).await? {
            return tx.rollback().await;
        }
        self.metrics.scans.inc();
        let failed = record.state == "failed";
        tx.append_audit(
            NewAuditEntry::new(
                SYSTEM_ACTOR,
                if failed {
                    "scan.failed"
                } else {
                    "scan.completed"
                },
                &record.digest,
            )
            .with_detail(
                "error",
                record.error.clone().map_or(Value::Null, Value::String),
            ),
        )
        .await?;
        let summary: Value = record
            .summary
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null);
        for image in &waiting {
            let subject = format!("{}@{}", image.repository, image.digest);
            let data = json!({
                "image": image.id,
                "digest": record.digest,
                "summary": summary,
                "error": record.error,
                "links": self.image_links(image),
            });
            let kind = if failed {
                "scan.failed"
            } else {
                "scan.completed"
            };
            tx.emit_event(&self.event(kind, &subject, &image.team, data))
                .await?;
        }
        tx.commit().await
    }

    async fn scan_blocking(&self, digest: Digest) -> Result<ScanReport, String> {
        let dir = self.config.data_dir.clone();
        let home = self.advisory_home.clone();
        let limits = portcullis_image::Limits {
            max_uncompressed_bytes: self.config.max_uncompressed_bytes,
            max_entries: self.config.max_entries,
            ..portcullis_image::Limits::default()
        };
        tokio::task::spawn_blocking(move || {
            let home = portcullis_vulndb::Home::new(home);
            let index = home.open_index().map_err(|e| chain(&e))?;
            let cache: Arc<dyn portcullis_image::LayerCache> = Arc::new(
                portcullis_image::DirLayerCache::new(dir.join("cache/layers")),
            );
            let options = portcullis_image::ReadOptions {
                limits,
                layer_cache: Some(cache),
                ..portcullis_image::ReadOptions::default()
            };
            let source = portcullis_image::Source::Blobs { dir, digest };
            let (sbom, warnings) = portcullis_scan::read_sbom(
                &source,
                &options,
                &portcullis_catalog::CatalogOptions::default(),
                &portcullis_image::NoProgress,
            )
            .map_err(|e| chain(&e))?;
            portcullis_scan::scan(
                sbom,
                warnings,
                &index,
                &portcullis_scan::ScanInputs::default(),
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            )
            .map_err(|e| chain(&e))
        })
        .await
        .map_err(|e| format!("the scan task ended abnormally: {e}"))?
    }

    /// Decides every image waiting for `digest` whose scans are all recorded.
    async fn decide_waiting(&self, digest: &str) -> Result<(), StoreError> {
        for image in self.store.images_waiting_for(digest).await? {
            self.decide(image.id).await?;
        }
        Ok(())
    }

    /// Decides image `id` if every scan it needs is recorded and it is not decided yet.
    pub async fn decide(&self, id: i64) -> Result<(), StoreError> {
        let Some(image) = self.store.image(id).await? else {
            return Ok(());
        };
        if image.state.is_settled() {
            return Ok(());
        }
        let children = self.store.image_children(id).await?;
        let targets: Vec<(String, Option<String>)> = if children.is_empty() {
            vec![(image.digest.clone(), None)]
        } else {
            children
                .into_iter()
                .map(|c| (c.digest, c.platform))
                .collect()
        };
        let mut scans = Vec::new();
        for (digest, platform) in &targets {
            match self.store.scan(digest).await? {
                Some(scan) => scans.push((digest.clone(), platform.clone(), scan)),
                None => return Ok(()),
            }
        }
        let stage = self.config.promotion_stage.clone();
        let loaded = policies::load(&self.store, &image.team).await;
        let mut platforms = Vec::new();
        let mut worst = Outcome::Pass;
        let mut failure: Option<String> = None;
        for (digest, platform, scan) in &scans {
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
                    match decide_one(set, exceptions.as_ref(), report, &image, &stage) {
                        Ok(d) => d,
                        Err(e) => {
                            failure = Some(e);
                            continue;
                        }
                    }
                }
            };
            worst = worst.max(decision.decision.outcome);
            platforms.push(json!({
                "digest": digest,
                "platform": platform,
                "outcome": outcome_str(decision.decision.outcome),
                "decision": decision,
            }));
        }
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
        let decision = json!({ "stage": stage, "outcome": outcome, "platforms": platforms });
        let decision_text = decision.to_string();
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
        tx.add_approval(id, &principal.name, reason).await?;
        let subject = format!("{}@{}", image.repository, image.digest);
        tx.append_audit(
            NewAuditEntry::new(&principal.name, "approval.granted", &subject)
                .with_detail("image", id)
                .with_detail("reason", reason.to_owned()),
        )
        .await?;
        let data = json!({
            "image": id,
            "approver": principal.name,
            "reason": reason,
            "links": self.image_links(&image),
        });
        tx.emit_event(&self.event("approval.granted", &subject, &image.team, data))
            .await?;
        self.promote_tag(&mut tx, &image, None, &principal.name)
            .await?;
        tx.commit().await?;
        self.store.image(id).await?.ok_or(ApproveError::Unknown(id))
    }
}

fn decide_one(
    set: &PolicySet,
    exceptions: Option<&Exceptions>,
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

/// The decision's name, as stored and shown.
pub fn outcome_str(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Nudge => "nudge",
        Outcome::Block => "block",
    }
}

/// An error and its causes on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
