//! Cargo versions and requirements, delegated to the `semver` crate that
//! Cargo itself uses, so that the two cannot disagree.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::{Scheme, VersionError};

/// A Cargo (SemVer 2.0) version. Ordered by SemVer precedence, then by build
/// metadata, as Cargo orders candidate versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CargoVersion(pub semver::Version);

impl FromStr for CargoVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        semver::Version::parse(input)
            .map(CargoVersion)
            .map_err(|error| VersionError::version(Scheme::Cargo, input, error.to_string()))
    }
}

impl Hash for CargoVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Display for CargoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl CargoVersion {
    /// SemVer precedence, which ignores build metadata.
    pub fn cmp_precedence(&self, other: &Self) -> Ordering {
        self.0.cmp_precedence(&other.0)
    }
}

/// Whether `version` matches a Cargo requirement such as `>=1.2, <1.5`.
pub fn satisfies(version: &str, requirement: &str) -> Result<bool, VersionError> {
    let version: CargoVersion = version.parse()?;
    let requirement = semver::VersionReq::parse(requirement)
        .map_err(|error| VersionError::range(Scheme::Cargo, requirement, error.to_string()))?;
    Ok(requirement.matches(&version.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_rules() {
        assert!("1.0.0-alpha".parse::<CargoVersion>().unwrap() < "1.0.0".parse().unwrap());
        assert!("v1.0.0".parse::<CargoVersion>().is_err());
        assert_eq!(satisfies("1.4.9", ">=1.2, <1.5"), Ok(true));
        assert_eq!(satisfies("0.4.0", "^0.3"), Ok(false));
        assert!(satisfies("1.0.0", ">>1").is_err());
    }
}
