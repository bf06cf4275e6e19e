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

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use portcullis_registry::PushedManifest;
use portcullis_report::ScanReport;
use portcullis_store::audit::{NewAuditEntry, SYSTEM_ACTOR};
use portcullis_store::webhooks::NewEvent;
use portcullis_store::workflow::{ImageRecord, ImageState, NewImage, ScanRecord, Transition};
use portcullis_store::{ClaimedJob, Store, StoreError, StoreTransaction};
use portcullis_types::Digest;
use serde_json::{Value, json};

use crate::config::ServerConfig;
use crate::metrics::Metrics;

mod decide;
pub mod graph;
mod stage;

pub use decide::outcome_str;
pub use stage::{Evaluation, PlatformDecision, StageError, StageView};

/// Job kinds this workflow queues.
pub const SCAN_JOB: &str = "scan";
pub const DECIDE_JOB: &str = "decide";

/// How often each worker looks for scans whose jobs failed unrecorded ([`Workflow::reconcile`]).
const RECONCILE_EVERY: Duration = Duration::from_secs(30);

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
    #[error("the policy has no stage `{stage}`; its stages are {}", stages.join(", "))]
    UnknownStage { stage: String, stages: Vec<String> },
    #[error("image {id} is {state}: it can be approved at a stage only once it is decided")]
    NotDecided { id: i64, state: ImageState },
    #[error("the policy {says} (stage {stage}); only a nudge can be approved")]
    NotNudged { stage: String, says: String },
    #[error("image {id} was approved at stage {stage} already (by {by})")]
    AlreadyApproved { id: i64, stage: String, by: String },
    #[error("{0}; fix the stored policy (PUT /api/v1/policies/NAME)")]
    Policy(String),
}

/// The team and application of `repository` in the unscanned zone: `unscanned/TEAM/APP…`.
pub fn team_and_app<'a>(repository: &'a str, unscanned_prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = repository.strip_prefix(unscanned_prefix)?;
    let (team, app) = rest.split_once('/')?;
    (!team.is_empty() && !app.is_empty()).then_some((team, app))
}

