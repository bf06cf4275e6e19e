//! Debian versions (`[epoch:]upstream[-revision]`) ordered exactly as dpkg does.
//!
//! Parsing follows dpkg's `parseversion`: its errors are errors here; its
//! warnings (a version not starting with a digit, characters outside the
//! policy's set) are accepted, as `dpkg --compare-versions` accepts them.
//! Ordering follows dpkg's `verrevcmp`, bytes above 0x7f included (dpkg reads
//! them as signed `char`).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::numeral::strip_zeros;
use crate::{Scheme, VersionError};

/// A parsed Debian package version. Comparing two of them never allocates.
#[derive(Debug, Clone)]
pub struct DebVersion {
    text: Box<str>,
    epoch: u32,
    upstream: (usize, usize),
    revision: Option<(usize, usize)>,
}

impl DebVersion {
    /// The epoch (0 when absent).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream version.
    pub fn upstream(&self) -> &str {
        self.text
            .get(self.upstream.0..self.upstream.1)
            .unwrap_or_default()
    }

    /// The Debian revision (empty when absent, which dpkg orders like `0`).
    pub fn revision(&self) -> &str {
        self.revision
            .and_then(|(start, end)| self.text.get(start..end))
            .unwrap_or_default()
    }

    /// The version as written, without surrounding blanks.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for DebVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| VersionError::version(Scheme::Deb, input, reason);
        let trimmed = input.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() {
            return Err(error("version string is empty"));
        }
        let end = trimmed.find(is_c_space).unwrap_or(trimmed.len());
        let (text, rest) = trimmed.split_at(end);
        if !rest.chars().all(is_c_space) {
            return Err(error("version string has embedded spaces"));
        }
        let (epoch, version_start) = match text.find(':') {
            Some(colon) => {
                let epoch = parse_epoch(text.get(..colon).unwrap_or_default()).map_err(error)?;
                if colon + 1 == text.len() {
                    return Err(error("nothing after colon in version number"));
                }
                (epoch, colon + 1)
            }
            None => (0, 0),
        };
        let version = text.get(version_start..).unwrap_or_default();
        let (upstream, revision) = match version.rfind('-') {
            Some(hyphen) => {
                if hyphen + 1 == version.len() {
                    return Err(error("revision number is empty"));
                }
                (
                    (version_start, version_start + hyphen),
                    Some((version_start + hyphen + 1, text.len())),
                )
            }
            None => ((version_start, text.len()), None),
        };
        if upstream.0 == upstream.1 {
            return Err(error("version number is empty"));
        }
        Ok(DebVersion {
            text: text.into(),
            epoch,
            upstream,
            revision,
        })
    }
}

/// dpkg's `c_isspace`: the end of the version token.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// The epoch as `strtol` reads it, with dpkg's checks.
fn parse_epoch(text: &str) -> Result<u32, &'static str> {
    let unsigned = text.trim_start_matches(is_c_space);
    let (negative, digits) = match unsigned.as_bytes().first() {
        Some(b'-') => (true, unsigned.get(1..).unwrap_or_default()),
        Some(b'+') => (false, unsigned.get(1..).unwrap_or_default()),
        _ => (false, unsigned),
    };
    let consumed = digits.bytes().take_while(u8::is_ascii_digit).count();
    if consumed == 0 {
        // strtol read nothing.
        return Err("epoch in version is empty");
    }
    if consumed != digits.len() {
        return Err("epoch in version is not number");
    }
    let significant = strip_zeros(digits.as_bytes());
    if significant.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err("epoch in version is negative");
    }
    if significant.len() > 10 {
        return Err("epoch in version is too big");
    }
    match digits.parse::<u64>() {
        Ok(value) if value <= i32::MAX as u64 => Ok(value as u32),
        _ => Err("epoch in version is too big"),
    }
}

