//! The version schemes, their names and aliases, and the OSV ecosystems that use them.

use std::fmt;
use std::str::FromStr;

use crate::VersionError;

/// A version ordering, named after the tool whose rules it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// dpkg (Debian, Ubuntu).
    Deb,
    /// rpm's `rpmvercmp` over `[epoch:]version[-release]`.
    Rpm,
    /// apk-tools (Alpine, Wolfi).
    Apk,
    /// PEP 440 as implemented by Python's `packaging`.
    Pep440,
    /// node-semver (npm).
    Npm,
    /// Cargo's SemVer (the `semver` crate).
    Cargo,
    /// Go module versions (`golang.org/x/mod/semver`) and toolchain versions (`go1.21.3`).
    Go,
    /// Maven's `ComparableVersion`.
    Maven,
    /// RubyGems' `Gem::Version`.
    Gem,
    /// NuGet's `NuGetVersion`.
    Nuget,
}

impl Scheme {
    /// Every scheme, in a fixed order.
    pub fn all() -> [Scheme; 10] {
        [
            Scheme::Deb,
            Scheme::Rpm,
            Scheme::Apk,
            Scheme::Pep440,
            Scheme::Npm,
            Scheme::Cargo,
            Scheme::Go,
            Scheme::Maven,
            Scheme::Gem,
            Scheme::Nuget,
        ]
    }

    /// The canonical lowercase name, as accepted by `FromStr` and printed by `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Deb => "deb",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Pep440 => "pep440",
            Scheme::Npm => "npm",
            Scheme::Cargo => "cargo",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::Gem => "gem",
            Scheme::Nuget => "nuget",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let scheme = match s.trim().to_ascii_lowercase().as_str() {
            "deb" | "dpkg" | "debian" => Scheme::Deb,
            "rpm" => Scheme::Rpm,
            "apk" | "alpine" => Scheme::Apk,
            "pep440" | "pypi" | "python" => Scheme::Pep440,
            "npm" => Scheme::Npm,
            "cargo" | "semver" | "crates.io" => Scheme::Cargo,
            "go" | "golang" => Scheme::Go,
            "maven" => Scheme::Maven,
            "gem" | "rubygems" => Scheme::Gem,
            "nuget" => Scheme::Nuget,
            _ => return Err(VersionError::UnknownScheme(s.to_owned())),
        };
        Ok(scheme)
    }
}

/// The scheme that orders versions of an OSV `affected[].package.ecosystem`,
/// or `None` for ecosystems this crate cannot order.
///
/// Distribution ecosystems carry a release after a colon (`Debian:12`,
/// `Alpine:v3.20`, `Ubuntu:22.04:LTS`); only the part before it matters.
pub fn scheme_for_osv_ecosystem(ecosystem: &str) -> Option<Scheme> {
    let base = ecosystem.split(':').next().unwrap_or_default().trim();
    let scheme = match base {
        "PyPI" => Scheme::Pep440,
        "npm" => Scheme::Npm,
        "crates.io" => Scheme::Cargo,
        "Go" => Scheme::Go,
        "Maven" => Scheme::Maven,
        "RubyGems" => Scheme::Gem,
        "NuGet" => Scheme::Nuget,
        "Debian" | "Ubuntu" => Scheme::Deb,
        "Alpine" | "Wolfi" | "Chainguard" | "Alpaquita" | "BellSoft Hardened Containers" => {
            Scheme::Apk
        }
        "AlmaLinux" | "Rocky Linux" | "Red Hat" | "openSUSE" | "SUSE" | "Mageia" | "openEuler"
        | "Azure Linux" | "Photon OS" | "CentOS" | "Fedora" | "Oracle Linux" => Scheme::Rpm,
        _ => return None,
    };
    Some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_resolve() {
        for scheme in Scheme::all() {
            assert_eq!(scheme.name().parse::<Scheme>(), Ok(scheme));
            assert_eq!(scheme.to_string(), scheme.name());
        }
        for (alias, scheme) in [
            ("pypi", Scheme::Pep440),
            ("python", Scheme::Pep440),
            ("dpkg", Scheme::Deb),
            ("debian", Scheme::Deb),
            ("rubygems", Scheme::Gem),
            ("semver", Scheme::Cargo),
            ("NPM", Scheme::Npm),
        ] {
            assert_eq!(alias.parse::<Scheme>(), Ok(scheme), "{alias}");
        }
        let error = "cobol".parse::<Scheme>().unwrap_err().to_string();
        assert!(
            error.contains("`cobol`") && error.contains("pep440"),
            "{error}"
        );
    }

    #[test]
    fn osv_ecosystems_map_to_schemes() {
        for (ecosystem, scheme) in [
            ("PyPI", Some(Scheme::Pep440)),
            ("npm", Some(Scheme::Npm)),
            ("crates.io", Some(Scheme::Cargo)),
            ("Go", Some(Scheme::Go)),
            ("Maven", Some(Scheme::Maven)),
            ("RubyGems", Some(Scheme::Gem)),
            ("NuGet", Some(Scheme::Nuget)),
            ("Debian:12", Some(Scheme::Deb)),
            ("Ubuntu:22.04:LTS", Some(Scheme::Deb)),
            ("Alpine:v3.20", Some(Scheme::Apk)),
            ("AlmaLinux:9", Some(Scheme::Rpm)),
            ("Rocky Linux:9", Some(Scheme::Rpm)),
            ("Red Hat:enterprise_linux:9::appstream", Some(Scheme::Rpm)),
            ("openSUSE:Leap 15.5", Some(Scheme::Rpm)),
            ("SUSE:Linux Enterprise Server 15 SP5", Some(Scheme::Rpm)),
            ("Packagist", None),
            ("", None),
        ] {
            assert_eq!(scheme_for_osv_ecosystem(ecosystem), scheme, "{ecosystem}");
        }
    }
}
