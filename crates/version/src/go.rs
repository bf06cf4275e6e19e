//! Go versions: module versions ordered as `golang.org/x/mod/semver`
//! (`v1.2.3`, `v1.2` shorthand, pseudo-versions, `+incompatible` ignored as
//! build metadata) and toolchain versions ordered as `go/version`
//! (`go1.21.3`, `go1.22rc1`, `go1.21` the language version before them).
//!
//! Both kinds map onto one semver ordering so that OSV `Go` ranges (written
//! without `v`) compare with either: `go1.21rc1` is `1.21.0-rc.1`,
//! `go1.21beta1` is `1.21.0-beta.1`, and the language version `go1.21` is
//! `1.21.0-0`, below every pre-release.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::numeral::Numeral;
use crate::{Scheme, VersionError};

/// One pre-release identifier: numbers sort before text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Identifier {
    Number(Numeral),
    Text(Box<str>),
}

/// A Go module or toolchain version.
#[derive(Debug, Clone)]
pub struct GoVersion {
    text: Box<str>,
    numbers: [Numeral; 3],
    prerelease: Vec<Identifier>,
}

impl GoVersion {
    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a pre-release (pseudo-versions usually are).
    pub fn is_prerelease(&self) -> bool {
        !self.prerelease.is_empty()
    }
}

/// `golang.org/x/mod/semver.parseInt`: digits, no leading zero.
fn parse_int(text: &str) -> Option<Numeral> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    Numeral::parse(text)
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// `semver.parse` on `v`-less text.
fn parse_module(text: &str) -> Option<([Numeral; 3], Vec<Identifier>)> {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    if let Some(build) = build
        && !build
            .split('.')
            .all(|id| !id.is_empty() && id.bytes().all(is_ident_char))
    {
        return None;
    }
    let (main, prerelease) = match rest.split_once('-') {
        Some((main, prerelease)) => (main, Some(prerelease)),
        None => (rest, None),
    };
    let parts: Vec<&str> = main.split('.').collect();
    // `v1` and `v1.2` are shorthands, but only without a suffix.
    if parts.len() > 3 || (parts.len() < 3 && (prerelease.is_some() || build.is_some())) {
        return None;
    }
    let mut numbers = [Numeral::ZERO, Numeral::ZERO, Numeral::ZERO];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        *slot = parse_int(part)?;
    }
    let mut identifiers = Vec::new();
    if let Some(prerelease) = prerelease {
        for id in prerelease.split('.') {
            if id.is_empty() || !id.bytes().all(is_ident_char) {
                return None;
            }
            if id.bytes().all(|b| b.is_ascii_digit()) {
                identifiers.push(Identifier::Number(parse_int(id)?));
            } else {
                identifiers.push(Identifier::Text(id.into()));
            }
        }
    }
    Some((numbers, identifiers))
}

/// `go/version`: `1.21`, `1.21.3`, `1.21rc1`, `1.21beta2` (after `go`).
fn parse_toolchain(text: &str) -> Option<([Numeral; 3], Vec<Identifier>)> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major_end = digits(text);
    let major = parse_int(text.get(..major_end)?)?;
    let rest = text.get(major_end..)?;
    let Some(rest) = rest.strip_prefix('.') else {
        // `go1` is the 1.0 language version.
        return rest.is_empty().then(|| {
            (
                [major, Numeral::ZERO, Numeral::ZERO],
                vec![Identifier::Number(Numeral::ZERO)],
            )
        });
    };
    let minor_end = digits(rest);
    let minor = parse_int(rest.get(..minor_end)?)?;
    let rest = rest.get(minor_end..)?;
    if rest.is_empty() {
        return Some((
            [major, minor, Numeral::ZERO],
            vec![Identifier::Number(Numeral::ZERO)],
        ));
    }
    if let Some(patch) = rest.strip_prefix('.') {
        return Some(([major, minor, parse_int(patch)?], vec![]));
    }
    for kind in ["rc", "beta"] {
        if let Some(number) = rest.strip_prefix(kind) {
            let number = parse_int(number)?;
            if number.is_zero() {
                return None;
            }
            return Some((
                [major, minor, Numeral::ZERO],
                vec![Identifier::Text(kind.into()), Identifier::Number(number)],
            ));
        }
    }
    None
}

impl FromStr for GoVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let parsed = if let Some(toolchain) = input.strip_prefix("go") {
            parse_toolchain(toolchain)
        } else if let Some(module) = input.strip_prefix('v') {
            parse_module(module)
        } else {
            // OSV writes Go versions without `v`; toolchains appear as `1.22rc1`.
            parse_module(input).or_else(|| parse_toolchain(input))
        };
        let (numbers, prerelease) = parsed.ok_or_else(|| {
            VersionError::version(
                Scheme::Go,
                input,
                "not a Go module version (v1.2.3[-pre][+build]) or toolchain version (go1.21.3, go1.22rc1)",
            )
        })?;
        Ok(GoVersion {
            text: input.into(),
            numbers,
            prerelease,
        })
    }
}

impl Ord for GoVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.prerelease.cmp(&other.prerelease),
            }
        })
    }
}

impl PartialOrd for GoVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GoVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GoVersion {}

impl Hash for GoVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.numbers.hash(state);
        self.prerelease.hash(state);
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> GoVersion {
        text.parse().unwrap()
    }

    #[test]
    fn module_and_toolchain_orders() {
        assert_eq!(v("v1.2"), v("v1.2.0"));
        assert_eq!(v("v2.0.0+incompatible"), v("v2.0.0"));
        assert!(v("v0.0.0-20210101000000-abcdefabcdef") < v("v0.0.1"));
        assert!(v("v1.2.4-0.20210101000000-abcdefabcdef") > v("v1.2.3"));
        assert!(v("go1.21") < v("go1.21rc1"));
        assert!(v("go1.21rc1") < v("go1.21.0"));
        assert!(v("go1.21beta1") < v("go1.21rc1"));
        assert!(v("1.22rc1") < v("1.22.0"));
        assert_eq!(v("go1.21.3"), v("1.21.3"));
        for invalid in [
            "v1.2-pre",
            "v01.2.3",
            "v1.2.3-01",
            "go1.21rc0",
            "1.2.3.4",
            "vx",
        ] {
            assert!(invalid.parse::<GoVersion>().is_err(), "{invalid}");
        }
    }
}
