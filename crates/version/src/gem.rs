//! RubyGems versions ordered exactly as `Gem::Version#<=>` (segments of
//! digits and letters, `-` read as `.pre.`, trailing zeros of the release
//! and of the pre-release part ignored, strings before numbers), and
//! requirements (`~> 5.2.4, >= 5.2.4.3`) as `Gem::Requirement`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::numeral::Numeral;
use crate::{Scheme, VersionError};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Number(Numeral),
    Text(Box<str>),
}

/// A RubyGems version.
#[derive(Debug, Clone)]
pub struct GemVersion {
    text: Box<str>,
    segments: Vec<Segment>,
    canonical: Vec<Segment>,
}

/// Ruby's `\s`.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// `VERSION_PATTERN`: `[0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`.
fn valid(text: &str) -> bool {
    let (main, pre) = match text.split_once('-') {
        Some((main, pre)) => (main, Some(pre)),
        None => (text, None),
    };
    let mut parts = main.split('.');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let rest_ok = parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    let pre_ok = pre.is_none_or(|pre| {
        pre.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    });
    first_ok && rest_ok && pre_ok
}

fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let is_digit = |b: &u8| b.is_ascii_digit();
        let is_alpha = |b: &u8| b.is_ascii_alphabetic();
        let run = |pred: &dyn Fn(&u8) -> bool| {
            bytes
                .get(at..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| pred(b))
                .count()
        };
        let digits = run(&is_digit);
        if digits > 0 {
            let part = text.get(at..at + digits).unwrap_or_default();
            out.push(Segment::Number(
                Numeral::parse(part).unwrap_or(Numeral::ZERO),
            ));
            at += digits;
            continue;
        }
        let letters = run(&is_alpha);
        if letters > 0 {
            out.push(Segment::Text(
                text.get(at..at + letters).unwrap_or_default().into(),
            ));
            at += letters;
            continue;
        }
        at += 1;
    }
    out
}

/// `canonical_segments`: trailing zeros dropped from the numeric part and from the rest.
fn canonical(segments: &[Segment]) -> Vec<Segment> {
    let split = segments
        .iter()
        .position(|s| matches!(s, Segment::Text(_)))
        .unwrap_or(segments.len());
    let (numeric, rest) = segments.split_at(split);
    let trim = |part: &[Segment]| -> Vec<Segment> {
        let keep = part
            .iter()
            .rposition(|s| !matches!(s, Segment::Number(n) if n.is_zero()))
            .map_or(0, |i| i + 1);
        part.get(..keep).unwrap_or_default().to_vec()
    };
    let mut out = trim(numeric);
    out.extend(trim(rest));
    out
}

impl GemVersion {
    /// `prerelease?`: the version contains a letter.
    pub fn is_prerelease(&self) -> bool {
        self.text.bytes().any(|b| b.is_ascii_alphabetic())
    }

    /// `release`: the version without its pre-release segments.
    fn release(&self) -> GemVersion {
        if !self.is_prerelease() {
            return self.clone();
        }
        let mut segments = self.segments.clone();
        while segments.iter().any(|s| matches!(s, Segment::Text(_))) {
            segments.pop();
        }
        GemVersion::from_segments(segments)
    }

    /// `bump`: drop pre-release segments and the last one, then increment.
    fn bump(&self) -> GemVersion {
        let mut segments = self.segments.clone();
        while segments.iter().any(|s| matches!(s, Segment::Text(_))) {
            segments.pop();
        }
        if segments.len() > 1 {
            segments.pop();
        }
        if let Some(Segment::Number(last)) = segments.last_mut() {
            *last = last.successor();
        }
        GemVersion::from_segments(segments)
    }

