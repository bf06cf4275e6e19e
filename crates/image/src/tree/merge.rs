//! Applying one decoded layer onto the tree of the layers below it.
//!
//! Order matters and follows the OCI layer spec: a layer's whiteouts apply only to
//! LOWER layers, so they are applied first, then the layer's entries in tar order.
//! The tree keeps one invariant: every ancestor of a path is a `Dir` node, so a
//! directory replaced by a file or a symlink takes its whole subtree with it.

use std::sync::Arc;

use super::{FileTree, Node, NodeKind, TreeError};
use crate::entry_path::{child, split_parent};
use crate::layer::{EntryKind, LayerContents, LayerEntry};

/// A wanted hardlink whose target's content was not kept: it must be read again from
/// the layer that wrote the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingHardlink {
    /// The hardlink's path and the layer that wrote it.
    pub path: String,
    pub link_layer: usize,
    /// Where the content lives: the target's path and layer.
    pub target: String,
    pub target_layer: usize,
}

impl FileTree {
    /// Merges layer `index` on top of the tree.
    pub(crate) fn apply_layer(
        &mut self,
        index: usize,
        contents: LayerContents,
    ) -> Result<Vec<PendingHardlink>, TreeError> {
        for whiteout in &contents.whiteouts {
            let Some(dir) = self.existing_dir(&whiteout.dir)? else {
                continue; // nothing below to hide
            };
            match &whiteout.name {
                Some(name) => self.remove_subtree(&child(&dir, name)),
                None => self.remove_children(&dir),
            }
        }
        let mut pending = Vec::new();
        for entry in contents.entries {
            self.apply_entry(index, entry, &mut pending)?;
        }
        Ok(pending)
    }

    fn apply_entry(
        &mut self,
        index: usize,
        entry: LayerEntry,
        pending: &mut Vec<PendingHardlink>,
    ) -> Result<(), TreeError> {
        let (parent, name) = split_parent(&entry.path);
        // Almost always the parent is already a directory under its own name, and the
        // entry's path is its real path: no new string (this runs for every tar entry).
        let path = if parent == "/" || self.nodes.get(parent).is_some_and(Node::is_dir) {
            entry.path.clone()
        } else {
            let parent = self.ensure_dir(parent, index)?;
            child(&parent, name)
        };
        let node = match entry.kind {
            EntryKind::Dir => {
                if let Some(existing) = self.nodes.get_mut(&path)
                    && existing.is_dir()
                {
                    // Re-stating a directory keeps its children and takes its metadata.
                    existing.mode = entry.mode;
                    existing.layer = Some(index);
                    return Ok(());
                }
                Node::new(NodeKind::Dir, Some(index), entry.mode, 0, None)
            }
            EntryKind::File => Node::new(
                NodeKind::File,
                Some(index),
                entry.mode,
                entry.size,
                entry.content,
            )
            .with_selected(entry.wanted),
            EntryKind::Symlink(target) => {
                Node::new(NodeKind::Symlink(target), Some(index), entry.mode, 0, None)
            }
            EntryKind::Other => Node::new(NodeKind::Other, Some(index), entry.mode, 0, None),
            EntryKind::Hardlink(target) => {
                let (target_path, target_node) = self.hardlink_target(index, &path, &target)?;
                let content = target_node.shared_content();
                // A target the selector already saw has nothing more to give: its
                // summarizer found nothing in these bytes. Reading its layer again would
                // cost a whole second decompression (hardlinked executables are common).
                if content.is_none()
                    && entry.wanted
                    && !target_node.was_selected()
                    && target_node.is_file()
                    && let Some(target_layer) = target_node.layer
                {
                    pending.push(PendingHardlink {
                        path: path.clone(),
                        link_layer: index,
                        target: target_path,
                        target_layer,
                    });
                }
                let selected = target_node.was_selected();
                Node::new(
                    target_node.kind.clone(),
                    Some(index),
                    target_node.mode,
                    target_node.size,
                    content,
                )
                .with_selected(selected)
            }
        };
        // One lookup: replace in place, and clear the children of a directory that a
        // non-directory replaced.
        match self.nodes.entry(path) {
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                let orphaned = slot.get().is_dir().then(|| slot.key().clone());
                slot.insert(node);
                if let Some(dir) = orphaned {
                    self.remove_children(&dir);
                }
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(node);
            }
        }
        Ok(())
    }

    fn hardlink_target(
        &self,
        index: usize,
        path: &str,
        target: &str,
    ) -> Result<(String, &Node), TreeError> {
        let found = match self.nodes.get_key_value(target) {
            Some((k, n)) => Some((k.clone(), n)),
            None => self.resolve(target)?,
        };
        match found {
            None => Err(TreeError::HardlinkTargetMissing {
                layer: index,
                path: path.to_owned(),
                target: target.to_owned(),
            }),
            Some((_, node)) if node.is_dir() => Err(TreeError::HardlinkToDirectory {
                layer: index,
                path: path.to_owned(),
                target: target.to_owned(),
            }),
            Some(found) => Ok(found),
        }
    }

    /// The real path of an existing directory (following symlinks), if there is one.
    fn existing_dir(&self, dir: &str) -> Result<Option<String>, TreeError> {
        if dir == "/" || self.nodes.get(dir).is_some_and(Node::is_dir) {
            return Ok(Some(dir.to_owned()));
        }
        Ok(self
            .resolve(dir)?
            .filter(|(_, n)| n.is_dir())
            .map(|(p, _)| p))
    }

    /// Makes `dir` a directory, creating missing parents as a tar extraction would, and
    /// returns its real path. A parent that is a symlink to a directory is followed (as
    /// containerd does); anything else in the way is replaced by a directory.
    fn ensure_dir(&mut self, dir: &str, index: usize) -> Result<String, TreeError> {
        if dir == "/" || self.nodes.get(dir).is_some_and(Node::is_dir) {
            return Ok(dir.to_owned());
        }
        if let Some(real) = self.existing_dir(dir)? {
            return Ok(real);
        }
        let (parent, name) = split_parent(dir);
        let parent = self.ensure_dir(parent, index)?;
        let path = child(&parent, name);
        self.remove_subtree(&path);
        self.nodes.insert(
            path.clone(),
            Node::new(NodeKind::Dir, Some(index), 0o755, 0, None),
        );
        Ok(path)
    }

    /// Fills a re-read hardlink target's content into the hardlink, unless a later
    /// layer replaced the hardlink meanwhile.
    pub(crate) fn fill_hardlink(&mut self, link: &PendingHardlink, content: Arc<[u8]>) {
        if let Some(node) = self.nodes.get_mut(&link.path)
            && node.layer == Some(link.link_layer)
            && node.is_file()
            && node.content.is_none()
        {
            node.content = Some(content);
        }
    }
}
