//! `dir:PATH`: an unpacked root filesystem, walked without following symlinks.
//!
//! Nothing here is a layer: nodes have no layer of origin, and only wanted files are
//! read. Limits on entries, path length and retained bytes apply as for layers.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::entry_path::child;
use crate::options::Limits;
use crate::select::{EntryInfo, Selection, Selector};
use crate::tree::{FileTree, Node, NodeKind};

/// Why a root filesystem could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("`{}` is not a directory; `dir:` expects an unpacked root filesystem", path.display())]
    NotADirectory { path: PathBuf },
    #[error("failed to read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` exceeds the limit `{limit}` ({value}); raise `{limit}` if the directory is trusted", path.display())]
    LimitExceeded {
        path: PathBuf,
        limit: &'static str,
        value: u64,
    },
}

pub(crate) fn read(
    root: &Path,
    limits: &Limits,
    selector: &dyn Selector,
) -> Result<FileTree, RootfsError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RootfsError::Io { path, source }
    };
    let meta = fs::symlink_metadata(root).map_err(io_err(root))?;
    if !meta.is_dir() {
        return Err(RootfsError::NotADirectory {
            path: root.to_owned(),
        });
    }
    let root_device = meta.dev();
    let mut tree = FileTree::new();
    let mut entries = 0u64;
    let mut retained = 0u64;
    // Depth-first, children sorted, so that results do not depend on the file system.
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_owned(), "/".to_owned())];
    while let Some((dir, tree_dir)) = stack.pop() {
        let mut children: Vec<(String, PathBuf)> = Vec::new();
        let listing = match fs::read_dir(&dir) {
            Ok(listing) => listing,
            // A directory we may not list (scanning `dir:/` as a user, say) is kept as an
            // empty directory: what is unreadable cannot be catalogued, as with peers.
            Err(e) if dir != root && skippable(&e) => continue,
            Err(e) => return Err(io_err(&dir)(e)),
        };
        for item in listing {
            let item = match item {
                Ok(item) => item,
                Err(e) if skippable(&e) => continue,
                Err(e) => return Err(io_err(&dir)(e)),
            };
            // Tar names are decoded the same lossy way.
            let name = item.file_name().to_string_lossy().into_owned();
            children.push((name, item.path()));
        }
        children.sort();
        let mut subdirs = Vec::new();
        for (name, path) in children {
            entries += 1;
            if entries > limits.max_entries {
                return Err(RootfsError::LimitExceeded {
                    path,
                    limit: "max_entries",
                    value: limits.max_entries,
                });
            }
            let tree_path = child(&tree_dir, &name);
            if tree_path.len() > limits.max_path_len {
                return Err(RootfsError::LimitExceeded {
                    path,
                    limit: "max_path_len",
                    value: limits.max_path_len as u64,
                });
            }
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                // Gone since it was listed, or not ours to look at.
                Err(e) if skippable(&e) => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            let mode = meta.permissions().mode() & 0o7777;
            let file_type = meta.file_type();
            let node = if file_type.is_dir() {
                // The kernel's pseudo file systems mounted on a live root (`dir:/`) are not
                // part of an image; walking /proc would also never end.
                let pseudo = tree_dir == "/"
                    && matches!(name.as_str(), "proc" | "sys" | "dev")
                    && meta.dev() != root_device;
                if !pseudo {
                    subdirs.push((path, tree_path.clone()));
                }
                Node::new(NodeKind::Dir, None, mode, 0, None)
            } else if file_type.is_symlink() {
                let target = fs::read_link(&path).map_err(io_err(&path))?;
                Node::new(
                    NodeKind::Symlink(target.to_string_lossy().into_owned()),
                    None,
                    mode,
                    0,
                    None,
                )
            } else if file_type.is_file() {
                let entry = EntryInfo {
                    path: &tree_path,
                    size: meta.len(),
                    mode,
                };
                let selection = selector.select(&entry);
                let content = match selection {
                    Selection::Keep => Some(retain(&path, meta.len(), limits, &mut retained)?),
                    // Too big to hold for summarizing: passed over, as in layers.
                    Selection::Summarize(summarize)
                        if meta.len() <= limits.max_retained_file_bytes =>
                    {
                        let mut bytes = Vec::new();
                        fs::File::open(&path)
                            .and_then(|f| {
                                f.take(limits.max_retained_file_bytes)
                                    .read_to_end(&mut bytes)
                            })
                            .map_err(io_err(&path))?;
                        match summarize(&tree_path, &bytes) {
                            Some(summary) => {
                                drop(bytes);
                                Some(retain_summary(&path, summary, limits, &mut retained)?)
                            }
                            None => None,
                        }
                    }
                    _ => None,
                };
                Node::new(NodeKind::File, None, mode, meta.len(), content)
                    .with_selected(!selection.is_skip())
            } else {
                Node::new(NodeKind::Other, None, mode, 0, None)
            };
            tree.insert(tree_path, node);
        }
        // Reverse so the stack pops them in sorted order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(tree)
}

fn retain_summary(
    path: &Path,
    summary: Vec<u8>,
    limits: &Limits,
    retained: &mut u64,
) -> Result<Arc<[u8]>, RootfsError> {
    *retained += summary.len() as u64;
    if *retained > limits.max_retained_total_bytes {
        return Err(RootfsError::LimitExceeded {
            path: path.to_owned(),
            limit: "max_retained_total_bytes",
            value: limits.max_retained_total_bytes,
        });
    }
    Ok(Arc::from(summary))
}

fn retain(
    path: &Path,
    size: u64,
    limits: &Limits,
    retained: &mut u64,
) -> Result<Arc<[u8]>, RootfsError> {
    if size > limits.max_retained_file_bytes {
        return Err(RootfsError::LimitExceeded {
            path: path.to_owned(),
            limit: "max_retained_file_bytes",
            value: limits.max_retained_file_bytes,
        });
    }
    *retained += size;
    if *retained > limits.max_retained_total_bytes {
        return Err(RootfsError::LimitExceeded {
            path: path.to_owned(),
            limit: "max_retained_total_bytes",
            value: limits.max_retained_total_bytes,
        });
    }
    let mut bytes = Vec::new();
    // A file growing while we read it must not get past the limit either.
    fs::File::open(path)
        .and_then(|f| {
            f.take(limits.max_retained_file_bytes)
                .read_to_end(&mut bytes)
        })
        .map_err(|source| RootfsError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(Arc::from(bytes))
}

/// Errors that only make one entry unreadable: it is skipped, the walk goes on.
fn skippable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::NotFound
    )
}
