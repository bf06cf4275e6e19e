//! Real clients against the registry: skopeo pushes the real test image in OCI and Docker
//! v2s2 form and pulls it back byte for byte; buildah pushes and pulls it too.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};
use portcullis_registry::RegistryConfig;

use crate::harness::{TestServer, sha256_of, skopeo_ok, test_images};

const CREDS: &str = "dev:pw";

/// Every file of a `dir:` pull other than the manifest is a blob named by its hex digest;
/// each must be byte-identical to the source layout's blob.
fn assert_blobs_match(pulled: &Path, layout: &Path) -> anyhow::Result<usize> {
    let mut compared = 0;
    for entry in std::fs::read_dir(pulled)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "manifest.json" || name == "version" {
            continue;
        }
        let source = layout.join("blobs/sha256").join(&name);
        let pulled_bytes = std::fs::read(entry.path())?;
        ensure!(
            sha256_of(&pulled_bytes) == format!("sha256:{name}"),
            "pulled blob {name} has other bytes"
        );
        ensure!(
            pulled_bytes
                == std::fs::read(&source).with_context(|| format!("source blob {name}"))?,
            "blob {name} differs from the source"
        );
        compared += 1;
    }
    Ok(compared)
}

#[test]
fn skopeo_round_trips_the_test_image_in_oci_and_v2s2_form() -> anyhow::Result<()> {
    let images = test_images();
    let layout = images.join("oci");
    let source = format!("oci:{}:bookworm-vuln", layout.display());
    let source_manifest = skopeo_ok(&["inspect", "--raw", &source])?;
    let server = TestServer::start(RegistryConfig::default())?;
    let work = tempfile::tempdir()?;
    for format in ["oci", "v2s2"] {
        let target = format!("docker://{}/unscanned/a/app:{format}", server.addr);
        skopeo_ok(&[
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            CREDS,
            "--format",
            format,
            &source,
            &target,
        ])?;
        let raw = skopeo_ok(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            CREDS,
            &target,
        ])?;
        let digest = sha256_of(raw.as_bytes());
        if format == "oci" {
            assert_eq!(
                raw, source_manifest,
                "an OCI push stores the exact manifest bytes"
            );
        } else {
            assert!(
                raw.contains("application/vnd.docker.distribution.manifest.v2+json"),
                "{raw}"
            );
        }
        let inspected: serde_json::Value = serde_json::from_str(&skopeo_ok(&[
            "inspect",
            "--tls-verify=false",
            "--creds",
            CREDS,
            &target,
        ])?)?;
        assert_eq!(inspected["Digest"], digest.as_str());
        let dir = work.path().join(format!("dir-{format}"));
        skopeo_ok(&[
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--src-creds",
            CREDS,
            &target,
            &format!("dir:{}", dir.display()),
        ])?;
        assert_eq!(
            sha256_of(&std::fs::read(dir.join("manifest.json"))?),
            digest
        );
        assert_eq!(
            assert_blobs_match(&dir, &layout)?,
            5,
            "config and four layers"
        );
        let pulled = format!(
            "oci:{}:pulled",
            work.path().join(format!("oci-{format}")).display()
        );
        skopeo_ok(&[
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--src-creds",
            CREDS,
            &target,
            &pulled,
        ])?;
        if format == "oci" {
            assert_eq!(
                sha256_of(skopeo_ok(&["inspect", "--raw", &pulled])?.as_bytes()),
                digest
            );
        }
    }
    let tags = skopeo_ok(&[
        "list-tags",
        "--tls-verify=false",
        "--creds",
        CREDS,
        &format!("docker://{}/unscanned/a/app", server.addr),
    ])?;
    let tags: serde_json::Value = serde_json::from_str(&tags)?;
    assert_eq!(tags["Tags"], serde_json::json!(["oci", "v2s2"]));
    Ok(())
}

fn buildah(storage: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("buildah")
        .arg("--root")
        .arg(storage.join("root"))
        .arg("--runroot")
        .arg(storage.join("run"))
        .args(["--storage-driver", "vfs"])
        .args(args)
        .output()
        .context("run buildah (install the buildah package; scripts/test.sh does)")?;
    if !out.status.success() {
        bail!(
            "buildah {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn buildah_pushes_and_pulls_the_test_image() -> anyhow::Result<()> {
    let images = test_images();
    let source = format!("oci:{}:bookworm-vuln", images.join("oci").display());
    let server = TestServer::start(RegistryConfig::default())?;
    let storage = tempfile::tempdir()?;
    let target = format!("docker://{}/unscanned/a/app:buildah", server.addr);
    let digest_file = storage.path().join("digest");
    let local = buildah(storage.path(), &["pull", "--quiet", &source])?;
    buildah(
        storage.path(),
        &[
            "push",
            "--quiet",
            "--tls-verify=false",
            "--creds",
            CREDS,
            "--digestfile",
            &digest_file.display().to_string(),
            local.trim(),
            &target,
        ],
    )?;
    let pushed = std::fs::read_to_string(&digest_file)?;
    let raw = skopeo_ok(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        CREDS,
        &target,
    ])?;
    assert_eq!(
        pushed.trim(),
        sha256_of(raw.as_bytes()),
        "what buildah pushed is what is served"
    );
    buildah(storage.path(), &["rmi", "--all", "--force"])?;
    let image = buildah(
        storage.path(),
        &[
            "pull",
            "--quiet",
            "--tls-verify=false",
            "--creds",
            CREDS,
            &target,
        ],
    )?;
    let inspected = buildah(
        storage.path(),
        &[
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.FromImageDigest}}",
            image.trim(),
        ],
    )?;
    assert_eq!(inspected.trim(), pushed.trim());
    Ok(())
}
