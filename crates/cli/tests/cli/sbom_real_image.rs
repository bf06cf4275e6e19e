//! `portcullis sbom` on the real image that ../shared/tools/make-images.sh builds, read
//! from an OCI layout, a docker-archive and the reference registry, against dpkg's own
//! view of the same root filesystem.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::Context as _;
use portcullis_types::{Ecosystem, Sbom};

use crate::harness::{Registry, path_str, portcullis, require, run_ok, test_images};

/// name, version, arch, source package, source version — as `dpkg-query -W` prints them.
type Row = (String, String, String, String, String);

fn sbom(args: &[&str]) -> anyhow::Result<Sbom> {
    let out = run_ok(
        portcullis()
            .args(["sbom", "--format", "json", "--quiet"])
            .args(args),
    )?;
    serde_json::from_slice(&out).context("sbom --format json is not the documented format")
}

fn dpkg_rows(sbom: &Sbom) -> BTreeSet<Row> {
    sbom.packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Deb)
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
                p.source_name.clone().unwrap_or_default(),
                p.source_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn expected_rows(tsv: &str) -> BTreeSet<Row> {
    tsv.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let g = |i: usize| f.get(i).copied().unwrap_or("").to_owned();
            (g(0), g(1), g(2), g(3), g(4))
        })
        .collect()
}

/// Each deb package with the diff_id of the layer it was attributed to; identical across
/// sources, since the uncompressed layers are the same whatever the transport.
fn layered(sbom: &Sbom) -> BTreeSet<(String, String)> {
    sbom.packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Deb)
        .map(|p| {
            (
                p.name.clone(),
                p.layer
                    .as_ref()
                    .map(|l| l.diff_id.to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn dpkg_packages_match_dpkg_query_from_every_source() -> anyhow::Result<()> {
    let images = test_images()?;
    let expected = expected_rows(&std::fs::read_to_string(images.join("expected/dpkg.tsv"))?);
    assert_eq!(expected.len(), 96, "make-images.sh's ground truth changed");

    let oci = sbom(&[&format!(
        "oci:{}:bookworm-vuln",
        path_str(&images.join("oci"))
    )])?;
    assert_eq!(dpkg_rows(&oci), expected, "oci layout");
    let distro = oci.distro.as_ref().context("no distro detected")?;
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("debian", Some("12"))
    );
    // The base layer (index 0) installed every dpkg package; later layers add only
    // language packages.
    assert!(
        oci.packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Deb)
            .all(|p| p.layer.as_ref().is_some_and(|l| l.index == 0))
    );

    let archive = sbom(&[&format!(
        "docker-archive:{}",
        path_str(&images.join("bookworm-vuln.docker.tar"))
    )])?;
    assert_eq!(dpkg_rows(&archive), expected, "docker-archive");
    assert_eq!(layered(&archive), layered(&oci));

    let registry = Registry::start()?;
    let src = format!("oci:{}:bookworm-vuln", path_str(&images.join("oci")));
    registry.push(&src, "portcullis/bookworm-vuln:oci", &[])?;
    registry.push(&src, "portcullis/bookworm-vuln:v2s2", &["--format", "v2s2"])?;
    for tag in ["oci", "v2s2"] {
        let pulled = sbom(&[
            "--insecure",
            &format!("docker://{}/portcullis/bookworm-vuln:{tag}", registry.addr),
        ])?;
        assert_eq!(dpkg_rows(&pulled), expected, "registry, {tag} manifest");
        assert_eq!(layered(&pulled), layered(&oci));
    }
    Ok(())
}

#[test]
fn dir_source_matches_dpkg_query_on_the_unpacked_rootfs() -> anyhow::Result<()> {
    let images = test_images()?;
    require("dpkg-query", "apt-get install -y dpkg")?;
    let root = tempfile::tempdir()?;
    // Only the dpkg database and os-release: enough for dpkg-query, and quick.
    run_ok(
        Command::new("tar")
            .arg("-xf")
            .arg(images.join("base.tar"))
            .arg("-C")
            .arg(root.path())
            .args(["./var/lib/dpkg", "./etc/os-release", "./usr/lib/os-release"]),
    )?;
    let dpkg = run_ok(
        Command::new("dpkg-query")
            .arg(format!("--admindir={}", root.path().join("var/lib/dpkg").display()))
            .args(["-W", "-f=${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\n"]),
    )?;
    let expected = expected_rows(&String::from_utf8(dpkg)?);
    let unpacked = sbom(&[&format!("dir:{}", root.path().display())])?;
    assert_eq!(dpkg_rows(&unpacked), expected);
    assert!(unpacked.packages.iter().all(|p| p.layer.is_none()));
    assert!(unpacked.image.layers.is_empty());
    assert!(unpacked.image.layers.is_empty());
    Ok(())
}

#[test]
fn every_format_lists_the_same_packages() -> anyhow::Result<()> {
    let images = test_images()?;
    let src = format!("oci:{}:bookworm-vuln", path_str(&images.join("oci")));
    let table = String::from_utf8(run_ok(portcullis().args(["sbom", "-q", &src]))?)?;
    // One line per dpkg package (its TYPE column says deb), under a header.
    assert!(table.starts_with("NAME "), "{table}");
    let header = table.lines().next().unwrap_or("");
    let type_col = header.find("TYPE").context("no TYPE column")?;
    let debs = table
        .lines()
        .skip(1)
        .filter(|l| l.get(type_col..).is_some_and(|t| t.starts_with("deb ")))
        .count();
    assert_eq!(debs, 96, "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()[..3]
                == ["bash", "5.2.15-2+b13", "bash"])
    );

    let out = tempfile::tempdir()?;
    for format in ["cyclonedx", "spdx"] {
        let file = out.path().join(format!("{format}.json"));
        run_ok(
            portcullis()
                .args(["sbom", "-q", "--format", format, "-o"])
                .arg(&file)
                .arg(&src),
        )?;
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file)?)?;
        let purls: BTreeSet<String> = match format {
            "cyclonedx" => doc["components"]
                .as_array()
                .context("components")?
                .iter()
                .filter_map(|c| c["purl"].as_str().map(str::to_owned))
                .collect(),
            _ => doc["packages"]
                .as_array()
                .context("packages")?
                .iter()
                .flat_map(|p| p["externalRefs"].as_array().cloned().unwrap_or_default())
                .filter_map(|r| r["referenceLocator"].as_str().map(str::to_owned))
                .collect(),
        };
        let debs = purls
            .iter()
            .filter(|p| p.starts_with("pkg:deb/debian/"))
            .count();
        assert_eq!(debs, 96, "{format}: {purls:?}");
        assert!(purls.contains("pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"));
    }
    Ok(())
}