/// dpkg's `order()`: where one byte of a non-digit run sorts.
fn order(byte: Option<u8>) -> i32 {
    match byte {
        None => 0,
        Some(b'~') => -1,
        Some(b) if b.is_ascii_digit() => 0,
        Some(b) if b.is_ascii_alphabetic() => i32::from(b),
        // dpkg reads `char`, which is signed on the platforms it ships for.
        Some(b) => i32::from(b as i8) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit runs (compared byte by byte
/// with `order`) and digit runs (compared as numbers of any length).
pub(crate) fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit_at = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit_at(a, i)) || (j < b.len() && !digit_at(b, j)) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let a_start = i;
        while digit_at(a, i) {
            i += 1;
        }
        let b_start = j;
        while digit_at(b, j) {
            j += 1;
        }
        let run_a = a.get(a_start..i).unwrap_or_default();
        let run_b = b.get(b_start..j).unwrap_or_default();
        let ordering = crate::numeral::cmp_digits(run_a, run_b);
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Feeds `hasher` with what `verrevcmp` looks at: non-digit runs verbatim and
/// digit runs without leading zeros (an empty digit run equals `0`).
fn hash_verrev<H: Hasher>(text: &[u8], hasher: &mut H) {
    let mut rest = text;
    while !rest.is_empty() {
        let split = rest
            .iter()
            .position(u8::is_ascii_digit)
            .unwrap_or(rest.len());
        let (letters, tail) = rest.split_at(split);
        let split = tail
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(tail.len());
        let (digits, tail) = tail.split_at(split);
        let digits = strip_zeros(digits);
        // A final run of zeros alone equals nothing at all (`9-0` == `9`).
        if letters.is_empty() && digits.is_empty() && tail.is_empty() {
            break;
        }
        letters.hash(hasher);
        digits.hash(hasher);
        rest = tail;
    }
    0xffu8.hash(hasher);
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream().as_bytes(), other.upstream().as_bytes()))
            .then_with(|| verrevcmp(self.revision().as_bytes(), other.revision().as_bytes()))
    }
}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DebVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DebVersion {}

impl Hash for DebVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch.hash(state);
        hash_verrev(self.upstream().as_bytes(), state);
        hash_verrev(self.revision().as_bytes(), state);
    }
}

impl fmt::Display for DebVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        a.parse::<DebVersion>()
            .unwrap()
            .cmp(&b.parse::<DebVersion>().unwrap())
    }

    #[test]
    fn equal_versions_hash_alike() {
        use std::hash::{BuildHasher, RandomState};
        let state = RandomState::new();
        for (a, b) in [
            ("9", "9-0"),
            ("1.0", "1.0-0"),
            ("a", "a0"),
            ("1.01", "1.1"),
            ("0", "0-00"),
        ] {
            let (a, b): (DebVersion, DebVersion) = (a.parse().unwrap(), b.parse().unwrap());
            assert_eq!(a, b);
            assert_eq!(state.hash_one(&a), state.hash_one(&b), "{a} {b}");
        }
    }

    #[test]
    fn dpkg_rules_for_epochs_tildes_and_revisions() {
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1:0.1", "9.9"), Ordering::Greater);
        assert_eq!(cmp("1.0.", "1.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("2.36-9+deb12u4", "2.36-9+deb12u10"), Ordering::Less);
        assert_eq!(
            cmp("1.99999999999999999999999", "1.100000000000000000000000"),
            Ordering::Less
        );
    }

    #[test]
    fn dpkg_errors_are_errors() {
        for (input, reason) in [
            ("", "version string is empty"),
            ("1.0 2", "embedded spaces"),
            (":1.0", "epoch in version is empty"),
            ("a:1.0", "epoch in version is empty"),
            ("1a:1.0", "epoch in version is not number"),
            ("-1:1.0", "epoch in version is negative"),
            ("99999999999:1.0", "epoch in version is too big"),
            ("1:", "nothing after colon"),
            ("1.0-", "revision number is empty"),
            ("-1", "version number is empty"),
        ] {
            let error = input.parse::<DebVersion>().unwrap_err().to_string();
            assert!(error.contains(reason), "{input:?}: {error}");
        }
        assert_eq!(" 1.0 \n".parse::<DebVersion>().unwrap().as_str(), "1.0");
    }
}