    fn from_segments(segments: Vec<Segment>) -> GemVersion {
        let text = segments
            .iter()
            .map(|s| match s {
                Segment::Number(n) => n.to_string(),
                Segment::Text(t) => t.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".");
        let canonical = canonical(&segments);
        GemVersion {
            text: text.into(),
            segments,
            canonical,
        }
    }
}

impl FromStr for GemVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim_matches(is_ruby_space);
        // An empty version is `0` for RubyGems.
        let text = if text.is_empty() { "0" } else { text };
        if !valid(text) {
            return Err(VersionError::version(
                Scheme::Gem,
                input,
                "Malformed version number string (Gem::Version)",
            ));
        }
        let normalised = text.replace('-', ".pre.");
        let segments = segments(&normalised);
        let canonical = canonical(&segments);
        Ok(GemVersion {
            text: text.into(),
            segments,
            canonical,
        })
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let (left, right) = (&self.canonical, &other.canonical);
        let zero = Segment::Number(Numeral::ZERO);
        for index in 0..left.len().max(right.len()) {
            let l = left.get(index).unwrap_or(&zero);
            let r = right.get(index).unwrap_or(&zero);
            let ordering = match (l, r) {
                (Segment::Number(a), Segment::Number(b)) => a.cmp(b),
                (Segment::Text(a), Segment::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
                (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
                (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GemVersion {}

impl Hash for GemVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Missing segments compare as 0, so trailing zeros must not be hashed.
        let keep = self
            .canonical
            .iter()
            .rposition(|s| !matches!(s, Segment::Number(n) if n.is_zero()))
            .map_or(0, |i| i + 1);
        self.canonical.get(..keep).unwrap_or_default().hash(state);
    }
}

impl fmt::Display for GemVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GemOp {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    Pessimistic,
}

/// A RubyGems requirement: constraints that must all hold.
#[derive(Debug, Clone)]
pub struct Requirement {
    constraints: Vec<(GemOp, GemVersion)>,
}

impl FromStr for Requirement {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut constraints = Vec::new();
        for part in input.split(',') {
            let part = part.trim_matches(is_ruby_space);
            let operators = [
                (">=", GemOp::GreaterOrEqual),
                ("<=", GemOp::LessOrEqual),
                ("!=", GemOp::NotEqual),
                ("~>", GemOp::Pessimistic),
                ("=", GemOp::Equal),
                (">", GemOp::Greater),
                ("<", GemOp::Less),
            ];
            let (op, rest) = operators
                .iter()
                .find_map(|(symbol, op)| part.strip_prefix(symbol).map(|rest| (*op, rest)))
                .unwrap_or((GemOp::Equal, part));
            let rest = rest.trim_matches(is_ruby_space);
            if rest.is_empty() {
                return Err(VersionError::range(
                    Scheme::Gem,
                    input,
                    format!("Illformed requirement [{part:?}]"),
                ));
            }
            let version = rest.parse::<GemVersion>().map_err(|_| {
                VersionError::range(
                    Scheme::Gem,
                    input,
                    format!("Illformed requirement [{part:?}]"),
                )
            })?;
            constraints.push((op, version));
        }
        Ok(Requirement { constraints })
    }
}

impl Requirement {
    /// `Gem::Requirement#satisfied_by?`.
    pub fn satisfied_by(&self, version: &GemVersion) -> bool {
        self.constraints.iter().all(|(op, bound)| match op {
            GemOp::Equal => version == bound,
            GemOp::NotEqual => version != bound,
            GemOp::Greater => version > bound,
            GemOp::Less => version < bound,
            GemOp::GreaterOrEqual => version >= bound,
            GemOp::LessOrEqual => version <= bound,
            GemOp::Pessimistic => version >= bound && version.release() < bound.bump(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> GemVersion {
        text.parse().unwrap()
    }

    #[test]
    fn gem_version_rules() {
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0.a"), v("1.a"));
        assert!(v("1.0.a") < v("1.0"));
        assert!(v("1.0.0-rc1") < v("1.0.0"));
        assert!(v("1.a") < v("1.0.1"));
        assert!("1.0 junk".parse::<GemVersion>().is_err());
        let req: Requirement = "~> 5.2.4, >= 5.2.4.3".parse().unwrap();
        assert!(req.satisfied_by(&v("5.2.4.3")));
        assert!(!req.satisfied_by(&v("5.2.4.2")));
        assert!(!req.satisfied_by(&v("5.3.0")));
        let tilde: Requirement = "~> 2.2".parse().unwrap();
        assert!(tilde.satisfied_by(&v("2.9")) && !tilde.satisfied_by(&v("3.0")));
    }
}
