//! What a pull returns ([`FetchedManifest`], [`BlobStream`]) and how a manifest answer is
//! checked: tag or digest, digest recomputed, media type.

use std::fmt;
use std::io::Read;

use portcullis_types::Digest;
use sha2::{Digest as _, Sha256, Sha512};

use crate::error::RegistryError;
use crate::reference;

/// Media types asked for when fetching a manifest, most specific first.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// A manifest or index exactly as the registry sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedManifest {
    /// The bytes, unchanged: the digest is computed over them.
    pub bytes: Vec<u8>,
    /// From `Content-Type` (parameters removed), or from the document when the registry
    /// sent none.
    pub media_type: String,
    /// Computed from `bytes`.
    pub digest: Digest,
}

/// A blob's bytes as they arrive. The caller verifies the digest while reading.
pub struct BlobStream {
    reader: ureq::BodyReader<'static>,
    size: Option<u64>,
}

impl BlobStream {
    pub(super) fn new(reader: ureq::BodyReader<'static>, size: Option<u64>) -> Self {
        Self { reader, size }
    }

    /// The size the registry announced (`Content-Length`), if it did.
    pub fn size(&self) -> Option<u64> {
        self.size
    }
}

impl Read for BlobStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStream")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// `Some(digest)` for a digest, `None` for a valid tag.
pub(super) fn parse_tag_or_digest(value: &str) -> Result<Option<Digest>, RegistryError> {
    if value.contains(':') {
        return value
            .parse::<Digest>()
            .map(Some)
            .map_err(|_| RegistryError::InvalidTagOrDigest(value.to_owned()));
    }
    if reference::is_tag(value) {
        Ok(None)
    } else {
        Err(RegistryError::InvalidTagOrDigest(value.to_owned()))
    }
}

/// The digest of `bytes` with the algorithm of `like`.
pub(super) fn digest_like(bytes: &[u8], like: &Digest) -> Digest {
    if like.algorithm() == "sha512" {
        let hex = hex::encode(Sha512::digest(bytes));
        // A sha512 hex string always parses; sha256 is only a fallback for the type system.
        if let Ok(digest) = format!("sha512:{hex}").parse() {
            return digest;
        }
    }
    Digest::sha256_from_bytes(Sha256::digest(bytes).into())
}

pub(super) fn is_specific(content_type: &str) -> bool {
    !content_type.is_empty()
        && content_type != "application/octet-stream"
        && content_type != "text/plain"
}

/// For registries that send no useful `Content-Type`: the document's `mediaType`, else
/// OCI index or manifest by shape.
pub(super) fn sniff_media_type(bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Shape {
        #[serde(default, rename = "mediaType")]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Shape>(bytes) {
        Ok(Shape {
            media_type: Some(media_type),
            ..
        }) if !media_type.is_empty() => media_type,
        Ok(Shape {
            manifests: Some(_), ..
        }) => MANIFEST_MEDIA_TYPES[1].to_owned(),
        _ => MANIFEST_MEDIA_TYPES[0].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_digests_are_told_apart() {
        assert_eq!(parse_tag_or_digest("v1").unwrap(), None);
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(parse_tag_or_digest(&d).unwrap(), Some(d.parse().unwrap()));
        for bad in ["", "../x", "a/b", "sha256:zz", "-x"] {
            assert!(parse_tag_or_digest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn media_type_is_sniffed_when_missing() {
        assert_eq!(
            sniff_media_type(br#"{"mediaType":"application/x"}"#),
            "application/x"
        );
        assert_eq!(
            sniff_media_type(br#"{"manifests":[]}"#),
            MANIFEST_MEDIA_TYPES[1]
        );
        assert_eq!(sniff_media_type(b"nope"), MANIFEST_MEDIA_TYPES[0]);
    }

    #[test]
    fn sha512_digests_are_computed_with_sha512() {
        let like: Digest = format!("sha512:{}", "0".repeat(128)).parse().unwrap();
        assert_eq!(digest_like(b"", &like).algorithm(), "sha512");
    }
}
