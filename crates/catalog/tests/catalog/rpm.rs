//! The rpm cataloger on the real CentOS databases that Debian's
//! golang-github-knqyf263-go-rpmdb-dev ships, checked against rpm itself.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, ensure};
use portcullis_testkit::LayerBuilder;
use portcullis_types::Ecosystem;

use crate::support::catalog_layers;

const TESTDATA: &str = "/usr/share/gocode/src/github.com/knqyf263/go-rpmdb/pkg/testdata";

/// name, `[epoch:]version-release` as we print it, arch, source rpm
fn rpm_qa(db_dir: &Path) -> anyhow::Result<BTreeSet<(String, String, String, String)>> {
    let work = tempfile::tempdir()?;
    std::fs::copy(db_dir.join("Packages"), work.path().join("Packages"))?;
    let out = Command::new("rpm")
        .args(["-qa", "--dbpath"])
        .arg(work.path())
        .args([
            "--define",
            "_db_backend bdb_ro",
            "--qf",
            "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n",
        ])
        .output()
        .context("rpm is not installed; run `apt-get install -y rpm`")?;
    ensure!(
        out.status.success(),
        "rpm -qa failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let evr = f[1].strip_prefix("0:").unwrap_or(f[1]).to_owned();
            (f[0].to_owned(), evr, f[2].to_owned(), f[3].to_owned())
        })
        .filter(|(name, ..)| name != "gpg-pubkey")
        .collect())
}

#[test]
fn centos_images_list_what_rpm_lists() -> anyhow::Result<()> {
    let testdata = Path::new(TESTDATA);
    ensure!(
        testdata.is_dir(),
        "{TESTDATA} is missing; run `apt-get install -y golang-github-knqyf263-go-rpmdb-dev`"
    );
    for case in [
        "centos7-httpd24",
        "centos8-modularitylabel",
        "centos6-plain",
    ] {
        let dir = testdata.join(case);
        let expected = rpm_qa(&dir)?;
        let layer = LayerBuilder::new()
            .file(
                "etc/redhat-release",
                "CentOS Linux release 7.9.2009 (Core)\n",
            )
            .file("var/lib/rpm/Packages", std::fs::read(dir.join("Packages"))?);
        let (catalog, _) = catalog_layers(vec![layer])?;
        let got: BTreeSet<_> = catalog
            .packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Rpm)
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.arch.clone().unwrap_or_else(|| "(none)".into()),
                    p.metadata
                        .get("source_rpm")
                        .cloned()
                        .unwrap_or_else(|| "(none)".into()),
                )
            })
            .collect();
        assert_eq!(got, expected, "{case}");
        assert!(!got.is_empty());
        // Files of these packages are not in the image, so the database's layer is theirs.
        assert!(
            catalog
                .packages
                .iter()
                .all(|p| p.layer.as_ref().is_some_and(|l| l.index == 0))
        );
        if case == "centos8-modularitylabel" {
            assert!(
                catalog
                    .packages
                    .iter()
                    .any(|p| p.metadata.contains_key("modularitylabel"))
            );
        }
    }
    Ok(())
}

#[test]
fn a_corrupt_database_is_an_error_that_names_it() -> anyhow::Result<()> {
    let layer = LayerBuilder::new().file(
        "var/lib/rpm/rpmdb.sqlite",
        b"SQLite format 3\0 but truncated".as_slice(),
    );
    let err = crate::support::catalog_layers(vec![layer]).expect_err("corrupt rpmdb accepted");
    assert!(
        format!("{err:#}").contains("/var/lib/rpm/rpmdb.sqlite"),
        "{err:#}"
    );
    Ok(())
}
