//! Constraint lists for the distribution schemes (deb, rpm, apk), which have
//! no range syntax of their own: `>= 1.2, < 1.4` or `>=1.2 <1.4`, all of
//! which must hold. dpkg's `<<`/`>>` and apk's fuzzy `~` are accepted too.

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

/// A comparison operator of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `<` (or dpkg's `<<`).
    Less,
    /// `<=`.
    LessOrEqual,
    /// `=` or `==`.
    Equal,
    /// `!=`.
    NotEqual,
    /// `>=`.
    GreaterOrEqual,
    /// `>` (or dpkg's `>>`).
    Greater,
    /// apk's `~`: equal to the given version or continuing it.
    Fuzzy,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        Some(match text {
            "<" | "<<" => Operator::Less,
            "<=" => Operator::LessOrEqual,
            "=" | "==" | "" => Operator::Equal,
            "!=" => Operator::NotEqual,
            ">=" => Operator::GreaterOrEqual,
            ">" | ">>" => Operator::Greater,
            "~" | "=~" => Operator::Fuzzy,
            _ => return None,
        })
    }

    /// Whether `ordering` (the version compared with the constraint's
    /// version) satisfies this operator; `Fuzzy` is decided by the caller.
    pub fn accepts(self, ordering: Ordering) -> bool {
        match self {
            Operator::Less => ordering == Ordering::Less,
            Operator::LessOrEqual => ordering != Ordering::Greater,
            Operator::Equal | Operator::Fuzzy => ordering == Ordering::Equal,
            Operator::NotEqual => ordering != Ordering::Equal,
            Operator::GreaterOrEqual => ordering != Ordering::Less,
            Operator::Greater => ordering == Ordering::Greater,
        }
    }
}

fn is_operator_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '!' | '~')
}

/// Splits a constraint list into operators and version strings.
pub(crate) fn parse(scheme: Scheme, range: &str) -> Result<Vec<(Operator, &str)>, VersionError> {
    let words: Vec<&str> = range
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect();
    let mut constraints = Vec::new();
    let mut index = 0;
    while let Some(&word) = words.get(index) {
        index += 1;
        let split = word
            .find(|c: char| !is_operator_char(c))
            .unwrap_or(word.len());
        let (operator_text, mut version) = word.split_at(split);
        if version.is_empty() {
            match words.get(index) {
                Some(next) => {
                    version = next;
                    index += 1;
                }
                None => {
                    return Err(VersionError::range(
                        scheme,
                        range,
                        format!("operator `{operator_text}` has no version after it"),
                    ));
                }
            }
        }
        let Some(operator) = Operator::parse(operator_text) else {
            return Err(VersionError::range(
                scheme,
                range,
                format!("unknown operator `{operator_text}`: use <, <=, =, !=, >= or >"),
            ));
        };
        if operator == Operator::Fuzzy && scheme != Scheme::Apk {
            return Err(VersionError::range(
                scheme,
                range,
                "the fuzzy operator `~` exists only for apk",
            ));
        }
        constraints.push((operator, version));
    }
    if constraints.is_empty() {
        return Err(VersionError::range(scheme, range, "no constraint given"));
    }
    Ok(constraints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_a_list_parse_alike() {
        let spaced = parse(Scheme::Deb, ">= 1.2, << 1:1.4").unwrap();
        let packed = parse(Scheme::Deb, ">=1.2 <1:1.4").unwrap();
        assert_eq!(spaced, packed);
        assert_eq!(
            spaced,
            vec![(Operator::GreaterOrEqual, "1.2"), (Operator::Less, "1:1.4")]
        );
        assert_eq!(
            parse(Scheme::Rpm, "1.0").unwrap(),
            vec![(Operator::Equal, "1.0")]
        );
        assert!(parse(Scheme::Deb, ">=").is_err());
        assert!(parse(Scheme::Deb, "=> 1").is_err());
        assert!(parse(Scheme::Deb, "~ 1").is_err());
        assert!(parse(Scheme::Apk, "~ 1").is_ok());
        assert!(parse(Scheme::Apk, " , ").is_err());
    }
}
