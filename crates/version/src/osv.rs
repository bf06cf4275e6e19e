//! OSV `affected[]` evaluation: `ECOSYSTEM` and `SEMVER` ranges with
//! `introduced`, `fixed`, `last_affected` and `limit` events, and explicit
//! `versions` lists.
//!
//! The OSV specification requires sorting a range's events by the
//! ecosystem's version order before walking them; real feeds list them out of
//! order (75 PyPA ranges do, Django PYSEC-2019-10 among them), so
//! [`osv_range_affected`] always sorts. `GIT` ranges name commits, which
//! cannot be ordered here, and never match.

use std::cmp::Ordering;

use portcullis_types::NativeRange;
use serde::{Deserialize, Serialize};

use crate::{NpmVersion, Scheme, VersionError, compare};

pub use portcullis_types::{OsvEvent, OsvRange, OsvRangeKind};

/// The parts of an OSV `affected[]` entry that decide whether a version is affected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsvAffected {
    /// Ranges; a version is affected if any range contains it.
    #[serde(default)]
    pub ranges: Vec<OsvRange>,
    /// Versions listed one by one.
    #[serde(default)]
    pub versions: Vec<String>,
}

/// Whether `version` is affected according to `affected`: listed in
/// `versions` (equal in the scheme's order, or as a string) or inside one of
/// the ranges. `scheme` orders `ECOSYSTEM` ranges; `SEMVER` ranges use SemVer.
pub fn osv_affected(
    scheme: Scheme,
    version: &str,
    affected: &OsvAffected,
) -> Result<bool, VersionError> {
    osv_ranges_affected(scheme, version, &affected.ranges, &affected.versions)
}

