//! Each source kind on testkit images: identical trees, image info, tags, platforms.

use portcullis_image::{ImageError, LayoutError, ManifestError, Platform, ReadOptions};
use portcullis_testkit::{
    ArchiveForm, Compression, DockerArchiveBuilder, ImageBuilder, LayerBuilder, OciLayoutBuilder,
};

use super::support::{all, none, path_str, read, read_with, summary};

/// A small image exercising every entry kind across three layers.
pub fn sample_image(compression: Compression) -> ImageBuilder {
    let base = LayerBuilder::new()
        .dir("etc")
        .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        .dir("var/lib/dpkg")
        .file(
            "var/lib/dpkg/status",
            "Package: base-files\nVersion: 12.4\n",
        )
        .dir("usr/bin")
        .file_with_mode("usr/bin/tool", "#!/bin/sh\n", 0o755)
        .hardlink("usr/bin/tool2", "usr/bin/tool")
        .symlink("bin", "usr/bin")
        .dir("tmp/junk")
        .file("tmp/junk/a", "aaaa")
        .build(compression);
    let middle = LayerBuilder::new()
        .dir("var/lib/dpkg")
        .file(
            "var/lib/dpkg/status",
            "Package: base-files\nVersion: 12.4\n\nPackage: curl\nVersion: 7.88\n",
        )
        .whiteout("tmp/junk")
        .dir("opt/app")
        .file("opt/app/app.py", "print('hi')\n")
        .build(compression);
    let top = LayerBuilder::new()
        .opaque("opt/app")
        .file("opt/app/new.py", "new\n")
        .build(compression);
    ImageBuilder::new()
        .layer_created_by(base, "mmdebstrap")
        .layer_created_by(middle, "apt-get install curl")
        .layer(top)
        .label("org.opencontainers.image.title", "sample")
        .annotation("org.opencontainers.image.title", "from-annotation")
}

fn dpkg(path: &str) -> bool {
    path.starts_with("/var/lib/dpkg/") || path == "/etc/os-release"
}

#[test]
fn oci_layout_reads_the_merged_tree() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let image = sample_image(Compression::Gzip);
    let manifest = OciLayoutBuilder::write_single(dir.path(), &image, "v1");
    let read = read(&format!("oci:{}:v1", path_str(dir.path())), &dpkg)?;
    let tree = &read.tree;
    assert_eq!(
        super::support::paths(tree),
        [
            "/bin",
            "/etc",
            "/etc/os-release",
            "/opt",
            "/opt/app",
            "/opt/app/new.py",
            "/tmp",
            "/usr",
            "/usr/bin",
            "/usr/bin/tool",
            "/usr/bin/tool2",
            "/var",
            "/var/lib",
            "/var/lib/dpkg",
            "/var/lib/dpkg/status",
        ]
    );
    let status = tree.read("/var/lib/dpkg/status")?.expect("kept");
    assert!(String::from_utf8_lossy(status).contains("curl"));
    assert_eq!(tree.get("/var/lib/dpkg/status").unwrap().layer, Some(1));
    assert_eq!(tree.get("/etc/os-release").unwrap().layer, Some(0));
    assert_eq!(tree.get("/opt/app/new.py").unwrap().layer, Some(2));
    assert_eq!(tree.get("/usr/bin/tool").unwrap().mode, 0o755);
    assert_eq!(
        tree.read("/opt/app/new.py")?,
        None,
        "unwanted content is not kept"
    );
    assert_eq!(tree.resolve("/bin/tool")?.unwrap().0, "/usr/bin/tool");
    // Info.
    let info = &read.info;
    assert_eq!(info.source_kind, "oci");
    assert_eq!(info.tags, ["v1"]);
    assert_eq!(
        info.manifest_digest.as_ref().unwrap().to_string(),
        manifest.digest
    );
    assert_eq!(
        info.config_digest.as_ref().unwrap().to_string(),
        image.config_descriptor().digest
    );
    assert_eq!(info.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(info.layers.len(), 3);
    assert_eq!(info.layers[0].digest.to_string(), image.layers[0].digest);
    assert_eq!(info.layers[0].diff_id.to_string(), image.layers[0].diff_id);
    assert_eq!(info.layers[0].size, image.layers[0].bytes.len() as u64);
    assert_eq!(
        info.layers[1].created_by.as_deref(),
        Some("apt-get install curl")
    );
    assert_eq!(info.layers[2].created_by, None);
    assert_eq!(
        info.annotations["org.opencontainers.image.title"],
        "from-annotation"
    );
    let layer = read.layer_ref(1).unwrap();
    assert_eq!(layer.diff_id.to_string(), image.layers[1].diff_id);
    assert!(read.layer_ref(3).is_none());
    Ok(())
}

