//! Alpine versions (`1.2.3a_rc1_p2~f00d-r4`) ordered exactly as apk-tools 3's
//! `src/version.c`: a token walk over initial digits, `.digits`, one letter,
//! `_suffix[N]`, `~hash` and `-rN`, where pre-release suffixes (`_alpha`,
//! `_beta`, `_pre`, `_rc`) sort before the end of the version and the others
//! (`_cvs`, `_svn`, `_git`, `_hg`, `_p`) after it.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::{Scheme, VersionError};

/// A version that apk-tools' `apk_version_validate` accepts.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    text: Box<str>,
}

impl ApkVersion {
    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// apk's fuzzy match (`~` dependencies): `self` equals `prefix` or
    /// continues it (`3.6.9 ~ 3.6`).
    pub fn fuzzy_matches(&self, prefix: &ApkVersion) -> bool {
        compare_fuzzy(self.text.as_bytes(), prefix.text.as_bytes(), true) == Ordering::Equal
    }
}

impl FromStr for ApkVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match validate(input.as_bytes()) {
            Ok(()) => Ok(ApkVersion { text: input.into() }),
            Err(reason) => Err(VersionError::version(Scheme::Apk, input, reason)),
        }
    }
}

/// apk's comparison of two arbitrary strings, valid or not, as
/// `apk version -t` does (an invalid tail compares like the end).
pub fn compare_str(a: &str, b: &str) -> Ordering {
    compare_fuzzy(a.as_bytes(), b.as_bytes(), false)
}

/// apk's `apk_version_match` on arbitrary strings: `operator` is a mask of
/// `<`, `>`, `=` and `~` (fuzzy), as in dependency strings (`<~`, `>=`).
pub fn match_str(a: &str, operator: &str, b: &str) -> bool {
    let fuzzy = operator.contains('~');
    let ordering = compare_fuzzy(a.as_bytes(), b.as_bytes(), fuzzy);
    match ordering {
        Ordering::Less => operator.contains('<'),
        Ordering::Greater => operator.contains('>'),
        Ordering::Equal => operator.contains('=') || fuzzy,
    }
}

/// `apk_version_validate`.
pub fn is_valid(text: &str) -> bool {
    validate(text.as_bytes()).is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    CommitHash,
    RevisionNumber,
    End,
    Invalid,
}

/// Suffix ranks; `NONE` is the pivot between pre- and post-release suffixes.
const SUFFIX_NONE: u8 = 5;

fn suffix_value(name: &[u8]) -> Option<u8> {
    Some(match name {
        b"alpha" => 1,
        b"beta" => 2,
        b"pre" => 3,
        b"rc" => 4,
        b"cvs" => 6,
        b"svn" => 7,
        b"git" => 8,
        b"hg" => 9,
        b"p" => 10,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    suffix: u8,
    number: u64,
    value: &'a [u8],
}

/// Walks the tokens of one version string.
struct Tokens<'a> {
    rest: &'a [u8],
    token: Token<'a>,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a [u8]) -> Self {
        let mut tokens = Tokens {
            rest: text,
            token: Token {
                kind: Kind::InitialDigit,
                suffix: 0,
                number: 0,
                value: &[],
            },
        };
        tokens.parse_digits();
        tokens
    }

    /// `apk_blob_pull_uint`: digits into a `u64` that wraps, as in C.
    fn parse_digits(&mut self) {
        let count = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (digits, rest) = self.rest.split_at(count);
        self.token.number = digits.iter().fold(0u64, |value, &digit| {
            value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'))
        });
        self.token.value = digits;
        self.rest = rest;
        if digits.is_empty() {
            self.token.kind = Kind::Invalid;
        }
    }

    fn advance(&mut self) {
        let kind = self.token.kind;
        let Some(&first) = self.rest.first() else {
            self.token.kind = Kind::End;
            return;
        };
        match first {
            b'a'..=b'z' if kind <= Kind::Digit => {
                self.token.value = self.rest.get(..1).unwrap_or_default();
                self.token.kind = Kind::Letter;
                self.rest = self.rest.get(1..).unwrap_or_default();
            }
            b'.' | b'0'..=b'9' if first != b'.' || kind <= Kind::Digit => {
                if first == b'.' {
                    self.rest = self.rest.get(1..).unwrap_or_default();
                }
                self.token.kind = match kind {
                    Kind::InitialDigit | Kind::Digit => Kind::Digit,
                    Kind::Suffix => Kind::SuffixNumber,
                    _ => return self.invalid(),
                };
                self.parse_digits();
            }
            b'_' if kind <= Kind::SuffixNumber => {
                let tail = self.rest.get(1..).unwrap_or_default();
                let count = tail.iter().take_while(|b| b.is_ascii_lowercase()).count();
                let (name, rest) = tail.split_at(count);
                self.token.value = name;
                self.rest = rest;
                match suffix_value(name) {
                    Some(value) => {
                        self.token.suffix = value;
                        self.token.kind = Kind::Suffix;
                    }
                    None => self.invalid(),
                }
            }
            b'~' if kind < Kind::CommitHash => {
                let tail = self.rest.get(1..).unwrap_or_default();
                let count = tail
                    .iter()
                    .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                    .count();
                let (hash, rest) = tail.split_at(count);
                self.token.value = hash;
                self.rest = rest;
                if hash.is_empty() {
                    return self.invalid();
                }
                self.token.kind = Kind::CommitHash;
            }
            b'-' if kind < Kind::RevisionNumber => match self.rest.strip_prefix(b"-r") {
                Some(rest) => {
                    self.rest = rest;
                    self.token.kind = Kind::RevisionNumber;
                    self.parse_digits();
                }
                None => self.invalid(),
            },
            _ => self.invalid(),
        }
    }

    fn invalid(&mut self) {
        self.token.kind = Kind::Invalid;
    }
}

