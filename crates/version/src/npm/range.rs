//! node-semver ranges (`^1.2.3 || >=2.0.0-beta <2.1`, `1.x`, `~1.2`,
//! `1.2 - 2.3.4`), expanded into comparator sets exactly as node-semver 7's
//! `Range` (strict mode, `includePrerelease` off) does, including its rule
//! that a pre-release version only matches a set naming a pre-release of the
//! same `MAJOR.MINOR.PATCH`.

use std::fmt;
use std::str::FromStr;

use super::{
    Identifier, MAX_SAFE_INTEGER, NpmVersion, is_js_space, parse_number,
    valid_prerelease_identifier,
};
use crate::{Scheme, VersionError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Comparator {
    Any,
    Compare(Op, NpmVersion),
}

impl Comparator {
    fn test(&self, version: &NpmVersion) -> bool {
        match self {
            Comparator::Any => true,
            Comparator::Compare(op, bound) => {
                let ordering = version.cmp(bound);
                match op {
                    Op::Less => ordering.is_lt(),
                    Op::LessOrEqual => ordering.is_le(),
                    Op::Greater => ordering.is_gt(),
                    Op::GreaterOrEqual => ordering.is_ge(),
                    Op::Equal => ordering.is_eq(),
                }
            }
        }
    }

    fn is_null_set(&self) -> bool {
        matches!(self, Comparator::Compare(Op::Less, v)
            if (v.major, v.minor, v.patch) == (0, 0, 0)
            && matches!(v.prerelease.as_slice(), [Identifier::Number(0)]))
    }
}

/// A parsed node-semver range: alternatives (`||`) of comparator sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    sets: Vec<Vec<Comparator>>,
    text: String,
}

/// One component of a partial version: a number or a wildcard (`x`, `X`, `*`, or missing).
type Component = Option<u64>;

#[derive(Debug)]
struct Partial<'a> {
    major: Component,
    minor: Component,
    patch: Component,
    /// Whether minor/patch were written at all (`1.x` vs `1`), for the order check.
    written: [bool; 3],
    prerelease: Option<&'a str>,
}

/// `[v=\s]*` then `XID(.XID(.XID(-PRERELEASE)?)?)?`.
fn parse_partial(text: &str) -> Option<Partial<'_>> {
    let text = text.trim_start_matches(['v', '=']);
    let (main, prerelease) = match text.split_once('-') {
        Some((main, prerelease)) => (main, Some(prerelease)),
        None => (text, None),
    };
    let parts: Vec<&str> = main.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || (prerelease.is_some() && parts.len() != 3) {
        return None;
    }
    let mut components = [None; 3];
    let mut written = [false; 3];
    for (index, part) in parts.iter().enumerate() {
        let slot = components.get_mut(index)?;
        *slot = match *part {
            "x" | "X" | "*" => None,
            number => Some(parse_number(number)?),
        };
        if let Some(flag) = written.get_mut(index) {
            *flag = true;
        }
    }
    if let Some(prerelease) = prerelease
        && !prerelease.split('.').all(valid_prerelease_identifier)
    {
        return None;
    }
    let [major, minor, patch] = components;
    Some(Partial {
        major,
        minor,
        patch,
        written,
        prerelease,
    })
}

fn identifiers(prerelease: Option<&str>) -> Vec<Identifier> {
    prerelease
        .map(|text| text.split('.').map(Identifier::parse).collect())
        .unwrap_or_default()
}

/// Builds `op M.m.p[-pre]`, failing like node-semver when a number leaves
/// the safe-integer range.
fn bound(op: Op, numbers: [u64; 3], prerelease: Vec<Identifier>) -> Option<Comparator> {
    if numbers.iter().any(|n| *n > MAX_SAFE_INTEGER) {
        return None;
    }
    let [major, minor, patch] = numbers;
    Some(Comparator::Compare(
        op,
        NpmVersion::new(major, minor, patch, prerelease),
    ))
}

fn zero_pre() -> Vec<Identifier> {
    vec![Identifier::Number(0)]
}

