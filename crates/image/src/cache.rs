//! A cache of decoded layers, keyed by what was verified when the layer was
//! decoded: an image whose layers were seen before is not decoded again, and
//! images sharing a base share its cached layers.
//!
//! The key is a hash of the entry format, the layer's stored (compressed) blob
//! digest, its diff_id and what the selector keeps. An entry is written only
//! after a read that verified both digests (`LayerReader::read` returns `Ok`
//! only then), so an entry under (blob `X`, diff_id `D`) says that `X` was seen
//! to decode to `D`. A claimed diff_id alone never finds an entry: see
//! [`key`] for the layers whose source names no blob digest.
//!
//! An entry is the verified digests and the layer's [`LayerContents`] (every
//! path with its metadata, the whiteouts, and the kept or summarised content),
//! postcard-encoded and zstd-compressed, behind a format header. A missing,
//! truncated or foreign entry is a miss, never an error: the layer is then
//! decoded as usual.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use portcullis_types::Digest;

use crate::layer::{EntryKind, LayerContents, LayerEntry, VerifiedDigests, Whiteout};

/// Where decoded layers are kept between runs.
pub trait LayerCache: Send + Sync + std::fmt::Debug {
    /// The bytes stored under `key`, if any.
    fn load(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores `bytes` under `key`; failures are ignored (a cache is optional).
    fn store(&self, key: &str, bytes: &[u8]);
}

/// A [`LayerCache`] in a directory: one file per layer, written to a
/// temporary file and renamed, so a reader never sees half an entry.
#[derive(Debug, Clone)]
pub struct DirLayerCache {
    dir: PathBuf,
}

impl DirLayerCache {
    pub fn new(dir: impl Into<PathBuf>) -> DirLayerCache {
        DirLayerCache { dir: dir.into() }
    }
}

impl LayerCache for DirLayerCache {
    fn load(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(format!("{key}.bin"))).ok()
    }

    fn store(&self, key: &str, bytes: &[u8]) {
        let _ = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let mut tmp = tempfile_in(&self.dir, key)?;
            tmp.1.write_all(bytes)?;
            tmp.1.sync_all()?;
            std::fs::rename(&tmp.0, self.dir.join(format!("{key}.bin")))
        })();
    }
}

fn tempfile_in(dir: &std::path::Path, key: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let path = dir.join(format!(".{key}.{}.tmp", std::process::id()));
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}

/// Bumped when the encoding or the key changes, so that older entries are never read.
/// Format 1 was keyed by the claimed diff_id alone and must never be trusted again.
const FORMAT: &[u8; 8] = b"PCLAYER2";

#[derive(Serialize, Deserialize)]
enum Kind {
    File,
    Dir,
    Symlink(String),
    Hardlink(String),
    Other,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    path: String,
    kind: Kind,
    mode: u32,
    size: u64,
    content: Option<Vec<u8>>,
    wanted: bool,
}

#[derive(Serialize, Deserialize)]
struct Contents {
    /// The digests verified when the entry was written.
    stored: String,
    diff_id: String,
    entries: Vec<Entry>,
    whiteouts: Vec<(String, Option<String>)>,
}

/// The cache key of a layer with the blob digest `stored` and the diff_id `diff_id`,
/// read with a selector whose [`cache_key`] is `selector_key`.
///
/// Lookups use the digests the manifest and config claim; entries are written under
/// the digests the read verified, which are then the same. A hit for (blob `X`,
/// claimed diff_id `D`) is sound without reading the blob: `X` was once decoded and
/// found to give `D`, and `X` names its bytes — every blob read is hashed while it
/// streams and compared with `X`, and the registry and OCI layouts address blobs by
/// that digest.
///
/// `stored: None` is for sources that name a layer by something other than its bytes
/// (classic docker-archives): the key then holds the claimed diff_id only, so the
/// caller must hash the stored bytes on a hit and compare them with the entry's
/// verified blob digest before using it (see [`decode`]).
///
/// [`cache_key`]: crate::Selector::cache_key
pub(crate) fn key(stored: Option<&Digest>, diff_id: &Digest, selector_key: &str) -> String {
    let mut hasher = Sha256::new();
    let mut field = |name: &str, value: &str| {
        // Length-prefixed, so that no two tuples hash the same bytes.
        for part in [name, value] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    };
    field("format", &String::from_utf8_lossy(FORMAT));
    field(
        "stored",
        &stored.map_or_else(String::new, Digest::to_string),
    );
    field("diff_id", &diff_id.to_string());
    field("selector", selector_key);
    let hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{hash}", diff_id.algorithm())
}

