//! Reading a pushed manifest: its media type, what it references, its subject and
//! artifact type. Docker v2 schema 2 (manifest and list) and OCI (manifest and index).

use portcullis_store::registry::{ManifestReference, ReferenceKind};
use portcullis_types::Digest;
use serde::Deserialize;

use crate::error::{ApiError, ErrorCode};

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u32>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    urls: Vec<String>,
}

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

fn descriptor_digest(descriptor: &Descriptor, field: &str) -> Result<Digest, ApiError> {
    descriptor.digest.parse().map_err(|e| {
        invalid(format!(
            "the manifest's `{field}` descriptor has an invalid digest: {e}"
        ))
    })
}

/// Parses `body` pushed with `content_type` (its parameters ignored).
pub(crate) fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, ApiError> {
    let raw: Raw = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("the manifest is not valid JSON: {e}")))?;
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .filter(|c| !c.is_empty() && c != "application/json" && c != "application/octet-stream");
    let media_type = match (header, raw.media_type.as_deref()) {
        (Some(header), Some(body)) if header != body => {
            return Err(invalid(format!(
                "the Content-Type `{header}` differs from the manifest's mediaType `{body}`"
            )));
        }
        (Some(header), _) => header,
        (None, Some(body)) => body.to_owned(),
        (None, None) if raw.manifests.is_some() => OCI_INDEX.to_owned(),
        (None, None) => OCI_MANIFEST.to_owned(),
    };
    if raw.schema_version != Some(2) {
        return Err(invalid(
            "only schemaVersion 2 manifests are accepted (Docker v2 schema 2 or OCI)".to_owned(),
        ));
    }
    let mut references = Vec::new();
    let mut required_blobs = Vec::new();
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = raw
                .config
                .as_ref()
                .ok_or_else(|| invalid("the image manifest has no `config`".to_owned()))?;
            let layers = raw.layers.as_deref().unwrap_or_default();
            for (field, descriptor) in
                std::iter::once(("config", config)).chain(layers.iter().map(|l| ("layers", l)))
            {
                let digest = descriptor_digest(descriptor, field)?;
                if descriptor.urls.is_empty() {
                    required_blobs.push(digest.clone());
                }
                references.push(ManifestReference {
                    kind: ReferenceKind::Blob,
                    digest,
                });
            }
        }
        OCI_INDEX | DOCKER_LIST => {
            let manifests = raw
                .manifests
                .as_deref()
                .ok_or_else(|| invalid("the index has no `manifests`".to_owned()))?;
            for descriptor in manifests {
                references.push(ManifestReference {
                    kind: ReferenceKind::Manifest,
                    digest: descriptor_digest(descriptor, "manifests")?,
                });
            }
        }
        other => {
            return Err(invalid(format!(
                "manifest media type `{other}` is not supported; push an OCI or Docker v2 schema 2 manifest or index"
            )));
        }
    }
    let subject = raw
        .subject
        .as_ref()
        .map(|s| descriptor_digest(s, "subject"))
        .transpose()?;
    let artifact_type = raw.artifact_type.or_else(|| {
        raw.config
            .as_ref()
            .and_then(|c| c.media_type.clone())
            .filter(|_| media_type == OCI_MANIFEST)
    });
    Ok(ParsedManifest {
        media_type,
        references,
        required_blobs,
        subject,
        artifact_type,
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
}
