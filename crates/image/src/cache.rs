//! A cache of decoded layers, keyed by the layer's `diff_id` and by what the
//! selector keeps: an image whose layers were seen before is not decoded
//! again, and images sharing a base share its cached layers.
//!
//! An entry is the layer's [`LayerContents`] (every path with its metadata,
//! the whiteouts, and the kept or summarised content), postcard-encoded and
//! zstd-compressed, behind a format header. A missing, truncated or foreign
//! entry is a miss, never an error: the layer is then decoded as usual.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::layer::{EntryKind, LayerContents, LayerEntry, Whiteout};

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

/// Bumped when the encoding below changes.
const FORMAT: &[u8; 8] = b"PCLAYER1";

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
    entries: Vec<Entry>,
    whiteouts: Vec<(String, Option<String>)>,
}

/// The cache key of a layer read with a selector whose [`cache_key`] is `selector_key`.
///
/// [`cache_key`]: crate::Selector::cache_key
pub(crate) fn key(diff_id: &portcullis_types::Digest, selector_key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(FORMAT);
    hasher.update(selector_key.as_bytes());
    let selector: String = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{}-{selector}", diff_id.algorithm(), diff_id.hex())
}

pub(crate) fn encode(contents: &LayerContents) -> Option<Vec<u8>> {
    let plain = Contents {
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

pub(crate) fn decode(bytes: &[u8]) -> Option<LayerContents> {
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
    Some(LayerContents {
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
    })
}
