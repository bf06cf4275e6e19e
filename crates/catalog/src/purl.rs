//! Package URLs as the purl specification writes them for `deb`, `apk` and `rpm`.
//!
//! The namespace is the distro's `ID` (`debian`, `ubuntu`, `alpine`, `centos`…), the
//! `distro` qualifier is `ID-VERSION_ID` (`debian-12`), and the source package goes in the
//! `upstream` qualifier when it differs, as Syft writes them, so that tools reading our
//! SBOMs can match by source package.

use packageurl::PackageUrl;
use portcullis_types::Distro;

pub(crate) fn deb(
    name: &str,
    version: &str,
    arch: Option<&str>,
    source_name: &str,
    source_version: &str,
    distro: Option<&Distro>,
) -> String {
    let upstream = if source_name == name && source_version == version {
        None
    } else if source_version == version {
        Some(source_name.to_owned())
    } else {
        Some(format!("{source_name}@{source_version}"))
    };
    build(
        "deb",
        namespace(distro, "debian"),
        name,
        version,
        arch,
        upstream,
        None,
        distro,
    )
}

pub(crate) fn apk(
    name: &str,
    version: &str,
    arch: Option<&str>,
    origin: Option<&str>,
    distro: Option<&Distro>,
) -> String {
    let upstream = origin.filter(|o| *o != name).map(str::to_owned);
    build(
        "apk",
        namespace(distro, "alpine"),
        name,
        version,
        arch,
        upstream,
        None,
        distro,
    )
}

pub(crate) fn rpm(
    name: &str,
    version_release: &str,
    epoch: Option<u32>,
    arch: Option<&str>,
    source_rpm: Option<&str>,
    distro: Option<&Distro>,
) -> String {
    let upstream = source_rpm.map(str::to_owned);
    let ns = match distro.map(|d| d.id.as_str()) {
        Some("rhel") => "redhat".to_owned(),
        Some(id) => id.to_owned(),
        None => "rpm".to_owned(),
    };
    build(
        "rpm",
        ns,
        name,
        version_release,
        arch,
        upstream,
        epoch,
        distro,
    )
}

fn namespace(distro: Option<&Distro>, default: &str) -> String {
    distro.map_or_else(|| default.to_owned(), |d| d.id.clone())
}

#[allow(
    clippy::too_many_arguments,
    reason = "one private builder shared by three purl types"
)]
fn build(
    ty: &str,
    namespace: String,
    name: &str,
    version: &str,
    arch: Option<&str>,
    upstream: Option<String>,
    epoch: Option<u32>,
    distro: Option<&Distro>,
) -> String {
    // The packageurl crate only fails on an empty type or name or a bad qualifier key;
    // all keys here are constants and the name is checked non-empty by every cataloger.
    let Ok(mut purl) = PackageUrl::new(ty, name) else {
        return format!("pkg:{ty}/{namespace}/{name}@{version}");
    };
    let _ = purl.with_namespace(namespace);
    let _ = purl.with_version(version);
    if let Some(arch) = arch {
        let _ = purl.add_qualifier("arch", arch);
    }
    if let Some(epoch) = epoch.filter(|e| *e != 0) {
        let _ = purl.add_qualifier("epoch", epoch.to_string());
    }
    if let Some(distro) = distro {
        let _ = purl.add_qualifier("distro", distro.purl_qualifier());
    }
    if let Some(upstream) = upstream {
        let _ = purl.add_qualifier("upstream", upstream);
    }
    purl.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debian() -> Distro {
        Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            source_path: "/etc/os-release".into(),
            ..Distro::default()
        }
    }

    #[test]
    fn deb_purls() {
        let d = debian();
        assert_eq!(
            deb(
                "bash",
                "5.2.15-2+b13",
                Some("amd64"),
                "bash",
                "5.2.15-2",
                Some(&d)
            ),
            "pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"
        );
        assert_eq!(
            deb(
                "libc6",
                "2.36-9+deb12u4",
                Some("amd64"),
                "glibc",
                "2.36-9+deb12u4",
                Some(&d)
            ),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
        );
        assert_eq!(
            deb(
                "adduser",
                "3.134",
                Some("all"),
                "adduser",
                "3.134",
                Some(&d)
            ),
            "pkg:deb/debian/adduser@3.134?arch=all&distro=debian-12"
        );
    }

    #[test]
    fn rpm_purl_with_epoch() {
        let d = Distro {
            id: "rhel".into(),
            version_id: Some("9".into()),
            source_path: "/etc/os-release".into(),
            ..Distro::default()
        };
        assert_eq!(
            rpm(
                "vim-minimal",
                "8.2.2637-20.el9_1",
                Some(2),
                Some("x86_64"),
                Some("vim-8.2.2637-20.el9_1.src.rpm"),
                Some(&d)
            ),
            "pkg:rpm/redhat/vim-minimal@8.2.2637-20.el9_1?arch=x86_64&distro=rhel-9&epoch=2&upstream=vim-8.2.2637-20.el9_1.src.rpm"
        );
    }
}