fn caret(p: &Partial<'_>) -> Option<Vec<Comparator>> {
    use Op::{GreaterOrEqual as Ge, Less as Lt};
    let Some(major) = p.major else {
        return Some(vec![Comparator::Any]);
    };
    let Some(minor) = p.minor else {
        return Some(vec![
            bound(Ge, [major, 0, 0], vec![])?,
            bound(Lt, [major + 1, 0, 0], zero_pre())?,
        ]);
    };
    let Some(patch) = p.patch else {
        let upper = if major == 0 {
            [0, minor + 1, 0]
        } else {
            [major + 1, 0, 0]
        };
        return Some(vec![
            bound(Ge, [major, minor, 0], vec![])?,
            bound(Lt, upper, zero_pre())?,
        ]);
    };
    let upper = match (major, minor) {
        (0, 0) => [0, 0, patch + 1],
        (0, _) => [0, minor + 1, 0],
        _ => [major + 1, 0, 0],
    };
    Some(vec![
        bound(Ge, [major, minor, patch], identifiers(p.prerelease))?,
        bound(Lt, upper, zero_pre())?,
    ])
}

fn tilde(p: &Partial<'_>) -> Option<Vec<Comparator>> {
    use Op::{GreaterOrEqual as Ge, Less as Lt};
    let Some(major) = p.major else {
        return Some(vec![Comparator::Any]);
    };
    let Some(minor) = p.minor else {
        return Some(vec![
            bound(Ge, [major, 0, 0], vec![])?,
            bound(Lt, [major + 1, 0, 0], zero_pre())?,
        ]);
    };
    let (low, pre) = match p.patch {
        None => ([major, minor, 0], vec![]),
        Some(patch) => ([major, minor, patch], identifiers(p.prerelease)),
    };
    Some(vec![
        bound(Ge, low, pre)?,
        bound(Lt, [major, minor + 1, 0], zero_pre())?,
    ])
}

/// `replaceXRange` for an operator and a partial version with a wildcard.
fn x_range(operator: &str, p: &Partial<'_>) -> Option<Vec<Comparator>> {
    use Op::{GreaterOrEqual as Ge, Less as Lt};
    let Some(major) = p.major else {
        return Some(match operator {
            ">" | "<" => vec![bound(Lt, [0, 0, 0], zero_pre())?],
            _ => vec![Comparator::Any],
        });
    };
    let operator = if operator == "=" { "" } else { operator };
    if !operator.is_empty() {
        let (mut numbers, minor_is_x) = match p.minor {
            None => ([major, 0, 0], true),
            Some(minor) => ([major, minor, 0], false),
        };
        let op = match operator {
            ">" => {
                if minor_is_x {
                    numbers = [major + 1, 0, 0];
                } else {
                    numbers[1] += 1;
                }
                Ge
            }
            "<=" => {
                if minor_is_x {
                    numbers[0] += 1;
                } else {
                    numbers[1] += 1;
                }
                Lt
            }
            ">=" => Ge,
            "<" => Lt,
            _ => return None,
        };
        let pre = if op == Lt { zero_pre() } else { vec![] };
        return Some(vec![bound(op, numbers, pre)?]);
    }
    match p.minor {
        None => Some(vec![
            bound(Ge, [major, 0, 0], vec![])?,
            bound(Lt, [major + 1, 0, 0], zero_pre())?,
        ]),
        Some(minor) => Some(vec![
            bound(Ge, [major, minor, 0], vec![])?,
            bound(Lt, [major, minor + 1, 0], zero_pre())?,
        ]),
    }
}

fn is_x(component: Component, written: bool) -> bool {
    component.is_none() || !written
}

/// `GTLT`: `(<|>)?=?`.
fn split_operator(token: &str) -> (&str, &str) {
    let mut end = 0;
    if token.starts_with(['<', '>']) {
        end = 1;
    }
    if token.get(end..).is_some_and(|rest| rest.starts_with('=')) {
        end += 1;
    }
    token.split_at(end)
}

