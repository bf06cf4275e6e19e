//! Matching an image's packages against advisories.
//!
//! Data flows one way: [`lookups`] turns a [`Package`] (and the image's
//! [`Distro`]) into the ecosystem keys, names and versions that advisories
//! are written against; [`find`] asks an [`AdvisorySource`] for each, keeps
//! the entries whose ranges contain the version, and [`group`](grouping)
//! turns the advisories of one package into one [`Finding`] per
//! vulnerability, each with the [`MatchDetail`] of every advisory behind it.
//!
//! Rules, each chosen to cut noise without hiding real findings:
//! - distro packages are matched only against their distro release's data,
//!   by source package (Debian, Alpine) or binary name (rpm errata), with the
//!   source version; there is no CPE guessing;
//! - kernel advisories are not reported against header and tool packages
//!   built from the kernel source (`linux-libc-dev`, `kernel-headers`);
//! - withdrawn advisories and `not_affected` statements never match;
//! - one finding per vulnerability per package: advisories sharing an ID or
//!   alias are one finding, whose ID is the CVE when one is known.

mod grouping;
mod lookup;

use portcullis_types::{
    AdvisoryMatch, AdvisorySource, AffectedStatus, Distro, Finding, MatchDetail, OsvEvent,
    OsvRangeKind, Package, Sbom,
};
use portcullis_version::Scheme;

pub use lookup::{Lookup, distro_keys, is_kernel_tooling, lookups};

/// Errors that stop a scan: the advisory source failed.
#[derive(Debug, thiserror::Error)]
pub enum MatchError<E: std::error::Error + 'static> {
    #[error("advisory lookup for {ecosystem} {package} failed: {source}")]
    Source {
        ecosystem: String,
        package: String,
        #[source]
        source: E,
    },
}

/// What matching found, and what it could not judge.
#[derive(Debug, Default)]
pub struct Matches {
    /// Sorted by [`Finding::priority_key`].
    pub findings: Vec<Finding>,
    /// Versions that the ecosystem's ordering could not read, so that the
    /// advisories about them could not be decided: `package version: reason`.
    pub warnings: Vec<String>,
    /// Advisory entries suppressed by a rule (kernel headers), for the summary.
    pub suppressed: usize,
}

/// Matches every package of `sbom` against `source`.
pub fn find<S: AdvisorySource>(sbom: &Sbom, source: &S) -> Result<Matches, MatchError<S::Error>> {
    let mut out = Matches::default();
    for package in &sbom.packages {
        let mut hits: Vec<(AdvisoryMatch, MatchDetail)> = Vec::new();
        for lookup in lookups(sbom.distro.as_ref(), package) {
            let entries = source
                .affected(&lookup.ecosystem, &lookup.name)
                .map_err(|e| MatchError::Source {
                    ecosystem: lookup.ecosystem.clone(),
                    package: lookup.name.clone(),
                    source: e,
                })?;
            for entry in entries {
                match decide(&lookup, &entry) {
                    Ok(Some(range)) => {
                        if lookup::is_kernel_tooling(package) {
                            out.suppressed += 1;
                            continue;
                        }
                        let detail = MatchDetail {
                            advisory: entry.advisory_id.clone(),
                            source: entry.source.clone(),
                            ecosystem: lookup.ecosystem.clone(),
                            field: lookup.field.to_owned(),
                            name: lookup.name.clone(),
                            version: lookup.version.clone(),
                            range,
                            status: entry.affected.status,
                        };
                        hits.push((entry, detail));
                    }
                    Ok(None) => {}
                    Err(reason) => out.warnings.push(format!(
                        "{} {}: {} (advisory {}): {reason}",
                        package.name, package.version, lookup.ecosystem, entry.advisory_id
                    )),
                }
            }
        }
        if !hits.is_empty() {
            out.findings
                .extend(grouping::findings(package, hits, source).map_err(|e| {
                    MatchError::Source {
                        ecosystem: package.ecosystem.to_string(),
                        package: package.name.clone(),
                        source: e,
                    }
                })?);
        }
    }
    out.warnings.sort();
    out.warnings.dedup();
    out.findings
        .sort_by(|a, b| a.priority_key().cmp(&b.priority_key()));
    Ok(out)
}

