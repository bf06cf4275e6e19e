//! PEP 440 versions, parsed, normalised and ordered exactly as Python's
//! `packaging` 26 (`packaging.version.Version`) does, and specifier sets
//! (`packaging.specifiers.SpecifierSet`) in [`specifier`].

pub mod specifier;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::numeral::Numeral;
use crate::{Scheme, VersionError};

pub use specifier::{Specifier, SpecifierSet};

/// The kind of a pre-release, after normalisation (`alpha` → `a`, `c`/`pre`/`preview` → `rc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PreKind {
    /// `a`
    Alpha,
    /// `b`
    Beta,
    /// `rc`
    ReleaseCandidate,
}

/// One dot-separated part of a local version label: strings sort before numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalSegment {
    /// A lowercase alphanumeric part.
    Text(Box<str>),
    /// An all-digit part, compared as a number.
    Number(Numeral),
}

/// A PEP 440 version.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    /// The input as given (for `===`, which compares it verbatim).
    text: Box<str>,
    epoch: Numeral,
    release: Vec<Numeral>,
    pre: Option<(PreKind, Numeral)>,
    post: Option<Numeral>,
    dev: Option<Numeral>,
    local: Option<Vec<LocalSegment>>,
}

impl Pep440Version {
    pub(crate) fn from_parts(
        epoch: Numeral,
        release: Vec<Numeral>,
        pre: Option<(PreKind, Numeral)>,
        post: Option<Numeral>,
        dev: Option<Numeral>,
    ) -> Pep440Version {
        let mut version = Pep440Version {
            text: Box::from(""),
            epoch,
            release,
            pre,
            post,
            dev,
            local: None,
        };
        version.text = version.to_string().into();
        version
    }

    pub(crate) fn with_dev(&self, dev: Option<Numeral>) -> Pep440Version {
        Pep440Version::from_parts(
            self.epoch.clone(),
            self.release.clone(),
            self.pre.clone(),
            self.post.clone(),
            dev,
        )
    }

    pub(crate) fn with_post(&self, post: Option<Numeral>) -> Pep440Version {
        Pep440Version::from_parts(
            self.epoch.clone(),
            self.release.clone(),
            self.pre.clone(),
            post,
            self.dev.clone(),
        )
    }

    /// The version exactly as it was given.
    pub fn as_written(&self) -> &str {
        &self.text
    }

    /// The epoch (0 when absent).
    pub fn epoch(&self) -> &Numeral {
        &self.epoch
    }

    /// The release numbers as written (trailing zeros kept).
    pub fn release(&self) -> &[Numeral] {
        &self.release
    }

    /// The pre-release, if any.
    pub fn pre(&self) -> Option<&(PreKind, Numeral)> {
        self.pre.as_ref()
    }

    /// The post-release number, if any.
    pub fn post(&self) -> Option<&Numeral> {
        self.post.as_ref()
    }

    /// The development release number, if any.
    pub fn dev(&self) -> Option<&Numeral> {
        self.dev.as_ref()
    }

    /// The local version label, if any.
    pub fn local(&self) -> Option<&[LocalSegment]> {
        self.local.as_deref()
    }

    /// `packaging`'s `is_prerelease`: a pre-release or a development release.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// `packaging`'s `is_postrelease`.
    pub fn is_postrelease(&self) -> bool {
        self.post.is_some()
    }

    /// The version without its local label.
    pub fn public(&self) -> Pep440Version {
        Pep440Version {
            local: None,
            ..self.clone()
        }
    }

    /// The release without trailing zeros, as `packaging` compares it.
    fn trimmed_release(&self) -> &[Numeral] {
        let keep = self
            .release
            .iter()
            .rposition(|n| !n.is_zero())
            .map_or(0, |index| index + 1);
        self.release.get(..keep).unwrap_or_default()
    }

    /// Whether both have the same epoch and release (`base_version` equality).
    pub(crate) fn same_base(&self, other: &Pep440Version) -> bool {
        self.epoch == other.epoch && self.trimmed_release() == other.trimmed_release()
    }

