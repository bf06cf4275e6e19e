//! What a scan finds: one [`Finding`] per vulnerability per package, with
//! every advisory that said so and how each was matched ([`MatchDetail`]).

use serde::{Deserialize, Serialize};

use crate::{AffectedStatus, Ecosystem, Epss, Kev, LayerRef, Severity, SeverityLevel};

/// The package a finding is about, as the SBOM lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingPackage {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    pub purl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRef>,
    /// Where the package was found (package database, lockfile, binary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub found_in: Vec<String>,
}

/// Whether the layer that introduced a package belongs to the base image or
/// to what was built on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerRole {
    Base,
    Application,
}

/// How one advisory was matched to the package: which field was looked up
/// where, which version was compared, and against what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchDetail {
    /// The advisory's ID and the source it came from.
    pub advisory: String,
    pub source: String,
    /// The ecosystem key looked up (`Debian:12`, `PyPI`).
    pub ecosystem: String,
    /// The package field used: `name` or `source_name`.
    pub field: String,
    /// The name looked up (after the ecosystem's normalisation).
    pub name: String,
    /// The version compared (the source version for distro packages, without
    /// a Go `v` prefix…).
    pub version: String,
    /// The range that contains it, as text: `introduced 0, fixed 1.2.3`,
    /// `vulnerable <=1.5.1; unaffected >=1.5.2`, `listed version`, or the vendor status.
    pub range: String,
    pub status: AffectedStatus,
}

/// Where an [`Annotation`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationKind {
    /// A VEX statement (OpenVEX, CycloneDX VEX).
    Vex,
    /// An ignore-file entry in force.
    Ignore,
    /// An ignore-file entry that matched but has expired, so no longer applies.
    ExpiredIgnore,
}

/// A statement about a finding from outside the advisory data, shown with it
/// ("annotations are remediation"), never applied silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    pub kind: AnnotationKind,
    /// The VEX status (`not_affected`, `affected`, `fixed`, `under_investigation`…),
    /// or `ignored` / `expired` for ignore entries.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The impact or action statement, or the ignore entry's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Where it was said: the document and statement, or the ignore file and line.
    pub source: String,
    /// When an ignore entry stops (or stopped) applying, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// True when it removes the finding from the counted findings.
    pub suppresses: bool,
}

/// One vulnerability in one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The vulnerability: its CVE when one is known, else the first advisory's ID.
    pub id: String,
    /// Every other ID of it (GHSA, PYSEC, DSA, GO…), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub package: FindingPackage,
    /// `affected` when a fix exists or may; `unfixed`, `will_not_fix`,
    /// `postponed` as the vendor says.
    pub status: AffectedStatus,
    /// Versions that fix it, from every matching advisory, deduplicated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    /// The severity used for sorting and policy: the distro's own rating for
    /// distro packages, else the best CVSS, else any rating.
    pub severity: SeverityLevel,
    /// Who gave [`Finding::severity`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_source: Option<String>,
    /// The highest-version CVSS rating known, NVD's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Severity>,
    /// Every rating from every source, kept apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<Epss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<Kev>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_role: Option<LayerRole>,
    /// What VEX statements and ignore-file entries say about this finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// How each advisory matched.
    pub matched: Vec<MatchDetail>,
}

impl Finding {
    /// True when a fixed version is known.
    pub fn fixable(&self) -> bool {
        !self.fixed_versions.is_empty()
    }

    /// The documented output order: KEV first, then severity, then EPSS, then
    /// fixable before unfixable, then package and ID, so that the first rows
    /// are the ones to act on.
    pub fn priority_key(&self) -> impl Ord + '_ {
        let epss_millis = self
            .epss
            .map_or(0, |e| (e.score.clamp(0.0, 1.0) * 1_000_000.0) as u32);
        (
            std::cmp::Reverse(self.kev.is_some()),
            std::cmp::Reverse(self.severity),
            std::cmp::Reverse(epss_millis),
            std::cmp::Reverse(self.fixable()),
            self.package.name.as_str(),
            self.package.version.as_str(),
            self.id.as_str(),
        )
    }
}
