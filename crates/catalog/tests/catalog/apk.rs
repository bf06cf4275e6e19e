use portcullis_testkit::LayerBuilder;

use crate::support::{catalog_layers, rows};

const BUSYBOX: &str =
    "P:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\nF:bin\nR:busybox\n\n";
const MUSL: &str =
    "P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\n";
const CRYPTO: &str = "P:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\nF:usr\nF:usr/lib\nR:libcrypto.so.3\n\n";

#[test]
fn alpine_packages_with_origin_and_layer_of_their_files() -> anyhow::Result<()> {
    let base = LayerBuilder::new()
        .file(
            "etc/os-release",
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n",
        )
        .file("etc/alpine-release", "3.19.1\n")
        .file("lib/apk/db/installed", format!("{BUSYBOX}{MUSL}"))
        .file("bin/busybox", "elf")
        .file("lib/ld-musl-x86_64.so.1", "elf");
    let app = LayerBuilder::new()
        .file("lib/apk/db/installed", format!("{BUSYBOX}{MUSL}{CRYPTO}"))
        .file("usr/lib/libcrypto.so.3", "elf");
    let (catalog, _) = catalog_layers(vec![base, app])?;
    assert_eq!(
        rows(&catalog),
        vec![
            ("busybox".into(), "1.36.1-r15".into(), Some(0)),
            ("libcrypto3".into(), "3.1.4-r5".into(), Some(1)),
            ("musl".into(), "1.2.4_git20230717-r4".into(), Some(0)),
        ]
    );
    let crypto = &catalog.packages[1];
    assert_eq!(crypto.source_name.as_deref(), Some("openssl"));
    assert_eq!(
        crypto.purl,
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl"
    );
    Ok(())
}
