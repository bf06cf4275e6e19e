//! Images made by real tools (umoci, skopeo) read the same as testkit images, and
//! testkit layouts are accepted by those tools.

use std::path::Path;

use portcullis_testkit::{Compression, ImageBuilder, LayerBuilder, OciLayoutBuilder};

use super::sources::sample_image;
use super::support::{all, path_str, read, require, run, run_output, shape, summary};

fn layer_tars() -> Vec<Vec<u8>> {
    vec![
        LayerBuilder::new()
            .dir("etc")
            .file("etc/os-release", "ID=debian\n")
            .dir("usr/bin")
            .file_with_mode("usr/bin/tool", "#!/bin/sh\n", 0o755)
            .hardlink("usr/bin/tool2", "usr/bin/tool")
            .symlink("bin", "usr/bin")
            .dir("var/cache")
            .file("var/cache/x", "cache")
            .tar(),
        LayerBuilder::new()
            .whiteout("var/cache")
            .dir("opt")
            .file("opt/new", "new")
            .tar(),
    ]
}

/// umoci init/new/raw add-layer: umoci compresses and writes config and manifest itself.
fn umoci_layout(dir: &Path, tars: &[Vec<u8>]) -> String {
    let layout = dir.join("umoci");
    let image = format!("{}:img", path_str(&layout));
    run("umoci", &["init", "--layout", path_str(&layout)]);
    run("umoci", &["new", "--image", &image]);
    for (i, tar) in tars.iter().enumerate() {
        let file = dir.join(format!("layer{i}.tar"));
        std::fs::write(&file, tar).expect("write layer tar");
        run(
            "umoci",
            &[
                "raw",
                "add-layer",
                "--image",
                &image,
                "--history.created_by",
                &format!("layer {i}"),
                path_str(&file),
            ],
        );
    }
    format!("oci:{image}")
}

#[test]
fn umoci_layouts_match_testkit_layouts_and_umoci_unpack() -> anyhow::Result<()> {
    require("umoci", "umoci");
    let dir = tempfile::tempdir()?;
    let tars = layer_tars();
    let umoci_src = umoci_layout(dir.path(), &tars);
    let ours = dir.path().join("ours");
    let mut image = ImageBuilder::new();
    for tar in &tars {
        image = image.layer(portcullis_testkit::Layer::from_tar(
            tar.clone(),
            Compression::Gzip,
        ));
    }
    OciLayoutBuilder::write_single(&ours, &image, "img");
    let from_umoci = read(&umoci_src, &all)?;
    let from_ours = read(&format!("oci:{}:img", path_str(&ours)), &all)?;
    assert_eq!(summary(&from_umoci.tree), summary(&from_ours.tree));
    assert_eq!(
        from_umoci.info.layers[1].created_by.as_deref(),
        Some("layer 1")
    );
    assert_eq!(
        from_umoci
            .info
            .layers
            .iter()
            .map(|l| &l.diff_id)
            .collect::<Vec<_>>(),
        from_ours
            .info
            .layers
            .iter()
            .map(|l| &l.diff_id)
            .collect::<Vec<_>>()
    );

    // umoci unpack applies the layers to a real directory: our merge must agree with it.
    let bundle = dir.path().join("bundle");
    let umoci_image = umoci_src.trim_start_matches("oci:");
    run(
        "umoci",
        &["unpack", "--image", umoci_image, path_str(&bundle)],
    );
    let unpacked = read(&format!("dir:{}", path_str(&bundle.join("rootfs"))), &all)?;
    assert_eq!(shape(&unpacked.tree), shape(&from_ours.tree));
    Ok(())
}

#[test]
fn skopeo_and_umoci_accept_testkit_layouts() -> anyhow::Result<()> {
    require("skopeo", "skopeo");
    require("umoci", "umoci");
    let dir = tempfile::tempdir()?;
    let image = sample_image(Compression::Gzip);
    let manifest = OciLayoutBuilder::write_single(dir.path(), &image, "v1");
    let inspect = run_output(
        "skopeo",
        &["inspect", &format!("oci:{}:v1", path_str(dir.path()))],
    );
    let inspect: serde_json::Value = serde_json::from_str(&inspect)?;
    assert_eq!(inspect["Digest"], manifest.digest);
    let layers: Vec<String> = image.layers.iter().map(|l| l.digest.clone()).collect();
    assert_eq!(inspect["Layers"], serde_json::json!(layers));
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.title"],
        "sample"
    );

    let stat = run_output(
        "umoci",
        &[
            "stat",
            "--json",
            "--image",
            &format!("{}:v1", path_str(dir.path())),
        ],
    );
    let stat: serde_json::Value = serde_json::from_str(&stat)?;
    assert_eq!(stat["history"].as_array().map(Vec::len), Some(3));

    // umoci unpack verifies every digest and applies whiteouts: same tree as ours.
    let bundle = dir.path().join("bundle");
    run(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:v1", path_str(dir.path())),
            path_str(&bundle),
        ],
    );
    let unpacked = read(&format!("dir:{}", path_str(&bundle.join("rootfs"))), &all)?;
    let ours = read(&format!("oci:{}:v1", path_str(dir.path())), &all)?;
    assert_eq!(shape(&unpacked.tree), shape(&ours.tree));
    Ok(())
}

#[test]
fn skopeo_docker_archives_plain_and_gzipped_match_the_layout() -> anyhow::Result<()> {
    require("skopeo", "skopeo");
    let dir = tempfile::tempdir()?;
    let layout = dir.path().join("layout");
    OciLayoutBuilder::write_single(&layout, &sample_image(Compression::Gzip), "v1");
    let reference = read(&format!("oci:{}:v1", path_str(&layout)), &all)?;
    let archive = dir.path().join("image.tar");
    run(
        "skopeo",
        &[
            "copy",
            "-q",
            &format!("oci:{}:v1", path_str(&layout)),
            &format!("docker-archive:{}:org/sample:1", path_str(&archive)),
        ],
    );
    let from_archive = read(&format!("docker-archive:{}", path_str(&archive)), &all)?;
    assert_eq!(summary(&from_archive.tree), summary(&reference.tree));
    assert_eq!(from_archive.info.tags, ["docker.io/org/sample:1"]);
    assert_eq!(
        from_archive.info.config_digest,
        reference.info.config_digest
    );
    let by_tag = read(
        &format!("docker-archive:{}:org/sample:1", path_str(&archive)),
        &all,
    )?;
    assert_eq!(by_tag.tree.len(), reference.tree.len());

    let gzipped = dir.path().join("image.tar.gz");
    std::fs::write(&gzipped, portcullis_testkit_gzip(&std::fs::read(&archive)?))?;
    let from_gzip = read(&format!("docker-archive:{}", path_str(&gzipped)), &all)?;
    assert_eq!(summary(&from_gzip.tree), summary(&reference.tree));
    Ok(())
}

fn portcullis_testkit_gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}
