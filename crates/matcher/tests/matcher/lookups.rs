//! `lookups`: from a package and its image's distro to the keys, names and
//! versions advisories are filed under.

use portcullis_matcher::{Lookup, lookups};
use portcullis_types::Ecosystem;

use crate::support::{apk, deb, distro, package};

fn lookup(ecosystem: &str, field: &'static str, name: &str, version: &str) -> Lookup {
    Lookup {
        ecosystem: ecosystem.to_owned(),
        field,
        name: name.to_owned(),
        version: version.to_owned(),
    }
}

#[test]
fn debian_packages_are_looked_up_by_source_with_the_source_version() {
    let bookworm = distro("debian", Some("12"), Some("bookworm"));
    let binnmu = deb("liblzma5", "5.4.1-0.2+b1", "xz-utils", "5.4.1-0.2");
    assert_eq!(
        lookups(Some(&bookworm), &binnmu),
        [lookup("Debian:12", "source_name", "xz-utils", "5.4.1-0.2")]
    );
    // A source name without a source version: the binary's version.
    let mut partial = binnmu.clone();
    partial.source_version = None;
    assert_eq!(
        lookups(Some(&bookworm), &partial),
        [lookup(
            "Debian:12",
            "source_name",
            "xz-utils",
            "5.4.1-0.2+b1"
        )]
    );
    // No source at all: the binary name.
    let plain = package(Ecosystem::Deb, "bash", "5.2.15-2+b2", None);
    assert_eq!(
        lookups(Some(&bookworm), &plain),
        [lookup("Debian:12", "name", "bash", "5.2.15-2+b2")]
    );
}

#[test]
fn debian_releases_from_version_or_codename() {
    let p = deb("libc6", "2.36-9+deb12u4", "glibc", "2.36-9+deb12u4");
    let keys = |id: &str, version: Option<&str>, codename: Option<&str>| -> Vec<String> {
        lookups(Some(&distro(id, version, codename)), &p)
            .into_iter()
            .map(|l| l.ecosystem)
            .collect()
    };
    // `/etc/debian_version` gives a point release.
    assert_eq!(keys("debian", Some("12.5"), None), ["Debian:12"]);
    assert_eq!(keys("debian", None, Some("bookworm")), ["Debian:12"]);
    assert_eq!(keys("debian", None, Some("trixie")), ["Debian:13"]);
    assert_eq!(keys("debian", None, Some("sid")), ["Debian:sid"]);
    // Nothing known about the release: no lookup rather than a guess.
    assert!(keys("debian", None, None).is_empty());
    assert!(keys("debian", None, Some("hamm-but-not-really")).is_empty());
    // Ubuntu: the LTS key first, then the plain one.
    assert_eq!(
        keys("ubuntu", Some("22.04"), Some("jammy")),
        ["Ubuntu:22.04:LTS", "Ubuntu:22.04"]
    );
    assert!(keys("ubuntu", None, Some("jammy")).is_empty());
    // A distro without advisory data here.
    assert!(keys("linuxmint", Some("21.3"), None).is_empty());
}

#[test]
fn alpine_packages_by_origin_on_the_minor_branch() {
    let p = apk("libcrypto3", "3.3.1-r3", "openssl");
    let one = |version: &str| lookups(Some(&distro("alpine", Some(version), None)), &p);
    assert_eq!(
        one("3.20.3"),
        [lookup("Alpine:v3.20", "source_name", "openssl", "3.3.1-r3")]
    );
    assert_eq!(one("3.20")[0].ecosystem, "Alpine:v3.20");
    assert_eq!(one("3.21_alpha20240807")[0].ecosystem, "Alpine:edge");
    // Without an origin, the package itself.
    let mut own = p.clone();
    own.source_name = None;
    own.source_version = None;
    assert_eq!(
        lookups(Some(&distro("alpine", Some("3.19.1"), None)), &own),
        [lookup("Alpine:v3.19", "name", "libcrypto3", "3.3.1-r3")]
    );
}

#[test]
fn rpm_packages_by_binary_name_and_full_evr() {
    let p = package(
        Ecosystem::Rpm,
        "openssl-libs",
        "1:3.0.7-27.el9",
        Some(("openssl", "1:3.0.7-27.el9")),
    );
    assert_eq!(
        lookups(Some(&distro("almalinux", Some("9.4"), None)), &p),
        [lookup(
            "AlmaLinux:9",
            "name",
            "openssl-libs",
            "1:3.0.7-27.el9"
        )]
    );
    assert_eq!(
        lookups(Some(&distro("rocky", Some("9.3"), None)), &p)[0].ecosystem,
        "Rocky Linux:9"
    );
    // No AlmaLinux key without a release.
    assert!(lookups(Some(&distro("almalinux", None, None)), &p).is_empty());
}

#[test]
fn os_packages_need_a_distro_and_language_packages_do_not() {
    let p = deb("libc6", "2.36-9", "glibc", "2.36-9");
    assert!(lookups(None, &p).is_empty());
    let django = package(Ecosystem::Python, "Django", "4.2.1", None);
    let bookworm = distro("debian", Some("12"), Some("bookworm"));
    assert_eq!(
        lookups(Some(&bookworm), &django),
        [lookup("PyPI", "name", "Django", "4.2.1")]
    );
    assert_eq!(lookups(None, &django), lookups(Some(&bookworm), &django));
}

#[test]
fn go_versions_lose_their_prefixes_and_devel_builds_are_skipped() {
    let stdlib = package(Ecosystem::Go, "stdlib", "go1.21.3", None);
    assert_eq!(
        lookups(None, &stdlib),
        [lookup("Go", "name", "stdlib", "1.21.3")]
    );
    let module = package(Ecosystem::Go, "golang.org/x/net", "v0.17.0", None);
    assert_eq!(
        lookups(None, &module),
        [lookup("Go", "name", "golang.org/x/net", "0.17.0")]
    );
    let devel = package(Ecosystem::Go, "example.com/app", "(devel)", None);
    assert!(lookups(None, &devel).is_empty());
    let unversioned = package(Ecosystem::Npm, "left-pad", "", None);
    assert!(lookups(None, &unversioned).is_empty());
}