/// The entry for a layer whose read verified `digests`.
pub(crate) fn encode(digests: &VerifiedDigests, contents: &LayerContents) -> Option<Vec<u8>> {
    let plain = Contents {
        stored: digests.stored.to_string(),
        diff_id: digests.diff_id.to_string(),
        entries: contents
            .entries
            .iter()
            .map(|e| Entry {
                path: e.path.clone(),
                kind: match &e.kind {
                    EntryKind::File => Kind::File,
                    EntryKind::Dir => Kind::Dir,
                    EntryKind::Symlink(t) => Kind::Symlink(t.clone()),
                    EntryKind::Hardlink(t) => Kind::Hardlink(t.clone()),
                    EntryKind::Other => Kind::Other,
                },
                mode: e.mode,
                size: e.size,
                content: e.content.as_ref().map(|c| c.to_vec()),
                wanted: e.wanted,
            })
            .collect(),
        whiteouts: contents
            .whiteouts
            .iter()
            .map(|w| (w.dir.clone(), w.name.clone()))
            .collect(),
    };
    let bytes = postcard::to_stdvec(&plain).ok()?;
    let mut out = FORMAT.to_vec();
    out.extend(zstd::bulk::compress(&bytes, 1).ok()?);
    Some(out)
}

/// An entry's verified digests and contents; the caller checks the digests against the
/// layer it is reading before using the contents.
pub(crate) fn decode(bytes: &[u8]) -> Option<(VerifiedDigests, LayerContents)> {
    let body = bytes.strip_prefix(FORMAT.as_slice())?;
    // The cache lives in the user's data directory, but a corrupt entry must
    // still not exhaust memory: no layer's metadata comes near 1 GiB.
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(zstd::stream::Decoder::new(body).ok()?, 1 << 30),
        &mut plain,
    )
    .ok()?;
    let contents: Contents = postcard::from_bytes(&plain).ok()?;
    let digests = VerifiedDigests {
        stored: contents.stored.parse().ok()?,
        diff_id: contents.diff_id.parse().ok()?,
    };
    let layer = LayerContents {
        entries: contents
            .entries
            .into_iter()
            .map(|e| LayerEntry {
                path: e.path,
                kind: match e.kind {
                    Kind::File => EntryKind::File,
                    Kind::Dir => EntryKind::Dir,
                    Kind::Symlink(t) => EntryKind::Symlink(t),
                    Kind::Hardlink(t) => EntryKind::Hardlink(t),
                    Kind::Other => EntryKind::Other,
                },
                mode: e.mode,
                size: e.size,
                content: e.content.map(Arc::from),
                wanted: e.wanted,
            })
            .collect(),
        whiteouts: contents
            .whiteouts
            .into_iter()
            .map(|(dir, name)| Whiteout { dir, name })
            .collect(),
    };
    Some((digests, layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: u8) -> Digest {
        Digest::sha256_from_bytes([byte; 32])
    }

    #[test]
    fn every_verified_digest_is_part_of_the_key() {
        let base = key(Some(&digest(1)), &digest(2), "sel");
        assert_eq!(base, key(Some(&digest(1)), &digest(2), "sel"));
        assert_ne!(base, key(Some(&digest(3)), &digest(2), "sel"));
        assert_ne!(base, key(Some(&digest(1)), &digest(3), "sel"));
        assert_ne!(base, key(Some(&digest(1)), &digest(2), "other"));
        assert_ne!(base, key(None, &digest(2), "sel"));
        assert_ne!(key(None, &digest(2), "sel"), key(None, &digest(1), "sel"));
    }

    #[test]
    fn entries_carry_their_verified_digests_and_older_formats_are_misses() {
        let verified = VerifiedDigests {
            stored: digest(1),
            diff_id: digest(2),
        };
        let contents = LayerContents {
            entries: vec![LayerEntry {
                path: "/etc/os-release".to_owned(),
                kind: EntryKind::File,
                mode: 0o644,
                size: 3,
                content: Some(Arc::from(&b"ID="[..])),
                wanted: true,
            }],
            whiteouts: vec![],
        };
        let bytes = encode(&verified, &contents).unwrap_or_default();
        let Some((digests, back)) = decode(&bytes) else {
            panic!("an entry just encoded decodes");
        };
        assert_eq!(digests, verified);
        assert_eq!(back.entries.len(), 1);
        let mut old = b"PCLAYER1".to_vec();
        old.extend(bytes.get(FORMAT.len()..).unwrap_or_default());
        assert!(decode(&old).is_none(), "a format-1 entry is never read");
    }
}
