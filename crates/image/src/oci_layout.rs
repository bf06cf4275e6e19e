//! `oci:DIR[:TAG]`: an OCI image layout directory, and the layout logic shared with
//! docker-archives that carry an OCI layout inside (Docker ≥ 25).
//!
//! `index.json` → the descriptor tagged `TAG` (`org.opencontainers.image.ref.name`), or
//! the only one → through nested indexes to the manifest for the platform → config →
//! layers, every blob verified against its digest.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use portcullis_types::Digest;

use crate::blob::{self, BlobError, BlobStore};
use crate::image::{self, ImageError, LayerOpener, Resolved};
use crate::manifest::{self, DescriptorExt as _, Document, Index};
use crate::options::ReadOptions;

/// Why an OCI layout cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("`{}` is not an OCI image layout: `{}` is missing", dir.display(), missing)]
    NotALayout { dir: PathBuf, missing: &'static str },
    #[error("failed to read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{location}` is not a valid OCI index")]
    BadIndex {
        location: String,
        #[source]
        source: manifest::ManifestError,
    },
    #[error("no image tagged `{tag}` in `{location}`; tags: {}", list(available))]
    TagNotFound {
        tag: String,
        location: String,
        available: Vec<String>,
    },
    #[error(
        "`{location}` holds {count} images; name one with `:TAG` (tags: {})",
        list(available)
    )]
    Ambiguous {
        location: String,
        count: usize,
        available: Vec<String>,
    },
    #[error("`{location}` holds no image")]
    Empty { location: String },
}

fn list(tags: &[String]) -> String {
    if tags.is_empty() {
        return "none".to_owned();
    }
    tags.iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Blobs under `DIR/blobs/<algorithm>/<hex>`.
#[derive(Debug)]
pub(crate) struct LayoutDir {
    dir: PathBuf,
}

impl LayoutDir {
    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }
}

impl BlobStore for LayoutDir {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + '_>, BlobError> {
        let path = self.blob_path(digest);
        match File::open(&path) {
            Ok(f) => Ok(Box::new(BufReader::with_capacity(256 * 1024, f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BlobError::Missing {
                digest: digest.clone(),
                location: path.display().to_string(),
            }),
            Err(source) => Err(BlobError::Io {
                what: "blob".to_owned(),
                location: path.display().to_string(),
                source,
            }),
        }
    }
}

/// Layers read from a blob store by their stored digest.
pub(crate) struct BlobLayers<S> {
    pub store: S,
    pub digests: Vec<Digest>,
}

impl<S: BlobStore> LayerOpener for BlobLayers<S> {
    fn open(&self, index: usize) -> Result<Box<dyn Read + '_>, ImageError> {
        let digest = self.digests.get(index).ok_or_else(|| BlobError::Missing {
            digest: Digest::sha256_from_bytes([0; 32]),
            location: format!("layer {index}"),
        })?;
        Ok(self.store.open(digest)?)
    }
}

pub(crate) fn resolve(
    dir: &Path,
    tag: Option<&str>,
    options: &ReadOptions,
) -> Result<Resolved<'static>, ImageError> {
    for required in ["oci-layout", "index.json"] {
        if !dir.join(required).is_file() {
            return Err(LayoutError::NotALayout {
                dir: dir.to_owned(),
                missing: required,
            }
            .into());
        }
    }
    let index_path = dir.join("index.json");
    let index_bytes = File::open(&index_path)
        .and_then(|f| blob::read_bounded(f, options.limits.max_metadata_bytes))
        .map_err(|source| LayoutError::Io {
            path: index_path.clone(),
            source,
        })?
        .ok_or_else(|| LayoutError::Io {
            path: index_path.clone(),
            source: io::Error::other("larger than the limit `max_metadata_bytes`"),
        })?;
    let store = LayoutDir {
        dir: dir.to_owned(),
    };
    resolve_in_store(
        store,
        &index_bytes,
        &index_path.display().to_string(),
        tag,
        options,
    )
}

/// Blobs of a [`LayoutDir`] limited to a set: what a scan in the server may read (the
/// blobs linked to the repository being scanned), whatever a manifest names.
struct Restricted<'a> {
    dir: LayoutDir,
    readable: &'a BTreeSet<Digest>,
}

impl BlobStore for Restricted<'_> {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + '_>, BlobError> {
        if !self.readable.contains(digest) {
            return Err(BlobError::NotReadable {
                digest: digest.clone(),
            });
        }
        self.dir.open(digest)
    }
}