/// One whitespace-free comparator token into comparators.
fn comparator(token: &str) -> Option<Vec<Comparator>> {
    if let Some(rest) = token.strip_prefix('^') {
        return caret(&parse_partial(rest)?);
    }
    if let Some(rest) = token.strip_prefix('~') {
        let rest = rest.strip_prefix('>').unwrap_or(rest);
        return tilde(&parse_partial(rest)?);
    }
    let (operator, rest) = split_operator(token);
    let partial = parse_partial(rest)?;
    let any_x = partial.major.is_none() || partial.minor.is_none() || partial.patch.is_none();
    if any_x {
        let [_, minor_written, patch_written] = partial.written;
        let invalid_order = (partial.major.is_none() && !is_x(partial.minor, minor_written))
            || (is_x(partial.minor, minor_written) && patch_written && partial.patch.is_some());
        if invalid_order {
            return None;
        }
        return x_range(operator, &partial);
    }
    // A full version is kept as written, so only one `v` may precede it.
    let version = NpmVersion::parse_plain(rest)?;
    let op = match operator {
        "" | "=" => Op::Equal,
        "<" => Op::Less,
        "<=" => Op::LessOrEqual,
        ">" => Op::Greater,
        ">=" => Op::GreaterOrEqual,
        _ => return None,
    };
    if op == Op::GreaterOrEqual
        && (version.major, version.minor, version.patch) == (0, 0, 0)
        && version.prerelease.is_empty()
    {
        return Some(vec![Comparator::Any]);
    }
    Some(vec![Comparator::Compare(op, version)])
}

/// `hyphenReplace`: `A - B`.
fn hyphen(from: &str, to: &str) -> Option<Vec<Comparator>> {
    use Op::{GreaterOrEqual as Ge, Less as Lt, LessOrEqual as Le};
    let low = parse_partial(from)?;
    let high = parse_partial(to)?;
    let mut comparators = Vec::new();
    match (low.major, low.minor, low.patch) {
        (None, _, _) => {}
        (Some(major), None, _) => comparators.push(bound(Ge, [major, 0, 0], vec![])?),
        (Some(major), Some(minor), None) => comparators.push(bound(Ge, [major, minor, 0], vec![])?),
        // Written verbatim (`>=${from}`), so the prefix must be at most one `v`.
        _ => comparators.push(Comparator::Compare(Ge, NpmVersion::parse_plain(from)?)),
    }
    match (high.major, high.minor, high.patch) {
        (None, _, _) => {}
        (Some(major), None, _) => comparators.push(bound(Lt, [major + 1, 0, 0], zero_pre())?),
        (Some(major), Some(minor), None) => {
            comparators.push(bound(Lt, [major, minor + 1, 0], zero_pre())?)
        }
        (Some(major), Some(minor), Some(patch)) if high.prerelease.is_some() => comparators.push(
            bound(Le, [major, minor, patch], identifiers(high.prerelease))?,
        ),
        _ => comparators.push(Comparator::Compare(Le, NpmVersion::parse_plain(to)?)),
    }
    if comparators.is_empty() {
        comparators.push(Comparator::Any);
    }
    Some(comparators)
}

