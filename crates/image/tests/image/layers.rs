//! Merged-tree semantics through real layer bytes, and verification of every blob.

use std::path::Path;

use portcullis_image::{BlobError, ImageError, LayerError};
use portcullis_testkit::{Compression, ImageBuilder, LayerBuilder, OciLayoutBuilder};

use super::support::{all, none, path_str, paths, read};

fn layout(dir: &Path, image: &ImageBuilder) -> String {
    OciLayoutBuilder::write_single(dir, image, "t");
    format!("oci:{}:t", path_str(dir))
}

#[test]
fn whiteouts_opaque_dirs_and_recreation() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let image = ImageBuilder::new()
        .layer(
            LayerBuilder::new()
                .dir("a")
                .file("a/keep", "1")
                .file("a/gone", "2")
                .dir("a/sub")
                .file("a/sub/deep", "3")
                .dir("o")
                .file("o/lower", "4")
                .file("r", "old")
                .build(Compression::Gzip),
        )
        .layer(
            LayerBuilder::new()
                .whiteout("a/gone") // plain
                .whiteout("a/sub") // a whole directory
                .opaque("o")
                .file("o/same-layer", "5") // same layer as the opaque marker: visible
                .whiteout("r")
                .build(Compression::Gzip),
        )
        .layer(
            LayerBuilder::new()
                .dir("a/sub")
                .file("r", "new")
                .build(Compression::Gzip),
        );
    let tree = read(&layout(dir.path(), &image), &all)?.tree;
    assert_eq!(
        paths(&tree),
        ["/a", "/a/keep", "/a/sub", "/o", "/o/same-layer", "/r"]
    );
    assert_eq!(
        tree.read("/r")?,
        Some(&b"new"[..]),
        "re-created after delete"
    );
    assert_eq!(tree.get("/r").unwrap().layer, Some(2));
    assert_eq!(tree.get("/a/sub").unwrap().layer, Some(2));
    assert!(
        tree.read_dir("/a/sub").is_empty(),
        "the re-created dir does not bring back lower content"
    );
    assert_eq!(tree.get("/a/keep").unwrap().layer, Some(0));
    assert_eq!(tree.get("/o/same-layer").unwrap().layer, Some(1));
    Ok(())
}

#[test]
fn media_types_that_lie_do_not_matter() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let gz = LayerBuilder::new()
        .file("g", "gzip")
        .build(Compression::Gzip)
        .with_media_type("application/vnd.oci.image.layer.v1.tar");
    let zs = LayerBuilder::new()
        .file("z", "zstd")
        .build(Compression::Zstd)
        .with_media_type("application/vnd.oci.image.layer.v1.tar+gzip");
    let plain = LayerBuilder::new()
        .file("p", "plain")
        .build(Compression::None)
        .with_media_type("application/vnd.oci.image.layer.v1.tar+zstd");
    let image = ImageBuilder::new().layer(gz).layer(zs).layer(plain);
    let tree = read(&layout(dir.path(), &image), &all)?.tree;
    assert_eq!(tree.read("/g")?, Some(&b"gzip"[..]));
    assert_eq!(tree.read("/z")?, Some(&b"zstd"[..]));
    assert_eq!(tree.read("/p")?, Some(&b"plain"[..]));
    Ok(())
}

#[test]
fn a_wanted_hardlink_to_an_unwanted_file_gets_its_content() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let image = ImageBuilder::new()
        .layer(
            LayerBuilder::new()
                .file("usr/lib/real", "payload")
                .build(Compression::Gzip),
        )
        .layer(
            LayerBuilder::new()
                .file("same/real", "same-layer")
                .hardlink("same/link", "same/real")
                .hardlink("var/lib/lower-link", "usr/lib/real")
                .build(Compression::Gzip),
        );
    let wanted = |p: &str| p.ends_with("link");
    let tree = read(&layout(dir.path(), &image), &wanted)?.tree;
    assert_eq!(tree.read("/same/link")?, Some(&b"same-layer"[..]));
    assert_eq!(tree.read("/var/lib/lower-link")?, Some(&b"payload"[..]));
    assert_eq!(tree.get("/var/lib/lower-link").unwrap().layer, Some(1));
    assert_eq!(
        tree.read("/same/real")?,
        None,
        "the target itself stays unkept"
    );
    Ok(())
}