    /// `_cmpkey`'s suffix: pre rank and number, post rank and number, dev rank and number.
    fn suffix(&self) -> (i8, &Numeral, u8, &Numeral, u8, &Numeral) {
        let zero = &Numeral::ZERO;
        let (pre_rank, pre_number) = match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => (-1, zero),
            (None, _, _) => (3, zero),
            (Some((kind, number)), _, _) => (*kind as i8, number),
        };
        let (post_rank, post_number) = match &self.post {
            None => (0, zero),
            Some(number) => (1, number),
        };
        let (dev_rank, dev_number) = match &self.dev {
            None => (1, zero),
            Some(number) => (0, number),
        };
        (
            pre_rank,
            pre_number,
            post_rank,
            post_number,
            dev_rank,
            dev_number,
        )
    }
}

/// Python's `str.isspace`, which `\s` follows in `packaging`'s pattern.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\x1c'..='\x1f')
}

/// A cursor over the ASCII pattern of a version.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn rest(&self) -> &str {
        self.text.get(self.at..).unwrap_or_default()
    }

    fn eat_separator(&mut self) -> bool {
        if matches!(self.peek(), Some(b'.' | b'_' | b'-')) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_digits(&mut self) -> Option<Numeral> {
        let count = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let digits = self.text.get(self.at..self.at + count)?;
        self.at += count;
        Numeral::parse(digits)
    }

    /// Eats the first of `words` (ASCII, case-insensitive) that starts the rest.
    fn eat_word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let rest = self.rest().as_bytes();
        let word = words.iter().find(|word| {
            rest.get(..word.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(word.as_bytes()))
        })?;
        self.at += word.len();
        Some(word)
    }
}

fn parse(input: &str) -> Option<Pep440Version> {
    let text = input.trim_matches(is_python_space);
    let mut cursor = Cursor { text, at: 0 };
    if matches!(cursor.peek(), Some(b'v' | b'V')) {
        cursor.at += 1;
    }
    // Epoch: digits followed by `!`, or nothing.
    let start = cursor.at;
    let mut epoch = Numeral::ZERO;
    if let Some(number) = cursor.eat_digits() {
        if cursor.peek() == Some(b'!') {
            cursor.at += 1;
            epoch = number;
        } else {
            cursor.at = start;
        }
    }
    let mut release = vec![cursor.eat_digits()?];
    while cursor.peek() == Some(b'.')
        && cursor
            .text
            .as_bytes()
            .get(cursor.at + 1)
            .is_some_and(u8::is_ascii_digit)
    {
        cursor.at += 1;
        release.push(cursor.eat_digits()?);
    }
    // Each optional group is atomic in `packaging`'s pattern: once it
    // matched, it is never given back, so a plain greedy walk is exact.
    let start = cursor.at;
    cursor.eat_separator();
    let pre = match cursor.eat_word(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]) {
        Some(word) => {
            cursor.eat_separator();
            let number = cursor.eat_digits().unwrap_or(Numeral::ZERO);
            let kind = match word {
                "alpha" | "a" => PreKind::Alpha,
                "beta" | "b" => PreKind::Beta,
                _ => PreKind::ReleaseCandidate,
            };
            Some((kind, number))
        }
        None => {
            cursor.at = start;
            None
        }
    };
    let start = cursor.at;
    let post = if cursor.peek() == Some(b'-')
        && cursor
            .text
            .as_bytes()
            .get(cursor.at + 1)
            .is_some_and(u8::is_ascii_digit)
    {
        cursor.at += 1;
        cursor.eat_digits()
    } else {
        cursor.eat_separator();
        match cursor.eat_word(&["post", "rev", "r"]) {
            Some(_) => {
                cursor.eat_separator();
                Some(cursor.eat_digits().unwrap_or(Numeral::ZERO))
            }
            None => {
                cursor.at = start;
                None
            }
        }
    };
    let start = cursor.at;
    cursor.eat_separator();
    let dev = match cursor.eat_word(&["dev"]) {
        Some(_) => {
            cursor.eat_separator();
            Some(cursor.eat_digits().unwrap_or(Numeral::ZERO))
        }
        None => {
            cursor.at = start;
            None
        }
    };
    let local = if cursor.peek() == Some(b'+') {
        cursor.at += 1;
        Some(parse_local(&mut cursor)?)
    } else {
        None
    };
    if cursor.at != text.len() {
        return None;
    }
    Some(Pep440Version {
        text: input.into(),
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

fn parse_local(cursor: &mut Cursor<'_>) -> Option<Vec<LocalSegment>> {
    let mut segments = Vec::new();
    loop {
        let part_length = cursor
            .rest()
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        if part_length == 0 {
            return None;
        }
        let part = cursor.text.get(cursor.at..cursor.at + part_length)?;
        cursor.at += part_length;
        segments.push(match Numeral::parse(part) {
            Some(number) => LocalSegment::Number(number),
            None => LocalSegment::Text(part.to_ascii_lowercase().into()),
        });
        let next_is_part = cursor
            .text
            .as_bytes()
            .get(cursor.at + 1)
            .is_some_and(u8::is_ascii_alphanumeric);
        if matches!(cursor.peek(), Some(b'.' | b'_' | b'-')) && next_is_part {
            cursor.at += 1;
        } else {
            return Some(segments);
        }
    }
}

impl FromStr for Pep440Version {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse(input).ok_or_else(|| {
            VersionError::version(
                Scheme::Pep440,
                input,
                "not a PEP 440 version (packaging raises InvalidVersion)",
            )
        })
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.trimmed_release().cmp(other.trimmed_release()))
            .then_with(|| self.suffix().cmp(&other.suffix()))
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

impl Hash for Pep440Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch.hash(state);
        self.trimmed_release().hash(state);
        self.suffix().hash(state);
        self.local.hash(state);
    }
}

