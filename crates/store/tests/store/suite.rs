//! The behaviour suite; each function runs on both backends (see `on_both_backends!`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use portcullis_store::{JobState, NewManifest, Store, StoreError};
use portcullis_types::Digest;

use crate::TestDb;

const REPO: &str = "unscanned/team/app";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const SIGNATURE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SBOM: &str = "application/spdx+json";

fn digest(n: u32) -> Digest {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    bytes[31] = 0x5a;
    Digest::sha256_from_bytes(bytes)
}

fn manifest(n: u32) -> NewManifest {
    NewManifest {
        digest: digest(n),
        media_type: OCI_MANIFEST.to_owned(),
        size: 1000 + u64::from(n),
        subject: None,
        artifact_type: None,
    }
}

fn referrer(n: u32, subject: &Digest, artifact_type: &str) -> NewManifest {
    NewManifest {
        subject: Some(subject.clone()),
        artifact_type: Some(artifact_type.to_owned()),
        ..manifest(n)
    }
}

pub async fn migrations_are_applied_once_and_data_survives_reopen(
    db: &TestDb,
) -> anyhow::Result<()> {
    let store = db.open().await?;
    // Every file of the migration directory, applied once.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as u64;
    assert!(files >= 5, "only {files} migrations found");
    assert_eq!(store.applied_migrations().await?, files);
    store
        .put_manifest_and_tag(REPO, &manifest(1), Some("v1"))
        .await?;
    let id = store.enqueue("scan", &digest(1).to_string(), "{}").await?;
    store.close().await;

    let reopened = db.open().await?;
    assert_eq!(
        reopened.applied_migrations().await?,
        files,
        "re-open applied migrations again"
    );
    let found = reopened
        .manifest_by_tag(REPO, "v1")
        .await?
        .context("tag lost on re-open")?;
    assert_eq!(found.digest, digest(1));
    assert_eq!(
        reopened.job(id).await?.context("job lost")?.state,
        JobState::Queued
    );
    Ok(())
}

pub async fn manifests_and_tags_round_trip(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    assert_eq!(store.manifest(REPO, &digest(1)).await?, None);
    assert_eq!(store.manifest_by_tag(REPO, "latest").await?, None);

    store
        .put_manifest_and_tag(REPO, &manifest(1), Some("latest"))
        .await?;
    let record = store
        .manifest(REPO, &digest(1))
        .await?
        .context("manifest missing")?;
    assert_eq!(
        (
            record.repository.as_str(),
            record.media_type.as_str(),
            record.size,
            record.subject.as_ref()
        ),
        (REPO, OCI_MANIFEST, 1001, None)
    );
    assert_eq!(
        store.manifest_by_tag(REPO, "latest").await?,
        Some(record.clone())
    );
    // The same manifest in another repository is a separate record.
    assert_eq!(store.manifest("scanned/team/app", &digest(1)).await?, None);

    // Moving the tag; pushing the same digest again changes nothing.
    store
        .put_manifest_and_tag(REPO, &manifest(2), Some("latest"))
        .await?;
    store
        .put_manifest_and_tag(REPO, &manifest(1), Some("v1"))
        .await?;
    assert_eq!(
        store
            .manifest_by_tag(REPO, "latest")
            .await?
            .map(|m| m.digest),
        Some(digest(2))
    );
    assert_eq!(store.manifest(REPO, &digest(1)).await?, Some(record));
    assert_eq!(store.tags_of(REPO, &digest(1)).await?, ["v1"]);

    // A tag must name a manifest of its repository, and names must be valid.
    let err = store
        .set_tag(REPO, "x", &digest(9))
        .await
        .expect_err("unknown manifest");
    assert!(matches!(err, StoreError::UnknownManifest { .. }), "{err:?}");
    let err = store
        .put_manifest_and_tag("Bad/Name", &manifest(3), None)
        .await
        .expect_err("bad name");
    assert!(matches!(err, StoreError::InvalidRepository(_)), "{err:?}");
    let err = store
        .put_manifest_and_tag(REPO, &manifest(3), Some("-bad"))
        .await
        .expect_err("bad tag");
    assert!(matches!(err, StoreError::InvalidTag(_)), "{err:?}");
    assert_eq!(
        store.manifest(REPO, &digest(3)).await?,
        None,
        "a refused push left a manifest"
    );

    // Deleting a tag keeps the manifest; deleting a manifest removes its tags.
    assert!(store.delete_tag(REPO, "v1").await?);
    assert!(!store.delete_tag(REPO, "v1").await?);
    assert!(store.manifest(REPO, &digest(1)).await?.is_some());
    store.set_tag(REPO, "stable", &digest(2)).await?;
    assert!(store.delete_manifest(REPO, &digest(2)).await?);
    assert!(!store.delete_manifest(REPO, &digest(2)).await?);
    assert_eq!(
        store.list_tags(REPO, None, None).await?.names,
        Vec::<String>::new()
    );
    assert_eq!(store.manifest_by_tag(REPO, "latest").await?, None);

    let repositories = store.list_repositories(None, None).await?;
    assert_eq!(repositories.names, [REPO]);
    Ok(())
}