/// [`osv_affected`] over the parts of an entry: `ranges` and listed `versions`.
pub fn osv_ranges_affected(
    scheme: Scheme,
    version: &str,
    ranges: &[OsvRange],
    versions: &[String],
) -> Result<bool, VersionError> {
    for listed in versions {
        if listed == version || compare(scheme, listed, version) == Ok(Ordering::Equal) {
            return Ok(true);
        }
    }
    for range in ranges {
        if osv_range_affected(scheme, version, range)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `version` is affected by a range in the ecosystem's own syntax
/// (RustSec, RubySec, Node.js working group): it matches `vulnerable` (or
/// there is none) and none of `unaffected`. An empty range affects nothing,
/// so that a record with no version data never matches everything.
pub fn native_affected(
    scheme: Scheme,
    version: &str,
    range: &NativeRange,
) -> Result<bool, VersionError> {
    if range.is_empty() {
        return Ok(false);
    }
    if let Some(vulnerable) = &range.vulnerable
        && !crate::satisfies(scheme, version, vulnerable)?
    {
        return Ok(false);
    }
    for unaffected in &range.unaffected {
        if crate::satisfies(scheme, version, unaffected)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// How an event version compares with the version under test; sentinels
/// (`introduced: "0"`, `limit: "*"`) are below and above everything.
fn event_cmp(
    scheme: Scheme,
    kind: OsvRangeKind,
    a: &str,
    b: &str,
) -> Result<Ordering, VersionError> {
    match kind {
        OsvRangeKind::Semver => {
            let parse = |text: &str| -> Result<NpmVersion, VersionError> {
                NpmVersion::parse_plain(text).ok_or_else(|| {
                    VersionError::version(
                        scheme,
                        text,
                        "not a SemVer 2.0 version (OSV SEMVER range)",
                    )
                })
            };
            Ok(parse(a)?.cmp(&parse(b)?))
        }
        _ => compare(scheme, a, b),
    }
}

/// The sort key of an event: its version, with the sentinels at the ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position<'a> {
    Bottom,
    At(&'a str),
    Top,
}

fn position(event: &OsvEvent) -> (Position<'_>, u8) {
    match event {
        OsvEvent::Introduced(v) if v == "0" => (Position::Bottom, 0),
        OsvEvent::Introduced(v) => (Position::At(v), 0),
        OsvEvent::LastAffected(v) => (Position::At(v), 1),
        OsvEvent::Fixed(v) => (Position::At(v), 2),
        OsvEvent::Limit(v) if v == "*" => (Position::Top, 3),
        OsvEvent::Limit(v) => (Position::At(v), 3),
    }
}

/// Whether `version` lies in one OSV range, after sorting its events.
pub fn osv_range_affected(
    scheme: Scheme,
    version: &str,
    range: &OsvRange,
) -> Result<bool, VersionError> {
    let kind = range.kind;
    if !matches!(kind, OsvRangeKind::Ecosystem | OsvRangeKind::Semver) {
        return Ok(false);
    }
    // Validate everything first, so that sorting can treat comparison as infallible.
    event_cmp(scheme, kind, version, version)?;
    for event in &range.events {
        if let (Position::At(v), _) = position(event) {
            event_cmp(scheme, kind, v, v)?;
        }
    }
    let cmp_position = |a: Position<'_>, b: Position<'_>| match (a, b) {
        (Position::Bottom, Position::Bottom) | (Position::Top, Position::Top) => Ordering::Equal,
        (Position::Bottom, _) | (_, Position::Top) => Ordering::Less,
        (_, Position::Bottom) | (Position::Top, _) => Ordering::Greater,
        (Position::At(x), Position::At(y)) => {
            event_cmp(scheme, kind, x, y).unwrap_or(Ordering::Equal)
        }
    };
    let mut events: Vec<&OsvEvent> = range.events.iter().collect();
    // At equal versions, `introduced` comes first so that `introduced: X,
    // fixed: X` stays the empty range it means.
    events.sort_by(|a, b| {
        let (pa, ra) = position(a);
        let (pb, rb) = position(b);
        cmp_position(pa, pb).then(ra.cmp(&rb))
    });
    let at_or_above = |v: &str| event_cmp(scheme, kind, version, v).map(|o| o != Ordering::Less);
    let mut affected = false;
    let mut limits = Vec::new();
    for event in events {
        match event {
            OsvEvent::Introduced(v) => {
                if v == "0" || at_or_above(v)? {
                    affected = true;
                }
            }
            OsvEvent::Fixed(v) => {
                if at_or_above(v)? {
                    affected = false;
                }
            }
            OsvEvent::LastAffected(v) => {
                if event_cmp(scheme, kind, version, v)? == Ordering::Greater {
                    affected = false;
                }
            }
            OsvEvent::Limit(v) => limits.push(v.as_str()),
        }
    }
    if affected && !limits.is_empty() {
        let mut below_some_limit = false;
        for limit in limits {
            below_some_limit |= limit == "*" || !at_or_above(limit)?;
        }
        affected = below_some_limit;
    }
    Ok(affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(json: &str) -> OsvRange {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn out_of_order_events_are_sorted_first() {
        // The events of Django PYSEC-2019-10, in file order.
        let django = range(
            r#"{"type":"ECOSYSTEM","events":[
                {"introduced":"0"},{"fixed":"1.11.19"},
                {"introduced":"2.1"},{"fixed":"2.1.6"},
                {"introduced":"2.0"},{"fixed":"2.0.11"}]}"#,
        );
        let affected = |v: &str| osv_range_affected(Scheme::Pep440, v, &django).unwrap();
        assert!(affected("2.0.10"));
        assert!(!affected("2.0.11"));
        assert!(affected("2.1.5"));
        assert!(!affected("1.11.19"));
        assert!(affected("1.11.18"));
        assert!(!affected("2.2"));
    }

    #[test]
    fn last_affected_limit_and_lists() {
        let last = range(
            r#"{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"last_affected":"1.4.2"}]}"#,
        );
        assert!(osv_range_affected(Scheme::Go, "1.4.2", &last).unwrap());
        assert!(!osv_range_affected(Scheme::Go, "1.4.3", &last).unwrap());
        let limited =
            range(r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"limit":"2.0"}]}"#);
        assert!(osv_range_affected(Scheme::Deb, "1.9", &limited).unwrap());
        assert!(!osv_range_affected(Scheme::Deb, "2.0", &limited).unwrap());
        let git = range(r#"{"type":"GIT","events":[{"introduced":"abc"}]}"#);
        assert!(!osv_range_affected(Scheme::Deb, "1.0", &git).unwrap());
        let listed = OsvAffected {
            ranges: vec![],
            versions: vec!["1.0.0".into(), "junk version".into()],
        };
        assert!(osv_affected(Scheme::Pep440, "1.0", &listed).unwrap());
        assert!(!osv_affected(Scheme::Pep440, "1.1", &listed).unwrap());
        let bad = range(
            r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"not a version!"}]}"#,
        );
        assert!(osv_range_affected(Scheme::Pep440, "1.0", &bad).is_err());
    }
}
