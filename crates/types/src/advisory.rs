//! The normalised advisory model that every feed is parsed into, and the
//! [`AdvisorySource`] that matchers query.
//!
//! An [`Advisory`] is one record of one source (a PYSEC entry, a DSA, an
//! AlmaLinux erratum, a Debian tracker CVE, an NVD CVE). Records about the
//! same vulnerability are linked through their [`Advisory::aliases`]; their
//! [`Severity`] ratings stay apart, each naming its source.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The `type` of an OSV range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OsvRangeKind {
    /// Versions ordered as SemVer 2.0.
    Semver,
    /// Versions ordered by the ecosystem's own scheme.
    Ecosystem,
    /// Commit hashes.
    Git,
    /// A type this crate does not know.
    #[serde(other)]
    Unknown,
}

/// One event of an OSV range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OsvEvent {
    /// Versions from this one on are affected (`"0"`: from the beginning).
    Introduced(String),
    /// Versions from this one on are not affected.
    Fixed(String),
    /// Versions after this one are not affected.
    LastAffected(String),
    /// Versions from this one on are outside the range (`"*"`: no limit).
    Limit(String),
}

/// An OSV `affected[].ranges[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsvRange {
    /// The range type.
    #[serde(rename = "type")]
    pub kind: OsvRangeKind,
    /// The events, in any order.
    #[serde(default)]
    pub events: Vec<OsvEvent>,
}

/// A severity rating, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityLevel {
    /// The source gave no usable rating.
    Unknown,
    /// Debian's `unimportant`, Ubuntu's `negligible`.
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityLevel {
    /// Every level, least severe first.
    pub const ALL: [SeverityLevel; 6] = [
        SeverityLevel::Unknown,
        SeverityLevel::Negligible,
        SeverityLevel::Low,
        SeverityLevel::Medium,
        SeverityLevel::High,
        SeverityLevel::Critical,
    ];

    /// The lowercase name used in output: `critical`, `high`…
    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLevel::Unknown => "unknown",
            SeverityLevel::Negligible => "negligible",
            SeverityLevel::Low => "low",
            SeverityLevel::Medium => "medium",
            SeverityLevel::High => "high",
            SeverityLevel::Critical => "critical",
        }
    }

    /// Parses a rating word as the feeds spell it (`CRITICAL`, `Moderate`,
    /// `important`, `unimportant`, `medium**`); `None` if it is none of them.
    pub fn parse_word(word: &str) -> Option<SeverityLevel> {
        let word = word.trim().trim_end_matches('*').to_ascii_lowercase();
        Some(match word.as_str() {
            "critical" => SeverityLevel::Critical,
            "high" | "important" => SeverityLevel::High,
            "medium" | "moderate" => SeverityLevel::Medium,
            "low" => SeverityLevel::Low,
            "negligible" | "unimportant" | "none" | "info" | "informational" => {
                SeverityLevel::Negligible
            }
            "unknown" | "not yet assigned" | "" => SeverityLevel::Unknown,
            _ => return None,
        })
    }

    /// The CVSS v3/v4 qualitative rating of a base score.
    pub fn from_cvss_score(score: f32) -> SeverityLevel {
        match score {
            s if s >= 9.0 => SeverityLevel::Critical,
            s if s >= 7.0 => SeverityLevel::High,
            s if s >= 4.0 => SeverityLevel::Medium,
            s if s > 0.0 => SeverityLevel::Low,
            _ => SeverityLevel::Negligible,
        }
    }
}

impl fmt::Display for SeverityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a [`Severity`] is: a CVSS vector of some version, or a source's own word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverityKind {
    CvssV2,
    CvssV3,
    CvssV4,
    /// A rating word only (Debian urgency, GHSA `database_specific.severity`).
    Rating,
}

/// One severity rating, kept with the source that gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// Who rated: `nvd`, `debian`, `ghsa`, `almalinux`, `nodejs`…
    pub source: String,
    pub kind: SeverityKind,
    /// The CVSS vector, for the CVSS kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// The base score, when the source gives or implies one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    pub level: SeverityLevel,
}

