//! `docker-archive:FILE[:REF]`: what `docker save` and `skopeo copy … docker-archive:`
//! write, plain or gzip-compressed, read in place (never extracted).
//!
//! Two forms exist. The classic one has `manifest.json` (`Config`, `RepoTags`, `Layers`
//! as paths inside the tar, layers often uncompressed). Docker ≥ 25 writes an OCI
//! layout inside the tar (`oci-layout`, `index.json`, `blobs/sha256/…`) and a
//! `manifest.json` whose paths point into `blobs/`. `manifest.json` is preferred (it has
//! the repo tags); the OCI index, when present, supplies the manifest digest. Layers
//! whose path names their digest (`blobs/sha256/HEX`) are verified against it; all are
//! verified against the config's diff_ids, and the config against its file name.

mod file;

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_types::Digest;
use serde::Deserialize;

use crate::blob::{self, BlobError, BlobStore};
use crate::image::{self, ImageError, LayerOpener, Resolved};
use crate::manifest::{self, Document, Picked};
use crate::oci_layout;
use crate::options::ReadOptions;
use file::ArchiveFile;

/// Why a docker-archive cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("failed to read docker-archive `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` is not a valid tar archive", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` is not a docker-archive: it has neither `manifest.json` nor `index.json`", path.display())]
    NotAnArchive { path: PathBuf },
    #[error("docker-archive `{}` has no entry `{entry}`", path.display())]
    MissingEntry { path: PathBuf, entry: String },
    #[error("entry `{entry}` of `{}` is larger than the limit `max_metadata_bytes` ({limit} bytes); raise `max_metadata_bytes` if the image is trusted", path.display())]
    TooLarge {
        path: PathBuf,
        entry: String,
        limit: u64,
    },
    #[error("`manifest.json` in `{}` is not valid", path.display())]
    BadManifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("docker-archive `{}` has no image `{wanted}`; images: {}", path.display(), available.join(", "))]
    NoSuchImage {
        path: PathBuf,
        wanted: String,
        available: Vec<String>,
    },
    #[error("docker-archive `{}` holds {count} images; name one with `:REF` (images: {})", path.display(), available.join(", "))]
    Ambiguous {
        path: PathBuf,
        count: usize,
        available: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

pub(crate) fn resolve(
    path: &Path,
    tag: Option<&str>,
    options: &ReadOptions,
) -> Result<Resolved<'static>, ImageError> {
    let limit = options.limits.max_metadata_bytes;
    let archive = Arc::new(ArchiveFile::open(path, limit)?);
    if let Some(bytes) = archive.read_small("manifest.json", limit)? {
        return resolve_classic(archive, &bytes, tag, options);
    }
    if let Some(index) = archive.read_small("index.json", limit)? {
        let location = format!("{}:index.json", path.display());
        let resolved = oci_layout::resolve_in_store(
            ArchiveBlobs(Arc::clone(&archive)),
            &index,
            &location,
            tag,
            options,
        )?;
        let paths = resolved
            .info
            .layers
            .iter()
            .map(|l| blob_path(&l.digest))
            .collect();
        return Ok(Resolved {
            opener: Box::new(ArchiveLayers { archive, paths }),
            ..resolved
        });
    }
    Err(ArchiveError::NotAnArchive {
        path: path.to_owned(),
    }
    .into())
}

