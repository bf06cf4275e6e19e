//! OCI and Docker manifests, indexes and image configs, and choosing a platform.
//!
//! Documents are told apart by their content (`manifests` vs `layers`), not only by
//! media type, because media types are often missing in OCI layouts.

use std::collections::BTreeMap;

use portcullis_types::Digest;
use serde::Deserialize;

use crate::platform::Platform;

pub(crate) const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
const MAX_INDEX_DEPTH: usize = 8;

pub(crate) use portcullis_types::manifest::Descriptor;
use portcullis_types::manifest::{ManifestKind, ManifestShapeError};

/// What this crate asks of a descriptor beyond the shared model.
pub(crate) trait DescriptorExt {
    fn ref_name(&self) -> Option<&str>;
}

impl DescriptorExt for Descriptor {
    fn ref_name(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_REF_NAME)
            .map(String::as_str)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Index {
    pub manifests: Vec<Descriptor>,
}

#[derive(Clone, Debug)]
pub(crate) struct Manifest {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    pub annotations: BTreeMap<String, String>,
    /// Whether a runtime would run it (see `ManifestDocument::is_container_image`).
    pub is_container_image: bool,
}

/// The image config: what we need of it.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct Config {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<RunConfig>,
    /// When the image was built (RFC 3339), as the config says.
    #[serde(default)]
    pub created: Option<String>,
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<History>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RunConfig {
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// `USER` of the Dockerfile; empty or absent means root.
    #[serde(default)]
    pub user: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct History {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

impl Config {
    pub(crate) fn platform(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }

    pub(crate) fn labels(&self) -> BTreeMap<String, String> {
        self.config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
    }

    /// `created_by` of the history entry of each layer (history entries marked
    /// `empty_layer` have no layer).
    pub(crate) fn created_by(&self) -> Vec<Option<String>> {
        self.history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by.clone().filter(|s| !s.is_empty()))
            .collect()
    }
}

/// A parsed manifest-or-index document.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one short-lived document at a time; boxing would only add an allocation"
)]
pub(crate) enum Document {
    Index(Index),
    Manifest(Manifest),
}

/// Why a manifest, index or config is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{what} `{digest}` is not valid JSON of the expected shape")]
    Invalid {
        what: String,
        digest: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{what} `{digest}` is a Docker schema 1 manifest, which is deprecated and not supported; re-push the image with a current Docker or `skopeo copy --format v2s2`"
    )]
    SchemaOne { what: String, digest: String },
    #[error("{what} `{digest}` is neither an image manifest nor an index")]
    Unknown { what: String, digest: String },
    #[error("{what} `{digest}` is refused: {source}")]
    Shape {
        what: String,
        digest: String,
        #[source]
        source: Box<ManifestShapeError>,
    },
    #[error(
        "manifest `{digest}` is not a container image (an artifact, attestation or signature: {why}); only container images are scanned"
    )]
    NotAnImage { digest: Digest, why: String },
    #[error("`{digest}` is an index; a single image manifest was expected")]
    IndexNotExpected { digest: Digest },
    #[error("no image for platform {wanted} in index `{index}`; available: {}", available.join(", "))]
    NoMatchingPlatform {
        wanted: String,
        index: Digest,
        available: Vec<String>,
    },
    #[error("index `{digest}` nests indexes more than {MAX_INDEX_DEPTH} deep")]
    TooDeep { digest: Digest },
    #[error(
        "image config `{digest}` lists {diff_ids} diff_ids but the manifest has {layers} layers"
    )]
    LayerCountMismatch {
        digest: Digest,
        diff_ids: usize,
        layers: usize,
    },
}

/// Parses a manifest or an index declared as `declared` (a descriptor's or response's
/// media type), with the reader the registry uses at push.
pub(crate) fn parse_document(
    declared: Option<&str>,
    bytes: &[u8],
    what: &str,
    digest: &str,
) -> Result<Document, ManifestError> {
    let declared = portcullis_types::manifest::declared_media_type(declared);
    let document = portcullis_types::manifest::parse_manifest(declared.as_deref(), bytes).map_err(
        |source| match source {
            ManifestShapeError::SchemaOne => ManifestError::SchemaOne {
                what: what.to_owned(),
                digest: digest.to_owned(),
            },
            ManifestShapeError::Unknown => ManifestError::Unknown {
                what: what.to_owned(),
                digest: digest.to_owned(),
            },
            source => ManifestError::Shape {
                what: what.to_owned(),
                digest: digest.to_owned(),
                source: Box::new(source),
            },
        },
    )?;
    let is_container_image = document.is_container_image();
    Ok(match document.kind {
        ManifestKind::Index => Document::Index(Index {
            manifests: document.manifests,
        }),
        ManifestKind::Image => match document.config {
            Some(config) => Document::Manifest(Manifest {
                config,
                layers: document.layers,
                annotations: document.annotations,
                is_container_image,
            }),
            None => {
                return Err(ManifestError::Unknown {
                    what: what.to_owned(),
                    digest: digest.to_owned(),
                });
            }
        },
    })
}

pub(crate) fn parse_config(bytes: &[u8], digest: &Digest) -> Result<Config, ManifestError> {
    serde_json::from_slice(bytes).map_err(|source| ManifestError::Invalid {
        what: "image config".to_owned(),
        digest: digest.to_string(),
        source,
    })
}

/// The manifest chosen for a platform, and the index it was chosen from.
#[derive(Debug)]
pub(crate) struct Picked {
    pub manifest: Manifest,
    pub digest: Digest,
    pub index_digest: Option<Digest>,
}

