//! Decoding layers several at a time, merging them in order, and the second pass for
//! wanted hardlinks whose target was not kept.
//!
//! Layers are decoded by a pool of scoped threads, largest first, into per-layer entry
//! lists (metadata plus wanted content); the merge is a cheap in-order pass afterwards.
//! A wanted hardlink to an unwanted file (e.g. a wanted `/a` hardlinked to `/b`) only
//! learns that it needs `/b`'s bytes at merge time, so those targets are read again
//! from their layer in a second, rare pass that keeps only them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{ImageError, LayerOpener};
use crate::cache::{self, LayerCache};
use crate::layer::{Budget, LayerContents, LayerError, LayerReader, LayerSpec, VerifiedDigests};
use crate::options::{Progress, ReadOptions};
use crate::select::{EntryInfo, Selection, Selector};
use crate::tree::{FileTree, PendingHardlink};

type Slot = Mutex<Option<Result<LayerContents, ImageError>>>;

pub(crate) fn read_layers(
    layers: &[LayerSpec],
    opener: &dyn LayerOpener,
    options: &ReadOptions,
    selector: &dyn Selector,
    progress: &dyn Progress,
) -> Result<FileTree, ImageError> {
    let total: u64 = layers.iter().filter_map(|l| l.stored_size).sum();
    progress.layers(layers.len(), total);
    let budget = Budget::new(&options.limits);
    let (order, threads) = match opener.sequential_order() {
        Some(order) => (order, 1),
        None => {
            let mut order: Vec<usize> = (0..layers.len()).collect();
            // Largest first keeps all threads busy until the end.
            order.sort_by_key(|&i| {
                std::cmp::Reverse(layers.get(i).and_then(|l| l.stored_size).unwrap_or(0))
            });
            (order, options.thread_count().clamp(1, layers.len().max(1)))
        }
    };
    let slots: Vec<Slot> = layers.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let (Some(spec), Some(slot)) = (layers.get(index), slots.get(index)) else {
                break;
            };
            let layer = OneLayer {
                index,
                spec,
                opener,
                options,
                selector,
                budget: &budget,
                progress,
            };
            let result = layer.read();
            if result.is_err() {
                budget.cancel();
            }
            progress.layer_done(index);
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        }
    };
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(work);
            }
        });
    }
    let mut decoded = Vec::with_capacity(layers.len());
    let mut first_error = None;
    for (index, slot) in slots.into_iter().enumerate() {
        let result = slot
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(Err(LayerError::Cancelled { layer: index }.into()));
        match result {
            Ok(contents) => decoded.push(contents),
            Err(ImageError::Layer(e)) if e.is_cancelled() => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut tree = FileTree::new();
    let mut pending = Vec::new();
    for (index, contents) in decoded.into_iter().enumerate() {
        pending.extend(tree.apply_layer(index, contents)?);
    }
    if !pending.is_empty() {
        fill_hardlinks(
            &mut tree, &pending, layers, opener, selector, &budget, progress,
        )?;
    }
    Ok(tree)
}

/// One layer to read, from the cache or by decoding it.
struct OneLayer<'a> {
    index: usize,
    spec: &'a LayerSpec,
    opener: &'a dyn LayerOpener,
    options: &'a ReadOptions,
    selector: &'a dyn Selector,
    budget: &'a Budget<'a>,
    progress: &'a dyn Progress,
}