#[test]
fn every_source_kind_gives_the_same_tree() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let layout = dir.path().join("layout");
    OciLayoutBuilder::write_single(&layout, &sample_image(Compression::Gzip), "v1");
    let reference = summary(&read(&format!("oci:{}:v1", path_str(&layout)), &all)?.tree);

    let zstd = dir.path().join("zstd");
    OciLayoutBuilder::write_single(&zstd, &sample_image(Compression::Zstd), "v1");
    assert_eq!(
        summary(&read(&format!("oci:{}", path_str(&zstd)), &all)?.tree),
        reference,
        "zstd layers"
    );

    let plain = dir.path().join("plain");
    OciLayoutBuilder::write_single(&plain, &sample_image(Compression::None), "v1");
    assert_eq!(
        summary(&read(&format!("oci:{}", path_str(&plain)), &all)?.tree),
        reference,
        "plain layers"
    );

    for (name, form, gzip, layers) in [
        (
            "classic.tar",
            ArchiveForm::Classic,
            false,
            Compression::None,
        ),
        (
            "classic.tar.gz",
            ArchiveForm::Classic,
            true,
            Compression::None,
        ),
        ("oci.tar", ArchiveForm::OciInTar, false, Compression::Gzip),
        ("oci.tgz", ArchiveForm::OciInTar, true, Compression::Gzip),
    ] {
        let path = dir.path().join(name);
        DockerArchiveBuilder::new(form)
            .image(sample_image(layers), &["org/sample:1"])
            .gzip_if(gzip)
            .write(&path);
        let image = read(&format!("docker-archive:{}", path_str(&path)), &all)?;
        assert_eq!(summary(&image.tree), reference, "{name}");
        assert_eq!(image.info.tags, ["org/sample:1"], "{name}");
        assert_eq!(image.info.source_kind, "docker-archive");
        let with_tag = read(
            &format!("docker-archive:{}:org/sample:1", path_str(&path)),
            &none,
        )?;
        assert_eq!(with_tag.tree.len(), image.tree.len());
        if form == ArchiveForm::OciInTar {
            assert!(
                image.info.manifest_digest.is_some(),
                "{name}: manifest digest from index.json"
            );
            assert_eq!(
                image.info.layers[0].media_type.as_deref(),
                Some("application/vnd.oci.image.layer.v1.tar+gzip")
            );
        } else {
            assert_eq!(image.info.manifest_digest, None);
            assert_eq!(image.info.layers[0].digest, image.info.layers[0].diff_id);
        }
    }
    Ok(())
}

trait GzipIf {
    fn gzip_if(self, yes: bool) -> Self;
}

impl GzipIf for DockerArchiveBuilder {
    fn gzip_if(self, yes: bool) -> Self {
        if yes { self.gzip() } else { self }
    }
}

#[test]
fn docker_archives_with_several_images_need_a_ref() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("two.tar");
    let other = ImageBuilder::new().layer(
        LayerBuilder::new()
            .file("other", "x")
            .build(Compression::None),
    );
    DockerArchiveBuilder::new(ArchiveForm::Classic)
        .image(sample_image(Compression::None), &["org/sample:1"])
        .image(other, &["docker.io/library/other:2"])
        .write(&path);
    let err = read(&format!("docker-archive:{}", path_str(&path)), &none)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds 2 images") && err.contains("org/sample:1") && err.contains("other:2"),
        "{err}"
    );
    let other = read(
        &format!("docker-archive:{}:other:2", path_str(&path)),
        &none,
    )?;
    assert_eq!(super::support::paths(&other.tree), ["/other"]);
    let by_index = read(&format!("docker-archive:{}:@1", path_str(&path)), &none)?;
    assert_eq!(by_index.tree.len(), 1);
    let err = read(&format!("docker-archive:{}:nope:1", path_str(&path)), &none)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no image `nope:1`"), "{err}");
    Ok(())
}

