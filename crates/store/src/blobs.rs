//! Blob bytes on local disk: [`LocalBlobs`] over one data directory.
//!
//! Committed blobs live at `ROOT/blobs/sha256/<hex>`, exactly the blob path of an OCI image
//! layout, so a scanner can read them as a layout's blobs. Uploads in progress live at
//! `ROOT/uploads/<session-id>`. Bytes are streamed to the upload file and hashed while they
//! stream (on a blocking thread, so hashing and disk writes overlap the network); a commit
//! checks the digest the client claimed, fsyncs the file, renames it into place and fsyncs
//! the directory. A partial blob is therefore never visible under `blobs/`, and a crash
//! leaves only files under `uploads/`, which [`LocalBlobs::remove_uploads_except`] clears.
//!
//! The running hash of each chunked upload is kept in memory between requests; after a
//! restart it is lost, and the partial file is hashed again when the upload continues.
//!
//! [`BlobBackend`] is the interface a registry needs from blob storage, so that an
//! S3-compatible backend can implement it later; only [`LocalBlobs`] exists now.

mod local;

use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use portcullis_types::{BoxFuture, Digest};

pub use local::{LocalBlobs, UploadState};

/// A stream of body chunks from a client (the error is the transport's).
pub type ByteStream = BoxStream<'static, Result<Bytes, io::Error>>;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error("failed to {operation} `{path}`")]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("blob digest `{0}` uses an algorithm blob storage does not verify; use sha256")]
    UnsupportedAlgorithm(Digest),
    #[error("the uploaded bytes have digest `{actual}`, not the `{expected}` the client claimed")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("upload session id `{0}` is not valid; expected 1 to 64 characters of [A-Za-z0-9_-]")]
    InvalidUploadId(String),
    #[error("upload `{0}` has no partial file (finished, cancelled or cleaned up)")]
    UnknownUpload(String),
    #[error("upload `{id}` holds {actual} bytes, but the chunk starts at byte {expected}")]
    OffsetMismatch {
        id: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "upload `{id}` would exceed the blob size limit of {limit} bytes; raise the limit or push a smaller blob"
    )]
    TooLarge { id: String, limit: u64 },
    #[error("the client's body stream failed after {received} bytes of upload `{id}`")]
    Body {
        id: String,
        received: u64,
        #[source]
        source: io::Error,
    },
}

/// A readable committed blob: a byte stream of `[start, start + len)` and the full size.
#[derive(Debug)]
pub struct BlobReader {
    /// The open file (positioned at the start of the requested range).
    pub file: tokio::fs::File,
    /// The number of bytes to read from `file`.
    pub len: u64,
    /// The blob's full size.
    pub size: u64,
}

/// Blob storage as a registry needs it: content-addressed committed blobs, and uploads
/// that are streamed in one or several chunks and committed under a verified digest.
pub trait BlobBackend: Send + Sync + std::fmt::Debug {
    /// The size of a committed blob, or `None` if absent.
    fn stat<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<Option<u64>, BlobError>>;
    /// Opens `[start, end)` of a committed blob (`end` capped at its size), or `None`.
    fn open_read<'a>(
        &'a self,
        digest: &'a Digest,
        start: u64,
        end: Option<u64>,
    ) -> BoxFuture<'a, Result<Option<BlobReader>, BlobError>>;
    /// Starts an empty upload `id`.
    fn begin_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BlobError>>;
    /// Appends `body` to upload `id`, which must hold exactly `offset` bytes; returns the new
    /// length. On a failed body the upload is cut back to `offset`.
    fn append<'a>(
        &'a self,
        id: &'a str,
        offset: u64,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<u64, BlobError>>;
    /// The number of bytes upload `id` holds.
    fn upload_len<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<u64, BlobError>>;
    /// Verifies that upload `id` hashes to `expected` and makes it the committed blob
    /// `expected`; returns its size. On a mismatch the upload is discarded.
    fn commit<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Digest,
    ) -> BoxFuture<'a, Result<u64, BlobError>>;
    /// Discards upload `id` (absent is fine).
    fn abort<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BlobError>>;
    /// Stores `bytes` durably as the committed blob `digest` (which must be theirs).
    fn put_bytes<'a>(
        &'a self,
        digest: &'a Digest,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<(), BlobError>>;
    /// Deletes a committed blob; returns whether it existed.
    fn delete<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<bool, BlobError>>;
}

/// Checks an upload id before it becomes a file name (no separators, no dots).
pub(crate) fn check_upload_id(id: &str) -> Result<(), BlobError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(BlobError::InvalidUploadId(id.to_owned()))
    }
}
