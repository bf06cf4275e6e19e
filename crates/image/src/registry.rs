//! `docker://REF`: an image pulled from a registry with `portcullis-registry-client`,
//! streamed (layers are never stored) and verified like every other source.

use std::io::Read;

use portcullis_types::Digest;

use crate::blob::{self, BlobError, BlobStore};
use crate::image::{self, ImageError, LayerOpener, Resolved};
use crate::manifest::{self, Descriptor};
use crate::options::ReadOptions;
use crate::registry_client::{Client, Reference, RegistryError};

/// Why a registry image could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum RegistrySourceError {
    #[error("failed to set up the registry client for `{reference}`")]
    Client {
        reference: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("failed to fetch manifest `{wanted}` of `{reference}`")]
    Manifest {
        reference: String,
        wanted: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error(
        "manifest `{wanted}` of `{reference}` is larger than the limit `max_metadata_bytes` ({limit} bytes)"
    )]
    TooLarge {
        reference: String,
        wanted: String,
        limit: u64,
    },
}

/// A repository's blobs.
struct RegistryBlobs {
    client: Client,
    reference: Reference,
}

impl BlobStore for RegistryBlobs {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + '_>, BlobError> {
        let stream = self
            .client
            .fetch_blob(&self.reference, digest)
            .map_err(|source| BlobError::Registry {
                what: "blob".to_owned(),
                digest: digest.clone(),
                source: Box::new(source),
            })?;
        Ok(Box::new(stream))
    }
}

impl RegistryBlobs {
    /// Fetches a manifest or index by tag or digest, bounded, verified when by digest.
    fn manifest(
        &self,
        wanted: &str,
        expected: Option<&Digest>,
        limit: u64,
    ) -> Result<(Vec<u8>, Digest, String), ImageError> {
        let fetched = self
            .client
            .fetch_manifest(&self.reference, wanted)
            .map_err(|source| RegistrySourceError::Manifest {
                reference: self.reference.to_string(),
                wanted: wanted.to_owned(),
                source: Box::new(source),
            })?;
        if fetched.bytes.len() as u64 > limit {
            return Err(RegistrySourceError::TooLarge {
                reference: self.reference.to_string(),
                wanted: wanted.to_owned(),
                limit,
            }
            .into());
        }
        let digest = match expected {
            Some(expected) => {
                blob::verify("manifest", expected, &fetched.bytes)?;
                expected.clone()
            }
            None => blob::sha256(&fetched.bytes),
        };
        Ok((fetched.bytes, digest, fetched.media_type))
    }
}

pub(crate) fn resolve(
    reference: &Reference,
    options: &ReadOptions,
) -> Result<Resolved<'static>, ImageError> {
    let client =
        Client::new(options.registry.clone()).map_err(|source| RegistrySourceError::Client {
            reference: reference.to_string(),
            source: Box::new(source),
        })?;
    let blobs = RegistryBlobs {
        client,
        reference: reference.clone(),
    };
    let limit = options.limits.max_metadata_bytes;
    let wanted = match (&reference.digest, &reference.tag) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.clone(),
        (None, None) => "latest".to_owned(),
    };
    let (top_bytes, top_digest, media_type) =
        blobs.manifest(&wanted, reference.digest.as_ref(), limit)?;
    let start = Descriptor {
        media_type: Some(media_type),
        digest: top_digest.clone(),
        size: Some(top_bytes.len() as u64),
        urls: Vec::new(),
        annotations: Default::default(),
        platform: None,
        artifact_type: None,
    };
    let mut top = Some(top_bytes);
    let picked = manifest::pick_manifest::<ImageError>(&start, &options.platform, &mut |d| {
        if d.digest == top_digest
            && let Some(bytes) = top.take()
        {
            return Ok(bytes);
        }
        Ok(blobs
            .manifest(&d.digest.to_string(), Some(&d.digest), limit)?
            .0)
    })?;
    let config_digest = picked.manifest.config.digest.clone();
    let config_bytes = blob::read_verified(&blobs, &config_digest, "image config", limit)?;
    let config = manifest::parse_config(&config_bytes, &config_digest)?;
    let tags = reference
        .tag
        .iter()
        .map(|t| format!("{}/{}:{t}", reference.registry, reference.repository))
        .collect();
    let (info, layers) = image::describe(&picked, &config_digest, &config, tags, true)?;
    let digests = picked
        .manifest
        .layers
        .iter()
        .map(|l| l.digest.clone())
        .collect();
    Ok(Resolved {
        info,
        layers,
        opener: Box::new(RegistryLayers { blobs, digests }),
    })
}

struct RegistryLayers {
    blobs: RegistryBlobs,
    digests: Vec<Digest>,
}

impl LayerOpener for RegistryLayers {
    fn open(&self, index: usize) -> Result<Box<dyn Read + '_>, ImageError> {
        let Some(digest) = self.digests.get(index) else {
            return Err(BlobError::Missing {
                digest: Digest::sha256_from_bytes([0; 32]),
                location: format!("layer {index}"),
            }
            .into());
        };
        Ok(self.blobs.open(digest)?)
    }
}
