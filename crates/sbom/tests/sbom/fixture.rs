//! Hand-built SBOMs: a small mixed one that exercises every branch of the writers, and an
//! empty one.

use std::collections::BTreeMap;

use portcullis_sbom::WriteOptions;
use portcullis_types::{
    Digest, Distro, Ecosystem, ImageInfo, LayerInfo, LayerRef, Package, Sbom, ToolInfo,
};

pub const TIMESTAMP: &str = "2024-05-01T12:00:00Z";

pub fn digest(fill: char) -> Digest {
    format!("sha256:{}", fill.to_string().repeat(64))
        .parse()
        .expect("test digest")
}

fn layer(index: usize) -> LayerRef {
    let (digest_fill, diff_fill) = [('a', 'b'), ('c', 'd')][index];
    LayerRef {
        index,
        digest: digest(digest_fill),
        diff_id: digest(diff_fill),
    }
}

pub fn tool() -> ToolInfo {
    ToolInfo {
        name: "portcullis".into(),
        version: "0.1.0".into(),
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "a table of test packages reads best flat"
)]
fn package(
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    arch: &str,
    source: Option<(&str, &str)>,
    licenses: &[&str],
    purl: &str,
    layer: Option<LayerRef>,
    found_in: &str,
) -> Package {
    Package {
        ecosystem,
        name: name.into(),
        version: version.into(),
        arch: Some(arch.into()),
        source_name: source.map(|(n, _)| n.to_owned()),
        source_version: source.map(|(_, v)| v.to_owned()),
        licenses: licenses.iter().map(|l| (*l).to_owned()).collect(),
        purl: purl.into(),
        layer,
        found_in: vec![found_in.into()],
        files: vec![],
        metadata: BTreeMap::new(),
    }
}