#[test]
fn a_wrong_layer_digest_is_an_error_naming_both_digests() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let image = ImageBuilder::new().layer(
        LayerBuilder::new()
            .file("f", "content")
            .build(Compression::Gzip),
    );
    let src = layout(dir.path(), &image);
    // Corrupt the stored layer: flip one byte in the deflate data (keeping the file name).
    let blob = dir
        .path()
        .join("blobs/sha256")
        .join(image.layers[0].digest.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&blob)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&blob, &bytes)?;
    let err = read(&src, &none).unwrap_err();
    let ImageError::Layer(LayerError::DigestMismatch {
        layer,
        expected,
        actual,
    }) = &err
    else {
        panic!("expected a digest mismatch, got {err:?}");
    };
    assert_eq!(*layer, 0);
    assert_eq!(expected.to_string(), image.layers[0].digest);
    assert_ne!(actual, expected);
    let msg = err.to_string();
    assert!(
        msg.contains(&image.layers[0].digest) && msg.contains(&actual.to_string()),
        "{msg}"
    );
    Ok(())
}

#[test]
fn a_wrong_diff_id_is_an_error_naming_both_digests() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let layer = LayerBuilder::new()
        .file("f", "content")
        .build(Compression::Gzip);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let image = ImageBuilder::new()
        .layer(layer.clone())
        .diff_ids(vec![wrong.clone()]);
    let err = read(&layout(dir.path(), &image), &none).unwrap_err();
    assert!(
        matches!(err, ImageError::Layer(LayerError::DiffIdMismatch { .. })),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&wrong) && msg.contains(&layer.diff_id) && msg.contains(&layer.digest),
        "{msg}"
    );
    Ok(())
}

#[test]
fn a_wrong_diff_id_of_an_uncompressed_layer_is_caught_too() -> anyhow::Result<()> {
    // Uncompressed layers are hashed once (stored bytes = plain bytes); the diff_id must
    // still be checked, in layouts and in classic docker-archives, which have nothing else.
    let dir = tempfile::tempdir()?;
    let layer = LayerBuilder::new()
        .file("f", "content")
        .build(Compression::None);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let image = ImageBuilder::new()
        .layer(layer.clone())
        .diff_ids(vec![wrong.clone()]);
    let err = read(&layout(dir.path(), &image), &none).unwrap_err();
    assert!(
        matches!(err, ImageError::Layer(LayerError::DiffIdMismatch { .. })),
        "{err:?}"
    );
    let archive = dir.path().join("classic.tar");
    portcullis_testkit::DockerArchiveBuilder::new(portcullis_testkit::ArchiveForm::Classic)
        .image(image, &["x:1"])
        .write(&archive);
    let err = read(&format!("docker-archive:{}", archive.display()), &none).unwrap_err();
    assert!(
        err.to_string().contains(&wrong) || format!("{err:?}").contains(&wrong),
        "{err:?}"
    );
    // And a right one passes.
    let good = ImageBuilder::new().layer(layer);
    let dir2 = tempfile::tempdir()?;
    read(&layout(dir2.path(), &good), &none)?;
    Ok(())
}

#[test]
fn wrong_manifest_and_config_digests_and_missing_blobs_are_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let image =
        ImageBuilder::new().layer(LayerBuilder::new().file("f", "x").build(Compression::Gzip));
    let src = layout(dir.path(), &image);
    let blobs = dir.path().join("blobs/sha256");
    let config = blobs.join(image.config_descriptor().hex());
    std::fs::write(&config, b"{\"rootfs\":{\"diff_ids\":[]}}")?;
    let err = read(&src, &none).unwrap_err();
    assert!(
        matches!(&err, ImageError::Blob(BlobError::DigestMismatch { what, .. }) if what == "image config"),
        "{err:?}"
    );

    std::fs::remove_file(&config)?;
    let err = read(&src, &none).unwrap_err();
    assert!(
        matches!(err, ImageError::Blob(BlobError::Missing { .. })),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&image.config_descriptor().digest) && msg.contains(path_str(&config)),
        "{msg}"
    );

    let manifest = blobs.join(image.manifest_descriptor().hex());
    std::fs::write(&manifest, b"{}")?;
    let err = read(&src, &none).unwrap_err();
    assert!(
        matches!(&err, ImageError::Blob(BlobError::DigestMismatch { what, .. }) if what == "manifest"),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn schema_one_manifests_are_refused_clearly() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut layout = OciLayoutBuilder::new(dir.path());
    let d = layout.blob(
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        br#"{"schemaVersion":1,"name":"x","tag":"1","fsLayers":[],"history":[]}"#,
    );
    layout.tag(&d, Some("old")).finish();
    let err = read(&format!("oci:{}:old", path_str(dir.path())), &none)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("schema 1") && err.contains("--format v2s2"),
        "{err}"
    );
    Ok(())
}
