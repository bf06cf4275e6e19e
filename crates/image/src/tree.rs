//! The merged file tree of an image: every path, its kind, metadata, the layer that
//! last wrote it, and the content of the files the caller wanted.

mod merge;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::entry_path::normalise_query;
pub(crate) use merge::PendingHardlink;

/// Symlinks followed while resolving one path, as Linux's `MAXSYMLINKS`.
const MAX_SYMLINK_HOPS: usize = 40;

/// The merged view of all layers, keyed by absolute normalised path.
///
/// The root directory `/` is implicit: [`get`](Self::get) and [`resolve`](Self::resolve)
/// return it, [`iter`](Self::iter) and [`len`](Self::len) do not count it.
#[derive(Clone, Debug)]
pub struct FileTree {
    nodes: BTreeMap<String, Node>,
    root: Node,
}

/// One path in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// Index of the layer that last wrote this path; `None` for `dir:` sources and
    /// for the implicit root.
    pub layer: Option<usize>,
    pub mode: u32,
    pub size: u64,
    content: Option<Arc<[u8]>>,
    /// The selector was asked about this file's bytes and chose to keep or summarize them
    /// (a summary may still be absent: the summarizer found nothing).
    selected: bool,
}

/// What a path is. Hardlinks become the kind of their target (usually `File`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    /// The target as written in the layer; resolved only inside the tree.
    Symlink(String),
    /// Devices, fifos, sockets.
    Other,
}

/// Why a path could not be resolved or a layer merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TreeError {
    #[error(
        "too many levels of symbolic links resolving `{path}` (more than {MAX_SYMLINK_HOPS}); the image has a symlink loop"
    )]
    SymlinkLoop { path: String },
    #[error(
        "layer {layer} has a hardlink `{path}` to `{target}`, which does not exist in this layer or below it"
    )]
    HardlinkTargetMissing {
        layer: usize,
        path: String,
        target: String,
    },
    #[error("layer {layer} has a hardlink `{path}` to `{target}`, which is a directory")]
    HardlinkToDirectory {
        layer: usize,
        path: String,
        target: String,
    },
}

impl Node {
    pub(crate) fn new(
        kind: NodeKind,
        layer: Option<usize>,
        mode: u32,
        size: u64,
        content: Option<Arc<[u8]>>,
    ) -> Self {
        Self {
            kind,
            layer,
            mode,
            size,
            content,
            selected: false,
        }
    }

    /// Marks a file whose bytes the selector saw (see `selected`).
    pub(crate) fn with_selected(mut self, selected: bool) -> Self {
        self.selected = selected;
        self
    }

    /// Whether the selector chose this file's bytes (kept or summarized).
    pub(crate) fn was_selected(&self) -> bool {
        self.selected
    }

    /// The content, when the file was wanted and kept.
    pub fn content(&self) -> Option<&[u8]> {
        self.content.as_deref()
    }

    pub fn is_dir(&self) -> bool {
        self.kind == NodeKind::Dir
    }

    pub fn is_file(&self) -> bool {
        self.kind == NodeKind::File
    }

    pub(crate) fn shared_content(&self) -> Option<Arc<[u8]>> {
        self.content.clone()
    }
}

impl Default for FileTree {
    fn default() -> Self {
        Self::new()
    }
}

impl FileTree {
    /// An empty tree (just the root directory).
    pub fn new() -> Self {
        Self {
            nodes: BTreeMap::new(),
            root: Node::new(NodeKind::Dir, None, 0o755, 0, None),
        }
    }

    /// The node at exactly `path` (absolute, normalised first), without following symlinks.
    pub fn get(&self, path: &str) -> Option<&Node> {
        let path = normalise_query(path);
        if path == "/" {
            return Some(&self.root);
        }
        self.nodes.get(&path)
    }

    /// Follows symlinks in every component of `path` and returns the real path and node.
    ///
    /// Absolute targets are relative to the image root and `..` never climbs above it,
    /// so resolution can never leave the image. `Ok(None)` when a component is missing
    /// or is not a directory; an error for symlink loops.
    pub fn resolve(&self, path: &str) -> Result<Option<(String, &Node)>, TreeError> {
        let mut pending: Vec<String> = components_reversed(path);
        let mut current: Vec<String> = Vec::new();
        let mut hops = 0usize;
        while let Some(part) = pending.pop() {
            if part == ".." {
                current.pop();
                continue;
            }
            current.push(part);
            let joined = join(&current);
            let Some(node) = self.nodes.get(&joined) else {
                return Ok(None);
            };
            match &node.kind {
                NodeKind::Dir => {}
                NodeKind::Symlink(target) => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(TreeError::SymlinkLoop {
                            path: normalise_query(path),
                        });
                    }
                    current.pop();
                    if target.starts_with('/') {
                        current.clear();
                    }
                    pending.extend(components_reversed(target));
                }
                NodeKind::File | NodeKind::Other => {
                    if !pending.is_empty() {
                        return Ok(None);
                    }
                }
            }
        }
        if current.is_empty() {
            return Ok(Some(("/".to_owned(), &self.root)));
        }
        let joined = join(&current);
        Ok(self
            .nodes
            .get_key_value(&joined)
            .map(|(k, n)| (k.clone(), n)))
    }

    /// The retained content of the file at `path` after resolving symlinks; `None` when
    /// it is absent, not a file, or was not wanted.
    pub fn read(&self, path: &str) -> Result<Option<&[u8]>, TreeError> {
        Ok(self.resolve(path)?.and_then(|(_, node)| node.content()))
    }

    /// Names of the children of directory `dir` (after resolving it), sorted.
    pub fn read_dir(&self, dir: &str) -> Vec<&str> {
        let Ok(Some((real, node))) = self.resolve(dir) else {
            return Vec::new();
        };
        if !node.is_dir() {
            return Vec::new();
        }
        let prefix = if real == "/" {
            "/".to_owned()
        } else {
            format!("{real}/")
        };
        self.nodes
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(k, _)| k.as_str())
            .take_while(|k| k.starts_with(&prefix))
            .filter_map(|k| k.get(prefix.len()..))
            .filter(|rest| !rest.contains('/'))
            .collect()
    }

    /// Every path (but the root) with its node, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Inserts a node for `dir:` sources, whose walk yields parents first.
    pub(crate) fn insert(&mut self, path: String, node: Node) {
        self.nodes.insert(path, node);
    }

    /// Removes `path` and everything below it.
    fn remove_subtree(&mut self, path: &str) {
        // Only directories have children (every ancestor of a path is a `Dir`).
        if self.nodes.remove(path).is_some_and(|n| n.is_dir()) {
            self.remove_children(path);
        }
    }

    /// Removes everything below `dir`, keeping `dir` itself.
    fn remove_children(&mut self, dir: &str) {
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        // Keys below `dir` are contiguous: they all start with `dir/`.
        let below: Vec<String> = self
            .nodes
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for key in below {
            self.nodes.remove(&key);
        }
    }
}

fn components_reversed(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .rev()
        .map(str::to_owned)
        .collect()
}

fn join(parts: &[String]) -> String {
    let mut out = String::new();
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests;
