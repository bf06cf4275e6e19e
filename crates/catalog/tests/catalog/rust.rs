//! Rust: `Cargo.lock` in formats 1 to 4 and a real `cargo auditable` binary, read through
//! the image reader.

use portcullis_catalog::Catalog;
use portcullis_testkit::LayerBuilder;
use portcullis_types::{Ecosystem, Package};

use crate::support::catalog_layers;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{FIXTURES}/{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture `{full}`: {e}"))
}

fn crates(catalog: &Catalog) -> Vec<&Package> {
    catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Cargo)
        .collect()
}

fn names(packages: &[&Package]) -> Vec<String> {
    packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect()
}

#[test]
fn an_auditable_binary_supersedes_the_lockfile_it_was_built_from() -> anyhow::Result<()> {
    let source =
        LayerBuilder::new().file("src/app/Cargo.lock", fixture("rust-auditable/Cargo.lock"));
    let binary = LayerBuilder::new().file_with_mode(
        "usr/local/bin/app",
        fixture("rust-auditable/portcullis-audit-fixture"),
        0o755,
    );
    let (catalog, _) = catalog_layers(vec![source, binary])?;
    let found = crates(&catalog);
    // Not `autocfg` (a build dependency) nor `winapi` (Windows only): the binary has
    // neither, though the lockfile lists both.
    assert_eq!(
        names(&found),
        vec![
            "audit-helper 0.1.0",
            "cfg-if 1.0.4",
            "portcullis-audit-fixture 0.2.0",
            "smallvec 1.6.0",
        ]
    );
    for package in &found {
        assert_eq!(
            package.found_in,
            vec!["/usr/local/bin/app", "/src/app/Cargo.lock"],
            "{}",
            package.name
        );
        assert_eq!(package.layer.as_ref().map(|l| l.index), Some(1));
    }
    let smallvec = found.iter().find(|p| p.name == "smallvec").unwrap();
    assert_eq!(smallvec.purl, "pkg:cargo/smallvec@1.6.0");
    assert_eq!(
        smallvec.metadata["checksum"],
        "1a55ca5f3b68e41c979bf8c46a6f1da892ca4db8f94023ce0bd32407573b1ac0"
    );
    let root = found
        .iter()
        .find(|p| p.name == "portcullis-audit-fixture")
        .unwrap();
    assert_eq!(root.metadata["root"], "true");
    assert_eq!(root.metadata["source"], "local");
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    Ok(())
}

#[test]
fn a_lockfile_of_another_release_stays_on_its_own() -> anyhow::Result<()> {
    let lock = String::from_utf8(fixture("rust-auditable/Cargo.lock"))?.replace(
        "name = \"portcullis-audit-fixture\"\nversion = \"0.2.0\"",
        "name = \"portcullis-audit-fixture\"\nversion = \"0.3.0\"",
    );
    let layer = LayerBuilder::new()
        .file("src/app/Cargo.lock", lock)
        .file_with_mode(
            "usr/local/bin/app",
            fixture("rust-auditable/portcullis-audit-fixture"),
            0o755,
        );
    let (catalog, _) = catalog_layers(vec![layer])?;
    let found = crates(&catalog);
    let from_lock: Vec<_> = found
        .iter()
        .filter(|p| p.found_in == ["/src/app/Cargo.lock"])
        .copied()
        .collect();
    let from_binary: Vec<_> = found
        .iter()
        .filter(|p| p.found_in == ["/usr/local/bin/app"])
        .copied()
        .collect();
    assert_eq!(from_lock.len() + from_binary.len(), found.len());
    assert_eq!(
        names(&from_lock),
        vec![
            "audit-helper 0.1.0",
            "autocfg 1.5.1",
            "cfg-if 1.0.4",
            "portcullis-audit-fixture 0.3.0",
            "smallvec 1.6.0",
            "winapi 0.3.9",
            "winapi-i686-pc-windows-gnu 0.4.0",
            "winapi-x86_64-pc-windows-gnu 0.4.0",
        ]
    );
    assert_eq!(from_binary.len(), 4);
    Ok(())
}

