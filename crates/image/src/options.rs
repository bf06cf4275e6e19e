//! How an image is read: platform, limits, threads, progress reporting.

use crate::platform::Platform;

/// Safety limits, each configurable, with defaults that let real images through and
/// stop hostile ones early (checked while streaming, never after the fact).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Total uncompressed bytes over all layers (decompression bombs). Default 32 GiB.
    pub max_uncompressed_bytes: u64,
    /// Number of tar entries over all layers. Default 4 million.
    pub max_entries: u64,
    /// Length of one normalised path, in bytes. Default 4096.
    pub max_path_len: usize,
    /// Size of one wanted file kept in memory. Default 512 MiB.
    pub max_retained_file_bytes: u64,
    /// Total size of the wanted files kept in memory. Default 2 GiB.
    pub max_retained_total_bytes: u64,
    /// Size of one JSON document (index, manifest, config, `manifest.json`). Default 16 MiB.
    pub max_metadata_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_uncompressed_bytes: 32 << 30,
            max_entries: 4_000_000,
            max_path_len: 4096,
            max_retained_file_bytes: 512 << 20,
            max_retained_total_bytes: 2 << 30,
            max_metadata_bytes: 16 << 20,
        }
    }
}

/// Everything [`read_image`](crate::read_image) needs besides the source.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Which image of a multi-platform index to read. Default `linux/amd64`.
    pub platform: Platform,
    pub limits: Limits,
    /// How to reach registries for `docker://` sources.
    pub registry: crate::registry_client::ClientOptions,
    /// Layers decoded at once; 0 means one per core.
    pub threads: usize,
    /// Where decoded layers are kept between runs (used when the selector
    /// has a cache key); `None`: decode every layer.
    pub layer_cache: Option<std::sync::Arc<dyn crate::LayerCache>>,
}

impl ReadOptions {
    pub(crate) fn thread_count(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        std::thread::available_parallelism().map_or(1, usize::from)
    }
}

/// Receives progress while layers are read; the CLI draws a bar from it.
///
/// Methods are called from several threads at once; all default to doing nothing.
pub trait Progress: Send + Sync {
    /// Called once, before any layer is read.
    fn layers(&self, count: usize, total_bytes: u64) {
        let _ = (count, total_bytes);
    }
    /// Stored (compressed) bytes read since the last call.
    fn advance(&self, compressed_bytes: u64) {
        let _ = compressed_bytes;
    }
    /// Layer `index` is fully read and verified (or failed).
    fn layer_done(&self, index: usize) {
        let _ = index;
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
