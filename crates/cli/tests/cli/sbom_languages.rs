//! Language packages on the real image that ../shared/tools/make-images.sh builds: what it
//! put in (its expected/*.tsv) must come out, nothing else, and whiteouts must remove them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use portcullis_types::{Package, Sbom};

use crate::harness::{path_str, portcullis, run_ok, test_images};

fn sbom(args: &[&str]) -> anyhow::Result<Sbom> {
    let out = run_ok(
        portcullis()
            .args(["sbom", "--format", "json", "--quiet"])
            .args(args),
    )?;
    serde_json::from_slice(&out).context("sbom --format json is not the documented format")
}

/// Where a package is installed, as make-images.sh writes it: the install directory when
/// the cataloger records one (site-packages, node_modules/<name>), else the file it read.
fn install_path(p: &Package) -> String {
    p.metadata
        .get("path")
        .cloned()
        .or_else(|| p.found_in.first().cloned())
        .unwrap_or_default()
}

/// (kind, name, version, path) for every language package.
fn language_rows(sbom: &Sbom) -> BTreeSet<(String, String, String, String)> {
    sbom.packages
        .iter()
        .filter(|p| !p.ecosystem.is_os())
        .map(|p| {
            (
                p.ecosystem.as_str().to_owned(),
                p.name.clone(),
                p.version.clone(),
                install_path(p),
            )
        })
        .collect()
}

fn expected_rows(
    images: &std::path::Path,
) -> anyhow::Result<BTreeSet<(String, String, String, String)>> {
    let mut rows = BTreeSet::new();
    for (file, kind) in [
        ("python.tsv", "python"),
        ("npm.tsv", "npm"),
        ("rust.tsv", "cargo"),
        ("go.tsv", "go"),
        ("jar.tsv", "maven"),
    ] {
        let text = std::fs::read_to_string(images.join("expected").join(file))
            .with_context(|| format!("expected/{file}"))?;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            anyhow::ensure!(f.len() == 3, "bad line in {file}: {line}");
            rows.insert((
                kind.to_owned(),
                f[0].to_owned(),
                f[1].to_owned(),
                f[2].to_owned(),
            ));
        }
    }
    Ok(rows)
}

/// make-images.sh writes the Go main module's version as `(Debian <package version>)`: it
/// means "what Debian's build recorded", which the binary says itself.
fn accept_recorded_go_main_version(
    expected: &mut BTreeSet<(String, String, String, String)>,
    got: &BTreeSet<(String, String, String, String)>,
) {
    let placeholders: Vec<_> = expected
        .iter()
        .filter(|(k, _, v, _)| k == "go" && v.starts_with("(Debian "))
        .cloned()
        .collect();
    for row in placeholders {
        if let Some(actual) = got
            .iter()
            .find(|(k, n, _, p)| k == "go" && *n == row.1 && *p == row.3)
        {
            expected.remove(&row);
            expected.insert(actual.clone());
        }
    }
}

#[test]
fn every_language_package_put_in_comes_out_and_nothing_else() -> anyhow::Result<()> {
    let images = test_images()?;
    let got = language_rows(&sbom(&[&format!(
        "oci:{}:bookworm-vuln",
        path_str(&images.join("oci"))
    )])?);
    let mut expected = expected_rows(&images)?;
    accept_recorded_go_main_version(&mut expected, &got);
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing (in expected/*.tsv, not listed):\n{missing:#?}\nextra (listed, not put in):\n{extra:#?}"
    );
    // The same from the docker-archive.
    let archive = language_rows(&sbom(&[&format!(
        "docker-archive:{}",
        path_str(&images.join("bookworm-vuln.docker.tar"))
    )])?);
    assert_eq!(archive, got);
    Ok(())
}

#[test]
fn whiteouts_remove_the_deleted_packages() -> anyhow::Result<()> {
    let images = test_images()?;
    let full = language_rows(&sbom(&[&format!(
        "oci:{}:bookworm-vuln",
        path_str(&images.join("oci"))
    )])?);
    let deleted = language_rows(&sbom(&[&format!(
        "oci:{}:bookworm-vuln-deleted",
        path_str(&images.join("oci"))
    )])?);
    let gone: BTreeMap<(String, String), String> =
        std::fs::read_to_string(images.join("expected/deleted.tsv"))?
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    (f[0].to_owned(), f[1].to_owned()),
                    f.get(2).copied().unwrap_or("").to_owned(),
                )
            })
            .collect();
    assert_eq!(gone.len(), 2, "make-images.sh deletes urllib3 and lodash");
    for ((kind, name), version) in &gone {
        let kind = if kind == "python" { "python" } else { "npm" };
        let matches = |rows: &BTreeSet<(String, String, String, String)>| {
            rows.iter()
                .filter(|(k, n, v, _)| k == kind && n.eq_ignore_ascii_case(name) && v == version)
                .count()
        };
        assert!(
            matches(&full) >= 1,
            "{kind} {name} {version} not in the full image"
        );
        assert_eq!(
            matches(&deleted),
            0,
            "{kind} {name} {version} listed although whited out"
        );
    }
    // Everything else is unchanged.
    let removed: Vec<_> = full.difference(&deleted).collect();
    assert_eq!(removed.len(), 2, "{removed:#?}");
    assert!(deleted.is_subset(&full));
    Ok(())
}