impl OneLayer<'_> {
    fn read(&self) -> Result<LayerContents, ImageError> {
        if self.budget.is_cancelled() {
            return Err(LayerError::Cancelled { layer: self.index }.into());
        }
        let Some((cache, selector_key)) = self
            .options
            .layer_cache
            .as_deref()
            .zip(self.selector.cache_key())
        else {
            return Ok(self.decode()?.0);
        };
        let claimed = cache::key(
            self.spec.stored_digest.as_ref(),
            &self.spec.diff_id,
            &selector_key,
        );
        if let Some(contents) = self.cached(cache, &claimed) {
            return Ok(contents);
        }
        let (contents, verified) = self.decode()?;
        // Stored under what the read verified (the same digests as claimed, now proven).
        let key = cache::key(
            self.spec.stored_digest.as_ref().map(|_| &verified.stored),
            &verified.diff_id,
            &selector_key,
        );
        if let Some(bytes) = cache::encode(&verified, &contents) {
            cache.store(&key, &bytes);
        }
        Ok(contents)
    }

    fn decode(&self) -> Result<(LayerContents, VerifiedDigests), ImageError> {
        let reader = LayerReader {
            index: self.index,
            spec: self.spec,
            selector: self.selector,
            budget: self.budget,
            progress: self.progress,
        };
        Ok(reader.read(self.opener.open(self.index)?)?)
    }

    /// The cached contents under `key`, if the entry's verified digests are this
    /// layer's. With a blob digest in the key, they are by construction (and the blob is
    /// not read: see [`cache::key`]). Without one (classic docker-archives), the key
    /// holds only the claimed diff_id, so the stored bytes are hashed — far cheaper than
    /// decoding them — and must be the very bytes the entry was verified from; if not,
    /// the layer is decoded and verified like any other.
    fn cached(&self, cache: &dyn LayerCache, key: &str) -> Option<LayerContents> {
        let (verified, contents) = cache::decode(&cache.load(key)?)?;
        if verified.diff_id != self.spec.diff_id {
            return None;
        }
        match &self.spec.stored_digest {
            Some(stored) => {
                if verified.stored != *stored {
                    return None;
                }
                self.progress.advance(self.spec.stored_size.unwrap_or(0));
            }
            None => {
                let stream = self.opener.open(self.index).ok()?;
                let actual = crate::layer::hash_stored(stream, self.budget, self.progress).ok()?;
                if actual != verified.stored {
                    return None;
                }
            }
        }
        Some(contents)
    }
}

/// Reads hardlink targets again from their layers and gives their bytes to the links.
fn fill_hardlinks(
    tree: &mut FileTree,
    pending: &[PendingHardlink],
    layers: &[LayerSpec],
    opener: &dyn LayerOpener,
    selector: &dyn Selector,
    budget: &Budget<'_>,
    progress: &dyn Progress,
) -> Result<(), ImageError> {
    let mut by_layer: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    for link in pending {
        by_layer
            .entry(link.target_layer)
            .or_default()
            .insert(link.target.as_str());
    }
    for (index, targets) in by_layer {
        let Some(spec) = layers.get(index) else {
            continue;
        };
        let refill = Refill {
            links: pending
                .iter()
                .filter(|l| l.target_layer == index && targets.contains(l.target.as_str()))
                .map(|l| (l.target.as_str(), l.path.as_str()))
                .collect(),
            selector,
        };
        let reader = LayerReader {
            index,
            spec,
            selector: &refill,
            budget,
            progress,
        };
        let (contents, _) = reader.read(opener.open(index)?)?;
        let found: BTreeMap<&str, Arc<[u8]>> = contents
            .entries
            .iter()
            .filter_map(|e| e.content.clone().map(|c| (e.path.as_str(), c)))
            .collect();
        for link in pending.iter().filter(|l| l.target_layer == index) {
            if let Some(content) = found.get(link.target.as_str()) {
                tree.fill_hardlink(link, Arc::clone(content));
            }
        }
    }
    Ok(())
}

/// Selects a hardlink's target, on the second pass, as the first pass selected the link
/// itself: a summarized link gets the summary of its target's bytes, not the bytes.
struct Refill<'a> {
    /// Target path → the path of a link to it.
    links: BTreeMap<&'a str, &'a str>,
    selector: &'a dyn Selector,
}

impl Selector for Refill<'_> {
    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        match self.links.get(entry.path) {
            Some(link) => self.selector.select(&EntryInfo {
                path: link,
                ..*entry
            }),
            None => Selection::Skip,
        }
    }
}
