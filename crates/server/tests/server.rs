//! Workflow behaviour on a real SQLite store, below the HTTP layer (and, for stages, through
//! the router in process).

#[path = "server/stages.rs"]
mod stages;

use std::sync::Arc;
use std::time::Duration;

use portcullis_server::ServerConfig;
use portcullis_server::metrics::Metrics;
use portcullis_server::workflow::{SCAN_JOB, Workflow};
use portcullis_store::Store;
use portcullis_store::workflow::{ImageState, NewImage};
use portcullis_types::Digest;

/// A scan job whose every worker died (its last lease lapsed, so the queue failed it with
/// no worker to record the failure) must not leave its image `scanning` for ever: the
/// reconcile sweep records the failure and the image ends `failed` with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_whose_scan_workers_all_died_ends_failed_with_the_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let store = Store::open(&url).await?.with_max_attempts(1);
    let digest = Digest::sha256_from_bytes([7; 32]);
    let mut tx = store.begin().await?;
    let (image, created) = tx
        .record_push(&NewImage {
            repository: "unscanned/a/app",
            digest: &digest,
            media_type: "application/vnd.oci.image.manifest.v1+json",
            team: "a",
            app: "app",
            tag: Some("v1"),
            children: &[],
            pushed_by: "dev",
        })
        .await?;
    assert!(created);
    tx.enqueue(SCAN_JOB, &digest.to_string(), "{}").await?;
    tx.commit().await?;

    // The only attempt: claimed with a lease that lapses at once, as if the worker died.
    assert!(store.claim("dead-worker", Duration::ZERO).await?.is_some());
    // The next claim finds the lapsed last attempt and fails the job, handing out nothing.
    assert!(
        store
            .claim("other", Duration::from_secs(60))
            .await?
            .is_none()
    );
    assert_eq!(
        store.image(image.id).await?.map(|i| i.state),
        Some(ImageState::Queued)
    );

    let workflow = Workflow {
        store: store.clone(),
        config: Arc::new(ServerConfig::default()),
        metrics: Arc::new(Metrics::default()),
        advisory_home: dir.path().join("home"),
    };
    assert_eq!(workflow.reconcile().await?, 1);
    let image = store.image(image.id).await?.expect("the image");
    assert_eq!(image.state, ImageState::Failed);
    let reason = image.reason.unwrap_or_default();
    assert!(reason.contains("lease"), "{reason}");
    // Nothing left to do: a second sweep records nothing.
    assert_eq!(workflow.reconcile().await?, 0);
    Ok(())
}
