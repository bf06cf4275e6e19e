//! Our own documents read back: the native JSON exactly, CycloneDX and SPDX with every
//! field the model has except what those formats cannot carry (layer `created_by`, which
//! we never write; licenses in SPDX, where several become one `AND` expression).

use portcullis_sbom::{Format, WriteOptions, read_sbom_file, to_string};
use portcullis_types::{Package, Sbom};

use crate::{fixture, image};

fn read_back(sbom: &Sbom, format: Format, options: &WriteOptions) -> anyhow::Result<Sbom> {
    let text = to_string(sbom, format, options)?;
    let read = read_sbom_file(text.as_bytes(), "ours.json")?;
    assert_eq!(read.format, format);
    assert!(read.warnings.is_empty(), "{format}: {:?}", read.warnings);
    Ok(read.sbom)
}

/// Everything but licenses, for the formats that cannot keep a list of them apart.
fn without_licenses(sbom: &Sbom) -> Sbom {
    let mut sbom = sbom.clone();
    for package in &mut sbom.packages {
        package.licenses.clear();
    }
    for layer in &mut sbom.image.layers {
        layer.created_by = None;
    }
    sbom
}

fn with_files(include: bool) -> WriteOptions {
    WriteOptions {
        include_files: include,
        ..WriteOptions::default()
    }
}

fn without_files(sbom: &Sbom) -> Sbom {
    let mut sbom = sbom.clone();
    for package in &mut sbom.packages {
        package.files.clear();
    }
    sbom
}

/// ecosystem, name, version, purl, source name, source version.
type Key = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// The key fields: name, version, ecosystem, purl, source.
fn keys(packages: &[Package]) -> Vec<Key> {
    packages
        .iter()
        .map(|p| {
            (
                p.ecosystem.to_string(),
                p.name.clone(),
                p.version.clone(),
                p.purl.clone(),
                p.source_name.clone(),
                p.source_version.clone(),
            )
        })
        .collect()
}

#[test]
fn native_json_of_the_real_image_reads_back_exactly() -> anyhow::Result<()> {
    let sbom = image::inventory()?;
    assert!(sbom.packages.iter().any(|p| !p.files.is_empty()));
    assert_eq!(read_back(&sbom, Format::Json, &with_files(true))?, sbom);
    assert_eq!(
        read_back(&sbom, Format::Json, &with_files(false))?,
        without_files(&sbom)
    );
    Ok(())
}

#[test]
fn cyclonedx_and_spdx_of_the_real_image_read_back_whole() -> anyhow::Result<()> {
    let sbom = image::inventory()?;
    for format in [Format::CycloneDx, Format::Spdx] {
        let read = read_back(&sbom, format, &WriteOptions::default())?;
        assert_eq!(keys(&read.packages), keys(&sbom.packages), "{format}");
        assert_eq!(
            without_licenses(&read),
            without_licenses(&without_files(&sbom)),
            "{format}"
        );
        let read = read_back(&sbom, format, &with_files(true))?;
        assert_eq!(without_licenses(&read), without_licenses(&sbom), "{format}");
    }
    Ok(())
}

#[test]
fn cyclonedx_keeps_every_license_as_recorded() -> anyhow::Result<()> {
    for mut sbom in [image::inventory()?, fixture::mixed()] {
        sbom.sort();
        let read = read_back(&sbom, Format::CycloneDx, &WriteOptions::default())?;
        for (ours, back) in sbom.packages.iter().zip(&read.packages) {
            // CycloneDX holds one expression or a list of licenses; a list of SPDX
            // licenses with a compound one among them becomes one `AND` expression.
            let compound = ours.licenses.len() > 1 && ours.licenses.iter().any(|l| l.contains(' '));
            if !compound {
                // Each license once, as the writer lists them.
                let mut trimmed: Vec<&str> = Vec::new();
                for license in ours.licenses.iter().map(|l| l.trim()) {
                    if !trimmed.contains(&license) {
                        trimmed.push(license);
                    }
                }
                assert_eq!(back.licenses, trimmed, "{}", ours.name);
            }
        }
    }
    Ok(())
}

#[test]
fn the_mixed_fixture_reads_back_from_every_format() -> anyhow::Result<()> {
    let sbom = fixture::mixed();
    let mut sorted = sbom.clone();
    sorted.sort();
    let options = WriteOptions {
        include_files: true,
        ..fixture::timestamped()
    };
    assert_eq!(read_back(&sbom, Format::Json, &options)?, sorted);
    for format in [Format::CycloneDx, Format::Spdx] {
        let read = read_back(&sbom, format, &options)?;
        assert_eq!(
            without_licenses(&read),
            without_licenses(&sorted),
            "{format}"
        );
    }
    let empty = fixture::empty();
    assert_eq!(read_back(&empty, Format::Json, &options)?, empty);
    for format in [Format::CycloneDx, Format::Spdx] {
        let read = read_back(&empty, format, &options)?;
        assert!(read.packages.is_empty());
        assert_eq!(read.image.reference, empty.image.reference);
    }
    Ok(())
}