/// The scheme that orders versions of an advisory's ecosystem.
fn scheme_for(ecosystem: &str) -> Option<Scheme> {
    match ecosystem.split(':').next().unwrap_or_default() {
        // RubySec's interpreters and the Node.js runtime use their package
        // manager's ordering.
        "Ruby" => Some(Scheme::Gem),
        "Node.js" => Some(Scheme::Npm),
        _ => portcullis_version::scheme_for_osv_ecosystem(ecosystem),
    }
}

/// Whether `entry` affects the looked-up version: `Some(range text)` if it
/// does, `None` if not, an error if the version cannot be ordered.
fn decide(lookup: &Lookup, entry: &AdvisoryMatch) -> Result<Option<String>, String> {
    let affected = &entry.affected;
    if affected.status == AffectedStatus::NotAffected {
        return Ok(None);
    }
    let scheme = scheme_for(&affected.ecosystem)
        .ok_or_else(|| format!("no version ordering for ecosystem {}", affected.ecosystem))?;
    let version = lookup.version.as_str();
    if let Some(native) = &affected.native {
        let hit = portcullis_version::native_affected(scheme, version, native)
            .map_err(|e| e.to_string())?;
        if !hit {
            return Ok(None);
        }
        let mut text = Vec::new();
        if let Some(v) = &native.vulnerable {
            text.push(format!("vulnerable {v}"));
        }
        if !native.unaffected.is_empty() {
            text.push(format!("unaffected {}", native.unaffected.join(" | ")));
        }
        return Ok(Some(text.join("; ")));
    }
    if affected.ranges.is_empty() && affected.versions.is_empty() {
        return Ok(None);
    }
    for listed in &affected.versions {
        if listed == version
            || portcullis_version::compare(scheme, listed, version) == Ok(std::cmp::Ordering::Equal)
        {
            return Ok(Some(format!("listed version {listed}")));
        }
    }
    for range in &affected.ranges {
        if !matches!(range.kind, OsvRangeKind::Ecosystem | OsvRangeKind::Semver) {
            continue;
        }
        if portcullis_version::osv_range_affected(scheme, version, range)
            .map_err(|e| e.to_string())?
        {
            return Ok(Some(range_text(range.kind, &range.events, affected.status)));
        }
    }
    Ok(None)
}

fn range_text(kind: OsvRangeKind, events: &[OsvEvent], status: AffectedStatus) -> String {
    let mut parts: Vec<String> = events
        .iter()
        .map(|e| match e {
            OsvEvent::Introduced(v) => format!("introduced {v}"),
            OsvEvent::Fixed(v) => format!("fixed {v}"),
            OsvEvent::LastAffected(v) => format!("last affected {v}"),
            OsvEvent::Limit(v) => format!("limit {v}"),
        })
        .collect();
    if kind == OsvRangeKind::Semver {
        parts.insert(0, "semver".to_owned());
    }
    if status != AffectedStatus::Affected {
        parts.push(format!("vendor status {}", status.as_str()));
    }
    parts.join(", ")
}

/// Convenience for callers that hold a distro and packages, not an SBOM.
pub fn find_in<S: AdvisorySource>(
    distro: Option<&Distro>,
    packages: &[Package],
    source: &S,
) -> Result<Matches, MatchError<S::Error>> {
    let sbom = Sbom {
        tool: portcullis_types::ToolInfo {
            name: String::new(),
            version: String::new(),
        },
        image: portcullis_types::ImageInfo::default(),
        distro: distro.cloned(),
        packages: packages.to_vec(),
    };
    find(&sbom, source)
}