fn platform_image(arch: &str, marker: &str) -> ImageBuilder {
    ImageBuilder::new().platform(arch).layer(
        LayerBuilder::new()
            .file("arch", marker)
            .build(Compression::Gzip),
    )
}

#[test]
fn multi_platform_indexes_pick_the_platform() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut layout = OciLayoutBuilder::new(dir.path());
    let amd = layout.image(&platform_image("linux/amd64", "amd64"));
    let arm = layout.image(&platform_image("linux/arm64/v8", "arm64"));
    let armv7 = layout.image(&platform_image("linux/arm/v7", "armv7"));
    // A nested index: the tagged index lists an index of the arm images.
    let arm_index = layout.index(&[arm, armv7]);
    let top = layout.index(&[amd.clone(), arm_index.clone()]);
    layout
        .tag(&top, Some("multi"))
        .tag(&amd, Some("amd-only"))
        .finish();
    let src = format!("oci:{}:multi", path_str(dir.path()));

    let image = read(&src, &all)?;
    assert_eq!(image.tree.read("/arch")?, Some(&b"amd64"[..]));
    assert_eq!(
        image.info.index_digest.as_ref().unwrap().to_string(),
        top.digest
    );
    assert_eq!(
        image.info.manifest_digest.as_ref().unwrap().to_string(),
        amd.digest
    );

    let for_platform = |p: &str| ReadOptions {
        platform: p.parse::<Platform>().unwrap(),
        ..ReadOptions::default()
    };
    let arm64 = read_with(&src, &for_platform("linux/arm64"), &all)?;
    assert_eq!(arm64.tree.read("/arch")?, Some(&b"arm64"[..]));
    assert_eq!(arm64.info.platform.as_deref(), Some("linux/arm64/v8"));
    assert_eq!(
        arm64.info.index_digest.as_ref().unwrap().to_string(),
        arm_index.digest,
        "nested index"
    );
    let v7 = read_with(&src, &for_platform("linux/arm/v7"), &all)?;
    assert_eq!(v7.tree.read("/arch")?, Some(&b"armv7"[..]));

    let err = read_with(&src, &for_platform("linux/s390x"), &all).unwrap_err();
    assert!(
        matches!(
            err,
            ImageError::Manifest(ManifestError::NoMatchingPlatform { .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("linux/amd64, linux/arm/v7, linux/arm64/v8"),
        "{err}"
    );

    let err = read(&format!("oci:{}", path_str(dir.path())), &none).unwrap_err();
    assert!(
        matches!(err, ImageError::Layout(LayoutError::Ambiguous { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("`amd-only`, `multi`"), "{err}");
    let err = read(&format!("oci:{}:nope", path_str(dir.path())), &none)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no image tagged `nope`") && err.contains("`amd-only`, `multi`"),
        "{err}"
    );
    Ok(())
}

#[test]
fn dir_sources_walk_a_root_filesystem() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    std::fs::create_dir_all(root.join("var/lib/dpkg"))?;
    std::fs::create_dir_all(root.join("etc"))?;
    std::fs::write(root.join("var/lib/dpkg/status"), "Package: x\n")?;
    std::fs::write(root.join("big"), vec![b'x'; 5000])?;
    std::os::unix::fs::symlink("/etc/../var", root.join("link"))?;
    std::os::unix::fs::symlink("/nowhere", root.join("dangling"))?;
    let image = read(&format!("dir:{}", path_str(root)), &dpkg)?;
    assert_eq!(image.info.source_kind, "dir");
    assert!(image.info.layers.is_empty());
    assert_eq!(
        super::support::paths(&image.tree),
        [
            "/big",
            "/dangling",
            "/etc",
            "/link",
            "/var",
            "/var/lib",
            "/var/lib/dpkg",
            "/var/lib/dpkg/status"
        ]
    );
    assert_eq!(
        image.tree.read("/link/lib/dpkg/status")?,
        Some(&b"Package: x\n"[..])
    );
    assert_eq!(image.tree.get("/big").unwrap().size, 5000);
    assert_eq!(image.tree.get("/big").unwrap().layer, None);
    assert_eq!(image.tree.read("/big")?, None);
    Ok(())
}
