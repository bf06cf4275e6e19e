//! Interval notation shared by Maven and NuGet ranges: `[1.0,2.0)`,
//! `(,1.0]`, `[1.5]`, and unions such as `(,1.0],[1.2,)`.

use std::cmp::Ordering;
use std::str::FromStr;

use crate::{Scheme, VersionError};

/// One interval; `None` bounds are unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interval<T> {
    low: Option<(T, bool)>,
    high: Option<(T, bool)>,
}

impl<T: Ord> Interval<T> {
    pub(crate) fn contains(&self, version: &T) -> bool {
        let above = match &self.low {
            None => true,
            Some((low, inclusive)) => match version.cmp(low) {
                Ordering::Greater => true,
                Ordering::Equal => *inclusive,
                Ordering::Less => false,
            },
        };
        let below = match &self.high {
            None => true,
            Some((high, inclusive)) => match version.cmp(high) {
                Ordering::Less => true,
                Ordering::Equal => *inclusive,
                Ordering::Greater => false,
            },
        };
        above && below
    }
}

/// Parses a union of intervals; `bare` decides what a version without
/// brackets means (exact for Maven, minimum for NuGet).
pub(crate) fn parse_union<T>(
    scheme: Scheme,
    text: &str,
    bare: fn(T) -> Interval<T>,
) -> Result<Vec<Interval<T>>, VersionError>
where
    T: FromStr<Err = VersionError> + Ord + Clone,
{
    let error = |reason: &str| VersionError::range(scheme, text, reason);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error("the range is empty"));
    }
    if !trimmed.starts_with(['[', '(']) {
        return Ok(vec![bare(trimmed.parse()?)]);
    }
    let mut intervals = Vec::new();
    let mut rest = trimmed;
    while !rest.is_empty() {
        let open = rest.chars().next().unwrap_or(' ');
        if open != '[' && open != '(' {
            return Err(error("an interval starts with [ or ("));
        }
        let Some(close_at) = rest.find([']', ')']) else {
            return Err(error("an interval is not closed with ] or )"));
        };
        let inner = rest.get(1..close_at).unwrap_or_default();
        let close = rest
            .get(close_at..)
            .and_then(|s| s.chars().next())
            .unwrap_or(' ');
        rest = rest
            .get(close_at + 1..)
            .unwrap_or_default()
            .trim_start()
            .trim_start_matches(',')
            .trim_start();
        let interval = match inner.split_once(',') {
            None => {
                if open != '[' || close != ']' || inner.trim().is_empty() {
                    return Err(error("a single version must be written [1.0]"));
                }
                let version: T = inner.trim().parse()?;
                Interval {
                    low: Some((version.clone(), true)),
                    high: Some((version, true)),
                }
            }
            Some((low, high)) => {
                if high.contains(',') {
                    return Err(error("an interval has at most two bounds"));
                }
                let bound =
                    |side: &str, inclusive: bool| -> Result<Option<(T, bool)>, VersionError> {
                        let side = side.trim();
                        if side.is_empty() {
                            Ok(None)
                        } else {
                            Ok(Some((side.parse()?, inclusive)))
                        }
                    };
                let low = bound(low, open == '[')?;
                let high = bound(high, close == ']')?;
                if let (Some((l, _)), Some((h, _))) = (&low, &high)
                    && l > h
                {
                    return Err(error("the lower bound is above the upper bound"));
                }
                Interval { low, high }
            }
        };
        intervals.push(interval);
    }
    Ok(intervals)
}

/// A bare version meaning exactly that version.
pub(crate) fn exact<T: Clone>(version: T) -> Interval<T> {
    Interval {
        low: Some((version.clone(), true)),
        high: Some((version, true)),
    }
}

/// A bare version meaning that version or later.
pub(crate) fn at_least<T>(version: T) -> Interval<T> {
    Interval {
        low: Some((version, true)),
        high: None,
    }
}
