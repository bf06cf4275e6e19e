//! The layer cache: a second read of an image takes every layer from the
//! cache and builds the same tree; another selector does not share entries;
//! a corrupt entry is a miss, never a wrong tree or an error; a config that
//! claims a cached layer's diff_id for other bytes gets the same error as
//! without a cache, never the cached layer's files.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use portcullis_image::{
    DirLayerCache, EntryInfo, ImageError, LayerCache, LayerError, NoProgress, ReadOptions,
    Selection, Selector, Source, read_image,
};
use portcullis_testkit::{
    ArchiveForm, Compression, DockerArchiveBuilder, ImageBuilder, Layer, LayerBuilder,
    OciLayoutBuilder,
};

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

/// A counting cache in `dir`, and read options that use it.
fn counting(dir: &std::path::Path) -> (Arc<Counting>, ReadOptions) {
    let cache = Arc::new(Counting {
        inner: DirLayerCache::new(dir),
        hits: AtomicUsize::new(0),
        stores: AtomicUsize::new(0),
    });
    let options = ReadOptions {
        layer_cache: Some(cache.clone()),
        ..ReadOptions::default()
    };
    (cache, options)
}

/// The benign layer the scanner has already seen, and a vulnerable one.
fn benign_and_vulnerable(compression: Compression) -> (Layer, Layer) {
    let benign = LayerBuilder::new()
        .dir("var/lib/dpkg")
        .file("var/lib/dpkg/status", "Package: curl\nVersion: 8.5.0\n")
        .file("etc/benign", "nothing to see")
        .build(compression);
    let vulnerable = LayerBuilder::new()
        .dir("var/lib/dpkg")
        .file("var/lib/dpkg/status", "Package: curl\nVersion: 7.50.0\n")
        .file("etc/vulnerable", "backdoor")
        .build(compression);
    (benign, vulnerable)
}

/// The vulnerable layer under a config that claims the benign layer's diff_id.
fn impostor(benign: &Layer, vulnerable: &Layer) -> ImageBuilder {
    ImageBuilder::new()
        .layer(vulnerable.clone())
        .diff_ids(vec![benign.diff_id.clone()])
}

fn oci(dir: &std::path::Path, image: &ImageBuilder) -> anyhow::Result<Source> {
    OciLayoutBuilder::write_single(dir, image, "t");
    Ok(Source::parse(&format!("oci:{}:t", path_str(dir)))?)
}

fn classic_archive(path: &std::path::Path, image: ImageBuilder) -> anyhow::Result<Source> {
    DockerArchiveBuilder::new(ArchiveForm::Classic)
        .image(image, &["org/app:1"])
        .write(path);
    Ok(Source::parse(&format!(
        "docker-archive:{}",
        path_str(path)
    ))?)
}

/// Reads `source` with and without the cache: both must fail with the same diff_id
/// mismatch, and the cached read must neither succeed with the benign files nor store
/// anything.
fn assert_refused_like_uncached(
    source: &Source,
    cache: &Counting,
    options: &ReadOptions,
) -> anyhow::Result<()> {
    let status = Keeping("dpkg/status", "status-v1");
    let stores = cache.stores.load(Ordering::SeqCst);
    let uncached = read_image(source, &ReadOptions::default(), &status, &NoProgress)
        .expect_err("the impostor is refused without a cache");
    assert!(
        matches!(
            uncached,
            ImageError::Layer(LayerError::DiffIdMismatch { .. })
        ),
        "{uncached:?}"
    );
    let cached = match read_image(source, options, &status, &NoProgress) {
        Ok(image) => panic!(
            "the impostor was read from the cache: {:?}",
            summary(&image.tree)
        ),
        Err(e) => e,
    };
    assert!(
        matches!(cached, ImageError::Layer(LayerError::DiffIdMismatch { .. })),
        "{cached:?}"
    );
    assert_eq!(cached.to_string(), uncached.to_string());
    assert_eq!(
        cache.stores.load(Ordering::SeqCst),
        stores,
        "nothing is cached from a refused read"
    );
    Ok(())
}