/// apk's `token_cmp` for two tokens of the same kind.
fn token_cmp(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match a.kind {
        // A leading zero makes apk compare the digits as strings (Gentoo rule).
        Kind::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Kind::Digit | Kind::InitialDigit | Kind::SuffixNumber | Kind::RevisionNumber => {
            a.number.cmp(&b.number)
        }
        Kind::Letter => a.value.first().cmp(&b.value.first()),
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.value.cmp(b.value),
    }
}

fn validate(text: &[u8]) -> Result<(), &'static str> {
    let mut tokens = Tokens::new(text);
    while tokens.token.kind < Kind::End {
        tokens.advance();
    }
    if tokens.token.kind == Kind::End {
        Ok(())
    } else {
        Err("not a valid apk version (digits{.digits}[letter]{_suffix[N]}[~hash][-rN])")
    }
}

/// `apk_version_compare_fuzzy`.
fn compare_fuzzy(a: &[u8], b: &[u8], fuzzy: bool) -> Ordering {
    let mut ta = Tokens::new(a);
    let mut tb = Tokens::new(b);
    while ta.token.kind == tb.token.kind && ta.token.kind < Kind::End {
        let ordering = token_cmp(&ta.token, &tb.token);
        if ordering != Ordering::Equal {
            return ordering;
        }
        ta.advance();
        tb.advance();
    }
    let (ka, kb) = (ta.token.kind, tb.token.kind);
    if ka == kb || (kb == Kind::End && fuzzy) {
        return Ordering::Equal;
    }
    if ka == Kind::Suffix && ta.token.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if kb == Kind::Suffix && tb.token.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    // The version that goes on with a later kind of token is the older one.
    kb.cmp(&ka)
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_fuzzy(self.text.as_bytes(), other.text.as_bytes(), false)
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}

impl Hash for ApkVersion {
    /// Hashes what `token_cmp` looks at, so that equal versions hash alike.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut tokens = Tokens::new(self.text.as_bytes());
        while tokens.token.kind < Kind::End {
            let token = tokens.token;
            (token.kind as u8).hash(state);
            match token.kind {
                Kind::Digit if token.value.first() == Some(&b'0') => {
                    0u8.hash(state);
                    token.value.hash(state);
                }
                Kind::Digit | Kind::InitialDigit | Kind::SuffixNumber | Kind::RevisionNumber => {
                    1u8.hash(state);
                    token.number.hash(state);
                }
                Kind::Letter => token.value.first().hash(state),
                Kind::Suffix => token.suffix.hash(state),
                _ => token.value.hash(state),
            }
            tokens.advance();
        }
    }
}

impl fmt::Display for ApkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_letters_and_revisions() {
        let cmp = |a: &str, b: &str| a.parse::<ApkVersion>().unwrap().cmp(&b.parse().unwrap());
        assert_eq!(cmp("1.0_rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0_p1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0-r1", "1.0-r0"), Ordering::Greater);
        assert_eq!(cmp("1.0-r0", "1.0"), Ordering::Greater);
        assert_eq!(cmp("8.2.0", "8.2.001"), Ordering::Less);
        assert!("0.12.5.-r0".parse::<ApkVersion>().is_err());
        assert!("1.0bc".parse::<ApkVersion>().is_err());
        assert_eq!(compare_str("1.0", "1.0bc"), Ordering::Less);
    }
}