/// Deb, apk and rpm packages with and without source packages; SPDX ids, a compound SPDX
/// expression and non-SPDX names (Debian and RPM vocabularies); the same package recorded
/// twice (same purl, two databases); two packages with the same name; a package without a
/// layer; files on one package. Deliberately out of canonical order.
pub fn mixed() -> Sbom {
    let mut openssl = package(
        Ecosystem::Rpm,
        "openssl-libs",
        "1:3.0.7-27.el9",
        "x86_64",
        Some(("openssl", "3.0.7-27.el9")),
        &["ASL 2.0"],
        "pkg:rpm/rhel/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&distro=rhel-9.4",
        Some(layer(1)),
        "/var/lib/rpm/rpmdb.sqlite",
    );
    openssl.metadata = BTreeMap::from([
        ("epoch".into(), "1".into()),
        ("release".into(), "27.el9".into()),
        ("vendor".into(), "Red Hat, Inc.".into()),
    ]);
    openssl.files = vec![
        "/usr/lib64/libcrypto.so.3".into(),
        "/usr/lib64/libssl.so.3".into(),
    ];
    let mut tzdata = package(
        Ecosystem::Deb,
        "tzdata",
        "2024a-0+deb12u1",
        "all",
        None,
        &[],
        "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
        None,
        "/var/lib/dpkg/status",
    );
    tzdata.arch = None;
    let packages = vec![
        openssl,
        package(
            Ecosystem::Deb,
            "zlib1g",
            "1:1.2.13.dfsg-1",
            "amd64",
            Some(("zlib", "1:1.2.13.dfsg-1")),
            &["Zlib"],
            "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12",
            Some(layer(0)),
            "/var/lib/dpkg/status.d/zlib1g",
        ),
        package(
            Ecosystem::Deb,
            "libc6",
            "2.36-9+deb12u4",
            "amd64",
            Some(("glibc", "2.36-9+deb12u4")),
            &["LGPL-2.1+", "GPL-2+", "LGPL-2.1+"],
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
            Some(layer(0)),
            "/var/lib/dpkg/status",
        ),
        tzdata,
        package(
            Ecosystem::Deb,
            "zlib1g",
            "1:1.2.13.dfsg-1",
            "amd64",
            Some(("zlib", "1:1.2.13.dfsg-1")),
            &["Zlib"],
            "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12",
            Some(layer(0)),
            "/var/lib/dpkg/status",
        ),
        package(
            Ecosystem::Deb,
            "bash",
            "5.2.15-2+b2",
            "amd64",
            None,
            &["GPL-3.0-or-later"],
            "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12",
            Some(layer(0)),
            "/var/lib/dpkg/status",
        ),
        package(
            Ecosystem::Apk,
            "busybox",
            "1.36.1-r29",
            "x86_64",
            None,
            &["GPL-2.0-only"],
            "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.20.1",
            Some(layer(1)),
            "/lib/apk/db/installed",
        ),
        package(
            Ecosystem::Apk,
            "ssl_client",
            "1.36.1-r29",
            "x86_64",
            Some(("busybox", "1.36.1-r29")),
            &["GPL-2.0-only"],
            "pkg:apk/alpine/ssl_client@1.36.1-r29?arch=x86_64&upstream=busybox&distro=alpine-3.20.1",
            Some(layer(1)),
            "/lib/apk/db/installed",
        ),
        package(
            Ecosystem::Apk,
            "libcrypto3",
            "3.3.1-r0",
            "x86_64",
            Some(("openssl", "3.3.1-r0")),
            &["Apache-2.0 AND MIT"],
            "pkg:apk/alpine/libcrypto3@3.3.1-r0?arch=x86_64&upstream=openssl&distro=alpine-3.20.1",
            Some(layer(1)),
            "/lib/apk/db/installed",
        ),
        package(
            Ecosystem::Rpm,
            "glibc",
            "2.34-100.el9",
            "x86_64",
            Some(("glibc", "2.34-100.el9")),
            &["LGPLv2+ and LGPLv2+ with exceptions and GPLv2+"],
            "pkg:rpm/rhel/glibc@2.34-100.el9?arch=x86_64&distro=rhel-9.4",
            Some(layer(1)),
            "/var/lib/rpm/rpmdb.sqlite",
        ),
        package(
            Ecosystem::Rpm,
            "glibc",
            "2.34-100.el9",
            "i686",
            Some(("glibc", "2.34-100.el9")),
            &["LGPLv2+ and LGPLv2+ with exceptions and GPLv2+"],
            "pkg:rpm/rhel/glibc@2.34-100.el9?arch=i686&distro=rhel-9.4",
            Some(layer(1)),
            "/var/lib/rpm/rpmdb.sqlite",
        ),
    ];
    Sbom {
        tool: tool(),
        image: ImageInfo {
            reference: "oci:/tmp/layout:1.0".into(),
            source_kind: "oci".into(),
            manifest_digest: Some(digest('1')),
            config_digest: Some(digest('2')),
            index_digest: Some(digest('3')),
            platform: Some("linux/amd64".into()),
            tags: vec!["example/app:1.0".into()],
            layers: vec![
                LayerInfo {
                    digest: digest('a'),
                    diff_id: digest('b'),
                    size: 1234,
                    media_type: Some("application/vnd.oci.image.layer.v1.tar+gzip".into()),
                    created_by: Some("RUN --mount=type=secret,id=token make".into()),
                },
                LayerInfo {
                    digest: digest('c'),
                    diff_id: digest('d'),
                    size: 5678,
                    media_type: None,
                    created_by: None,
                },
            ],
            annotations: BTreeMap::from([(
                "org.opencontainers.image.source".into(),
                "https://example.invalid/app".into(),
            )]),
            user: Some("app".into()),
            created: Some("2024-01-02T03:04:05Z".into()),
        },
        distro: Some(Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            codename: Some("bookworm".into()),
            id_like: vec![],
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            source_path: "/etc/os-release".into(),
        }),
        packages,
    }
}

/// An unpacked directory with nothing recognisable in it: no digests, no distro, no packages.
pub fn empty() -> Sbom {
    Sbom {
        tool: tool(),
        image: ImageInfo {
            reference: "dir:/srv/empty".into(),
            source_kind: "dir".into(),
            ..ImageInfo::default()
        },
        distro: None,
        packages: vec![],
    }
}

pub fn timestamped() -> WriteOptions {
    WriteOptions {
        timestamp: Some(TIMESTAMP.into()),
        ..WriteOptions::default()
    }
}
