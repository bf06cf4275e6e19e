//! The layer cache: a second read of an image takes every layer from the
//! cache and builds the same tree; another selector does not share entries;
//! a corrupt entry is a miss, never a wrong tree or an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use portcullis_image::{
    DirLayerCache, EntryInfo, LayerCache, NoProgress, ReadOptions, Selection, Selector, Source,
    read_image,
};
use portcullis_testkit::{Compression, OciLayoutBuilder};

use super::sources::sample_image;
use super::support::{path_str, summary};

#[derive(Debug)]
struct Counting {
    inner: DirLayerCache,
    hits: AtomicUsize,
    stores: AtomicUsize,
}

impl LayerCache for Counting {
    fn load(&self, key: &str) -> Option<Vec<u8>> {
        let found = self.inner.load(key);
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::SeqCst);
        }
        found
    }

    fn store(&self, key: &str, bytes: &[u8]) {
        self.stores.fetch_add(1, Ordering::SeqCst);
        self.inner.store(key, bytes);
    }
}

struct Keeping(&'static str, &'static str);

impl Selector for Keeping {
    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if entry.path.ends_with(self.0) {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn cache_key(&self) -> Option<String> {
        Some(self.1.to_owned())
    }
}

#[test]
fn a_second_read_takes_every_layer_from_the_cache() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let layout = dir.path().join("oci");
    OciLayoutBuilder::write_single(&layout, &sample_image(Compression::Gzip), "v1");
    let source = Source::parse(&format!("oci:{}:v1", path_str(&layout)))?;
    let cache = Arc::new(Counting {
        inner: DirLayerCache::new(dir.path().join("cache")),
        hits: AtomicUsize::new(0),
        stores: AtomicUsize::new(0),
    });
    let options = ReadOptions {
        layer_cache: Some(cache.clone()),
        ..ReadOptions::default()
    };
    let status = Keeping("dpkg/status", "status-v1");
    let uncached = read_image(&source, &ReadOptions::default(), &status, &NoProgress)?;

    let first = read_image(&source, &options, &status, &NoProgress)?;
    assert_eq!(cache.hits.load(Ordering::SeqCst), 0);
    assert_eq!(
        cache.stores.load(Ordering::SeqCst),
        3,
        "one entry per layer"
    );
    let second = read_image(&source, &options, &status, &NoProgress)?;
    assert_eq!(
        cache.hits.load(Ordering::SeqCst),
        3,
        "every layer from the cache"
    );
    assert_eq!(
        cache.stores.load(Ordering::SeqCst),
        3,
        "nothing stored again"
    );
    assert_eq!(summary(&first.tree), summary(&uncached.tree));
    assert_eq!(summary(&second.tree), summary(&uncached.tree));
    assert_eq!(second.info, uncached.info);
    assert!(
        second
            .tree
            .read("/var/lib/dpkg/status")?
            .is_some_and(|c| c.ends_with(b"Version: 7.88\n"))
    );

    // A selector keeping something else has its own entries.
    let release = Keeping("os-release", "release-v1");
    let other = read_image(&source, &options, &release, &NoProgress)?;
    assert_eq!(cache.hits.load(Ordering::SeqCst), 3);
    assert_eq!(cache.stores.load(Ordering::SeqCst), 6);
    assert!(other.tree.read("/etc/os-release")?.is_some());
    assert!(
        other
            .tree
            .get("/var/lib/dpkg/status")
            .is_some_and(|n| n.content().is_none())
    );

    // Corrupt every entry: each is a miss, the layer is decoded again, the tree is right.
    for entry in std::fs::read_dir(dir.path().join("cache"))? {
        let path = entry?.path();
        let mut bytes = std::fs::read(&path)?;
        let half = bytes.len() / 2;
        bytes.truncate(half);
        std::fs::write(&path, bytes)?;
    }
    let after = read_image(&source, &options, &status, &NoProgress)?;
    assert_eq!(summary(&after.tree), summary(&uncached.tree));
    Ok(())
}