/// Whether `tag` belongs to the referrers tag scheme (`sha256-<64 hex>`, optionally with a
/// suffix such as `.sig`, `.att`, `.sbom`): cosign and other tools find signatures and
/// attestations under such tags, so they are never gated nor promoted.
pub fn is_referrer_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-").is_some_and(|rest| {
        let hex = rest.split('.').next().unwrap_or("");
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
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
            "approve": format!("{base}/approve/{}", image.id),
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
        if pushed.subject.is_some() || pushed.tag.as_deref().is_some_and(is_referrer_tag) {
            // An artifact about another image (a `subject`, or a tag of the referrers
            // fallback scheme `sha256-<hex>…`): kept, listed by the referrers API, never gated
            // and never promoted, so nobody can publish signatures in the scanned zone.
            tx.append_audit(entry.with_detail("referrer", true)).await?;
            return Ok(());
        }
        let Some((team, app)) = team_and_app(&pushed.repository, &self.config.unscanned_prefix)
        else {
            tx.append_audit(entry).await?;
            return Ok(());
        };
        // Every manifest the push reaches, read as the scanner reads it: the images of an
        // index (nested or not, whatever platform they declare) are what is scanned.
        let graph = graph::walk(
            tx,
            &self.config.data_dir,
            &pushed.repository,
            &pushed.digest,
        )
        .await?;
        let children = graph.images.clone();
        let unjudgeable = graph.problem.clone().or_else(|| {
            (graph.root_is_index && graph.images.is_empty()).then(|| {
                "the index holds no container image (only artifacts or attestations): there is nothing to scan, and artifacts are not promoted".to_owned()
            })
        });
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
        // A new image is scanned; so is one whose scan failed, pushed again (say after the
        // advisory database was built): its failed scans are forgotten and retried.
        let retry = !created && image.state == ImageState::Failed;
        if retry {
            let reason = "pushed again: scanning again";
            tx.transition_image(
                image.id,
                &[ImageState::Failed],
                &Transition {
                    to: ImageState::Queued,
                    reason: Some(reason),
                    stage: None,
                    outcome: None,
                    decision: None,
                },
            )
            .await?;
            tx.append_audit(
                NewAuditEntry::new(&pushed.principal.name, "image.requeued", &subject)
                    .with_detail("image", image.id)
                    .with_detail("reason", reason),
            )
            .await?;
        }
        if created && let Some(reason) = &unjudgeable {
            tx.transition_image(
                image.id,
                &[ImageState::Queued],
                &Transition {
                    to: ImageState::Failed,
                    reason: Some(reason),
                    stage: None,
                    outcome: None,
                    decision: None,
                },
            )
            .await?;
            tx.append_audit(
                NewAuditEntry::new(SYSTEM_ACTOR, "image.failed", &subject)
                    .with_detail("image", image.id)
                    .with_detail("reason", reason.clone()),
            )
            .await?;
            let data =
                json!({ "image": image.id, "reason": reason, "links": self.image_links(&image) });
            tx.emit_event(&self.event("scan.failed", &subject, team, data))
                .await?;
        } else if unjudgeable.is_some() {
            // Pushed again: the same bytes cannot be judged any better.
        } else if created || retry {
            let digests: Vec<String> = if children.is_empty() {
                vec![pushed.digest.to_string()]
            } else {
                children.iter().map(|(d, _)| d.to_string()).collect()
            };
            for digest in &digests {
                let payload =
                    json!({ "digest": digest, "repository": pushed.repository }).to_string();
                if tx.forget_failed_scan(digest).await? {
                    tx.requeue(SCAN_JOB, digest, &payload).await?;
                } else {
                    tx.enqueue(SCAN_JOB, digest, &payload).await?;
                }
            }
            // Decides at once when every scan exists already (the digest was pushed before,
            // elsewhere); a scan finishing later decides instead.
            tx.requeue(
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

    /// Claims and runs jobs until `shutdown` turns true.
    pub async fn run_worker(
        self: Arc<Self>,
        name: String,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut idle = Duration::from_millis(20);
        let mut last_sweep = std::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                return;
            }
            if last_sweep.elapsed() >= RECONCILE_EVERY {
                last_sweep = std::time::Instant::now();
                if self.reconcile().await.is_err() {
                    self.metrics.worker_errors.inc();
                }
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
                Some(d) => {
                    let repository = digest
                        .as_ref()
                        .and_then(|v| v.get("repository"))
                        .and_then(Value::as_str);
                    self.scan_job(d, repository).await
                }
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
                let retry =
                    Duration::from_secs(self.config.scan_retry_seconds * u64::from(job.attempt));
                let state = self.store.fail(&job, &message, Some(retry)).await;
                // Out of attempts: the scan is recorded as failed, so its images say why.
                if matches!(state, Ok(portcullis_store::JobState::Failed)) && job.kind == SCAN_JOB {
                    let _ = self.record_failed_scan(&job, &message).await;
                }
            }
        }
    }

    async fn scan_job(&self, digest: &str, repository: Option<&str>) -> Result<(), String> {
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
        let outcome = match self.readable_blobs(&parsed, repository).await {
            Ok(readable) => self.scan_blocking(parsed, readable).await,
            Err(message) => Err(message),
        };
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
        self.record_failed_digest(&digest, message).await
    }

    /// Records that `digest` could not be scanned, and decides the images waiting for it.
    async fn record_failed_digest(&self, digest: &str, message: &str) -> Result<(), StoreError> {
        let digest = digest.to_owned();
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

    /// Finds images still waiting for a scan whose job ended `failed` without a worker
    /// recording it (every attempt's worker died, so the queue failed it when the last lease
    /// lapsed), and records the failure so that they end `failed` with the reason instead of
    /// waiting for ever. Returns how many scans it recorded.
    pub async fn reconcile(&self) -> Result<usize, StoreError> {
        let mut recorded = 0;
        for state in [ImageState::Queued, ImageState::Scanning] {
            let filter = portcullis_store::workflow::ImageFilter {
                state: Some(state),
                limit: 1000,
                ..Default::default()
            };
            for image in self.store.images(&filter).await? {
                let children = self.store.image_children(image.id).await?;
                let digests: Vec<String> = if children.is_empty() {
                    vec![image.digest.clone()]
                } else {
                    children.into_iter().map(|c| c.digest).collect()
                };
                for digest in digests {
                    if self.store.scan(&digest).await?.is_some() {
                        continue;
                    }
                    let job = self.store.job_by_key(SCAN_JOB, &digest).await?;
                    if let Some(job) = job
                        && job.state == portcullis_store::JobState::Failed
                    {
                        let reason = job
                            .last_error
                            .unwrap_or_else(|| "the scan job failed".to_owned());
                        self.record_failed_digest(&digest, &reason).await?;
                        recorded += 1;
                    }
                }
            }
        }
        Ok(recorded)
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

    /// The blobs a scan of image manifest `digest` may read: the manifest and the config and
    /// layers it names that are linked to the repository it was pushed to (a scan never
    /// reads a blob of another repository, whatever a manifest names).
    async fn readable_blobs(
        &self,
        digest: &Digest,
        repository: Option<&str>,
    ) -> Result<BTreeSet<Digest>, String> {
        let repository = match repository {
            Some(r) => r.to_owned(),
            // Jobs queued before the repository was recorded in the payload.
            None => self
                .store
                .images_waiting_for(&digest.to_string())
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .next()
                .map(|i| i.repository)
                .ok_or_else(|| format!("no image waits for manifest `{digest}`"))?,
        };
        let linked = |d: Digest| {
            let repository = repository.clone();
            async move {
                self.store
                    .blob_linked(&repository, &d)
                    .await
                    .map(|l| (d, l))
            }
        };
        let mut readable = BTreeSet::new();
        if !linked(digest.clone()).await.map_err(|e| e.to_string())?.1 {
            return Err(format!(
                "manifest `{digest}` is no longer in repository `{repository}`; push it again"
            ));
        }
        readable.insert(digest.clone());
        let references = self
            .store
            .manifest_references(&repository, digest)
            .await
            .map_err(|e| e.to_string())?;
        for reference in references {
            if reference.kind == portcullis_store::registry::ReferenceKind::Blob {
                let (d, is_linked) = linked(reference.digest).await.map_err(|e| e.to_string())?;
                if is_linked {
                    readable.insert(d);
                }
            }
        }
        Ok(readable)
    }

    async fn scan_blocking(
        &self,
        digest: Digest,
        readable: BTreeSet<Digest>,
    ) -> Result<ScanReport, String> {
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
            let source = portcullis_image::Source::Blobs {
                dir,
                digest,
                readable,
            };
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
