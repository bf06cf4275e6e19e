//! Images and their approvals per stage; each function runs on both backends.

use anyhow::ensure;
use portcullis_store::Store;
use portcullis_store::workflow::{ImageState, NewImage, Transition};
use portcullis_types::Digest;

use crate::TestDb;

/// A pushed image decided `awaiting_approval` at stage `prod`; returns its id.
async fn held_image(store: &Store, n: u8) -> anyhow::Result<i64> {
    let digest = Digest::sha256_from_bytes([n; 32]);
    let mut tx = store.begin().await?;
    let (image, created) = tx
        .record_push(&NewImage {
            repository: "unscanned/team/app",
            digest: &digest,
            media_type: "application/vnd.oci.image.manifest.v1+json",
            team: "team",
            app: "app",
            tag: Some("v1"),
            children: &[],
            pushed_by: "dev",
        })
        .await?;
    ensure!(created);
    let moved = tx
        .transition_image(
            image.id,
            &[ImageState::Queued],
            &Transition {
                to: ImageState::AwaitingApproval,
                reason: Some("nudged"),
                stage: Some("prod"),
                outcome: Some("nudge"),
                decision: Some("{}"),
            },
        )
        .await?;
    ensure!(moved);
    tx.commit().await?;
    Ok(image.id)
}

pub async fn approvals_are_kept_per_stage_one_each(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let id = held_image(&store, 1).await?;
    let other = held_image(&store, 2).await?;

    let mut tx = store.begin().await?;
    ensure!(
        tx.add_approval(id, "sec", "reviewed for dev", "dev")
            .await?
    );
    ensure!(
        tx.add_approval(id, "sec", "reviewed for prod", "prod")
            .await?
    );
    // A second approval at the same stage records nothing; other images are apart.
    ensure!(!tx.add_approval(id, "admin", "again", "dev").await?);
    ensure!(
        tx.add_approval(other, "admin", "other image", "dev")
            .await?
    );
    tx.commit().await?;

    let approvals = store.approvals(id).await?;
    let listed: Vec<(&str, &str, Option<&str>)> = approvals
        .iter()
        .map(|a| (a.approver.as_str(), a.reason.as_str(), a.stage.as_deref()))
        .collect();
    ensure!(
        listed
            == [
                ("sec", "reviewed for dev", Some("dev")),
                ("sec", "reviewed for prod", Some("prod")),
            ],
        "{listed:?}"
    );
    let at_dev = store.approval_at(id, "dev").await?;
    ensure!(
        at_dev.as_ref().map(|a| (a.approver.as_str(), a.image_id)) == Some(("sec", id)),
        "{at_dev:?}"
    );
    ensure!(store.approval_at(id, "test").await?.is_none());
    ensure!(
        store
            .approval_at(other, "dev")
            .await?
            .is_some_and(|a| a.reason == "other image")
    );
    // A rolled-back approval leaves nothing behind.
    let mut tx = store.begin().await?;
    ensure!(tx.add_approval(other, "sec", "not kept", "test").await?);
    tx.rollback().await?;
    ensure!(store.approval_at(other, "test").await?.is_none());
    Ok(())
}

pub async fn concurrent_approvals_at_one_stage_record_one(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let id = held_image(&store, 3).await?;
    let mut tasks = Vec::new();
    for n in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await?;
            let recorded = tx
                .add_approval(id, &format!("approver-{n}"), "concurrent", "dev")
                .await?;
            tx.commit().await?;
            anyhow::Ok(recorded)
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        if task.await?? {
            recorded += 1;
        }
    }
    ensure!(recorded == 1, "{recorded} approvals recorded at one stage");
    ensure!(store.approvals(id).await?.len() == 1);
    Ok(())
}

/// A failed scan is forgotten and its job queued again (a push after the cause is fixed);
/// a successful scan stays, and a job still queued is left as it is.
pub async fn failed_scans_can_be_retried_and_done_ones_stay(db: &TestDb) -> anyhow::Result<()> {
    use std::time::Duration;

    use portcullis_store::JobState;
    use portcullis_store::workflow::ScanRecord;

    let store = db.open().await?;
    let record = |digest: &str, state: &str| ScanRecord {
        digest: digest.to_owned(),
        state: state.to_owned(),
        started_at_ms: 1,
        finished_at_ms: 2,
        summary: None,
        report: None,
        error: (state == "failed").then(|| "no advisory database".to_owned()),
    };
    let mut tx = store.begin().await?;
    ensure!(tx.put_scan(&record("sha256:failed", "failed")).await?);
    ensure!(tx.put_scan(&record("sha256:done", "done")).await?);
    let failed_job = tx.enqueue("scan", "sha256:failed", "{}").await?;
    tx.commit().await?;
    // The job fails for good (one attempt allowed here by failing without a retry).
    let job = store
        .claim("w", Duration::from_secs(60))
        .await?
        .ok_or_else(|| anyhow::anyhow!("nothing to claim"))?;
    ensure!(job.id == failed_job);
    store.fail(&job, "no advisory database", None).await?;
    ensure!(store.job(failed_job).await?.map(|j| j.state) == Some(JobState::Failed));

    let mut tx = store.begin().await?;
    ensure!(
        !tx.forget_failed_scan("sha256:done").await?,
        "a done scan is kept"
    );
    ensure!(tx.forget_failed_scan("sha256:failed").await?);
    ensure!(
        !tx.forget_failed_scan("sha256:failed").await?,
        "forgotten once"
    );
    let again = tx
        .requeue("scan", "sha256:failed", r#"{"again":true}"#)
        .await?;
    ensure!(again == failed_job, "the same job, reset");
    tx.commit().await?;
    ensure!(store.scan("sha256:done").await?.is_some());
    ensure!(store.scan("sha256:failed").await?.is_none());
    let job = store
        .job(failed_job)
        .await?
        .ok_or_else(|| anyhow::anyhow!("job"))?;
    ensure!(
        (
            job.state,
            job.attempts,
            job.payload.as_str(),
            job.last_error.as_deref()
        ) == (JobState::Queued, 0, r#"{"again":true}"#, None),
        "{job:?}"
    );
    // Requeueing a job that is still queued changes nothing.
    let mut tx = store.begin().await?;
    tx.requeue("scan", "sha256:failed", "{}").await?;
    tx.commit().await?;
    let job = store
        .job(failed_job)
        .await?
        .ok_or_else(|| anyhow::anyhow!("job"))?;
    ensure!(job.payload == r#"{"again":true}"#, "{job:?}");
    Ok(())
}