pub async fn tag_pagination_follows_byte_order_and_edge_cases(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let tags = [
        "v1.0-rc", "latest", "a", "B", "_x", "10", "2", "1.0", "A", "v1", "v1.0", "Z9", "z",
    ];
    store.put_manifest_and_tag(REPO, &manifest(1), None).await?;
    for tag in tags {
        store.set_tag(REPO, tag, &digest(1)).await?;
    }
    // Another repository's tags never leak in.
    store
        .put_manifest_and_tag("unscanned/other/app", &manifest(1), Some("b"))
        .await?;

    let mut sorted: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    sorted.sort(); // byte order: digits < upper case < `_` < lower case
    let all = store.list_tags(REPO, None, None).await?;
    assert_eq!(all.names, sorted);
    assert_eq!(all.next, None);

    // Page by page, for every page size, gives the same list.
    for n in 1..=sorted.len() + 1 {
        let mut collected = Vec::new();
        let mut last: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = store
                .list_tags(REPO, Some(n as u32), last.as_deref())
                .await?;
            assert!(page.names.len() <= n);
            pages += 1;
            collected.extend(page.names.iter().cloned());
            match page.next {
                Some(next) => {
                    assert_eq!(Some(&next), page.names.last());
                    last = Some(next);
                }
                None => break,
            }
            ensure!(
                pages <= sorted.len() + 1,
                "pagination does not end for n={n}"
            );
        }
        assert_eq!(collected, sorted, "n={n}");
        assert_eq!(pages, sorted.len().div_ceil(n).max(1), "n={n}");
    }

    // Exactly `n` left: no next marker.
    let page = store
        .list_tags(REPO, Some(sorted.len() as u32), None)
        .await?;
    assert_eq!((page.names.len(), page.next), (sorted.len(), None));
    // n = 0 is an empty page.
    let page = store.list_tags(REPO, Some(0), None).await?;
    assert_eq!((page.names.len(), page.next), (0, None));
    // `last` need not be a tag: listing continues after it.
    let page = store.list_tags(REPO, Some(3), Some("Zz")).await?;
    assert_eq!(page.names, ["_x", "a", "latest"]);
    assert_eq!(page.next.as_deref(), Some("latest"));
    // After the last tag, and past everything: empty.
    assert!(
        store
            .list_tags(REPO, None, Some("z"))
            .await?
            .names
            .is_empty()
    );
    assert!(
        store
            .list_tags(REPO, Some(5), Some("~"))
            .await?
            .names
            .is_empty()
    );
    // Unknown repository: empty.
    assert!(
        store
            .list_tags("unscanned/none/app", None, None)
            .await?
            .names
            .is_empty()
    );

    let repositories = store.list_repositories(Some(1), None).await?;
    assert_eq!(repositories.names, ["unscanned/other/app"]);
    let repositories = store
        .list_repositories(Some(1), repositories.next.as_deref())
        .await?;
    assert_eq!(
        (repositories.names.as_slice(), repositories.next),
        ([REPO.to_owned()].as_slice(), None)
    );
    Ok(())
}

