use portcullis_testkit::LayerBuilder;

use crate::support::{catalog_layers, rows};

const OS_RELEASE: &str = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

fn stanza(name: &str, version: &str, source: Option<&str>) -> String {
    let source = source.map(|s| format!("Source: {s}\n")).unwrap_or_default();
    format!(
        "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n{source}Version: {version}\n\n"
    )
}

#[test]
fn each_package_is_attributed_to_the_layer_that_installed_it() -> anyhow::Result<()> {
    let base_status = stanza("libc6", "2.36-9", Some("glibc"))
        + &stanza("bash", "5.2.15-2+b13", Some("bash (5.2.15-2)"));
    let base = LayerBuilder::new()
        .file("etc/os-release", OS_RELEASE)
        .file("var/lib/dpkg/status", &base_status)
        .file(
            "var/lib/dpkg/info/libc6:amd64.list",
            "/.\n/usr\n/usr/lib/x86_64-linux-gnu/libc.so.6\n",
        )
        .file("var/lib/dpkg/info/bash.list", "/bin/bash\n")
        .dir("usr")
        .file("usr/lib/x86_64-linux-gnu/libc.so.6", "elf");
    // The second layer installs curl: dpkg rewrites the whole status file.
    let app = LayerBuilder::new()
        .file(
            "var/lib/dpkg/status",
            base_status + &stanza("curl", "7.88.1-10+deb12u5", None),
        )
        .file("var/lib/dpkg/info/curl.list", "/usr/bin/curl\n");
    let (catalog, _) = catalog_layers(vec![base, app])?;
    assert_eq!(
        rows(&catalog),
        vec![
            ("bash".into(), "5.2.15-2+b13".into(), Some(0)),
            ("curl".into(), "7.88.1-10+deb12u5".into(), Some(1)),
            ("libc6".into(), "2.36-9".into(), Some(0)),
        ]
    );
    let libc = &catalog.packages[2];
    // Directories are shared by packages and are not owned files.
    assert_eq!(libc.files, vec!["/usr/lib/x86_64-linux-gnu/libc.so.6"]);
    assert_eq!(
        libc.purl,
        "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12&upstream=glibc"
    );
    Ok(())
}

#[test]
fn distroless_status_d_is_read() -> anyhow::Result<()> {
    let layer = LayerBuilder::new()
        .file(
            "etc/os-release",
            "PRETTY_NAME=\"Distroless\"\nID=debian\nVERSION=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )
        .file(
            "var/lib/dpkg/status.d/base-files",
            "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
        )
        .file(
            "var/lib/dpkg/status.d/base-files.md5sums",
            "d41d8cd98f00b204e9800998ecf8427e  etc/issue\n",
        )
        .file(
            "var/lib/dpkg/status.d/tzdata",
            "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
        );
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(
        rows(&catalog),
        vec![
            ("base-files".into(), "12.4+deb12u5".into(), Some(0)),
            ("tzdata".into(), "2024a-0+deb12u1".into(), Some(0)),
        ]
    );
    assert_eq!(
        catalog.distro.as_ref().and_then(|d| d.codename.as_deref()),
        Some("bookworm")
    );
    Ok(())
}

#[test]
fn a_whited_out_database_lists_nothing() -> anyhow::Result<()> {
    let base = LayerBuilder::new()
        .file("etc/os-release", OS_RELEASE)
        .file("var/lib/dpkg/status", stanza("bash", "5.2.15-2", None));
    let strip = LayerBuilder::new().whiteout("var/lib/dpkg");
    let (catalog, _) = catalog_layers(vec![base, strip])?;
    assert!(catalog.packages.is_empty(), "{:?}", catalog.packages);
    Ok(())
}
