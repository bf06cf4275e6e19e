//! Reading a docker-archive into a [`Plan`]: the tar is indexed in place in one pass over
//! its headers (entry data is skipped by seeking, never extracted, and no entry name ever
//! becomes a path on disk); `manifest.json` and the config are read from their byte
//! ranges (each at most 4 MiB); each layer's range is hashed and its compression sniffed;
//! an OCI image manifest is built over them. A gzip- or zstd-compressed archive is first
//! decompressed once into a temporary file.
//!
//! Both forms are read: the classic one (`<id>/layer.tar`, often symlinks to
//! `<hex>.tar`) and Docker ≥ 25's, whose layers are OCI blobs (`blobs/sha256/<hex>`).

use std::collections::BTreeMap;
use std::path::Path;

use portcullis_types::Digest;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::archive_file::{Archive, decompressed};
use super::{Blob, BlobData, Document, Plan, PushError};
use crate::reference::Reference;

const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Serialize)]
struct OutDescriptor {
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    digest: String,
    size: u64,
}

#[derive(Serialize)]
struct OutManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: OutDescriptor,
    layers: Vec<OutDescriptor>,
}

pub(super) fn plan(path: &Path, reference: Option<&str>) -> Result<Plan, PushError> {
    let scratch = decompressed(path)?;
    let data = scratch
        .as_ref()
        .map_or_else(|| path.to_owned(), |t| t.to_path_buf());
    let archive = Archive::index(path, data)?;
    let manifest =
        archive
            .read_small("manifest.json")?
            .ok_or_else(|| PushError::NoArchiveManifest {
                path: path.to_owned(),
            })?;
    let images: Vec<ImageEntry> =
        serde_json::from_slice(&manifest).map_err(|e| PushError::Malformed {
            path: path.to_owned(),
            detail: format!("its manifest.json: {e}"),
        })?;
    let image = select(path, &images, reference)?;

    let config = archive
        .read_small(&image.config)?
        .ok_or_else(|| archive.missing(&image.config))?;
    let diff_ids = diff_ids(&config).map_err(|detail| PushError::Malformed {
        path: path.to_owned(),
        detail: format!("its image config `{}`: {detail}", image.config),
    })?;
    let config_digest = Digest::sha256_from_bytes(Sha256::digest(&config).into());
    let mut layers = Vec::new();
    let mut blobs: Vec<Blob> = Vec::new();
    let mut hashed: BTreeMap<u64, (Digest, &'static str)> = BTreeMap::new();
    for (position, name) in image.layers.iter().enumerate() {
        let entry = archive.lookup(name)?;
        let (digest, media_type) = match hashed.get(&entry.offset) {
            Some(known) => known.clone(),
            None => {
                let found = archive.hash(name, &entry)?;
                hashed.insert(entry.offset, found.clone());
                found
            }
        };
        if media_type == "application/vnd.oci.image.layer.v1.tar"
            && let Some(Some(expected)) = diff_ids.get(position)
            && expected != &digest.to_string()
        {
            return Err(PushError::DiffIdMismatch {
                path: path.to_owned(),
                entry: name.clone(),
                expected: expected.clone(),
                actual: digest,
            });
        }
        if !blobs.iter().any(|b| b.digest == digest) {
            blobs.push(Blob {
                digest: digest.clone(),
                size: entry.size,
                data: BlobData::File {
                    path: archive.data.clone(),
                    offset: entry.offset,
                },
            });
        }
        layers.push(OutDescriptor {
            media_type,
            digest: digest.to_string(),
            size: entry.size,
        });
    }
    let manifest = OutManifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE,
        config: OutDescriptor {
            media_type: CONFIG_MEDIA_TYPE,
            digest: config_digest.to_string(),
            size: config.len() as u64,
        },
        layers,
    };
    let bytes = serde_json::to_vec(&manifest).map_err(|e| PushError::Malformed {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    blobs.insert(
        0,
        Blob {
            digest: config_digest,
            size: config.len() as u64,
            data: BlobData::Memory(config),
        },
    );
    Ok(Plan {
        blobs,
        children: Vec::new(),
        top: Document {
            digest: Digest::sha256_from_bytes(Sha256::digest(&bytes).into()),
            media_type: MANIFEST_MEDIA_TYPE.to_owned(),
            bytes,
        },
        _scratch: scratch,
    })
}

/// The config's `rootfs.diff_ids`, each `None` when it is not a string.
fn diff_ids(config: &[u8]) -> Result<Vec<Option<String>>, String> {
    let value: serde_json::Value = serde_json::from_slice(config).map_err(|e| e.to_string())?;
    Ok(value
        .pointer("/rootfs/diff_ids")
        .and_then(|v| v.as_array())
        .map(|ids| ids.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default())
}

fn select<'a>(
    path: &Path,
    images: &'a [ImageEntry],
    reference: Option<&str>,
) -> Result<&'a ImageEntry, PushError> {
    let available: Vec<String> = images
        .iter()
        .enumerate()
        .flat_map(|(i, image)| match image.repo_tags.as_deref() {
            Some(tags) if !tags.is_empty() => tags.to_vec(),
            _ => vec![format!("@{i}")],
        })
        .collect();
    let Some(wanted) = reference else {
        return match images {
            [only] => Ok(only),
            [] => Err(PushError::NoImage {
                what: "docker-archive",
                path: path.to_owned(),
            }),
            several => Err(PushError::Ambiguous {
                what: "docker-archive",
                transport: "docker-archive",
                path: path.to_owned(),
                count: several.len(),
                available,
            }),
        };
    };
    let unknown = || PushError::UnknownTag {
        what: "docker-archive",
        path: path.to_owned(),
        tag: wanted.to_owned(),
        available: available.clone(),
    };
    if let Some(position) = wanted.strip_prefix('@') {
        let position: usize = position.parse().map_err(|_| unknown())?;
        return images.get(position).ok_or_else(unknown);
    }
    let normalised = |value: &str| value.parse::<Reference>().ok().map(|r| r.to_string());
    let wanted_normalised = normalised(wanted);
    images
        .iter()
        .find(|image| {
            image.repo_tags.iter().flatten().any(|tag| {
                tag == wanted
                    || (wanted_normalised.is_some() && normalised(tag) == wanted_normalised)
            })
        })
        .ok_or_else(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_ids_are_read_leniently() {
        assert_eq!(
            diff_ids(br#"{"rootfs":{"diff_ids":["sha256:a",3]}}"#).unwrap(),
            vec![Some("sha256:a".to_owned()), None]
        );
        assert!(diff_ids(br#"{}"#).unwrap().is_empty());
        assert!(diff_ids(b"not json").is_err());
    }
}
