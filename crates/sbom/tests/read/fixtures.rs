//! The small apk and rpm documents in `fixtures/input/` (see its README): source packages,
//! epochs, distro and skipped components.

use std::path::PathBuf;

use portcullis_sbom::{Format, ReadSbom, SBOM_SOURCE_KIND, read_sbom_file};
use portcullis_types::{Ecosystem, Package};

fn read(file: &str) -> ReadSbom {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/input")
        .join(file);
    let bytes = std::fs::read(&path).unwrap();
    read_sbom_file(&bytes, file).unwrap()
}

fn package<'a>(read: &'a ReadSbom, name: &str) -> &'a Package {
    read.sbom
        .packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

fn source(p: &Package) -> (Option<&str>, Option<&str>) {
    (p.source_name.as_deref(), p.source_version.as_deref())
}

#[test]
fn syft_alpine_cyclonedx() {
    let read = read("syft-alpine.cdx.json");
    assert_eq!(read.format, Format::CycloneDx);
    assert_eq!(read.sbom.tool.name, "syft");
    let distro = read.sbom.distro.as_ref().unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("alpine", Some("3.20.1"))
    );
    assert_eq!(distro.pretty_name.as_deref(), Some("Alpine Linux v3.20"));
    assert_eq!(portcullis_matcher::distro_keys(distro), ["Alpine:v3.20"]);
    assert_eq!(read.sbom.image.reference, "alpine:3.20");
    assert_eq!(read.sbom.image.source_kind, SBOM_SOURCE_KIND);
    assert!(read.sbom.image.manifest_digest.is_some());

    let crypto = package(&read, "libcrypto3");
    assert_eq!(crypto.ecosystem, Ecosystem::Apk);
    assert_eq!(source(crypto), (Some("openssl"), Some("3.3.1-r0")));
    assert_eq!(crypto.arch.as_deref(), Some("x86_64"));
    assert_eq!(crypto.found_in, ["/lib/apk/db/installed"]);
    assert_eq!(crypto.licenses, ["Apache-2.0"]);
    assert_eq!(
        source(package(&read, "ssl_client")),
        (Some("busybox"), Some("1.36.1-r29"))
    );
    // Syft writes no origin when it is the package itself; apk leaves the source unknown.
    assert_eq!(source(package(&read, "busybox")), (None, None));

    assert_eq!(read.sbom.packages.len(), 3);
    assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
    assert!(
        read.warnings[0].contains("syft-alpine.cdx.json")
            && read.warnings[0].contains("skipped 1 component")
            && read.warnings[0].contains("pkg:github (1)"),
        "{}",
        read.warnings[0]
    );
}

#[test]
fn trivy_rhel_cyclonedx() {
    let read = read("trivy-rhel.cdx.json");
    assert_eq!(read.sbom.tool.name, "trivy");
    let distro = read.sbom.distro.as_ref().unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("rhel", Some("9.4"))
    );
    assert_eq!(distro.source_path, "trivy-rhel.cdx.json");
    let image = &read.sbom.image;
    assert_eq!(image.reference, "registry.example/ubi9:9.4");
    assert_eq!(
        image
            .config_digest
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("sha256:3333333333333333333333333333333333333333333333333333333333333333")
    );
    assert_eq!(image.annotations["vendor"], "Red Hat, Inc.");

    let openssl = package(&read, "openssl-libs");
    assert_eq!(openssl.ecosystem, Ecosystem::Rpm);
    assert_eq!(openssl.version, "1:3.0.7-27.el9");
    assert_eq!(source(openssl), (Some("openssl"), Some("1:3.0.7-27.el9")));
    assert_eq!(
        openssl.metadata.get("layer_diff_id").map(String::as_str),
        Some("sha256:4444444444444444444444444444444444444444444444444444444444444444")
    );
    assert!(openssl.found_in.is_empty());
    assert_eq!(
        source(package(&read, "bash")),
        (Some("bash"), Some("5.1.8-9.el9"))
    );

    // Trivy's `v1.21.0` is Go's `go1.21.0`; the binary it was found in is the
    // application component that depends on it.
    let stdlib = package(&read, "stdlib");
    assert_eq!(stdlib.version, "go1.21.0");
    assert_eq!(stdlib.found_in, ["/usr/bin/tool"]);
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
}

#[test]
fn syft_rhel_spdx_without_an_os_package() {
    let read = read("syft-rhel.spdx.json");
    assert_eq!(read.format, Format::Spdx);
    assert_eq!(read.sbom.tool.name, "syft");
    assert_eq!(read.sbom.tool.version, "1.18.1");
    let distro = read.sbom.distro.as_ref().unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("rhel", Some("9.4"))
    );
    let openssl = package(&read, "openssl-libs");
    assert_eq!(openssl.version, "1:3.0.7-27.el9");
    assert_eq!(source(openssl), (Some("openssl"), Some("1:3.0.7-27.el9")));
    assert_eq!(openssl.found_in, ["/var/lib/rpm/rpmdb.sqlite"]);
    assert_eq!(openssl.licenses, ["ASL 2.0"]);
    let setuptools = package(&read, "setuptools");
    assert_eq!(setuptools.ecosystem, Ecosystem::Python);
    assert_eq!(source(setuptools), (None, None));
    assert_eq!(
        setuptools.found_in,
        ["/usr/lib/python3.9/site-packages/setuptools-53.0.0.dist-info/METADATA"]
    );
    // The container is the image, not a package.
    assert_eq!(read.sbom.packages.len(), 2);
    assert_eq!(read.sbom.image.reference, "registry.example/ubi9:9.4");
    assert!(read.sbom.image.manifest_digest.is_some());
}
