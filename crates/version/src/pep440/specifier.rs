//! PEP 440 specifiers (`~=1.4.2`, `==1.*`, `!=1.3`, `<2`, `===odd`) and
//! comma-separated specifier sets, matched as `packaging`'s
//! `SpecifierSet.contains(version, prereleases=True)` does: a scanner asks
//! whether an installed version is in a range, pre-releases included.

use std::fmt;
use std::str::FromStr;

use super::{Pep440Version, is_python_space};
use crate::numeral::Numeral;
use crate::{Scheme, VersionError};

/// The operator of one specifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecifierOperator {
    /// `~=`
    Compatible,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `<=`
    LessOrEqual,
    /// `>=`
    GreaterOrEqual,
    /// `<`
    Less,
    /// `>`
    Greater,
    /// `===`
    Arbitrary,
}

/// What a specifier compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Version(Pep440Version),
    /// `==1.2.*`: epoch and release prefix.
    Prefix(Numeral, Vec<Numeral>),
    /// `===text`, compared case-insensitively with the version as written.
    Text(String),
}

/// One specifier, such as `>=1.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specifier {
    operator: SpecifierOperator,
    target: Target,
    text: String,
}

/// A comma-separated list of specifiers, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecifierSet {
    specifiers: Vec<Specifier>,
}

impl FromStr for Specifier {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| VersionError::range(Scheme::Pep440, input, reason);
        let text = input.trim_matches(is_python_space);
        let operators = [
            ("===", SpecifierOperator::Arbitrary),
            ("~=", SpecifierOperator::Compatible),
            ("==", SpecifierOperator::Equal),
            ("!=", SpecifierOperator::NotEqual),
            ("<=", SpecifierOperator::LessOrEqual),
            (">=", SpecifierOperator::GreaterOrEqual),
            ("<", SpecifierOperator::Less),
            (">", SpecifierOperator::Greater),
        ];
        let Some((operator, rest)) = operators
            .iter()
            .find_map(|(symbol, operator)| text.strip_prefix(symbol).map(|rest| (*operator, rest)))
        else {
            return Err(error(
                "a specifier starts with ~=, ==, !=, <=, >=, <, > or ===",
            ));
        };
        let version = rest.trim_start_matches(is_python_space);
        let target = match operator {
            SpecifierOperator::Arbitrary => {
                if version
                    .chars()
                    .any(|c| is_python_space(c) || c == ';' || c == ')')
                {
                    return Err(error("=== takes one word"));
                }
                Target::Text(version.to_owned())
            }
            SpecifierOperator::Equal | SpecifierOperator::NotEqual if version.ends_with(".*") => {
                let prefix = version.get(..version.len() - 2).unwrap_or_default();
                parse_prefix(prefix).ok_or_else(|| {
                    error("a wildcard follows a release such as 1.2, without pre, post, dev or local parts")
                })?
            }
            _ => {
                let parsed: Pep440Version = version.parse().map_err(|_| {
                    error("the version after the operator is not a PEP 440 version")
                })?;
                // `packaging`'s pattern ends the version at whitespace.
                if version.contains(is_python_space) {
                    return Err(error(
                        "the version after the operator is not a PEP 440 version",
                    ));
                }
                let allows_local = matches!(
                    operator,
                    SpecifierOperator::Equal | SpecifierOperator::NotEqual
                );
                if parsed.local().is_some() && !allows_local {
                    return Err(error("only == and != accept a local version label"));
                }
                if operator == SpecifierOperator::Compatible && parsed.release().len() < 2 {
                    return Err(error(
                        "~= needs a release of at least two numbers, such as ~=1.4",
                    ));
                }
                Target::Version(parsed)
            }
        };
        Ok(Specifier {
            operator,
            target,
            text: text.to_owned(),
        })
    }
}

/// `v?(N!)?N(.N)*`, the part of `==V.*` before the wildcard.
fn parse_prefix(text: &str) -> Option<Target> {
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let (epoch, release) = match text.split_once('!') {
        Some((epoch, release)) => (Numeral::parse(epoch)?, release),
        None => (Numeral::ZERO, text),
    };
    let numbers = release
        .split('.')
        .map(Numeral::parse)
        .collect::<Option<Vec<_>>>()?;
    Some(Target::Prefix(epoch, numbers))
}

/// `_base_dev0`: `N!R.dev0`.
fn base_dev0(epoch: &Numeral, release: &[Numeral]) -> Pep440Version {
    Pep440Version::from_parts(
        epoch.clone(),
        release.to_vec(),
        None,
        None,
        Some(Numeral::ZERO),
    )
}

/// `_next_prefix_dev0`: the release with its last number incremented, `.dev0`.
fn next_prefix_dev0(epoch: &Numeral, release: &[Numeral]) -> Pep440Version {
    let mut release = release.to_vec();
    if let Some(last) = release.last_mut() {
        *last = last.successor();
    }
    Pep440Version::from_parts(epoch.clone(), release, None, None, Some(Numeral::ZERO))
}

