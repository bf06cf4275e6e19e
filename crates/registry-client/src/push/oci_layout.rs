//! Reading an OCI image layout into a [`Plan`]: `index.json` → the selected manifest →
//! (for an index, each child manifest, recursively) → config and layer blobs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use portcullis_types::Digest;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::{Blob, BlobData, Document, Plan, PushError, is_index};

const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Indexes nested deeper than this are refused (real ones nest once at most).
const MAX_DEPTH: usize = 4;

#[derive(Debug, Deserialize)]
struct Descriptor {
    #[serde(default, rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    urls: Vec<String>,
}

/// An image manifest or an index (or Docker's equivalents): the fields a push needs.
#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default, rename = "mediaType")]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

struct Reader<'a> {
    dir: &'a Path,
    limit: usize,
    blobs: Vec<Blob>,
    seen: BTreeSet<Digest>,
    children: Vec<Document>,
}

pub(super) fn plan(dir: &Path, tag: Option<&str>, limit: usize) -> Result<Plan, PushError> {
    let index_path = dir.join("index.json");
    let bytes = match read_bounded(&index_path, limit as u64, "OCI index") {
        Err(PushError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Err(if dir.is_dir() {
                PushError::NotALayout {
                    path: dir.to_owned(),
                }
            } else {
                PushError::Read {
                    path: dir.to_owned(),
                    source,
                }
            });
        }
        other => other?,
    };
    let index: Manifest = serde_json::from_slice(&bytes).map_err(|e| PushError::Malformed {
        path: index_path.clone(),
        detail: e.to_string(),
    })?;
    let entries = index.manifests.unwrap_or_default();
    let tags: Vec<String> = entries
        .iter()
        .filter_map(|d| d.annotations.get(REF_NAME).cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let selected = match tag {
        Some(tag) => entries
            .iter()
            .find(|d| d.annotations.get(REF_NAME).is_some_and(|t| t == tag))
            .ok_or_else(|| PushError::UnknownTag {
                what: "OCI layout",
                path: dir.to_owned(),
                tag: tag.to_owned(),
                available: tags.clone(),
            })?,
        None => match entries.as_slice() {
            [only] => only,
            [] => {
                return Err(PushError::NoImage {
                    what: "OCI layout",
                    path: dir.to_owned(),
                });
            }
            several => {
                return Err(PushError::Ambiguous {
                    what: "OCI layout",
                    transport: "oci",
                    path: dir.to_owned(),
                    count: several.len(),
                    available: tags,
                });
            }
        },
    };
    let mut reader = Reader {
        dir,
        limit,
        blobs: Vec::new(),
        seen: BTreeSet::new(),
        children: Vec::new(),
    };
    let top = reader.manifest(selected, &index_path, 0)?;
    Ok(Plan {
        blobs: reader.blobs,
        children: reader.children,
        top,
        _scratch: None,
    })
}

impl Reader<'_> {
    /// Reads, verifies and walks the manifest `descriptor` (found in `parent`); its blobs
    /// and children are recorded, the document itself returned.
    fn manifest(
        &mut self,
        descriptor: &Descriptor,
        parent: &Path,
        depth: usize,
    ) -> Result<Document, PushError> {
        let digest = sha256_digest(parent, &descriptor.digest)?;
        let path = self.blob_path(&digest);
        if !path.is_file() {
            return Err(PushError::MissingBlob { digest, path });
        }
        let bytes = read_bounded(&path, self.limit as u64, "manifest")?;
        let actual = Digest::sha256_from_bytes(Sha256::digest(&bytes).into());
        if actual != digest {
            return Err(PushError::BlobDigestMismatch {
                digest,
                path,
                actual,
            });
        }
        if bytes.len() as u64 != descriptor.size {
            return Err(PushError::BlobSizeMismatch {
                digest,
                path,
                expected: descriptor.size,
                actual: bytes.len() as u64,
            });
        }
        let parsed: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| PushError::Malformed {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        let media_type = match (&parsed.media_type, descriptor.media_type.as_str()) {
            (Some(own), _) if !own.is_empty() => own.clone(),
            (_, given) if !given.is_empty() => given.to_owned(),
            _ if parsed.manifests.is_some() => "application/vnd.oci.image.index.v1+json".into(),
            _ => "application/vnd.oci.image.manifest.v1+json".into(),
        };
        if is_index(&media_type) || parsed.manifests.is_some() {
            if depth >= MAX_DEPTH {
                return Err(PushError::Malformed {
                    path,
                    detail: format!("indexes are nested more than {MAX_DEPTH} deep"),
                });
            }
            for child in parsed.manifests.iter().flatten() {
                let document = self.manifest(child, &path, depth + 1)?;
                if !self.children.iter().any(|c| c.digest == document.digest) {
                    self.children.push(document);
                }
            }
        } else {
            let Some(config) = &parsed.config else {
                return Err(PushError::Malformed {
                    path,
                    detail: "it is neither an image manifest (no `config`) nor an index".into(),
                });
            };
            self.blob(config, &path)?;
            for layer in &parsed.layers {
                self.blob(layer, &path)?;
            }
        }
        Ok(Document {
            digest,
            media_type,
            bytes,
        })
    }

    /// Records a blob to push after checking that its file exists with the right size.
    fn blob(&mut self, descriptor: &Descriptor, parent: &Path) -> Result<(), PushError> {
        let digest = sha256_digest(parent, &descriptor.digest)?;
        if self.seen.contains(&digest) {
            return Ok(());
        }
        let path = self.blob_path(&digest);
        let metadata = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            // A foreign (non-distributable) layer lives at its URLs, not in the layout.
            Err(_) if !descriptor.urls.is_empty() => return Ok(()),
            _ => return Err(PushError::MissingBlob { digest, path }),
        };
        if metadata.len() != descriptor.size {
            return Err(PushError::BlobSizeMismatch {
                digest,
                path,
                expected: descriptor.size,
                actual: metadata.len(),
            });
        }
        self.seen.insert(digest.clone());
        self.blobs.push(Blob {
            digest,
            size: descriptor.size,
            data: BlobData::File { path, offset: 0 },
        });
        Ok(())
    }

    /// `blobs/sha256/<hex>`; the digest was validated, so the hex is 64 hex digits.
    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs").join("sha256").join(digest.hex())
    }
}

/// A sha256 digest, validated before it becomes part of a path.
fn sha256_digest(path: &Path, value: &str) -> Result<Digest, PushError> {
    match value.parse::<Digest>() {
        Ok(digest) if digest.is_sha256() => Ok(digest),
        _ => Err(PushError::InvalidDigest {
            path: path.to_owned(),
            value: value.chars().take(100).collect(),
        }),
    }
}

/// Reads a whole file of at most `limit` bytes.
pub(super) fn read_bounded(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, PushError> {
    let read_error = |source| PushError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(PushError::TooLarge {
            path: path.to_owned(),
            what,
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_validated_before_becoming_paths() {
        let p = Path::new("index.json");
        for bad in [
            "sha256:../../etc/passwd",
            "sha256:ABCDEF",
            "md5:abc",
            "",
            &format!("sha512:{}", "a".repeat(128)),
            &format!("sha256:{}/x", "a".repeat(63)),
        ] {
            assert!(sha256_digest(p, bad).is_err(), "{bad}");
        }
        assert!(sha256_digest(p, &format!("sha256:{}", "a".repeat(64))).is_ok());
    }
}