/// The vendor's statement about a package in one affected entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AffectedStatus {
    /// Versions in the ranges are affected; a fix exists where a range has a `fixed` event.
    Affected,
    /// Affected, and the vendor has no fix yet (Debian `open`, no fixed version).
    Unfixed,
    /// Affected, and the vendor will not fix it (Debian `<no-dsa>`, `<ignored>`, end of life).
    WillNotFix,
    /// Affected, fix deferred (Debian `<postponed>`).
    Postponed,
    /// The vendor says this package is not affected (Debian `<not-affected>`, fixed version `0`).
    NotAffected,
}

impl AffectedStatus {
    /// The snake_case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            AffectedStatus::Affected => "affected",
            AffectedStatus::Unfixed => "unfixed",
            AffectedStatus::WillNotFix => "will_not_fix",
            AffectedStatus::Postponed => "postponed",
            AffectedStatus::NotAffected => "not_affected",
        }
    }
}

/// A range in an ecosystem's own syntax, as RustSec, RubySec and the Node.js
/// working group publish them: a version is affected when it matches
/// `vulnerable` (or there is none) and matches none of `unaffected`.
/// Each string is evaluated with `portcullis_version::satisfies`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerable: Option<String>,
    /// Patched and unaffected requirements together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unaffected: Vec<String>,
}

impl NativeRange {
    /// True when the range says nothing (every version would be affected).
    pub fn is_empty(&self) -> bool {
        self.vulnerable.is_none() && self.unaffected.is_empty()
    }
}

/// One package that an advisory affects, in one ecosystem or distro release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The OSV ecosystem, with the release for distros: `PyPI`, `Go`, `crates.io`,
    /// `Debian:12`, `Alpine:v3.20`, `AlmaLinux:9`, `Ubuntu:22.04:LTS`.
    pub ecosystem: String,
    /// The package name as the source publishes it (a source package for Debian,
    /// an origin for Alpine).
    pub package: String,
    pub status: AffectedStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<OsvRange>,
    /// Affected versions listed one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeRange>,
    /// The vendor's rating for this package (Debian urgency), kept apart from CVSS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<SeverityLevel>,
    /// The vendor's reason or note (`<no-dsa>` reason, `<not-affected>` explanation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Affected symbols (Go `ecosystem_specific.imports`), `path:Symbol`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
}

impl Affected {
    /// An entry with no ranges yet.
    pub fn new(ecosystem: impl Into<String>, package: impl Into<String>) -> Affected {
        Affected {
            ecosystem: ecosystem.into(),
            package: package.into(),
            status: AffectedStatus::Affected,
            ranges: Vec::new(),
            versions: Vec::new(),
            native: None,
            severity: None,
            note: None,
            symbols: Vec::new(),
        }
    }

    /// The fixed versions this entry names (`fixed` events of version
    /// ranges; a `GIT` range's fixed commit is not a version), in file order.
    pub fn fixed_versions(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for range in &self.ranges {
            if !matches!(range.kind, OsvRangeKind::Ecosystem | OsvRangeKind::Semver) {
                continue;
            }
            for event in &range.events {
                if let OsvEvent::Fixed(v) = event
                    && !out.contains(&v.as_str())
                {
                    out.push(v.as_str());
                }
            }
        }
        out
    }
}

/// One advisory record of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The source's own ID: `PYSEC-2021-1`, `GO-2022-0001`, `DSA-5380-1`, `CVE-2023-1393`.
    pub id: String,
    /// The feed it came from (the name of the configured source: `pypa`, `debian-tracker`…).
    pub source: String,
    /// Other IDs of the same vulnerability (CVE, GHSA, PYSEC, RUSTSEC, GO, ALSA, DSA…), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// IDs that are related but not the same vulnerability (OSV `related`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// RFC 3339 timestamps, as the source gives them (dates become `T00:00:00Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Set when the source withdrew the record; a withdrawn record never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<Severity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// `CWE-79`…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
}

impl Advisory {
    /// An empty record with an ID and a source.
    pub fn new(id: impl Into<String>, source: impl Into<String>) -> Advisory {
        Advisory {
            id: id.into(),
            source: source.into(),
            aliases: Vec::new(),
            related: Vec::new(),
            summary: None,
            details: None,
            published: None,
            modified: None,
            withdrawn: None,
            severities: Vec::new(),
            affected: Vec::new(),
            references: Vec::new(),
            cwes: Vec::new(),
        }
    }