impl fmt::Display for Pep440Version {
    /// The normalised form, as `str(Version(...))` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.epoch.is_zero() {
            write!(f, "{}!", self.epoch)?;
        }
        for (index, number) in self.release.iter().enumerate() {
            if index > 0 {
                f.write_str(".")?;
            }
            write!(f, "{number}")?;
        }
        if let Some((kind, number)) = &self.pre {
            let label = match kind {
                PreKind::Alpha => "a",
                PreKind::Beta => "b",
                PreKind::ReleaseCandidate => "rc",
            };
            write!(f, "{label}{number}")?;
        }
        if let Some(number) = &self.post {
            write!(f, ".post{number}")?;
        }
        if let Some(number) = &self.dev {
            write!(f, ".dev{number}")?;
        }
        if let Some(local) = &self.local {
            f.write_str("+")?;
            for (index, segment) in local.iter().enumerate() {
                if index > 0 {
                    f.write_str(".")?;
                }
                match segment {
                    LocalSegment::Text(text) => f.write_str(text)?,
                    LocalSegment::Number(number) => write!(f, "{number}")?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Pep440Version {
        text.parse().unwrap()
    }

    #[test]
    fn normalises_like_packaging() {
        for (input, normal) in [
            ("1.0", "1.0"),
            ("v1.0", "1.0"),
            ("1.0-1", "1.0.post1"),
            ("1.0.PREVIEW-2", "1.0rc2"),
            ("1.0c1", "1.0rc1"),
            (
                "1!2.0alpha.rev3-DEV_4+Ubuntu-1.02",
                "1!2.0a0.post3.dev4+ubuntu.1.2",
            ),
            (" 2.0 ", "2.0"),
            ("1.0a.post1", "1.0a0.post1"),
        ] {
            assert_eq!(v(input).to_string(), normal, "{input}");
        }
        for invalid in [
            "",
            "1..0",
            "1.0+",
            "1.0+a..b",
            "1.0-",
            "a1",
            "1.0 extra",
            "1.0.*",
        ] {
            assert!(invalid.parse::<Pep440Version>().is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn orders_like_packaging() {
        let ordered = [
            "1.0.dev1",
            "1.0a1.dev1",
            "1.0a1",
            "1.0a1.post1",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+abc",
            "1.0+1",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.1",
            "1!0.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1.0+ABC"), v("1.0+abc"));
    }
}
