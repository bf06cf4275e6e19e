//! The real test image (built by `../shared/tools/make-images.sh`), what it is known to
//! contain (`expected/*.tsv`), and its inventory as portcullis lists it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context as _, ensure};
use portcullis_image::{NoProgress, ReadOptions, Source};
use portcullis_types::{Sbom, ToolInfo};

pub fn test_images() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_TEST_IMAGES")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("pcdata/img")))
        .context("set PORTCULLIS_TEST_IMAGES")?;
    ensure!(
        dir.join("expected/dpkg.tsv").is_file() && dir.join("bookworm-vuln.docker.tar").is_file(),
        "the real test image is missing from `{}`; run ./scripts/test.sh, which builds it with ../shared/tools/make-images.sh",
        dir.display()
    );
    Ok(dir)
}

pub fn archive() -> anyhow::Result<PathBuf> {
    Ok(test_images()?.join("bookworm-vuln.docker.tar"))
}

/// The rows of `expected/<file>.tsv`.
pub fn expected(file: &str) -> anyhow::Result<BTreeSet<Vec<String>>> {
    let path = test_images()?.join("expected").join(format!("{file}.tsv"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect())
}

/// The image's inventory as `portcullis sbom` lists it, through the same crates.
pub fn inventory() -> anyhow::Result<Sbom> {
    let archive = archive()?;
    let source = Source::parse(&format!("docker-archive:{}", archive.display()))?;
    let image = portcullis_image::read_image(
        &source,
        &ReadOptions::default(),
        portcullis_catalog::selector(),
        &NoProgress,
    )?;
    let catalog = portcullis_catalog::catalog(&image)?;
    let mut sbom = Sbom {
        tool: ToolInfo {
            name: "portcullis".to_owned(),
            version: "0.1.0".to_owned(),
        },
        image: image.info,
        distro: catalog.distro,
        packages: catalog.packages,
    };
    sbom.sort();
    ensure!(
        sbom.packages.len() > 150,
        "the image lists too few packages"
    );
    Ok(sbom)
}
