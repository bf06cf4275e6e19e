//! The scan pipeline shared by `portcullis scan` and the server's workers:
//!
//! ```text
//! Source ─▶ read_sbom (image reader + catalogers) ─▶ Sbom
//!        ─▶ scan (matcher × advisory Index, base layers, ignore file and VEX, filters) ─▶ ScanReport
//!        ─▶ decide (policy set, stage, team, exceptions) ─▶ PolicyDecision
//! ```
//!
//! - [`read_sbom`]: reads an image from any [`Source`] and lists its packages.
//! - [`scan`]: matches an [`Sbom`] against an [`Index`] and applies [`ScanInputs`]:
//!   the [`Base`] layers, an ignore file, VEX documents and the finding filters.
//! - [`decide`]: the policy decision on a report ([`decide::decide`]).
//!
//! Nothing here prints; progress goes to a [`Progress`] the caller gives.

mod annotate;
pub mod base;
pub mod decide;

use portcullis_image::{ImageError, Progress, ReadOptions, Source};
use portcullis_policy::{IgnoreFile, VexDocument};
use portcullis_report::{DatabaseInfo, DatabaseSource, ScanReport};
use portcullis_types::{AffectedStatus, Finding, Sbom, SeverityLevel, ToolInfo};
use portcullis_vulndb::{Index, IndexError};

pub use base::{Base, BaseError};
pub use decide::{decide, decide_with_facts, facts};

/// Why an image could not be scanned. Findings are never errors.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("failed to read image `{image}`")]
    Read {
        image: String,
        #[source]
        source: Box<ImageError>,
    },
    #[error("failed to list the packages of `{image}`")]
    Catalog {
        image: String,
        #[source]
        source: portcullis_catalog::CatalogError,
    },
    #[error(
        "failed to match the packages of `{image}`; the advisory index may be damaged (run `portcullis db update --force`)"
    )]
    Match {
        image: String,
        #[source]
        source: portcullis_matcher::MatchError<IndexError>,
    },
}

/// Which findings a report keeps, besides the ignore file and VEX.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Keep only these severities (empty: all).
    pub severities: Vec<SeverityLevel>,
    /// Drop findings without a fixed version.
    pub ignore_unfixed: bool,
    /// Drop findings with these statuses.
    pub ignore_status: Vec<AffectedStatus>,
}

impl FindingFilter {
    fn keeps(&self, f: &Finding) -> bool {
        (self.severities.is_empty() || self.severities.contains(&f.severity))
            && (!self.ignore_unfixed || f.fixable())
            && !self.ignore_status.contains(&f.status)
    }
}

/// What a scan applies to the findings it matches.
#[derive(Debug, Default)]
pub struct ScanInputs<'a> {
    /// The bottom layers that came from the base image, when known.
    pub base: Option<&'a Base>,
    /// An ignore file.
    pub ignore: Option<&'a IgnoreFile>,
    /// VEX documents.
    pub vex: &'a [VexDocument],
    /// Which findings to keep.
    pub filter: FindingFilter,
}

/// Reads `source` and lists its packages, sorted; returns the catalogers' warnings too.
/// Layers found in the options' layer cache are not decoded again.
pub fn read_sbom(
    source: &Source,
    options: &ReadOptions,
    catalog_options: &portcullis_catalog::CatalogOptions,
    progress: &dyn Progress,
) -> Result<(Sbom, Vec<String>), ScanError> {
    let image = source.to_string();
    let read =
        portcullis_image::read_image(source, options, portcullis_catalog::selector(), progress)
            .map_err(|source| ScanError::Read {
                image: image.clone(),
                source: Box::new(source),
            })?;
    let catalog = portcullis_catalog::catalog_with(&read, catalog_options)
        .map_err(|source| ScanError::Catalog { image, source })?;
    let warnings = catalog.warnings.iter().map(ToString::to_string).collect();
    let mut sbom = Sbom {
        tool: tool(),
        image: read.info,
        distro: catalog.distro,
        packages: catalog.packages,
    };
    sbom.sort();
    Ok((sbom, warnings))
}

/// This tool, as reports name it.
pub fn tool() -> ToolInfo {
    ToolInfo {
        name: "portcullis".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// What the report says about the advisory data it was matched against.
pub fn database_info(index: &Index) -> DatabaseInfo {
    let manifest = index.manifest();
    DatabaseInfo {
        built_at: manifest.built_at.clone(),
        schema_version: manifest.schema_version,
        sources: manifest
            .sources
            .iter()
            .map(|s| DatabaseSource {
                name: s.name.clone(),
                snapshot: s.snapshot.clone(),
                fetched_at: s.fetched_at.clone(),
            })
            .collect(),
    }
}

/// Matches `sbom` against `index` and applies `inputs`; `scanned_at` is seconds since
/// the Unix epoch. `warnings` are the reader's, carried into the report.
pub fn scan(
    sbom: Sbom,
    mut warnings: Vec<String>,
    index: &Index,
    inputs: &ScanInputs<'_>,
    scanned_at: u64,
) -> Result<ScanReport, ScanError> {
    let matches = portcullis_matcher::find(&sbom, index).map_err(|source| ScanError::Match {
        image: sbom.image.reference.clone(),
        source,
    })?;
    warnings.extend(matches.warnings);
    let mut findings = matches.findings;
    if let Some(base) = inputs.base {
        base::mark(&mut findings, base);
    }
    let (findings, suppressed) = annotate::apply(
        findings,
        &sbom.image,
        inputs.ignore,
        inputs.vex,
        &mut warnings,
    );
    let findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| inputs.filter.keeps(f))
        .collect();
    let packages = sbom.packages.len();
    Ok(ScanReport::new(
        sbom.tool,
        sbom.image,
        sbom.distro,
        database_info(index),
        portcullis_report::rfc3339_utc(scanned_at),
        packages,
        findings,
        warnings,
    )
    .with_suppressed(suppressed))
}
