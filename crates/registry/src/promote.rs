//! Promotion: a manifest of one repository appears in another (typically `unscanned/…` to
//! `scanned/…`) with the child manifests the caller judged, their blob links and a tag.
//! Nothing is copied: blobs are content-addressed and shared; only metadata rows are
//! written, in the caller's transaction, so a promotion commits with the workflow's
//! decision or not at all.
//!
//! Only manifests in the caller's `copyable` set are written: a child that is not in it
//! (an artifact, an attestation, anything that was not scanned and decided) is left out
//! with everything below it, and a manifest with a `subject` is never copied, so the
//! referrers of the target are only those written there by the server itself.

use portcullis_store::registry::ReferenceKind;
use portcullis_store::{NewManifest, StoreTransaction};
use portcullis_types::Digest;

use crate::error::RegistryError;

/// Makes manifest `digest` of `from_repository` (and, for an index, those of its child
/// manifests that are in `copyable`), their blob links and, if given, `tag` appear in
/// `to_repository`. It bypasses the zone rule: it is not an HTTP write. The root itself must
/// be in `copyable` and have no subject.
pub async fn promote(
    tx: &mut StoreTransaction,
    from_repository: &str,
    digest: &Digest,
    tag: Option<&str>,
    to_repository: &str,
    copyable: &std::collections::BTreeSet<Digest>,
) -> Result<(), RegistryError> {
    if !copyable.contains(digest) {
        return Err(RegistryError::NotJudged {
            digest: digest.clone(),
        });
    }
    // Depth-first over the index tree, without recursion (indexes may nest).
    let mut pending = vec![digest.clone()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(current) = pending.pop() {
        if !seen.insert(current.clone()) {
            continue;
        }
        if !copyable.contains(&current) {
            continue;
        }
        let Some(record) = tx.manifest(from_repository, &current).await? else {
            return Err(RegistryError::UnknownManifest {
                repository: from_repository.to_owned(),
                digest: current,
            });
        };
        if record.subject.is_some() {
            if current == *digest {
                return Err(RegistryError::NotJudged { digest: current });
            }
            continue;
        }
        let references = tx.manifest_references(from_repository, &current).await?;
        tx.put_manifest(
            to_repository,
            &NewManifest {
                digest: record.digest.clone(),
                media_type: record.media_type,
                size: record.size,
                subject: record.subject,
                artifact_type: record.artifact_type,
            },
        )
        .await?;
        tx.put_manifest_references(to_repository, &current, &references)
            .await?;
        tx.link_blob(to_repository, &current).await?;
        for reference in references {
            match reference.kind {
                ReferenceKind::Blob => {
                    tx.link_blob(to_repository, &reference.digest).await?;
                }
                ReferenceKind::Manifest => pending.push(reference.digest),
            }
        }
    }
    if let Some(tag) = tag {
        tx.set_tag(to_repository, tag, digest).await?;
    }
    Ok(())
}
