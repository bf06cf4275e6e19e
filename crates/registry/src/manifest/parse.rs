//! Reading a pushed manifest: its media type, what it references, its subject and
//! artifact type. Docker v2 schema 2 (manifest and list) and OCI (manifest and index).

use portcullis_store::registry::{ManifestReference, ReferenceKind};
use portcullis_types::Digest;
use portcullis_types::manifest::{self as shared, ManifestDocument, ManifestKind};

use crate::error::{ApiError, ErrorCode};

pub(crate) use portcullis_types::manifest::OCI_INDEX;
#[cfg(test)]
use portcullis_types::manifest::OCI_MANIFEST;

/// What the registry learns from a manifest's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedManifest {
    pub media_type: String,
    /// Config and layers (blobs) or child manifests, in manifest order.
    pub references: Vec<ManifestReference>,
    /// Blobs that must be present in the repository (layers with external `urls` excluded).
    pub required_blobs: Vec<Digest>,
    pub subject: Option<Digest>,
    pub artifact_type: Option<String>,
    /// The document as the scanner reads it.
    pub document: ManifestDocument,
}

impl ParsedManifest {
    /// An index's child manifests, in order.
    pub fn children(&self) -> Vec<Digest> {
        self.references
            .iter()
            .filter(|r| r.kind == ReferenceKind::Manifest)
            .map(|r| r.digest.clone())
            .collect()
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::ManifestInvalid, message)
}

/// Parses `body` pushed with `content_type` (its parameters ignored) with the reader the
/// scanner uses. A body whose shape or `mediaType` does not match its declared type, or
/// that declares no type at all, is refused as the reference registry refuses it.
pub(crate) fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, ApiError> {
    let declared = shared::declared_media_type(content_type);
    if declared.is_none() && shared::body_media_type(body).is_none() {
        return Err(invalid(
            "the manifest declares no media type: send it with its Content-Type (e.g. `application/vnd.oci.image.manifest.v1+json`) or set `mediaType` in its body".to_owned(),
        ));
    }
    let document =
        shared::parse_manifest(declared.as_deref(), body).map_err(|e| invalid(e.to_string()))?;
    let mut references = Vec::new();
    let mut required_blobs = Vec::new();
    match document.kind {
        ManifestKind::Image => {
            for descriptor in document.config.iter().chain(&document.layers) {
                if descriptor.urls.is_empty() {
                    required_blobs.push(descriptor.digest.clone());
                }
                references.push(ManifestReference {
                    kind: ReferenceKind::Blob,
                    digest: descriptor.digest.clone(),
                });
            }
        }
        ManifestKind::Index => {
            for descriptor in &document.manifests {
                references.push(ManifestReference {
                    kind: ReferenceKind::Manifest,
                    digest: descriptor.digest.clone(),
                });
            }
        }
    }
    Ok(ParsedManifest {
        media_type: document.media_type.clone(),
        references,
        required_blobs,
        subject: document.subject.as_ref().map(|s| s.digest.clone()),
        artifact_type: document.referrer_artifact_type(),
        document,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn an_oci_artifact_with_a_subject_is_read() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/x.sig","digest":"{A}","size":2}},"layers":[{{"mediaType":"x","digest":"{B}","size":1,"urls":["https://example.invalid/b"]}}],"subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{B}","size":3}}}}"#
        );
        let parsed = parse(Some(OCI_MANIFEST), body.as_bytes()).expect("valid");
        assert_eq!(parsed.references.len(), 2);
        assert_eq!(
            parsed.required_blobs.len(),
            1,
            "the layer with urls is external"
        );
        assert_eq!(parsed.subject.map(|d| d.to_string()).as_deref(), Some(B));
        assert_eq!(parsed.artifact_type.as_deref(), Some("application/x.sig"));
    }

    #[test]
    fn mismatched_or_unknown_media_types_are_invalid() {
        let body = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#);
        let err = parse(Some(OCI_MANIFEST), body.as_bytes()).expect_err("mismatch");
        assert_eq!(err.code, ErrorCode::ManifestInvalid);
        let parsed = parse(None, body.as_bytes()).expect("index from the body");
        assert_eq!(parsed.media_type, OCI_INDEX);
        let err = parse(Some("text/plain"), b"{\"schemaVersion\":2}").expect_err("unknown");
        assert_eq!(err.code, ErrorCode::ManifestInvalid);
        let err = parse(Some(OCI_MANIFEST), b"not json").expect_err("not json");
        assert_eq!(err.code, ErrorCode::ManifestInvalid);
    }

    /// CVE-2021-41190: a body read as an image by one reader and as an index by another.
    #[test]
    fn ambiguous_and_undeclared_manifests_are_refused() {
        let ambiguous = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{A}","size":2}},"layers":[],"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{B}","size":3}}]}}"#
        );
        for content_type in [Some(OCI_MANIFEST), Some(OCI_INDEX), None] {
            let err = parse(content_type, ambiguous.as_bytes()).expect_err("ambiguous");
            assert_eq!(err.code, ErrorCode::ManifestInvalid, "{content_type:?}");
        }
        let undeclared = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{A}","size":2}},"layers":[]}}"#
        );
        let err = parse(Some("application/json"), undeclared.as_bytes()).expect_err("no type");
        assert!(err.message.contains("no media type"), "{}", err.message);
        assert!(parse(Some(OCI_MANIFEST), undeclared.as_bytes()).is_ok());
    }
}