#[test]
fn a_claimed_diff_id_never_borrows_a_cached_layer_in_a_layout() -> anyhow::Result<()> {
    for compression in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let dir = tempfile::tempdir()?;
        let (cache, options) = counting(&dir.path().join("cache"));
        let (benign, vulnerable) = benign_and_vulnerable(compression);
        let status = Keeping("dpkg/status", "status-v1");

        let good = oci(
            &dir.path().join("good"),
            &ImageBuilder::new().layer(benign.clone()),
        )?;
        read_image(&good, &options, &status, &NoProgress)?;
        assert_eq!(cache.stores.load(Ordering::SeqCst), 1, "{compression:?}");

        let bad = oci(&dir.path().join("bad"), &impostor(&benign, &vulnerable))?;
        assert_refused_like_uncached(&bad, &cache, &options)?;

        // The honest image is still a hit.
        let hits = cache.hits.load(Ordering::SeqCst);
        let again = read_image(&good, &options, &status, &NoProgress)?;
        assert_eq!(
            cache.hits.load(Ordering::SeqCst),
            hits + 1,
            "{compression:?}"
        );
        assert!(
            again
                .tree
                .read("/var/lib/dpkg/status")?
                .is_some_and(|c| c.ends_with(b"8.5.0\n"))
        );
    }
    Ok(())
}

#[test]
fn a_blob_named_by_its_digest_is_not_read_again_on_a_hit() -> anyhow::Result<()> {
    // The entry is keyed by the blob digest it was verified under: the blob is content
    // addressed, so the entry says what that digest decodes to whatever the file holds now.
    let dir = tempfile::tempdir()?;
    let (cache, options) = counting(&dir.path().join("cache"));
    let (benign, vulnerable) = benign_and_vulnerable(Compression::Gzip);
    let status = Keeping("dpkg/status", "status-v1");
    let layout = dir.path().join("good");
    let good = oci(&layout, &ImageBuilder::new().layer(benign.clone()))?;
    let first = read_image(&good, &options, &status, &NoProgress)?;
    let blob = layout
        .join("blobs/sha256")
        .join(benign.digest.trim_start_matches("sha256:"));
    std::fs::write(&blob, &vulnerable.bytes)?;
    let second = read_image(&good, &options, &status, &NoProgress)?;
    assert_eq!(cache.hits.load(Ordering::SeqCst), 1);
    assert_eq!(summary(&second.tree), summary(&first.tree));
    // Without the cache the substituted blob is caught by its digest.
    let err = read_image(&good, &ReadOptions::default(), &status, &NoProgress).unwrap_err();
    assert!(
        matches!(err, ImageError::Layer(LayerError::DigestMismatch { .. })),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn a_claimed_diff_id_never_borrows_a_cached_layer_in_a_docker_archive() -> anyhow::Result<()> {
    // Classic docker-archives name layers by an id, not by a digest of their bytes: the
    // diff_id is all there is, so a hit must still be checked against the stored bytes.
    for compression in [Compression::None, Compression::Gzip] {
        let dir = tempfile::tempdir()?;
        let (cache, options) = counting(&dir.path().join("cache"));
        let (benign, vulnerable) = benign_and_vulnerable(compression);
        let status = Keeping("dpkg/status", "status-v1");

        let good = classic_archive(
            &dir.path().join("good.tar"),
            ImageBuilder::new().layer(benign.clone()),
        )?;
        let first = read_image(&good, &options, &status, &NoProgress)?;
        assert_eq!(cache.stores.load(Ordering::SeqCst), 1, "{compression:?}");

        let bad = classic_archive(&dir.path().join("bad.tar"), impostor(&benign, &vulnerable))?;
        assert_refused_like_uncached(&bad, &cache, &options)?;

        // A rescan of the honest archive is a hit, with the same tree.
        let hits = cache.hits.load(Ordering::SeqCst);
        let again = read_image(&good, &options, &status, &NoProgress)?;
        assert_eq!(
            cache.hits.load(Ordering::SeqCst),
            hits + 1,
            "{compression:?}"
        );
        assert_eq!(summary(&again.tree), summary(&first.tree));
        assert!(again.tree.read("/var/lib/dpkg/status")?.is_some());
    }
    Ok(())
}