#[test]
fn every_lockfile_format_gives_the_same_packages() -> anyhow::Result<()> {
    let mut layer = LayerBuilder::new();
    for v in 1..=4 {
        layer = layer.file(
            &format!("srv/v{v}/Cargo.lock"),
            fixture(&format!("rust-lockfiles/v{v}/Cargo.lock")),
        );
    }
    let (catalog, _) = catalog_layers(vec![layer])?;
    let found = crates(&catalog);
    for v in 1..=4 {
        let path = format!("/srv/v{v}/Cargo.lock");
        let in_file: Vec<_> = found
            .iter()
            .filter(|p| p.found_in == [path.as_str()])
            .copied()
            .collect();
        assert_eq!(
            names(&in_file),
            vec![
                "cfg-if 1.0.4",
                "git-helper 0.3.0",
                "lock-fixture 0.1.0",
                "path-helper 0.1.0",
                "smallvec 1.6.0",
                "winapi 0.3.9",
                "winapi-i686-pc-windows-gnu 0.4.0",
                "winapi-x86_64-pc-windows-gnu 0.4.0",
            ],
            "format {v}"
        );
        for p in &in_file {
            assert_eq!(p.metadata["lockfile_version"], v.to_string(), "{}", p.name);
            let registry = p.metadata["source"].starts_with("registry+");
            // v1 keeps checksums in `[metadata]`, later formats inline: same result.
            assert_eq!(
                p.metadata.contains_key("checksum"),
                registry,
                "{} v{v}",
                p.name
            );
        }
        let git = in_file.iter().find(|p| p.name == "git-helper").unwrap();
        assert_eq!(
            git.purl,
            "pkg:cargo/git-helper@0.3.0?vcs_url=git%2Bfile:%2F%2F%2Ftmp%2Flockgen%2Fgitdep%40d2e56a0429eb5c9d4d0ec6e63e3c66908fc69f23"
        );
        let local = in_file.iter().find(|p| p.name == "path-helper").unwrap();
        assert_eq!(local.metadata["source"], "local");
    }
    Ok(())
}

/// The fixture binary with one byte of its compressed `.dep-v0` data flipped.
fn corrupt_dep_section() -> anyhow::Result<Vec<u8>> {
    use object::{Object as _, ObjectSection as _};
    let mut bytes = fixture("rust-auditable/portcullis-audit-fixture");
    let (offset, size) = {
        let file = object::File::parse(&*bytes)?;
        let section = file
            .section_by_name(".dep-v0")
            .ok_or_else(|| anyhow::anyhow!("no .dep-v0"))?;
        section
            .file_range()
            .ok_or_else(|| anyhow::anyhow!("no file range"))?
    };
    let middle = usize::try_from(offset + size / 2)?;
    bytes[middle] ^= 0xff;
    Ok(bytes)
}

#[test]
fn malformed_files_are_warnings_and_the_rest_is_catalogued() -> anyhow::Result<()> {
    let layer = LayerBuilder::new()
        .file("srv/broken/Cargo.lock", "[[package]]\nname = \"x\"\n")
        .file("srv/binary/Cargo.lock", b"\xff\xfe")
        .file_with_mode("usr/bin/corrupt", corrupt_dep_section()?, 0o755)
        .file_with_mode("usr/bin/not-really-elf", b"\x7fELF garbage", 0o755)
        .file_with_mode("usr/bin/script", "#!/bin/sh\nexit 0\n", 0o755)
        .file(
            "srv/good/Cargo.lock",
            fixture("rust-lockfiles/v4/Cargo.lock"),
        );
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(crates(&catalog).len(), 8);
    let warnings = catalog.warnings.join("\n");
    assert!(
        warnings.contains("skipped `/srv/broken/Cargo.lock`: invalid TOML"),
        "{warnings}"
    );
    assert!(
        warnings.contains("skipped `/srv/binary/Cargo.lock`: it is not UTF-8 text"),
        "{warnings}"
    );
    assert!(
        warnings.contains("skipped `/usr/bin/corrupt`: the `.dep-v0` section"),
        "{warnings}"
    );
    assert_eq!(catalog.warnings.len(), 3, "{warnings}");
    Ok(())
}
