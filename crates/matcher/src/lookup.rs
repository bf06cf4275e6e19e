//! From a package to the keys advisories are filed under.

use portcullis_types::{Distro, Ecosystem, Package};

/// One lookup to make for a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The OSV ecosystem key: `Debian:12`, `Alpine:v3.20`, `PyPI`.
    pub ecosystem: String,
    /// The package field the name comes from: `name` or `source_name`.
    pub field: &'static str,
    pub name: String,
    /// The version to compare, as the advisories of that ecosystem write it.
    pub version: String,
}

/// Debian release numbers by codename, for images that state only a codename
/// (testing and unstable have no `VERSION_ID`).
const DEBIAN_CODENAMES: [(&str, &str); 9] = [
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The ecosystem keys of a distro release, most specific first.
pub fn distro_keys(distro: &Distro) -> Vec<String> {
    let version = distro.version_id.as_deref().unwrap_or_default();
    let major = version.split('.').next().unwrap_or_default();
    let major_minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    match distro.id.as_str() {
        "debian" => {
            let number = if major.is_empty() {
                distro
                    .codename
                    .as_deref()
                    .and_then(|c| DEBIAN_CODENAMES.iter().find(|(n, _)| *n == c))
                    .map(|(_, v)| (*v).to_owned())
            } else {
                Some(major.to_owned())
            };
            match number {
                Some(n) => vec![format!("Debian:{n}")],
                None if distro.codename.as_deref() == Some("sid") => vec!["Debian:sid".into()],
                None => Vec::new(),
            }
        }
        "ubuntu" if !version.is_empty() => {
            vec![format!("Ubuntu:{version}:LTS"), format!("Ubuntu:{version}")]
        }
        "alpine" if !major_minor.is_empty() => {
            // Edge and pre-releases (`3.21_alpha20240807`) are `edge` in secdb.
            if version.contains('_') {
                vec!["Alpine:edge".into()]
            } else {
                vec![format!("Alpine:v{major_minor}")]
            }
        }
        "almalinux" if !major.is_empty() => vec![format!("AlmaLinux:{major}")],
        "rocky" if !major.is_empty() => vec![format!("Rocky Linux:{major}")],
        "wolfi" => vec!["Wolfi".into()],
        "chainguard" => vec!["Chainguard".into()],
        _ => Vec::new(),
    }
}

fn language_ecosystem(ecosystem: Ecosystem) -> Option<&'static str> {
    Some(match ecosystem {
        Ecosystem::Python => "PyPI",
        Ecosystem::Npm => "npm",
        Ecosystem::Cargo => "crates.io",
        Ecosystem::Go => "Go",
        Ecosystem::Maven => "Maven",
        Ecosystem::Gem => "RubyGems",
        Ecosystem::Composer => "Packagist",
        Ecosystem::Nuget => "NuGet",
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => return None,
    })
}

/// The lookups to make for one package.
pub fn lookups(distro: Option<&Distro>, package: &Package) -> Vec<Lookup> {
    if package.ecosystem.is_os() {
        let Some(distro) = distro else {
            return Vec::new();
        };
        let (field, name, version) = match package.ecosystem {
            // Debian and Alpine file advisories under the source package and
            // its version (a binNMU `+b1` is not in the source version).
            Ecosystem::Deb | Ecosystem::Apk => match &package.source_name {
                Some(source) => (
                    "source_name",
                    source.clone(),
                    package
                        .source_version
                        .clone()
                        .unwrap_or_else(|| package.version.clone()),
                ),
                None => ("name", package.name.clone(), package.version.clone()),
            },
            // rpm errata (OSV) list binary packages.
            _ => ("name", package.name.clone(), package.version.clone()),
        };
        return distro_keys(distro)
            .into_iter()
            .map(|ecosystem| Lookup {
                ecosystem,
                field,
                name: name.clone(),
                version: version.clone(),
            })
            .collect();
    }
    let Some(ecosystem) = language_ecosystem(package.ecosystem) else {
        return Vec::new();
    };
    // A Go binary's main module built from a checkout has no version to compare.
    if package.version == "(devel)" || package.version.is_empty() {
        return Vec::new();
    }
    let version = match package.ecosystem {
        // Go advisories write `1.21.3`; modules are `v1.21.3` and the toolchain `go1.21.3`.
        Ecosystem::Go if package.name == "stdlib" => package
            .version
            .strip_prefix("go")
            .unwrap_or(&package.version)
            .to_owned(),
        Ecosystem::Go => package
            .version
            .strip_prefix('v')
            .unwrap_or(&package.version)
            .to_owned(),
        _ => package.version.clone(),
    };
    vec![Lookup {
        ecosystem: ecosystem.to_owned(),
        field: "name",
        name: package.name.clone(),
        version,
    }]
}

/// Header and tool packages built from the kernel source: kernel
/// vulnerabilities are about the running kernel, which a container does not ship.
pub fn is_kernel_tooling(package: &Package) -> bool {
    match package.ecosystem {
        Ecosystem::Deb => {
            let source = package.source_or_name();
            (source == "linux" || source.starts_with("linux-signed"))
                && (package.name == "linux-libc-dev"
                    || package.name.starts_with("linux-headers")
                    || package.name.starts_with("linux-kbuild")
                    || package.name.starts_with("linux-tools")
                    || package.name.starts_with("linux-compiler")
                    || package.name.starts_with("linux-perf")
                    || package.name == "bpftool"
                    || package.name == "usbip"
                    || package.name == "hyperv-daemons")
        }
        Ecosystem::Rpm => matches!(
            package.name.as_str(),
            "kernel-headers"
                | "kernel-devel"
                | "kernel-tools"
                | "kernel-tools-libs"
                | "perf"
                | "bpftool"
                | "python3-perf"
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, version: Option<&str>, codename: Option<&str>) -> Distro {
        Distro {
            id: id.into(),
            version_id: version.map(Into::into),
            codename: codename.map(Into::into),
            ..Distro::default()
        }
    }

    #[test]
    fn distro_releases_become_osv_ecosystems() {
        assert_eq!(
            distro_keys(&distro("debian", Some("12"), Some("bookworm"))),
            ["Debian:12"]
        );
        assert_eq!(
            distro_keys(&distro("debian", None, Some("trixie"))),
            ["Debian:13"]
        );
        assert_eq!(
            distro_keys(&distro("debian", None, Some("sid"))),
            ["Debian:sid"]
        );
        assert_eq!(
            distro_keys(&distro("ubuntu", Some("22.04"), None)),
            ["Ubuntu:22.04:LTS", "Ubuntu:22.04"]
        );
        assert_eq!(
            distro_keys(&distro("alpine", Some("3.20.1"), None)),
            ["Alpine:v3.20"]
        );
        assert_eq!(
            distro_keys(&distro("alpine", Some("3.21_alpha20240807"), None)),
            ["Alpine:edge"]
        );
        assert_eq!(
            distro_keys(&distro("almalinux", Some("9.4"), None)),
            ["AlmaLinux:9"]
        );
        assert_eq!(
            distro_keys(&distro("rocky", Some("8.9"), None)),
            ["Rocky Linux:8"]
        );
        assert!(distro_keys(&distro("plan9", Some("4"), None)).is_empty());
    }
}
