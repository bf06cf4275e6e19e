//! npm versions, parsed and ordered exactly as node-semver 7 (strict mode)
//! does, and node-semver ranges in [`range`].
//!
//! Quirks kept on purpose: a version is at most 256 UTF-16 units long,
//! numbers above 2^53-1 are rejected, numeric pre-release identifiers
//! are compared as JavaScript numbers, and build metadata is ignored.

pub mod range;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::{Scheme, VersionError};

pub use range::Range;

/// `Number.MAX_SAFE_INTEGER`.
pub(crate) const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;
/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;

/// One pre-release identifier.
#[derive(Debug, Clone)]
pub enum Identifier {
    /// All digits and below `MAX_SAFE_INTEGER`.
    Number(u64),
    /// Anything else (including digit strings too large for a safe integer).
    Text(Box<str>),
}

impl Identifier {
    fn parse(text: &str) -> Identifier {
        if text.bytes().all(|b| b.is_ascii_digit())
            && let Ok(number) = text.parse::<u64>()
            && number < MAX_SAFE_INTEGER
        {
            return Identifier::Number(number);
        }
        Identifier::Text(text.into())
    }

    /// The value JavaScript's `+id` gives an all-digit identifier.
    fn numeric_value(&self) -> Option<f64> {
        match self {
            Identifier::Number(number) => Some(*number as f64),
            Identifier::Text(text)
                if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) =>
            {
                text.parse::<f64>().ok()
            }
            Identifier::Text(_) => None,
        }
    }
}

/// node-semver's `compareIdentifiers`.
fn compare_identifiers(a: &Identifier, b: &Identifier) -> Ordering {
    match (a.numeric_value(), b.numeric_value()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => match (a, b) {
            (Identifier::Text(x), Identifier::Text(y)) => x.cmp(y),
            _ => Ordering::Equal,
        },
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Number(number) => write!(f, "{number}"),
            Identifier::Text(text) => f.write_str(text),
        }
    }
}

/// A node-semver version.
#[derive(Debug, Clone)]
pub struct NpmVersion {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release identifiers (empty for a release).
    pub prerelease: Vec<Identifier>,
    /// Build metadata identifiers (ignored by the ordering).
    pub build: Vec<Box<str>>,
}

/// JavaScript's `String.prototype.trim` set of white space.
pub(crate) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// `0|[1-9][0-9]*`, within `MAX_SAFE_INTEGER`.
pub(crate) fn parse_number(text: &str) -> Option<u64> {
    let valid = text == "0"
        || (!text.is_empty() && !text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return None;
    }
    text.parse::<u64>().ok().filter(|n| *n <= MAX_SAFE_INTEGER)
}

/// A pre-release identifier as node-semver's strict pattern accepts it.
pub(crate) fn valid_prerelease_identifier(id: &str) -> bool {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return false;
    }
    let numeric = id.bytes().all(|b| b.is_ascii_digit());
    !numeric || id == "0" || !id.starts_with('0')
}

fn valid_build_identifier(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl NpmVersion {
    pub(crate) fn new(major: u64, minor: u64, patch: u64, prerelease: Vec<Identifier>) -> Self {
        NpmVersion {
            major,
            minor,
            patch,
            prerelease,
            build: Vec::new(),
        }
    }

    /// Parses `MAJOR.MINOR.PATCH[-PRE][+BUILD]` after an optional `v`, as the
    /// `FULL` pattern does; `None` when it does not match.
    pub(crate) fn parse_plain(text: &str) -> Option<NpmVersion> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (text, None),
        };
        let (main, prerelease) = match rest.split_once('-') {
            Some((main, prerelease)) => (main, Some(prerelease)),
            None => (rest, None),
        };
        let mut numbers = main.split('.');
        let major = parse_number(numbers.next()?)?;
        let minor = parse_number(numbers.next()?)?;
        let patch = parse_number(numbers.next()?)?;
        if numbers.next().is_some() {
            return None;
        }
        let prerelease = match prerelease {
            Some(text) => {
                let ids: Vec<&str> = text.split('.').collect();
                if !ids.iter().all(|id| valid_prerelease_identifier(id)) {
                    return None;
                }
                ids.into_iter().map(Identifier::parse).collect()
            }
            None => Vec::new(),
        };
        let build = match build {
            Some(text) => {
                let ids: Vec<&str> = text.split('.').collect();
                if !ids.iter().all(|id| valid_build_identifier(id)) {
                    return None;
                }
                ids.into_iter().map(Box::from).collect()
            }
            None => Vec::new(),
        };
        Some(NpmVersion {
            major,
            minor,
            patch,
            prerelease,
            build,
        })
    }
}

impl FromStr for NpmVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.encode_utf16().count() > MAX_LENGTH {
            return Err(VersionError::version(
                Scheme::Npm,
                input,
                "version is longer than 256 characters",
            ));
        }
        NpmVersion::parse_plain(input.trim_matches(is_js_space)).ok_or_else(|| {
            VersionError::version(
                Scheme::Npm,
                input,
                "not a semver version (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])",
            )
        })
    }
}

impl Ord for NpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(
                || match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => {
                        for (a, b) in self.prerelease.iter().zip(&other.prerelease) {
                            let ordering = compare_identifiers(a, b);
                            if ordering != Ordering::Equal {
                                return ordering;
                            }
                        }
                        self.prerelease.len().cmp(&other.prerelease.len())
                    }
                },
            )
    }
}

impl PartialOrd for NpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NpmVersion {}

impl Hash for NpmVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.major, self.minor, self.patch).hash(state);
        for id in &self.prerelease {
            match (id.numeric_value(), id) {
                (Some(value), _) => (0u8, value.to_bits()).hash(state),
                (None, Identifier::Text(text)) => (1u8, text).hash(state),
                (None, Identifier::Number(number)) => (2u8, number).hash(state),
            }
        }
        self.prerelease.len().hash(state);
    }
}

impl fmt::Display for NpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (index, id) in self.prerelease.iter().enumerate() {
            f.write_str(if index == 0 { "-" } else { "." })?;
            write!(f, "{id}")?;
        }
        for (index, id) in self.build.iter().enumerate() {
            f.write_str(if index == 0 { "+" } else { "." })?;
            f.write_str(id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_like_node_semver() {
        let v = |s: &str| s.parse::<NpmVersion>().unwrap();
        assert!(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
        assert!(v("1.0.0-alpha.1") < v("1.0.0-alpha.beta"));
        assert!(v("1.0.0-beta.11") > v("1.0.0-beta.2"));
        assert!(v("1.0.0-rc.1") < v("1.0.0"));
        assert_eq!(v("v1.2.3+build.7"), v(" 1.2.3 "));
        for invalid in [
            "1.2",
            "01.2.3",
            "1.2.3-01",
            "=1.2.3",
            "1.2.3-",
            "1.2.3+",
            "9007199254740992.0.0",
        ] {
            assert!(invalid.parse::<NpmVersion>().is_err(), "{invalid}");
        }
        assert!(
            format!("1.2.3-{}", "a".repeat(251))
                .parse::<NpmVersion>()
                .is_err()
        );
    }
}
