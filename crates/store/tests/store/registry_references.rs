//! Manifest references (what promotion and garbage collection follow), the manifest and
//! repository listings the registry's recovery and checks use, on both backends.

use anyhow::ensure;
use portcullis_store::registry::{ManifestReference, ReferenceKind};
use portcullis_store::{NewManifest, StoreError};
use portcullis_types::Digest;

use crate::TestDb;

const REPO: &str = "unscanned/team/app";

fn digest(n: u8) -> Digest {
    Digest::sha256_from_bytes([n; 32])
}

fn manifest(n: u8, media_type: &str) -> NewManifest {
    NewManifest {
        digest: digest(n),
        media_type: media_type.to_owned(),
        size: 100 + u64::from(n),
        subject: None,
        artifact_type: None,
    }
}

fn reference(kind: ReferenceKind, n: u8) -> ManifestReference {
    ManifestReference {
        kind,
        digest: digest(n),
    }
}

pub async fn references_keep_their_order_and_go_with_their_manifest(
    db: &TestDb,
) -> anyhow::Result<()> {
    let store = db.open().await?;
    ensure!(!store.repository_exists(REPO).await?);
    let image = manifest(1, "application/vnd.oci.image.manifest.v1+json");
    // Layers listed in manifest order, which is not digest order.
    let layers = vec![
        reference(ReferenceKind::Blob, 9),
        reference(ReferenceKind::Blob, 3),
        reference(ReferenceKind::Blob, 7),
    ];
    let index = manifest(2, "application/vnd.oci.image.index.v1+json");
    let children = vec![reference(ReferenceKind::Manifest, 1)];
    let mut tx = store.begin().await?;
    tx.put_manifest(REPO, &image).await?;
    tx.put_manifest_references(REPO, &image.digest, &layers)
        .await?;
    tx.put_manifest(REPO, &index).await?;
    tx.put_manifest_references(REPO, &index.digest, &children)
        .await?;
    ensure!(tx.manifest_references(REPO, &image.digest).await? == layers);
    ensure!(tx.manifest(REPO, &index.digest).await?.map(|m| m.size) == Some(102));
    tx.commit().await?;
    // Pushing the same manifest again changes nothing.
    let mut tx = store.begin().await?;
    tx.put_manifest(REPO, &image).await?;
    tx.put_manifest_references(REPO, &image.digest, &layers)
        .await?;
    tx.commit().await?;
    ensure!(store.repository_exists(REPO).await?);
    ensure!(store.manifest_references(REPO, &image.digest).await? == layers);
    ensure!(store.manifest_references(REPO, &index.digest).await? == children);
    let listed: Vec<Digest> = store
        .manifests_of(REPO)
        .await?
        .into_iter()
        .map(|m| m.digest)
        .collect();
    ensure!(listed == [digest(1), digest(2)], "{listed:?}");
    ensure!(store.delete_manifest(REPO, &image.digest).await?);
    ensure!(
        store
            .manifest_references(REPO, &image.digest)
            .await?
            .is_empty()
    );
    ensure!(store.manifests_of("unscanned/team/other").await?.is_empty());
    Ok(())
}

pub async fn upload_ids_list_the_open_sessions(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    ensure!(store.upload_ids().await?.is_empty());
    store.create_upload(REPO, "bbb").await?;
    store.create_upload(REPO, "aaa").await?;
    ensure!(store.upload_ids().await? == ["aaa", "bbb"]);
    store.finish_upload("aaa").await?;
    ensure!(store.upload_ids().await? == ["bbb"]);
    let err = store
        .finish_upload("aaa")
        .await
        .expect_err("finished twice");
    ensure!(matches!(err, StoreError::UnknownUpload(_)), "{err:?}");
    Ok(())
}
