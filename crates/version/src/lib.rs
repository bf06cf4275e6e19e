//! Version ordering and range evaluation for every ecosystem portcullis scans.
//!
//! A [`Scheme`] names an ordering (dpkg, rpm, apk, PEP 440, node-semver,
//! Cargo, Go, Maven, RubyGems, NuGet). Each scheme has a module with a parsed
//! type — [`DebVersion`], [`RpmVersion`], [`ApkVersion`], [`Pep440Version`],
//! [`NpmVersion`], [`CargoVersion`], [`GoVersion`], [`MavenVersion`],
//! [`GemVersion`], [`NugetVersion`] — implementing `FromStr`, `Ord`, `Eq` and
//! `Hash` exactly as the scheme's reference implementation orders versions.
//!
//! Data flow: strings from an SBOM or an advisory are parsed once
//! (`str::parse`), then compared as often as needed without allocating.
//! [`compare`] and [`satisfies`] are the string-level entry points the CLI
//! uses; [`satisfies`] reads each scheme's native range syntax (npm ranges,
//! PEP 440 specifiers, RubyGems requirements, Maven and NuGet intervals,
//! Cargo requirements, and constraint lists for deb, rpm, apk and Go).
//! [`osv`] evaluates OSV `affected[]` ranges (events sorted by the
//! ecosystem's order, as the OSV specification requires) and `versions` lists,
//! with [`scheme_for_osv_ecosystem`] choosing the scheme.

pub mod apk;
pub mod cargo;
mod constraint;
pub mod deb;
mod error;
pub mod gem;
pub mod go;
mod interval;
pub mod maven;
pub mod npm;
pub mod nuget;
mod numeral;
pub mod osv;
pub mod pep440;
pub mod rpm;
mod scheme;

use std::cmp::Ordering;

pub use apk::ApkVersion;
pub use cargo::CargoVersion;
pub use constraint::Operator;
pub use deb::DebVersion;
pub use error::VersionError;
pub use gem::GemVersion;
pub use go::GoVersion;
pub use maven::MavenVersion;
pub use npm::NpmVersion;
pub use nuget::NugetVersion;
pub use numeral::Numeral;
pub use osv::{
    OsvAffected, OsvEvent, OsvRange, OsvRangeKind, native_affected, osv_affected,
    osv_range_affected, osv_ranges_affected,
};
pub use pep440::Pep440Version;
pub use rpm::RpmVersion;
pub use scheme::{Scheme, scheme_for_osv_ecosystem};

/// Compares two versions of `scheme`: `Less` when `a` is older than `b`.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    fn both<T: std::str::FromStr<Err = VersionError> + Ord>(
        a: &str,
        b: &str,
    ) -> Result<Ordering, VersionError> {
        Ok(a.parse::<T>()?.cmp(&b.parse::<T>()?))
    }
    match scheme {
        Scheme::Deb => both::<DebVersion>(a, b),
        Scheme::Rpm => both::<RpmVersion>(a, b),
        Scheme::Apk => both::<ApkVersion>(a, b),
        Scheme::Pep440 => both::<Pep440Version>(a, b),
        Scheme::Npm => both::<NpmVersion>(a, b),
        Scheme::Cargo => both::<CargoVersion>(a, b),
        Scheme::Go => both::<GoVersion>(a, b),
        Scheme::Maven => both::<MavenVersion>(a, b),
        Scheme::Gem => both::<GemVersion>(a, b),
        Scheme::Nuget => both::<NugetVersion>(a, b),
    }
}

