//! NuGet versions ordered as NuGet.Versioning's default `VersionComparer`:
//! up to four numbers (`1.2.3.4`), then release labels compared SemVer-2
//! style but case-insensitively, metadata ignored. Ranges use NuGet's
//! interval notation, where a bare `1.0` means `>= 1.0`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::interval::{at_least, parse_union};
use crate::{Scheme, VersionError};

/// A NuGet package version.
#[derive(Debug, Clone)]
pub struct NugetVersion {
    text: Box<str>,
    numbers: [u32; 4],
    labels: Vec<Box<str>>,
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A label that `int.TryParse` accepts compares as a number.
fn label_number(label: &str) -> Option<i32> {
    if label.bytes().all(|b| b.is_ascii_digit()) {
        label.parse::<i32>().ok()
    } else {
        None
    }
}

fn compare_labels(a: &str, b: &str) -> Ordering {
    match (label_number(a), label_number(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a
            .bytes()
            .map(|b| b.to_ascii_uppercase())
            .cmp(b.bytes().map(|b| b.to_ascii_uppercase())),
    }
}

impl FromStr for NugetVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || {
            VersionError::version(
                Scheme::Nuget,
                input,
                "not a NuGet version (1 to 4 numbers, then -label.label and +metadata)",
            )
        };
        let text = input.trim();
        let (rest, metadata) = match text.split_once('+') {
            Some((rest, metadata)) => (rest, Some(metadata)),
            None => (text, None),
        };
        if let Some(metadata) = metadata
            && !metadata.split('.').all(valid_label)
        {
            return Err(error());
        }
        let (main, labels) = match rest.split_once('-') {
            Some((main, labels)) => (main, Some(labels)),
            None => (rest, None),
        };
        let parts: Vec<&str> = main.split('.').collect();
        if parts.len() > 4 {
            return Err(error());
        }
        let mut numbers = [0u32; 4];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error());
            }
            *slot = part
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= i32::MAX as u32)
                .ok_or_else(error)?;
        }
        let labels = match labels {
            Some(labels) => {
                let labels: Vec<&str> = labels.split('.').collect();
                if !labels.iter().all(|l| valid_label(l)) {
                    return Err(error());
                }
                labels.into_iter().map(Box::from).collect()
            }
            None => Vec::new(),
        };
        Ok(NugetVersion {
            text: text.into(),
            numbers,
            labels,
        })
    }
}

impl Ord for NugetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.labels.is_empty(), other.labels.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.labels.iter().zip(&other.labels) {
                        let ordering = compare_labels(a, b);
                        if ordering != Ordering::Equal {
                            return ordering;
                        }
                    }
                    self.labels.len().cmp(&other.labels.len())
                }
            }
        })
    }
}

impl PartialOrd for NugetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NugetVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NugetVersion {}

impl Hash for NugetVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.numbers.hash(state);
        for label in &self.labels {
            match label_number(label) {
                Some(number) => (0u8, number).hash(state),
                None => (1u8, label.to_ascii_uppercase()).hash(state),
            }
        }
        self.labels.len().hash(state);
    }
}

impl fmt::Display for NugetVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `version` lies in a NuGet range; a bare version is a minimum.
pub fn satisfies(version: &str, range: &str) -> Result<bool, VersionError> {
    let version: NugetVersion = version.parse()?;
    let intervals = parse_union::<NugetVersion>(Scheme::Nuget, range, at_least)?;
    Ok(intervals.iter().any(|interval| interval.contains(&version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> NugetVersion {
        text.parse().unwrap()
    }

    #[test]
    fn nuget_rules() {
        assert_eq!(v("1.0"), v("1.0.0.0"));
        assert_eq!(v("1.0.0-BETA"), v("1.0.0-beta"));
        assert_eq!(v("1.0.0+abc"), v("1.0.0"));
        assert!(v("1.0.0-beta.2") < v("1.0.0-beta.10"));
        assert!(v("1.0.0.1") > v("1.0.0"));
        assert!("1.0.0.0.0".parse::<NugetVersion>().is_err());
        assert_eq!(satisfies("1.5.0", "1.0"), Ok(true));
        assert_eq!(satisfies("1.5.0", "[1.0,1.5)"), Ok(false));
        assert_eq!(satisfies("1.5.0", "[1.5.0]"), Ok(true));
    }
}
