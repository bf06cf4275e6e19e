//! RPM versions (`[epoch:]version[-release]`) ordered exactly as rpm 4.18's
//! `rpmverCmp` (what Lua `rpm.vercmp` and `rpmdev-vercmp` use): epochs
//! first (absent means 0), then `rpmvercmp` on versions, then on releases,
//! where a missing release sorts before any release.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::numeral::{cmp_digits, strip_zeros};
use crate::{Scheme, VersionError};

/// A parsed RPM EVR. Comparing two of them never allocates.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    text: Box<str>,
    epoch: Option<(usize, usize)>,
    version: (usize, usize),
    release: Option<(usize, usize)>,
}

impl RpmVersion {
    /// The epoch as written (`"0"` when absent or empty, as rpm reads it).
    pub fn epoch(&self) -> &str {
        match self
            .epoch
            .and_then(|(start, end)| self.text.get(start..end))
        {
            Some(epoch) if !epoch.is_empty() => epoch,
            _ => "0",
        }
    }

    /// The version part.
    pub fn version(&self) -> &str {
        self.text
            .get(self.version.0..self.version.1)
            .unwrap_or_default()
    }

    /// The release part, if the EVR has one.
    pub fn release(&self) -> Option<&str> {
        self.release
            .and_then(|(start, end)| self.text.get(start..end))
    }
}

impl FromStr for RpmVersion {
    type Err = VersionError;

    /// Splits like rpm's `parseEVR`: leading digits followed by `:` are the
    /// epoch, the last `-` after them starts the release.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(VersionError::version(
                Scheme::Rpm,
                input,
                "version string is empty",
            ));
        }
        let digits = input.bytes().take_while(u8::is_ascii_digit).count();
        let hyphen = input
            .get(digits..)
            .and_then(|tail| tail.rfind('-'))
            .map(|offset| digits + offset);
        let (epoch, version_start) = if input.as_bytes().get(digits) == Some(&b':') {
            (Some((0, digits)), digits + 1)
        } else {
            (None, 0)
        };
        let (version, release) = match hyphen {
            Some(hyphen) if hyphen >= version_start => {
                ((version_start, hyphen), Some((hyphen + 1, input.len())))
            }
            _ => ((version_start, input.len()), None),
        };
        Ok(RpmVersion {
            text: input.into(),
            epoch,
            version,
            release,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Token<'a> {
    Tilde,
    Caret,
    Alpha(&'a [u8]),
    /// Digits without leading zeros.
    Number(&'a [u8]),
    End,
}

/// The next `rpmvercmp` segment: separators (anything but ASCII letters,
/// digits, `~` and `^`) are skipped.
fn next_token<'a>(s: &'a [u8], at: &mut usize) -> Token<'a> {
    while s
        .get(*at)
        .is_some_and(|&b| !b.is_ascii_alphanumeric() && b != b'~' && b != b'^')
    {
        *at += 1;
    }
    let start = *at;
    match s.get(start) {
        None => Token::End,
        Some(b'~') => {
            *at += 1;
            Token::Tilde
        }
        Some(b'^') => {
            *at += 1;
            Token::Caret
        }
        Some(b) if b.is_ascii_digit() => {
            while s.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            Token::Number(strip_zeros(s.get(start..*at).unwrap_or_default()))
        }
        Some(_) => {
            while s.get(*at).is_some_and(u8::is_ascii_alphabetic) {
                *at += 1;
            }
            Token::Alpha(s.get(start..*at).unwrap_or_default())
        }
    }
}

/// rpm's `rpmvercmp`, token by token.
pub(crate) fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut i, mut j) = (0, 0);
    loop {
        let ta = next_token(a, &mut i);
        let tb = next_token(b, &mut j);
        match (ta, tb) {
            (Token::Tilde, Token::Tilde) | (Token::Caret, Token::Caret) => continue,
            // `~` sorts before everything, even the end of the string.
            (Token::Tilde, _) => return Ordering::Less,
            (_, Token::Tilde) => return Ordering::Greater,
            // `^` sorts after the end of the string but before any segment.
            (Token::End, Token::Caret) => return Ordering::Less,
            (Token::Caret, Token::End) => return Ordering::Greater,
            (_, Token::Caret) => return Ordering::Greater,
            (Token::Caret, _) => return Ordering::Less,
            (Token::End, Token::End) => return Ordering::Equal,
            (Token::End, _) => return Ordering::Less,
            (_, Token::End) => return Ordering::Greater,
            // Numeric segments are newer than alphabetic ones.
            (Token::Number(_), Token::Alpha(_)) => return Ordering::Greater,
            (Token::Alpha(_), Token::Number(_)) => return Ordering::Less,
            (Token::Number(x), Token::Number(y)) => match cmp_digits(x, y) {
                Ordering::Equal => continue,
                other => return other,
            },
            (Token::Alpha(x), Token::Alpha(y)) => match x.cmp(y) {
                Ordering::Equal => continue,
                other => return other,
            },
        }
    }
}

fn hash_segments<H: Hasher>(s: &[u8], state: &mut H) {
    let mut at = 0;
    loop {
        let token = next_token(s, &mut at);
        token.hash(state);
        if token == Token::End {
            break;
        }
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        rpmvercmp(self.epoch().as_bytes(), other.epoch().as_bytes())
            .then_with(|| rpmvercmp(self.version().as_bytes(), other.version().as_bytes()))
            .then_with(|| match (self.release(), other.release()) {
                (Some(a), Some(b)) => rpmvercmp(a.as_bytes(), b.as_bytes()),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

impl Hash for RpmVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_segments(self.epoch().as_bytes(), state);
        hash_segments(self.version().as_bytes(), state);
        match self.release() {
            Some(release) => {
                1u8.hash(state);
                hash_segments(release.as_bytes(), state);
            }
            None => 0u8.hash(state),
        }
    }
}

impl fmt::Display for RpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        a.parse::<RpmVersion>()
            .unwrap()
            .cmp(&b.parse::<RpmVersion>().unwrap())
    }

    #[test]
    fn behaves_like_rpm_vercmp() {
        // Each expectation was checked with `rpm --eval '%{lua: print(rpm.vercmp(a, b))}'`.
        assert_eq!(cmp("1.0-1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0-"), Ordering::Less);
        assert_eq!(cmp(":1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("00:1.0", "0:1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0^1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0^", "1.0"), Ordering::Greater);
        assert_eq!(cmp("a:1", "1"), Ordering::Less);
        assert_eq!(cmp("1-2-3", "1-2"), Ordering::Greater);
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Less);
        assert_eq!(cmp("1:1.0", "2.0"), Ordering::Greater);
        assert!("".parse::<RpmVersion>().is_err());
    }
}
