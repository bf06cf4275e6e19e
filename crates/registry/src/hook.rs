//! [`RegistryHook`]: how the rest of portcullis learns of pushes and deletes. The registry
//! never scans; the server's hook enqueues a scan in the same transaction as the manifest.

use portcullis_store::{StoreError, StoreTransaction};
use portcullis_types::{BoxFuture, Digest, Principal};

/// A manifest that was just pushed (and is being recorded in the open transaction).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedManifest {
    /// The repository pushed to, e.g. `unscanned/payments/api`.
    pub repository: String,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// The tag of the push, if it was pushed by tag.
    pub tag: Option<String>,
    /// An index's child manifests, in order (empty for an image manifest).
    pub children: Vec<Digest>,
    /// The `subject` descriptor's digest (a signature, SBOM or other referrer).
    pub subject: Option<Digest>,
    /// The `artifactType`, or failing that the config media type.
    pub artifact_type: Option<String>,
    /// Who pushed it.
    pub principal: Principal,
}

/// A manifest or tag that was just deleted (in the open transaction).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedManifest {
    pub repository: String,
    /// The manifest deleted, or that the deleted tag pointed at.
    pub digest: Digest,
    /// `Some(tag)` when only this tag was deleted and the manifest stays.
    pub tag: Option<String>,
    /// Who deleted it.
    pub principal: Principal,
}

/// Told about every manifest push and delete, inside the transaction that records it.
pub trait RegistryHook: Send + Sync + std::fmt::Debug {
    /// Called inside the manifest-push transaction, before commit: whatever it writes
    /// commits with the manifest or not at all. Pushing the same manifest again calls it
    /// again (its job queue dedups).
    fn manifest_pushed<'a>(
        &'a self,
        tx: &'a mut StoreTransaction,
        pushed: &'a PushedManifest,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Called inside the delete transaction.
    fn manifest_deleted<'a>(
        &'a self,
        tx: &'a mut StoreTransaction,
        deleted: &'a DeletedManifest,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// A hook that does nothing (tests, and a registry without a scanner).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopHook;

impl RegistryHook for NoopHook {
    fn manifest_pushed<'a>(
        &'a self,
        _tx: &'a mut StoreTransaction,
        _pushed: &'a PushedManifest,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn manifest_deleted<'a>(
        &'a self,
        _tx: &'a mut StoreTransaction,
        _deleted: &'a DeletedManifest,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}