fn resolve_classic(
    archive: Arc<ArchiveFile>,
    manifest_bytes: &[u8],
    tag: Option<&str>,
    options: &ReadOptions,
) -> Result<Resolved<'static>, ImageError> {
    let path = archive.path.clone();
    let entries: Vec<ManifestEntry> =
        serde_json::from_slice(manifest_bytes).map_err(|source| ArchiveError::BadManifest {
            path: path.clone(),
            source,
        })?;
    let entry = select(&entries, tag, &path)?;
    let limit = options.limits.max_metadata_bytes;
    let config_bytes =
        archive
            .read_small(&entry.config, limit)?
            .ok_or_else(|| ArchiveError::MissingEntry {
                path: path.clone(),
                entry: entry.config.clone(),
            })?;
    let config_digest = blob::sha256(&config_bytes);
    if let Some(named) = digest_in_name(&entry.config)
        && named != config_digest
    {
        return Err(BlobError::DigestMismatch {
            what: "image config".to_owned(),
            expected: named,
            actual: config_digest,
        }
        .into());
    }
    let config = manifest::parse_config(&config_bytes, &config_digest)?;
    for layer in &entry.layers {
        if !archive.contains(layer) {
            return Err(ArchiveError::MissingEntry {
                path: path.clone(),
                entry: layer.clone(),
            }
            .into());
        }
    }
    // The OCI manifest, when the archive also carries an OCI index (Docker ≥ 25).
    let oci = find_oci_manifest(&archive, &config_digest, limit)?;
    let picked = match oci {
        Some(picked) => picked,
        None => classic_manifest(&archive, entry, &config_digest)?,
    };
    let tags = entry.repo_tags.clone().unwrap_or_default();
    let (mut info, mut layers) = image::describe(&picked, &config_digest, &config, tags, false)?;
    if picked.digest == config_digest {
        // A synthesised manifest has no digest of its own.
        info.manifest_digest = None;
    }
    for ((spec, layer_info), layer_path) in layers
        .iter_mut()
        .zip(info.layers.iter_mut())
        .zip(&entry.layers)
    {
        let named = digest_in_name(layer_path)
            .filter(|_| layer_path.trim_start_matches("./").starts_with("blobs/"));
        spec.stored_size = archive.size(layer_path);
        if let Some(d) = named {
            layer_info.digest = d.clone();
            spec.stored_digest = Some(d);
        } else {
            layer_info.digest = layer_info.diff_id.clone();
        }
        layer_info.size = archive.size(layer_path).unwrap_or(0);
    }
    Ok(Resolved {
        info,
        layers,
        opener: Box::new(ArchiveLayers {
            archive,
            paths: entry.layers.clone(),
        }),
    })
}

/// The image for `tag`: `@N` picks by position, otherwise by repo tag.
fn select<'e>(
    entries: &'e [ManifestEntry],
    tag: Option<&str>,
    path: &Path,
) -> Result<&'e ManifestEntry, ArchiveError> {
    let available: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| match e.repo_tags.as_deref() {
            Some(tags) if !tags.is_empty() => tags.join(" "),
            _ => format!("@{i}"),
        })
        .collect();
    let Some(tag) = tag else {
        return match entries {
            [only] => Ok(only),
            _ => Err(ArchiveError::Ambiguous {
                path: path.to_owned(),
                count: entries.len(),
                available,
            }),
        };
    };
    let found = match tag.strip_prefix('@').and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => entries.get(n),
        None => entries.iter().find(|e| {
            e.repo_tags
                .iter()
                .flatten()
                .any(|t| t == tag || short_name(t) == short_name(tag))
        }),
    };
    found.ok_or_else(|| ArchiveError::NoSuchImage {
        path: path.to_owned(),
        wanted: tag.to_owned(),
        available,
    })
}

/// `docker.io/library/debian:12` and `debian:12` name the same image.
fn short_name(reference: &str) -> &str {
    let r = reference.strip_prefix("docker.io/").unwrap_or(reference);
    r.strip_prefix("library/").unwrap_or(r)
}

/// `blobs/sha256/HEX`, `HEX.json`, `HEX.tar`: the digest a path is named after.
fn digest_in_name(path: &str) -> Option<Digest> {
    let parts: Vec<&str> = path.trim_start_matches("./").split('/').collect();
    match parts.as_slice() {
        ["blobs", algorithm, hex] => format!("{algorithm}:{hex}").parse().ok(),
        [name] => {
            let hex = name
                .strip_suffix(".json")
                .or_else(|| name.strip_suffix(".tar"))?;
            format!("sha256:{hex}").parse().ok()
        }
        _ => None,
    }
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm(), digest.hex())
}

/// A manifest for archives without one: the config plus the layers, unnamed.
fn classic_manifest(
    archive: &ArchiveFile,
    entry: &ManifestEntry,
    config_digest: &Digest,
) -> Result<Picked, ImageError> {
    let layers = entry
        .layers
        .iter()
        .map(|p| manifest::Descriptor {
            media_type: None,
            digest: config_digest.clone(), // replaced by the caller
            size: archive.size(p),
            urls: Vec::new(),
            annotations: Default::default(),
            platform: None,
            artifact_type: None,
        })
        .collect();
    let config = manifest::Descriptor {
        media_type: None,
        digest: config_digest.clone(),
        size: None,
        urls: Vec::new(),
        annotations: Default::default(),
        platform: None,
        artifact_type: None,
    };
    Ok(Picked {
        manifest: manifest::Manifest {
            config,
            layers,
            annotations: Default::default(),
            is_container_image: true,
        },
        digest: config_digest.clone(),
        index_digest: None,
    })
}