/// Removes build metadata (`+id.id`) wherever it appears, as `BUILDSTRIPRE` does.
fn strip_build(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(plus) = rest.find('+') {
        out.push_str(rest.get(..plus).unwrap_or_default());
        let after = rest.get(plus + 1..).unwrap_or_default();
        let mut end = 0;
        loop {
            let run = after
                .get(end..)
                .unwrap_or_default()
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
                .count();
            if run == 0 {
                break;
            }
            end += run;
            let continues = after.as_bytes().get(end) == Some(&b'.')
                && after
                    .as_bytes()
                    .get(end + 1)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-');
            if continues {
                end += 1;
            } else {
                break;
            }
        }
        if end == 0 {
            out.push('+');
        }
        rest = after.get(end..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

fn is_operator_word(word: &str) -> bool {
    matches!(word, "<" | ">" | "<=" | ">=" | "=" | "~" | "~>" | "^")
}

fn parse_set(part: &str) -> Option<Vec<Comparator>> {
    let part = strip_build(part);
    let words: Vec<&str> = part.split(' ').filter(|w| !w.is_empty()).collect();
    if let [from, "-", to] = words.as_slice()
        && let Some(set) = hyphen(from, to)
    {
        return Some(set);
    }
    let mut comparators = Vec::new();
    let mut index = 0;
    while let Some(&word) = words.get(index) {
        index += 1;
        let token = match words.get(index) {
            // node-semver first glues an operator to the version after it.
            Some(next) if is_operator_word(word) => {
                index += 1;
                format!("{word}{next}")
            }
            _ => word.to_owned(),
        };
        comparators.extend(comparator(&token)?);
    }
    if comparators.is_empty() {
        return Some(vec![Comparator::Any]);
    }
    if let Some(null) = comparators.iter().find(|c| c.is_null_set()) {
        return Some(vec![null.clone()]);
    }
    let mut unique: Vec<Comparator> = Vec::new();
    for comparator in comparators {
        if !unique.contains(&comparator) {
            unique.push(comparator);
        }
    }
    if unique.len() > 1 {
        unique.retain(|c| *c != Comparator::Any);
    }
    Some(unique)
}

impl FromStr for Range {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let collapsed = input
            .split(is_js_space)
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut sets = Vec::new();
        for part in collapsed.split("||") {
            let set = parse_set(part.trim()).ok_or_else(|| {
                VersionError::range(
                    Scheme::Npm,
                    input,
                    format!(
                        "`{}` is not a valid node-semver comparator set",
                        part.trim()
                    ),
                )
            })?;
            sets.push(set);
        }
        if sets.len() > 1 {
            let first = sets.first().cloned().unwrap_or_default();
            sets.retain(|set| !set.first().is_some_and(Comparator::is_null_set));
            if sets.is_empty() {
                sets.push(first);
            } else if let Some(any) = sets.iter().find(|set| set.as_slice() == [Comparator::Any]) {
                sets = vec![any.clone()];
            }
        }
        Ok(Range {
            sets,
            text: collapsed,
        })
    }
}

impl Range {
    /// node-semver's `Range.test` (`semver.satisfies`).
    pub fn satisfied_by(&self, version: &NpmVersion) -> bool {
        self.sets.iter().any(|set| test_set(set, version))
    }
}

fn test_set(set: &[Comparator], version: &NpmVersion) -> bool {
    if !set.iter().all(|comparator| comparator.test(version)) {
        return false;
    }
    if version.prerelease.is_empty() {
        return true;
    }
    // A pre-release only matches if the set names a pre-release of the same release.
    set.iter().any(|comparator| match comparator {
        Comparator::Compare(_, bound) => {
            !bound.prerelease.is_empty()
                && (bound.major, bound.minor, bound.patch)
                    == (version.major, version.minor, version.patch)
        }
        Comparator::Any => false,
    })
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satisfies(version: &str, range: &str) -> bool {
        range
            .parse::<Range>()
            .unwrap()
            .satisfied_by(&version.parse().unwrap())
    }

    #[test]
    fn node_semver_examples() {
        assert!(satisfies("1.2.3", "^1.2.0"));
        assert!(!satisfies("2.0.0", "^1.2.0"));
        assert!(satisfies("0.2.9", "^0.2.3"));
        assert!(!satisfies("0.3.0", "^0.2.3"));
        assert!(satisfies("1.2.9", "~1.2.3"));
        assert!(satisfies("1.9.0", "1.x"));
        assert!(satisfies("2.3.4", "1.2 - 2.3.4"));
        assert!(!satisfies("2.3.5", "1.2 - 2.3.4"));
        assert!(satisfies("1.2.3-beta.2", ">1.2.3-beta.1 <1.2.4"));
        assert!(!satisfies("1.2.4-beta.2", ">1.2.3-beta.1 <1.3"));
        assert!(!satisfies("1.0.0-beta", "*"));
        assert!(satisfies("3.0.0", ">= 1.0.0 || < 0.5"));
        assert!(satisfies("1.0.0", ""));
        assert!(satisfies("1.4.0", "<=1.4"));
        assert!(!satisfies("1.5.0", "<=1.4"));
        for invalid in ["==1.2.3", ">=1.2.3garbage", "1.2.3.4", "x.1", ">"] {
            assert!(invalid.parse::<Range>().is_err(), "{invalid}");
        }
    }
}
