use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Digest;

/// The packaging system a package belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// dpkg (Debian, Ubuntu, distroless).
    Deb,
    /// apk-tools (Alpine, Wolfi, Chainguard).
    Apk,
    /// rpm (RHEL, AlmaLinux, Rocky, Fedora, CentOS, SUSE, Amazon Linux).
    Rpm,
    /// Python distributions (PyPI).
    Python,
    /// npm packages.
    Npm,
    /// Rust crates.
    Cargo,
    /// Go modules, and the Go standard library as `stdlib`.
    Go,
    /// Java archives, named `groupId:artifactId`.
    Maven,
    /// Ruby gems.
    Gem,
    /// PHP Composer packages.
    Composer,
    /// .NET NuGet packages.
    Nuget,
}

impl Ecosystem {
    /// The name used in output and in purl types: `deb`, `apk`, `rpm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Python => "python",
            Ecosystem::Npm => "npm",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Go => "go",
            Ecosystem::Maven => "maven",
            Ecosystem::Gem => "gem",
            Ecosystem::Composer => "composer",
            Ecosystem::Nuget => "nuget",
        }
    }

    /// True for the packaging systems of the operating system (dpkg, apk, rpm), whose
    /// fixes come from the distro.
    pub fn is_os(self) -> bool {
        matches!(self, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm)
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The layer that last wrote the file a package was found in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LayerRef {
    /// Position in the image's layer list, 0 being the bottom layer.
    pub index: usize,
    /// The digest of the layer as stored (compressed blob); for a classic docker-archive,
    /// whose layers have no blob digest, the `diff_id`.
    pub digest: Digest,
    /// The digest of the uncompressed layer, as the image config lists it.
    pub diff_id: Digest,
}

/// One installed package.
///
/// For OS packages `source_name`/`source_version` name the source package that advisories
/// are written against (Debian `Source:`, Alpine `origin`, the RPM source rpm). For dpkg
/// they are always set, as `dpkg-query` prints `${source:Package}` and `${source:Version}`
/// (a binNMU such as `5.2.15-2+b13` has source version `5.2.15-2`); `None` means unknown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// The name as the ecosystem displays it: the binary package, the Python project in its
    /// original case, `@scope/name`, the Go module path (`stdlib` for Go itself), Maven's
    /// `groupId:artifactId`.
    pub name: String,
    /// The full version as the package manager prints it (`1:2.3-1~deb12u1`,
    /// `1.36.1-r2`, `2:8.2.2637-20.el9_1` — rpm's `epoch:version-release`).
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Package URL as the purl specification writes it for this type.
    pub purl: String,
    /// The layer that installed the package: for dpkg the layer of its `info/*.list`, for apk
    /// and rpm the layer that wrote most of its files, else the layer of the file it was
    /// read from;
    /// `None` for an unpacked directory, which has no layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRef>,
    /// The files the package was read from (package database, METADATA, package.json,
    /// lockfile, binary, archive), absolute in the image; an installed package that is also
    /// locked lists the installed file first.
    pub found_in: Vec<String>,
    /// The files the package owns, as its package manager records them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Further facts specific to the ecosystem (rpm `epoch`, `release`, `vendor`,
    /// `modularitylabel`; dpkg `maintainer`), sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl Package {
    /// The name advisories are written against: the source package when known.
    pub fn source_or_name(&self) -> &str {
        self.source_name.as_deref().unwrap_or(&self.name)
    }

    /// The sort key that makes output deterministic: ecosystem, name, version, arch, then
    /// where it was found.
    pub fn sort_key(&self) -> (Ecosystem, &str, &str, Option<&str>, &[String]) {
        (
            self.ecosystem,
            &self.name,
            &self.version,
            self.arch.as_deref(),
            &self.found_in,
        )
    }
}