/// Whether `version` lies in `range`, written in the scheme's native syntax:
///
/// | scheme | syntax |
/// |---|---|
/// | deb, rpm, apk, go | constraints such as `>= 1.2, < 1.4` (all must hold; apk also has `~`) |
/// | pep440 | a specifier set: `>=1.0,!=1.3.*,<2` (pre-releases are matched) |
/// | npm | a node-semver range: `^1.2.3 \|\| >=2.0.0-beta <2.1` (node-semver's pre-release rule applies) |
/// | cargo | a Cargo requirement: `>=1.2, <1.5` or `^0.3` |
/// | gem | a RubyGems requirement list: `~> 5.2.4, >= 5.2.4.3` |
/// | maven, nuget | intervals: `[1.0,2.0)`, `(,1.0],[1.2,)`; NuGet's bare `1.0` means `>= 1.0` |
pub fn satisfies(scheme: Scheme, version: &str, range: &str) -> Result<bool, VersionError> {
    match scheme {
        Scheme::Deb => satisfies_constraints::<DebVersion>(scheme, version, range),
        Scheme::Rpm => satisfies_constraints::<RpmVersion>(scheme, version, range),
        Scheme::Apk => apk_satisfies(version, range),
        Scheme::Go => satisfies_constraints::<GoVersion>(scheme, version, range),
        Scheme::Pep440 => {
            let specifiers: pep440::SpecifierSet = range.parse()?;
            Ok(specifiers.contains(&version.parse()?))
        }
        Scheme::Npm => {
            let range: npm::Range = range.parse()?;
            Ok(range.satisfied_by(&version.parse()?))
        }
        Scheme::Cargo => cargo::satisfies(version, range),
        Scheme::Gem => {
            let requirement: gem::Requirement = range.parse()?;
            Ok(requirement.satisfied_by(&version.parse()?))
        }
        Scheme::Maven => maven::satisfies(version, range),
        Scheme::Nuget => nuget::satisfies(version, range),
    }
}

fn satisfies_constraints<T: std::str::FromStr<Err = VersionError> + Ord>(
    scheme: Scheme,
    version: &str,
    range: &str,
) -> Result<bool, VersionError> {
    let version: T = version.parse()?;
    let constraints = constraint::parse(scheme, range)?;
    let mut all = true;
    for (operator, bound) in constraints {
        let bound: T = bound.parse()?;
        all &= operator.accepts(version.cmp(&bound));
    }
    Ok(all)
}

fn apk_satisfies(version: &str, range: &str) -> Result<bool, VersionError> {
    let version: ApkVersion = version.parse()?;
    let mut all = true;
    for (operator, bound) in constraint::parse(Scheme::Apk, range)? {
        let bound: ApkVersion = bound.parse()?;
        all &= match operator {
            Operator::Fuzzy => version.fuzzy_matches(&bound),
            _ => operator.accepts(version.cmp(&bound)),
        };
    }
    Ok(all)
}

/// One line of `portcullis version compare --stdin`: `A<TAB>B` gives `-1`,
/// `0` or `1`, or `error: REASON` (always one line).
pub fn compare_line(scheme: Scheme, line: &str) -> String {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let Some((a, b)) = line.split_once('\t') else {
        return "error: expected two versions separated by a tab".to_owned();
    };
    match compare(scheme, a, b) {
        Ok(Ordering::Less) => "-1".to_owned(),
        Ok(Ordering::Equal) => "0".to_owned(),
        Ok(Ordering::Greater) => "1".to_owned(),
        Err(error) => format!("error: {error}").replace(['\n', '\r'], " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_line_answers_one_line_per_input() {
        assert_eq!(compare_line(Scheme::Deb, "1.0\t1.1"), "-1");
        assert_eq!(compare_line(Scheme::Deb, "1:0\t1.1\n"), "1");
        assert_eq!(compare_line(Scheme::Pep440, "1.0\t1.0.0"), "0");
        assert_eq!(
            compare_line(Scheme::Deb, "1.0"),
            "error: expected two versions separated by a tab"
        );
        let error = compare_line(Scheme::Pep440, "1.0\tnot a version\r\n");
        assert!(
            error.starts_with("error: invalid pep440 version `not a version`"),
            "{error}"
        );
        assert!(!error.contains('\n'));
    }

    #[test]
    fn satisfies_reads_constraint_lists_for_distributions() {
        assert_eq!(satisfies(Scheme::Deb, "1.2-1", ">= 1.2, << 1.3"), Ok(true));
        assert_eq!(
            satisfies(Scheme::Deb, "1.3~rc1", ">= 1.2, << 1.3"),
            Ok(true)
        );
        assert_eq!(satisfies(Scheme::Rpm, "1.3-1.el9", "< 1.3-2.el9"), Ok(true));
        assert_eq!(satisfies(Scheme::Apk, "3.6.9-r0", "~3.6"), Ok(true));
        assert_eq!(satisfies(Scheme::Apk, "3.7-r0", "~3.6"), Ok(false));
        assert!(satisfies(Scheme::Deb, "1.0", "=> 1").is_err());
    }
}