pub async fn concurrent_tag_moves_are_atomic(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    const WRITERS: u32 = 8;
    const ROUNDS: u32 = 12;
    store
        .put_manifest_and_tag(REPO, &manifest(0), Some("latest"))
        .await?;
    let known: BTreeSet<Digest> = (0..=WRITERS * ROUNDS).map(digest).collect();

    let reader = {
        let store = db.open().await?;
        let known = known.clone();
        tokio::spawn(async move {
            let mut reads = 0u32;
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                let current = store.manifest_by_tag(REPO, "latest").await?;
                let current = current.context("`latest` vanished during a move")?;
                ensure!(
                    known.contains(&current.digest),
                    "`latest` points at an unknown digest"
                );
                reads += 1;
                if store.list_tags(REPO, None, None).await?.names.len() > 1 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            anyhow::Ok(reads)
        })
    };

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = db.open().await?;
        writers.push(tokio::spawn(async move {
            for r in 0..ROUNDS {
                let n = 1 + w * ROUNDS + r;
                store
                    .put_manifest_and_tag(REPO, &manifest(n), Some("latest"))
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for writer in writers {
        writer.await??;
    }
    // Stops the reader: a second tag appears.
    store.set_tag(REPO, "done", &digest(0)).await?;
    let reads = reader.await??;
    assert!(reads > 0);

    let tags = store.list_tags(REPO, None, None).await?;
    assert_eq!(
        tags.names,
        ["done", "latest"],
        "one row per tag, however many moves"
    );
    let latest = store
        .manifest_by_tag(REPO, "latest")
        .await?
        .context("latest")?;
    assert!(known.contains(&latest.digest));
    for n in 0..=WRITERS * ROUNDS {
        assert!(
            store.manifest(REPO, &digest(n)).await?.is_some(),
            "manifest {n} lost"
        );
    }
    Ok(())
}

pub async fn referrers_are_listed_per_repository_and_artifact_type(
    db: &TestDb,
) -> anyhow::Result<()> {
    let store = db.open().await?;
    let subject = digest(1);
    store
        .put_manifest_and_tag(REPO, &manifest(1), Some("v1"))
        .await?;
    store
        .put_manifest_and_tag(REPO, &referrer(20, &subject, SIGNATURE), None)
        .await?;
    store
        .put_manifest_and_tag(REPO, &referrer(10, &subject, SBOM), None)
        .await?;
    store
        .put_manifest_and_tag(REPO, &referrer(30, &digest(2), SBOM), None)
        .await?;
    store
        .put_manifest_and_tag("unscanned/other/app", &referrer(40, &subject, SBOM), None)
        .await?;

    let all = store.referrers(REPO, &subject, None).await?;
    let digests: Vec<Digest> = all.iter().map(|m| m.digest.clone()).collect();
    let mut expected = vec![digest(10), digest(20)];
    expected.sort();
    assert_eq!(digests, expected, "ordered by digest, this repository only");
    assert!(all.iter().all(|m| m.subject.as_ref() == Some(&subject)));

    let sboms = store.referrers(REPO, &subject, Some(SBOM)).await?;
    assert_eq!(sboms.len(), 1);
    assert_eq!(sboms[0].digest, digest(10));
    assert_eq!(sboms[0].artifact_type.as_deref(), Some(SBOM));
    assert!(
        store
            .referrers(REPO, &subject, Some("application/none"))
            .await?
            .is_empty()
    );
    assert!(store.referrers(REPO, &digest(99), None).await?.is_empty());

    // A referrer outlives its subject; deleting a referrer removes it from the list.
    store.delete_manifest(REPO, &subject).await?;
    assert_eq!(store.referrers(REPO, &subject, None).await?.len(), 2);
    store.delete_manifest(REPO, &digest(20)).await?;
    let left: Vec<Digest> = store
        .referrers(REPO, &subject, None)
        .await?
        .into_iter()
        .map(|m| m.digest)
        .collect();
    assert_eq!(left, [digest(10)]);
    Ok(())
}

pub async fn blob_links_support_mount_checks(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let blob = digest(7);
    assert!(!store.blob_linked(REPO, &blob).await?);
    assert!(store.link_blob(REPO, &blob).await?);
    assert!(
        !store.link_blob(REPO, &blob).await?,
        "second link is not new"
    );
    assert!(store.link_blob("scanned/team/app", &blob).await?);
    assert!(store.blob_linked(REPO, &blob).await?);
    assert!(!store.blob_linked("unscanned/other/app", &blob).await?);
    assert_eq!(
        store.blob_repositories(&blob).await?,
        ["scanned/team/app", REPO]
    );
    assert!(store.unlink_blob(REPO, &blob).await?);
    assert!(!store.unlink_blob(REPO, &blob).await?);
    assert_eq!(store.blob_repositories(&blob).await?, ["scanned/team/app"]);
    store.unlink_blob("scanned/team/app", &blob).await?;
    assert!(store.blob_repositories(&blob).await?.is_empty());
    Ok(())
}

pub async fn upload_sessions_track_offsets_and_expire(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let session = store.create_upload(REPO, "u-1").await?;
    assert_eq!(
        (session.bytes_received, session.repository.as_str()),
        (0, REPO)
    );
    assert_eq!(store.upload("u-1").await?, Some(session));

    assert_eq!(
        store.advance_upload("u-1", 0, 100).await?.bytes_received,
        100
    );
    let err = store
        .advance_upload("u-1", 0, 50)
        .await
        .expect_err("chunk out of order");
    assert!(
        matches!(
            err,
            StoreError::UploadOffsetMismatch {
                expected: 0,
                actual: 100,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.advance_upload("u-1", 100, 150).await?.bytes_received,
        150
    );
    let err = store
        .advance_upload("u-none", 0, 1)
        .await
        .expect_err("unknown upload");
    assert!(matches!(err, StoreError::UnknownUpload(_)), "{err:?}");

    let finished = store.finish_upload("u-1").await?;
    assert_eq!(finished.bytes_received, 150);
    assert!(matches!(
        store.finish_upload("u-1").await,
        Err(StoreError::UnknownUpload(_))
    ));
    assert_eq!(store.upload("u-1").await?, None);

    // Expiry closes idle sessions only, and returns them for cleanup.
    store.create_upload(REPO, "u-old").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    store.create_upload(REPO, "u-new").await?;
    let expired = store.expire_uploads(Duration::from_millis(150)).await?;
    assert_eq!(
        expired.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["u-old"]
    );
    assert!(store.upload("u-new").await?.is_some());
    assert!(store.upload("u-old").await?.is_none());
    Ok(())
}

pub async fn enqueue_is_idempotent_even_when_concurrent(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let key = digest(1).to_string();
    let first = store.enqueue("scan", &key, r#"{"n":1}"#).await?;
    assert_eq!(store.enqueue("scan", &key, r#"{"n":2}"#).await?, first);
    let other_kind = store.enqueue("notify", &key, "{}").await?;
    assert_ne!(other_kind, first);
    let status = store.job(first).await?.context("job")?;
    assert_eq!(
        (
            status.state,
            status.attempts,
            status.payload.as_str(),
            status.key.as_str()
        ),
        (JobState::Queued, 0, r#"{"n":1}"#, key.as_str()),
        "the first payload stands"
    );

    // A finished job is not queued again: a digest is scanned once.
    let job = store
        .claim("w", Duration::from_secs(60))
        .await?
        .context("claim")?;
    store.complete(&job, "ok").await?;
    let done = if job.id == first { first } else { other_kind };
    assert_eq!(store.enqueue(&job.kind, &job.key, "{}").await?, done);
    assert_eq!(store.job(done).await?.context("job")?.state, JobState::Done);

    // Many pushes of one digest at once: one job.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.open().await?;
        tasks.push(tokio::spawn(async move {
            let mut ids = BTreeSet::new();
            for _ in 0..10 {
                ids.insert(store.enqueue("scan", "sha256:concurrent", "{}").await?);
            }
            anyhow::Ok(ids)
        }));
    }
    let mut ids = BTreeSet::new();
    for task in tasks {
        ids.extend(task.await??);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let counts = store.job_counts().await?;
    assert_eq!(counts.values().sum::<u64>(), 3, "{counts:?}");
    Ok(())
}

pub async fn eight_concurrent_claimers_claim_every_job_exactly_once(
    db: &TestDb,
) -> anyhow::Result<()> {
    const JOBS: u32 = 240;
    let store = db.open().await?;
    let mut enqueued = BTreeSet::new();
    let mut tx = store.begin().await?;
    for n in 0..JOBS {
        enqueued.insert(
            tx.enqueue("scan", &format!("job-{n}"), &n.to_string())
                .await?,
        );
    }
    tx.commit().await?;
    assert_eq!(enqueued.len(), JOBS as usize);

    let started = Instant::now();
    let mut claimers = Vec::new();
    for w in 0..8 {
        let store = db.open().await?;
        claimers.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut claimed = Vec::new();
            while let Some(job) = store.claim(&worker, Duration::from_secs(600)).await? {
                ensure!(
                    job.attempt == 1,
                    "job {} claimed on attempt {}",
                    job.id,
                    job.attempt
                );
                store.complete(&job, &format!("done by {worker}")).await?;
                claimed.push(job.id);
            }
            anyhow::Ok(claimed)
        }));
    }
    let mut seen = BTreeMap::new();
    let mut per_worker = Vec::new();
    for claimer in claimers {
        let claimed = claimer.await??;
        per_worker.push(claimed.len());
        for id in claimed {
            *seen.entry(id).or_insert(0u32) += 1;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(
        seen.keys().copied().collect::<BTreeSet<_>>(),
        enqueued,
        "every job claimed"
    );
    assert!(
        seen.values().all(|&n| n == 1),
        "a job was claimed twice: {seen:?}"
    );
    assert!(
        per_worker.iter().filter(|&&n| n > 0).count() > 1,
        "only one claimer worked: {per_worker:?}"
    );
    let counts = store.job_counts().await?;
    assert_eq!(counts, BTreeMap::from([(JobState::Done, u64::from(JOBS))]));
    assert!(store.claim("late", Duration::from_secs(1)).await?.is_none());
    assert!(
        elapsed < Duration::from_secs(60),
        "{JOBS} claims took {elapsed:?}"
    );
    Ok(())
}

pub async fn expired_leases_are_claimed_again(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?.with_max_attempts(2);
    let id = store.enqueue("scan", "sha256:lease", "{}").await?;
    let lease = Duration::from_millis(300);

    let first = store
        .claim("killed-worker", lease)
        .await?
        .context("first claim")?;
    assert_eq!((first.id, first.attempt), (id, 1));
    let running = store.job(id).await?.context("job")?;
    assert_eq!(
        (running.state, running.worker.as_deref()),
        (JobState::Running, Some("killed-worker"))
    );
    assert!(
        store.claim("other", lease).await?.is_none(),
        "a leased job was handed out twice"
    );

    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let mut second = store
        .claim("other", lease)
        .await?
        .context("re-claim after expiry")?;
    assert_eq!((second.id, second.attempt), (id, 2));
    // The worker that lost its lease can no longer finish the job.
    let err = store
        .complete(&first, "late")
        .await
        .expect_err("lease lost");
    assert!(
        matches!(err, StoreError::LeaseLost(j) if j == id),
        "{err:?}"
    );
    let err = store
        .fail(&first, "late", None)
        .await
        .expect_err("lease lost");
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");

    // Extending the lease keeps it; letting the last attempt's lease expire fails the job.
    store
        .extend_lease(&mut second, Duration::from_secs(60))
        .await?;
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert!(
        store.claim("third", lease).await?.is_none(),
        "an extended lease was taken"
    );
    store
        .extend_lease(&mut second, Duration::from_millis(1))
        .await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        store.claim("third", lease).await?.is_none(),
        "attempts are used up"
    );
    let failed = store.job(id).await?.context("job")?;
    assert_eq!((failed.state, failed.attempts), (JobState::Failed, 2));
    assert!(
        failed.last_error.as_deref().unwrap_or("").contains("lease"),
        "{failed:?}"
    );
    assert_eq!(failed.worker, None);
    Ok(())
}

pub async fn failures_retry_until_attempts_run_out(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?.with_max_attempts(3);
    let id = store.enqueue("scan", "sha256:flaky", "{}").await?;
    let lease = Duration::from_secs(60);

    let job = store.claim("w", lease).await?.context("claim 1")?;
    assert_eq!(
        store
            .fail(&job, "registry timeout", Some(Duration::from_secs(3600)))
            .await?,
        JobState::Queued
    );
    assert!(
        store.claim("w", lease).await?.is_none(),
        "claimed before its retry time"
    );
    let status = store.job(id).await?.context("job")?;
    assert_eq!(
        (status.state, status.last_error.as_deref()),
        (JobState::Queued, Some("registry timeout"))
    );

    let id2 = store.enqueue("scan", "sha256:flaky-2", "{}").await?;
    let job = store
        .claim("w", lease)
        .await?
        .context("claim of the second job")?;
    assert_eq!(job.id, id2);
    assert_eq!(
        store.fail(&job, "boom 1", Some(Duration::ZERO)).await?,
        JobState::Queued
    );
    let job = store.claim("w", lease).await?.context("retry 2")?;
    assert_eq!((job.id, job.attempt), (id2, 2));
    assert_eq!(
        store.fail(&job, "boom 2", Some(Duration::ZERO)).await?,
        JobState::Queued
    );
    let job = store.claim("w", lease).await?.context("retry 3")?;
    assert_eq!(job.attempt, 3);
    assert_eq!(
        store.fail(&job, "boom 3", Some(Duration::ZERO)).await?,
        JobState::Failed
    );
    assert!(store.claim("w", lease).await?.is_none());
    let status = store.job(id2).await?.context("job")?;
    assert_eq!(
        (status.state, status.attempts, status.last_error.as_deref()),
        (JobState::Failed, 3, Some("boom 3"))
    );

    // A failure not worth retrying ends the job at once.
    let id3 = store.enqueue("scan", "sha256:malformed", "{}").await?;
    let job = store.claim("w", lease).await?.context("claim 3")?;
    assert_eq!(job.id, id3);
    assert_eq!(
        store.fail(&job, "not an image", None).await?,
        JobState::Failed
    );
    let counts = store.job_counts().await?;
    assert_eq!(
        counts,
        BTreeMap::from([(JobState::Queued, 1), (JobState::Failed, 2)])
    );
    Ok(())
}

/// Writes a whole manifest push (repository, manifest, tag, blob link, scan job) in one
/// transaction; `commit` decides its fate.
async fn push_in(store: &Store, commit: bool) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    tx.put_manifest(REPO, &manifest(1)).await?;
    tx.set_tag(REPO, "latest", &digest(1)).await?;
    tx.link_blob(REPO, &digest(2)).await?;
    tx.enqueue("scan", &digest(1).to_string(), "{}").await?;
    if commit {
        tx.commit().await?;
    }
    Ok(())
}

async fn assert_no_push_visible(store: &Store) -> anyhow::Result<()> {
    assert_eq!(store.manifest(REPO, &digest(1)).await?, None);
    assert_eq!(store.manifest_by_tag(REPO, "latest").await?, None);
    assert!(!store.blob_linked(REPO, &digest(2)).await?);
    assert_eq!(
        store.job_by_key("scan", &digest(1).to_string()).await?,
        None
    );
    assert!(store.list_repositories(None, None).await?.names.is_empty());
    Ok(())
}

/// After a lost transaction the same push must go through whole.
async fn assert_push_succeeds(store: &Store) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(30), push_in(store, true))
        .await
        .context("the push after the lost transaction blocked")??;
    assert!(store.manifest_by_tag(REPO, "latest").await?.is_some());
    let job = store
        .job_by_key("scan", &digest(1).to_string())
        .await?
        .context("job")?;
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    Ok(())
}

pub async fn dropped_transaction_leaves_no_partial_state(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    push_in(&store, false).await?;
    assert_no_push_visible(&store).await?;
    store.close().await;
    drop(store);

    let store = db.open().await?;
    assert_no_push_visible(&store).await?;
    assert_push_succeeds(&store).await
}

pub const CRASH_URL_VAR: &str = "PORTCULLIS_STORE_CRASH_URL";
pub const CRASH_READY_VAR: &str = "PORTCULLIS_STORE_CRASH_READY";

/// The child: writes a push without committing, says so, and waits to be killed.
pub async fn write_without_committing(url: &str, ready: &Path) -> anyhow::Result<()> {
    let store = Store::open(url).await?;
    let mut tx = store.begin().await?;
    tx.put_manifest(REPO, &manifest(1)).await?;
    tx.set_tag(REPO, "latest", &digest(1)).await?;
    tx.link_blob(REPO, &digest(2)).await?;
    tx.enqueue("scan", &digest(1).to_string(), "{}").await?;
    std::fs::write(ready, "written, not committed")?;
    tokio::time::sleep(Duration::from_secs(120)).await;
    tx.commit().await?;
    Ok(())
}

pub async fn killed_writer_leaves_no_partial_state(db: &TestDb) -> anyhow::Result<()> {
    // Migrations first, so that the child's only open transaction is the push.
    let store = db.open().await?;
    let dir = tempfile::tempdir()?;
    let ready = dir.path().join("ready");
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "crash_child_writer",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CRASH_URL_VAR, &db.url)
        .env(CRASH_READY_VAR, &ready)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready.exists() {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the writer exited ({status}) before writing");
        }
        ensure!(
            Instant::now() < deadline,
            "the writer did not write within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Mid-transaction: nothing is visible to others.
    assert_no_push_visible(&store).await?;
    child.kill()?; // SIGKILL
    child.wait()?;

    assert_no_push_visible(&store).await?;
    store.close().await;
    let store = db.open().await?;
    assert_no_push_visible(&store).await?;
    assert_push_succeeds(&store).await
}