/// `==V.*`: `[V.dev0, next-prefix.dev0)`.
fn in_prefix(version: &Pep440Version, epoch: &Numeral, prefix: &[Numeral]) -> bool {
    *version >= base_dev0(epoch, prefix) && *version < next_prefix_dev0(epoch, prefix)
}

impl Specifier {
    /// The operator.
    pub fn operator(&self) -> SpecifierOperator {
        self.operator
    }

    /// Whether `version` satisfies this specifier (pre-releases allowed),
    /// with the bounds `packaging` 26 derives for each operator.
    pub fn contains(&self, version: &Pep440Version) -> bool {
        use SpecifierOperator as Op;
        match (&self.target, self.operator) {
            // `===` compares the version as written, case-insensitively.
            (Target::Text(text), _) => version.as_written().eq_ignore_ascii_case(text),
            (Target::Prefix(epoch, prefix), Op::Equal) => in_prefix(version, epoch, prefix),
            (Target::Prefix(epoch, prefix), _) => !in_prefix(version, epoch, prefix),
            (Target::Version(spec), Op::Compatible) => {
                let prefix = spec
                    .release()
                    .get(..spec.release().len().saturating_sub(1))
                    .unwrap_or_default();
                version >= spec && *version < next_prefix_dev0(spec.epoch(), prefix)
            }
            (Target::Version(spec), Op::Equal | Op::NotEqual) => {
                let equal = if spec.local().is_some() {
                    version == spec
                } else {
                    version.public() == *spec
                };
                equal == (self.operator == Op::Equal)
            }
            (Target::Version(spec), Op::LessOrEqual) => version.public() <= *spec,
            (Target::Version(spec), Op::GreaterOrEqual) => version >= spec,
            (Target::Version(spec), Op::Less) => {
                // `<V` stops below V's pre-releases unless V is one.
                if spec.is_prerelease() {
                    version < spec
                } else {
                    *version < spec.with_dev(Some(Numeral::ZERO))
                }
            }
            (Target::Version(spec), Op::Greater) => match (spec.dev(), spec.post()) {
                // Nothing lies between V.devN and V.dev(N+1).
                (Some(dev), _) => *version >= spec.with_dev(Some(dev.successor())),
                (None, Some(post)) => {
                    *version
                        >= spec
                            .with_post(Some(post.successor()))
                            .with_dev(Some(Numeral::ZERO))
                }
                // `>V` also excludes V's local versions and post-releases.
                (None, None) => {
                    version > spec && !(version.same_base(spec) && version.pre() == spec.pre())
                }
            },
            (Target::Version(_), Op::Arbitrary) => false,
        }
    }
}

impl FromStr for SpecifierSet {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let specifiers = input
            .split(',')
            .map(|part| part.trim_matches(is_python_space))
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<Specifier>().map_err(|error| match error {
                    VersionError::InvalidRange { reason, .. } => {
                        VersionError::range(Scheme::Pep440, input, format!("in `{part}`: {reason}"))
                    }
                    other => other,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SpecifierSet { specifiers })
    }
}

impl SpecifierSet {
    /// Whether `version` satisfies every specifier (an empty set accepts all).
    pub fn contains(&self, version: &Pep440Version) -> bool {
        self.specifiers
            .iter()
            .all(|specifier| specifier.contains(version))
    }

    /// The specifiers.
    pub fn specifiers(&self) -> &[Specifier] {
        &self.specifiers
    }
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for SpecifierSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, specifier) in self.specifiers.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{specifier}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(range: &str, version: &str) -> bool {
        range
            .parse::<SpecifierSet>()
            .unwrap()
            .contains(&version.parse().unwrap())
    }

    #[test]
    fn pep440_examples() {
        assert!(contains("~=2.2", "2.3"));
        assert!(!contains("~=2.2", "3.0"));
        assert!(contains("~=1.4.5", "1.4.9"));
        assert!(!contains("~=1.4.5", "1.5.0"));
        assert!(contains("==1.1.*", "1.1.post1"));
        assert!(contains("==1.1.*", "1.1a1"));
        assert!(!contains("==1.1.*", "1.10"));
        assert!(contains("!=1.1.*", "1.2"));
        assert!(contains("==1.0", "1.0+local"));
        assert!(!contains("==1.0+a", "1.0+b"));
        assert!(!contains("<2.0", "2.0rc1"));
        assert!(contains("<2.0", "1.9rc1"));
        assert!(!contains(">1.7", "1.7.post2"));
        assert!(contains(">1.7.post1", "1.7.post2"));
        assert!(contains(">=1.0,<2,!=1.5", "1.6"));
        assert!(contains("", "7"));
        assert!(contains("===1.0", "1.0"));
        for invalid in [
            "1.0",
            "=>1.0",
            "~=1",
            "<1.0+local",
            "==1.0a1.*",
            ">=1.0,lol",
        ] {
            assert!(invalid.parse::<SpecifierSet>().is_err(), "{invalid}");
        }
    }
}
