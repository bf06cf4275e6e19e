//! The manifests a pushed manifest reaches, read with the registry's own reader, so that
//! what is scanned, what is decided and what is promoted are the same set.
//!
//! Every manifest reachable from the pushed one is visited, whatever its declared platform
//! or media type: indexes are followed (nested ones too), container images are the scan
//! targets, and everything else (artifacts, attestations, signatures, anything with a
//! `subject`) is recorded as not judged. Promotion copies the indexes and the judged images
//! only, so what was not judged never reaches the scanned zone.

use std::collections::BTreeSet;
use std::path::Path;

use portcullis_store::{StoreError, StoreTransaction};
use portcullis_types::Digest;
use portcullis_types::manifest::{ManifestKind, parse_manifest};
use sha2::{Digest as _, Sha256};

/// How many manifests one push may reach, and how deep indexes may nest: bounds the work
/// an attacker's graph can cause (the scanner's own nesting limit is 8).
pub const MAX_MANIFESTS: usize = 1000;
pub const MAX_DEPTH: usize = 8;

/// What a manifest reaches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// The root is an index (otherwise it is the only image, and `images` is empty).
    pub root_is_index: bool,
    /// Every index reached, the root first.
    pub indexes: Vec<Digest>,
    /// Container images reached through indexes, with the platform their parent declares,
    /// each once, in the order first reached.
    pub images: Vec<(Digest, Option<String>)>,
    /// Manifests reached that are not container images: never scanned, never promoted.
    pub artifacts: Vec<Digest>,
    /// Why the graph cannot be judged at all (too deep, too large, unreadable).
    pub problem: Option<String>,
}

impl Graph {
    /// The manifests promotion may copy: the indexes and the judged images.
    pub fn copyable(&self, root: &Digest) -> BTreeSet<Digest> {
        let mut set: BTreeSet<Digest> = self.indexes.iter().cloned().collect();
        set.extend(self.images.iter().map(|(d, _)| d.clone()));
        if !self.root_is_index {
            set.insert(root.clone());
        }
        set
    }
}

/// Walks the manifests `root` of `repository` reaches, reading their bytes from the blob
/// directory under `data_dir` (each checked against its digest).
pub async fn walk(
    tx: &mut StoreTransaction,
    data_dir: &Path,
    repository: &str,
    root: &Digest,
) -> Result<Graph, StoreError> {
    let mut graph = Graph::default();
    let mut seen = BTreeSet::new();
    // (digest, platform declared by the parent, depth); depth-first in manifest order.
    let mut pending: Vec<(Digest, Option<String>, usize)> = vec![(root.clone(), None, 0)];
    while let Some((digest, platform, depth)) = pending.pop() {
        if !seen.insert(digest.clone()) {
            continue;
        }
        if seen.len() > MAX_MANIFESTS {
            graph.problem = Some(format!(
                "the index reaches more than {MAX_MANIFESTS} manifests; split it"
            ));
            return Ok(graph);
        }
        let Some(record) = tx.manifest(repository, &digest).await? else {
            graph.problem = Some(format!(
                "manifest `{digest}` is not in repository `{repository}`; push it again"
            ));
            return Ok(graph);
        };
        let document = match read(data_dir, &digest).await.and_then(|bytes| {
            parse_manifest(Some(&record.media_type), &bytes).map_err(|e| e.to_string())
        }) {
            Ok(document) => document,
            Err(why) => {
                graph.problem = Some(format!("manifest `{digest}` cannot be read: {why}"));
                return Ok(graph);
            }
        };
        match document.kind {
            ManifestKind::Index => {
                if depth >= MAX_DEPTH {
                    graph.problem = Some(format!(
                        "indexes nest more than {MAX_DEPTH} deep at `{digest}`"
                    ));
                    return Ok(graph);
                }
                if depth == 0 {
                    graph.root_is_index = true;
                }
                graph.indexes.push(digest.clone());
                // Reversed so that the stack pops children in manifest order.
                for child in document.manifests.iter().rev() {
                    pending.push((child.digest.clone(), child.platform_name(), depth + 1));
                }
            }
            ManifestKind::Image if depth == 0 => {}
            ManifestKind::Image if document.is_container_image() => {
                graph.images.push((digest, platform));
            }
            ManifestKind::Image => graph.artifacts.push(digest),
        }
    }
    Ok(graph)
}

/// The stored bytes of `digest`, verified.
async fn read(data_dir: &Path, digest: &Digest) -> Result<Vec<u8>, String> {
    let path = data_dir
        .join("blobs")
        .join(digest.algorithm())
        .join(digest.hex());
    // Manifests are bounded by the registry's manifest size limit when pushed.
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| "its bytes are missing".to_owned())?;
    if !digest.is_sha256() || Digest::sha256_from_bytes(Sha256::digest(&bytes).into()) != *digest {
        return Err("its bytes do not match its digest".to_owned());
    }
    Ok(bytes)
}