    /// The ID and every alias, the ID first.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// The CVE among the ID and aliases, if any (the first in order).
    pub fn cve(&self) -> Option<&str> {
        self.all_ids().find(|id| id.starts_with("CVE-"))
    }
}

/// FIRST EPSS: the probability of exploitation in the next 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    pub score: f32,
    pub percentile: f32,
}

/// An entry of CISA's Known Exploited Vulnerabilities catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kev {
    /// `YYYY-MM-DD`.
    pub date_added: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// `Known` when used in ransomware campaigns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ransomware: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What is known about a CVE beyond the advisories: exploitation scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CveInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<Epss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<Kev>,
}

/// One affected entry found for a package, with the advisory it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvisoryMatch {
    /// The advisory's ID and source, enough to fetch the whole record.
    pub advisory_id: String,
    pub source: String,
    pub affected: Affected,
}

/// Where matchers find advisories. Implemented by the compiled index in
/// `portcullis-vulndb`; tests may implement it over a few records.
pub trait AdvisorySource {
    /// The error of a lookup (I/O or a corrupt index).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Every affected entry for `package` in `ecosystem` (an OSV ecosystem string
    /// such as `PyPI` or `Debian:12`). Names are compared after the ecosystem's
    /// normalisation (PEP 503 for PyPI, lowercase for NuGet and Composer).
    fn affected(&self, ecosystem: &str, package: &str) -> Result<Vec<AdvisoryMatch>, Self::Error>;

    /// The whole record of `source`'s advisory `id`.
    fn advisory(&self, source: &str, id: &str) -> Result<Option<Advisory>, Self::Error>;

    /// Every record whose ID or alias is `id` (case-insensitive), from every source.
    fn by_alias(&self, id: &str) -> Result<Vec<Advisory>, Self::Error>;

    /// EPSS and KEV data for a CVE.
    fn cve_info(&self, cve: &str) -> Result<Option<CveInfo>, Self::Error>;
}

/// The name under which `package` is indexed and looked up in `ecosystem`:
/// PEP 503 for PyPI (`Foo_Bar.baz` → `foo-bar-baz`), lowercase for
/// ecosystems whose names are case-insensitive (NuGet, Packagist, Hex), as
/// published otherwise.
pub fn normalize_package_name(ecosystem: &str, package: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or_default();
    match base {
        "PyPI" => {
            let mut out = String::with_capacity(package.len());
            let mut in_separator = false;
            for c in package.trim().chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_separator {
                        out.push('-');
                    }
                    in_separator = true;
                } else {
                    out.push(c.to_ascii_lowercase());
                    in_separator = false;
                }
            }
            out
        }
        "NuGet" | "Packagist" | "Hex" => package.trim().to_ascii_lowercase(),
        _ => package.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pypi_names_are_normalised_as_pep_503_says() {
        assert_eq!(normalize_package_name("PyPI", "Foo_Bar.baz"), "foo-bar-baz");
        assert_eq!(normalize_package_name("PyPI", "a--_b"), "a-b");
        assert_eq!(
            normalize_package_name("NuGet", "Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(normalize_package_name("Debian:12", "libC6"), "libC6");
    }

    #[test]
    fn severity_words_and_scores() {
        assert_eq!(
            SeverityLevel::parse_word("medium**"),
            Some(SeverityLevel::Medium)
        );
        assert_eq!(
            SeverityLevel::parse_word("Important"),
            Some(SeverityLevel::High)
        );
        assert_eq!(
            SeverityLevel::parse_word("unimportant"),
            Some(SeverityLevel::Negligible)
        );
        assert_eq!(SeverityLevel::parse_word("bogus"), None);
        assert_eq!(SeverityLevel::from_cvss_score(9.8), SeverityLevel::Critical);
        assert_eq!(SeverityLevel::from_cvss_score(6.9), SeverityLevel::Medium);
        assert!(SeverityLevel::Critical > SeverityLevel::High);
    }
}