/// The OCI manifest in the archive's `index.json` whose config is `config_digest`.
fn find_oci_manifest(
    archive: &Arc<ArchiveFile>,
    config_digest: &Digest,
    limit: u64,
) -> Result<Option<Picked>, ImageError> {
    let Some(index_bytes) = archive.read_small("index.json", limit)? else {
        return Ok(None);
    };
    let Ok(Document::Index(index)) =
        manifest::parse_document(None, &index_bytes, "index", "index.json")
    else {
        return Ok(None);
    };
    let store = ArchiveBlobs(Arc::clone(archive));
    let mut queue: Vec<(manifest::Descriptor, Option<Digest>)> =
        index.manifests.into_iter().map(|d| (d, None)).collect();
    let mut visited = 0;
    while let Some((descriptor, parent)) = queue.pop() {
        visited += 1;
        if visited > 64 || !archive.contains(&blob_path(&descriptor.digest)) {
            continue;
        }
        let bytes = blob::read_verified(&store, &descriptor.digest, "manifest", limit)?;
        match manifest::parse_document(
            descriptor.media_type.as_deref(),
            &bytes,
            "manifest",
            &descriptor.digest.to_string(),
        )? {
            Document::Manifest(m) if m.config.digest == *config_digest => {
                return Ok(Some(Picked {
                    manifest: m,
                    digest: descriptor.digest,
                    index_digest: parent,
                }));
            }
            Document::Manifest(_) => {}
            Document::Index(nested) => {
                queue.extend(
                    nested
                        .manifests
                        .into_iter()
                        .map(|d| (d, Some(descriptor.digest.clone()))),
                );
            }
        }
    }
    Ok(None)
}

/// The archive's `blobs/` directory as a blob store.
struct ArchiveBlobs(Arc<ArchiveFile>);

impl BlobStore for ArchiveBlobs {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + '_>, BlobError> {
        let name = blob_path(digest);
        if !self.0.contains(&name) {
            return Err(BlobError::Missing {
                digest: digest.clone(),
                location: format!("{}:{name}", self.0.path.display()),
            });
        }
        self.0.open_entry(&name).map_err(|e| BlobError::Io {
            what: "blob".to_owned(),
            location: format!("{}:{name}", self.0.path.display()),
            source: io::Error::other(e.to_string()),
        })
    }
}

/// Layers as paths inside the archive.
struct ArchiveLayers {
    archive: Arc<ArchiveFile>,
    paths: Vec<String>,
}

impl LayerOpener for ArchiveLayers {
    fn open(&self, index: usize) -> Result<Box<dyn Read + '_>, ImageError> {
        let path = self
            .paths
            .get(index)
            .ok_or_else(|| ArchiveError::MissingEntry {
                path: self.archive.path.clone(),
                entry: format!("layer {index}"),
            })?;
        Ok(self.archive.open_entry(path)?)
    }

    fn sequential_order(&self) -> Option<Vec<usize>> {
        if !self.archive.is_gzip() {
            return None;
        }
        let mut order: Vec<usize> = (0..self.paths.len()).collect();
        order.sort_by_key(|&i| {
            self.paths
                .get(i)
                .and_then(|p| self.archive.offset(p))
                .unwrap_or(u64::MAX)
        });
        Some(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_digests_in_names() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_in_name(&format!("blobs/sha256/{hex}"))
                .unwrap()
                .hex(),
            hex
        );
        assert_eq!(digest_in_name(&format!("{hex}.json")).unwrap().hex(), hex);
        assert!(digest_in_name("abc/layer.tar").is_none());
    }

    #[test]
    fn short_names_match() {
        assert_eq!(short_name("docker.io/library/debian:12"), "debian:12");
        assert_eq!(short_name("docker.io/org/app:1"), "org/app:1");
    }
}
