//! Content-addressed blobs: where they are stored, and reading them verified.

use std::io::{self, Read};

use portcullis_types::Digest;
use sha2::{Digest as _, Sha256};

/// A place that holds blobs by digest: an OCI layout directory, a docker-archive, a
/// registry repository.
pub(crate) trait BlobStore: Sync {
    /// Opens the blob `digest` for reading.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + '_>, BlobError>;
}

/// Why a blob could not be read, or was not what its digest promised.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob `{digest}` is missing: `{location}` does not exist")]
    Missing { digest: Digest, location: String },
    #[error(
        "blob `{digest}` is not linked to the repository being scanned; push it to the repository with the manifest"
    )]
    NotReadable { digest: Digest },
    #[error("failed to read {what} `{location}`")]
    Io {
        what: String,
        location: String,
        #[source]
        source: io::Error,
    },
    #[error("{what} `{expected}` does not match its content: the bytes hash to `{actual}`")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error(
        "{what} `{digest}` is larger than the limit `max_metadata_bytes` ({limit} bytes); raise `max_metadata_bytes` if the image is trusted"
    )]
    TooLarge {
        what: String,
        digest: Digest,
        limit: u64,
    },
    #[error("{what} `{digest}` uses {algorithm}, but only sha256 blobs can be verified")]
    UnsupportedDigest {
        what: String,
        digest: Digest,
        algorithm: &'static str,
    },
    #[error("failed to fetch {what} `{digest}` from the registry")]
    Registry {
        what: String,
        digest: Digest,
        #[source]
        source: Box<crate::registry_client::RegistryError>,
    },
}

/// The sha256 of `bytes` as a digest.
pub(crate) fn sha256(bytes: &[u8]) -> Digest {
    Digest::sha256_from_bytes(Sha256::digest(bytes).into())
}

/// Checks bytes already in memory against their digest.
pub(crate) fn verify(what: &str, expected: &Digest, bytes: &[u8]) -> Result<(), BlobError> {
    if !expected.is_sha256() {
        return Err(BlobError::UnsupportedDigest {
            what: what.to_owned(),
            digest: expected.clone(),
            algorithm: expected.algorithm(),
        });
    }
    let actual = sha256(bytes);
    if actual != *expected {
        return Err(BlobError::DigestMismatch {
            what: what.to_owned(),
            expected: expected.clone(),
            actual,
        });
    }
    Ok(())
}

/// Reads a small blob (manifest, index, config) whole, bounded by `limit`, and verifies it.
pub(crate) fn read_verified(
    store: &dyn BlobStore,
    digest: &Digest,
    what: &str,
    limit: u64,
) -> Result<Vec<u8>, BlobError> {
    let reader = store.open(digest)?;
    let bytes = read_bounded(reader, limit).map_err(|source| BlobError::Io {
        what: what.to_owned(),
        location: digest.to_string(),
        source,
    })?;
    let Some(bytes) = bytes else {
        return Err(BlobError::TooLarge {
            what: what.to_owned(),
            digest: digest.clone(),
            limit,
        });
    };
    verify(what, digest, &bytes)?;
    Ok(bytes)
}

/// Reads at most `limit` bytes; `None` when there is more.
pub(crate) fn read_bounded(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(None);
    }
    Ok(Some(bytes))
}