/// Follows `start` (a manifest or an index, possibly nested) to one image manifest for
/// `platform`. `fetch` returns the verified bytes of a manifest or index by descriptor.
pub(crate) fn pick_manifest<E: From<ManifestError>>(
    start: &Descriptor,
    platform: &Platform,
    fetch: &mut dyn FnMut(&Descriptor) -> Result<Vec<u8>, E>,
) -> Result<Picked, E> {
    let bytes = fetch(start)?;
    let digest = start.digest.to_string();
    match parse_document(start.media_type.as_deref(), &bytes, "manifest", &digest)? {
        Document::Manifest(manifest) => Ok(Picked {
            manifest,
            digest: start.digest.clone(),
            index_digest: None,
        }),
        Document::Index(index) => {
            let mut candidates = Vec::new();
            collect_candidates(&start.digest, index, 0, &mut candidates, fetch)?;
            let (chosen, parent) = choose(&start.digest, candidates, platform)?;
            let bytes = fetch(&chosen)?;
            match parse_document(
                chosen.media_type.as_deref(),
                &bytes,
                "manifest",
                &chosen.digest.to_string(),
            )? {
                Document::Manifest(manifest) => Ok(Picked {
                    manifest,
                    digest: chosen.digest,
                    index_digest: Some(parent),
                }),
                Document::Index(_) => Err(ManifestError::TooDeep {
                    digest: chosen.digest,
                }
                .into()),
            }
        }
    }
}

/// Image manifests reachable from an index, with the index that lists each.
fn collect_candidates<E: From<ManifestError>>(
    index_digest: &Digest,
    index: Index,
    depth: usize,
    out: &mut Vec<(Descriptor, Digest)>,
    fetch: &mut dyn FnMut(&Descriptor) -> Result<Vec<u8>, E>,
) -> Result<(), E> {
    if depth > MAX_INDEX_DEPTH {
        return Err(ManifestError::TooDeep {
            digest: index_digest.clone(),
        }
        .into());
    }
    for descriptor in index.manifests {
        if descriptor.is_attestation() {
            continue;
        }
        if descriptor.is_index() {
            let bytes = fetch(&descriptor)?;
            match parse_document(
                descriptor.media_type.as_deref(),
                &bytes,
                "index",
                &descriptor.digest.to_string(),
            )? {
                Document::Index(nested) => {
                    collect_candidates(&descriptor.digest, nested, depth + 1, out, fetch)?
                }
                Document::Manifest(_) => out.push((descriptor, index_digest.clone())),
            }
        } else {
            out.push((descriptor, index_digest.clone()));
        }
    }
    Ok(())
}

/// The candidate for `platform`; a lone candidate without a platform is taken as is.
fn choose(
    index: &Digest,
    candidates: Vec<(Descriptor, Digest)>,
    platform: &Platform,
) -> Result<(Descriptor, Digest), ManifestError> {
    let lone_unlabelled =
        candidates.len() == 1 && candidates.iter().all(|(d, _)| d.platform.is_none());
    let mut available = Vec::new();
    let mut fallback = None;
    for (descriptor, parent) in candidates {
        match &descriptor.platform {
            Some(p) => {
                if platform.matches(&p.os, &p.architecture, p.variant.as_deref()) {
                    return Ok((descriptor, parent));
                }
                available.push(p.display());
            }
            None if lone_unlabelled => fallback = Some((descriptor, parent)),
            None => available.push(format!("(unlabelled manifest {})", descriptor.digest)),
        }
    }
    if let Some(found) = fallback {
        return Ok(found);
    }
    available.sort();
    available.dedup();
    Err(ManifestError::NoMatchingPlatform {
        wanted: platform.to_string(),
        index: index.clone(),
        available,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_types::manifest::DescriptorPlatform;

    fn d(n: u8) -> Digest {
        Digest::sha256_from_bytes([n; 32])
    }

    fn platform_descriptor(n: u8, arch: &str, variant: Option<&str>) -> (Descriptor, Digest) {
        let descriptor = Descriptor {
            media_type: None,
            digest: d(n),
            size: None,
            urls: Vec::new(),
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: Some(DescriptorPlatform {
                os: "linux".into(),
                architecture: arch.into(),
                variant: variant.map(str::to_owned),
            }),
        };
        (descriptor, d(0))
    }

    #[test]
    fn chooses_by_platform_and_lists_the_rest() {
        let candidates = vec![
            platform_descriptor(1, "amd64", None),
            platform_descriptor(2, "arm64", Some("v8")),
            platform_descriptor(3, "arm", Some("v7")),
        ];
        let arm64: Platform = "linux/arm64".parse().unwrap();
        assert_eq!(
            choose(&d(0), candidates.clone(), &arm64).unwrap().0.digest,
            d(2)
        );
        let s390: Platform = "linux/s390x".parse().unwrap();
        let err = choose(&d(0), candidates, &s390).unwrap_err().to_string();
        assert!(
            err.contains("linux/amd64, linux/arm/v7, linux/arm64/v8"),
            "{err}"
        );
    }

    #[test]
    fn refuses_schema_one() {
        let err = parse_document(
            None,
            br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#,
            "manifest",
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("schema 1"), "{err}");
    }

    #[test]
    fn history_skips_empty_layers() {
        let config: Config = serde_json::from_str(
            r#"{"rootfs":{"type":"layers","diff_ids":[]},"history":[
                {"created_by":"ENV A=1","empty_layer":true},{"created_by":"RUN x"},{}]}"#,
        )
        .unwrap();
        assert_eq!(config.created_by(), vec![Some("RUN x".to_owned()), None]);
    }
}