/// Resolves the image manifest `digest` in a directory of blobs laid out as an OCI
/// layout's `blobs/`, without `index.json` (how the server stores what is pushed), reading
/// only the blobs in `readable`. An index or an artifact is refused: the server scans each
/// image manifest of an index by itself.
pub(crate) fn resolve_blob<'a>(
    dir: &Path,
    digest: &Digest,
    readable: &'a BTreeSet<Digest>,
    options: &ReadOptions,
) -> Result<Resolved<'a>, ImageError> {
    let store = Restricted {
        dir: LayoutDir {
            dir: dir.to_owned(),
        },
        readable,
    };
    let limit = options.limits.max_metadata_bytes;
    let bytes = blob::read_verified(&store, digest, "manifest", limit)?;
    let manifest = match manifest::parse_document(None, &bytes, "manifest", &digest.to_string())? {
        Document::Manifest(m) => m,
        Document::Index(_) => {
            return Err(manifest::ManifestError::IndexNotExpected {
                digest: digest.clone(),
            }
            .into());
        }
    };
    if !manifest.is_container_image {
        let why = format!(
            "config `{}`, layers {}",
            manifest
                .config
                .media_type
                .as_deref()
                .unwrap_or("(no media type)"),
            manifest
                .layers
                .iter()
                .map(|l| format!("`{}`", l.media_type.as_deref().unwrap_or("(no media type)")))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Err(manifest::ManifestError::NotAnImage {
            digest: digest.clone(),
            why,
        }
        .into());
    }
    let picked = manifest::Picked {
        manifest,
        digest: digest.clone(),
        index_digest: None,
    };
    let config_digest = picked.manifest.config.digest.clone();
    let config_bytes = blob::read_verified(&store, &config_digest, "image config", limit)?;
    let config = manifest::parse_config(&config_bytes, &config_digest)?;
    let (info, layers) = image::describe(&picked, &config_digest, &config, Vec::new(), true)?;
    let digests = picked
        .manifest
        .layers
        .iter()
        .map(|l| l.digest.clone())
        .collect();
    Ok(Resolved {
        info,
        layers,
        opener: Box::new(BlobLayers { store, digests }),
    })
}

/// Resolves an image in any store that has an OCI `index.json`.
pub(crate) fn resolve_in_store<'a, S: BlobStore + 'a>(
    store: S,
    index_bytes: &[u8],
    location: &str,
    tag: Option<&str>,
    options: &ReadOptions,
) -> Result<Resolved<'a>, ImageError> {
    let index = parse_index(index_bytes, location)?;
    let descriptor = select_tagged(&index, tag, location)?;
    let tags: Vec<String> = index
        .manifests
        .iter()
        .filter(|d| d.digest == descriptor.digest)
        .filter_map(|d| d.ref_name().map(str::to_owned))
        .collect();
    let limit = options.limits.max_metadata_bytes;
    let picked = manifest::pick_manifest::<ImageError>(descriptor, &options.platform, &mut |d| {
        Ok(blob::read_verified(&store, &d.digest, "manifest", limit)?)
    })?;
    let config_digest = picked.manifest.config.digest.clone();
    let config_bytes = blob::read_verified(&store, &config_digest, "image config", limit)?;
    let config = manifest::parse_config(&config_bytes, &config_digest)?;
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
        opener: Box::new(BlobLayers { store, digests }),
    })
}

fn parse_index(bytes: &[u8], location: &str) -> Result<Index, LayoutError> {
    match manifest::parse_document(None, bytes, "index", location) {
        Ok(Document::Index(index)) => Ok(index),
        Ok(Document::Manifest(_)) => Err(LayoutError::BadIndex {
            location: location.to_owned(),
            source: manifest::ManifestError::Unknown {
                what: "index".to_owned(),
                digest: location.to_owned(),
            },
        }),
        Err(source) => Err(LayoutError::BadIndex {
            location: location.to_owned(),
            source,
        }),
    }
}

/// The descriptor named by `tag`, or the only one when there is no tag.
fn select_tagged<'i>(
    index: &'i Index,
    tag: Option<&str>,
    location: &str,
) -> Result<&'i manifest::Descriptor, LayoutError> {
    let mut available: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|d| d.ref_name().map(str::to_owned))
        .collect();
    available.sort();
    available.dedup();
    match tag {
        Some(tag) => index
            .manifests
            .iter()
            .find(|d| d.ref_name() == Some(tag))
            .ok_or_else(|| LayoutError::TagNotFound {
                tag: tag.to_owned(),
                location: location.to_owned(),
                available,
            }),
        None => match index.manifests.as_slice() {
            [] => Err(LayoutError::Empty {
                location: location.to_owned(),
            }),
            [only] => Ok(only),
            many => Err(LayoutError::Ambiguous {
                location: location.to_owned(),
                count: many.len(),
                available,
            }),
        },
    }
}
