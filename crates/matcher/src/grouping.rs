//! The advisories that matched one package, grouped into one finding per
//! vulnerability.
//!
//! Advisories that share an ID or alias describe the same vulnerability. An
//! advisory naming several CVEs (a DSA fixing five) is one finding per CVE:
//! each CVE is its own vulnerability, fixed by the same update.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_types::{
    Advisory, AdvisoryMatch, AdvisorySource, AffectedStatus, Finding, FindingPackage, MatchDetail,
    Package, Severity, SeverityKind, SeverityLevel,
};

fn is_cve(id: &str) -> bool {
    id.starts_with("CVE-")
}

/// A small union-find over IDs.
#[derive(Default)]
struct Groups {
    parent: BTreeMap<String, String>,
}

impl Groups {
    fn find(&mut self, id: &str) -> String {
        let mut current = id.to_owned();
        loop {
            let parent = self
                .parent
                .entry(current.clone())
                .or_insert_with(|| current.clone())
                .clone();
            if parent == current {
                return current;
            }
            current = parent;
        }
    }

    fn union(&mut self, a: &str, b: &str) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller ID becomes the root, so grouping is deterministic.
            let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent.insert(child, root);
        }
    }
}

struct Hit {
    advisory: Advisory,
    entry: AdvisoryMatch,
    detail: MatchDetail,
}

/// The findings for `package` from its matched entries.
pub(crate) fn findings<S: AdvisorySource>(
    package: &Package,
    matched: Vec<(AdvisoryMatch, MatchDetail)>,
    source: &S,
) -> Result<Vec<Finding>, S::Error> {
    let mut hits = Vec::new();
    for (entry, detail) in matched {
        let Some(advisory) = source.advisory(&entry.source, &entry.advisory_id)? else {
            continue;
        };
        if advisory.withdrawn.is_some() || !same_module_stream(package, &advisory, &entry) {
            continue;
        }
        hits.push(Hit {
            advisory,
            entry,
            detail,
        });
    }
    // The CVEs each advisory stands for. A CVE rejected by its own record
    // (NVD "Rejected", often as a duplicate) is not a second vulnerability.
    let mut live_cves: Vec<Vec<String>> = Vec::with_capacity(hits.len());
    for hit in &hits {
        let cves: Vec<&str> = hit.advisory.all_ids().filter(|i| is_cve(i)).collect();
        let mut live = Vec::new();
        if cves.len() > 1 {
            for cve in &cves {
                if !rejected(source, cve)? {
                    live.push((*cve).to_owned());
                }
            }
        }
        if live.is_empty() {
            live = cves.iter().map(|c| (*c).to_owned()).collect();
        }
        live_cves.push(live);
    }
    let mut groups = Groups::default();
    for (hit, cves) in hits.iter().zip(&live_cves) {
        let first = hit.advisory.id.as_str();
        for id in hit.advisory.all_ids() {
            // Several CVEs: split below; a rejected one links nothing.
            if is_cve(id) && (cves.len() > 1 || !cves.iter().any(|c| c == id)) {
                continue;
            }
            groups.union(first, id);
        }
    }
    // Group key → member hits.
    let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (hit, cves)) in hits.iter().zip(&live_cves).enumerate() {
        if cves.len() > 1 {
            for cve in cves {
                let root = groups.find(cve);
                members.entry(root).or_default().push(i);
            }
        } else {
            let root = groups.find(&hit.advisory.id);
            members.entry(root).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (root, indexes) in members {
        out.push(finding(
            package,
            &root,
            &indexes,
            &hits,
            &mut groups,
            source,
        )?);
    }
    Ok(out)
}

fn finding<S: AdvisorySource>(
    package: &Package,
    root: &str,
    indexes: &[usize],
    hits: &[Hit],
    groups: &mut Groups,
    source: &S,
) -> Result<Finding, S::Error> {
    // Every ID in this group: those that lead to the root, without the other
    // CVEs of multi-CVE advisories.
    let mut ids = BTreeSet::new();
    for &i in indexes {
        for id in hits[i].advisory.all_ids() {
            if groups.find(id) == root || !is_cve(id) {
                ids.insert(id.to_owned());
            }
        }
    }
    ids.insert(root.to_owned());
    let id = ids
        .iter()
        .find(|i| is_cve(i))
        .or_else(|| ids.iter().find(|i| i.starts_with("GHSA-")))
        .cloned()
        .unwrap_or_else(|| root.to_owned());
    ids.remove(&id);

    let mut severities: Vec<Severity> = Vec::new();
    let mut vendor: Option<(SeverityLevel, String)> = None;
    let mut fixed: Vec<String> = Vec::new();
    let mut statuses = BTreeSet::new();
    let mut matched = Vec::new();
    let mut summary = None;
    let mut published: Option<String> = None;
    let mut references: Vec<String> = Vec::new();
    for &i in indexes {
        let hit = &hits[i];
        let advisory = &hit.advisory;
        for s in &advisory.severities {
            if !severities.contains(s) {
                severities.push(s.clone());
            }
        }
        if let Some(level) = hit.entry.affected.severity
            && level != SeverityLevel::Unknown
            && vendor.as_ref().is_none_or(|(l, _)| level > *l)
        {
            vendor = Some((level, rater(&hit.entry.affected.ecosystem)));
        }
        for v in hit.entry.affected.fixed_versions() {
            if !fixed.iter().any(|f| f == v) {
                fixed.push(v.to_owned());
            }
        }
        if let Some(native) = &hit.entry.affected.native {
            for v in &native.unaffected {
                if !fixed.contains(v) {
                    fixed.push(v.clone());
                }
            }
        }
        statuses.insert(hit.entry.affected.status);
        matched.push(hit.detail.clone());
        if summary.is_none() {
            summary.clone_from(&advisory.summary);
        }
        if let Some(p) = &advisory.published
            && published.as_ref().is_none_or(|q| p < q)
        {
            published = Some(p.clone());
        }
        for r in &advisory.references {
            if !references.contains(r) {
                references.push(r.clone());
            }
        }
    }
    // Ratings of the same CVE by other sources (NVD, GHSA) through the alias table.
    let mut epss = None;
    let mut kev = None;
    if is_cve(&id) {
        for record in source.by_alias(&id)? {
            for s in &record.severities {
                if s.kind != SeverityKind::Rating && !severities.contains(s) {
                    severities.push(s.clone());
                }
            }
        }
        if let Some(info) = source.cve_info(&id)? {
            epss = info.epss;
            kev = info.kev;
        }
    }
    severities.sort_by(|a, b| (&a.source, a.kind).cmp(&(&b.source, b.kind)));
    let cvss = best_cvss(&severities);
    // The distro's own rating first for distro packages, then CVSS, then any word.
    let distro_rating = package
        .ecosystem
        .is_os()
        .then(|| {
            vendor.clone().or_else(|| {
                severities
                    .iter()
                    .filter(|s| s.kind == SeverityKind::Rating && s.level != SeverityLevel::Unknown)
                    .filter(|s| {
                        hits.iter()
                            .any(|h| rater(&h.entry.affected.ecosystem) == s.source)
                    })
                    .max_by_key(|s| s.level)
                    .map(|s| (s.level, s.source.clone()))
            })
        })
        .flatten();
    let (severity, severity_source) = match (distro_rating, &cvss) {
        (Some((level, who)), _) => (level, Some(who)),
        (None, Some(c)) => (c.level, Some(c.source.clone())),
        (None, None) => severities
            .iter()
            .filter(|s| s.level != SeverityLevel::Unknown)
            .max_by_key(|s| s.level)
            .map_or((SeverityLevel::Unknown, None), |s| {
                (s.level, Some(s.source.clone()))
            }),
    };
    let status = if statuses.contains(&AffectedStatus::Affected) && !fixed.is_empty() {
        AffectedStatus::Affected
    } else if let Some(s) = statuses.iter().find(|s| **s != AffectedStatus::Affected) {
        *s
    } else {
        AffectedStatus::Unfixed
    };
    matched.sort_by(|a, b| (&a.source, &a.advisory).cmp(&(&b.source, &b.advisory)));
    matched.dedup();
    Ok(Finding {
        id,
        aliases: ids.into_iter().collect(),
        package: FindingPackage {
            ecosystem: package.ecosystem,
            name: package.name.clone(),
            version: package.version.clone(),
            purl: package.purl.clone(),
            source_name: package.source_name.clone(),
            source_version: package.source_version.clone(),
            layer: package.layer.clone(),
            found_in: package.found_in.clone(),
        },
        status,
        fixed_versions: fixed,
        severity,
        severity_source,
        cvss,
        severities,
        epss,
        kev,
        summary,
        published,
        references,
        layer_role: None,
        annotations: Vec::new(),
        matched,
    })
}

/// Whether the CVE's own record (the one whose ID is the CVE and which
/// affects no package: NVD's) is withdrawn.
fn rejected<S: AdvisorySource>(source: &S, cve: &str) -> Result<bool, S::Error> {
    Ok(source
        .by_alias(cve)?
        .iter()
        .any(|r| r.id == cve && r.affected.is_empty() && r.withdrawn.is_some()))
}

/// The `name:stream` of an installed rpm's modularity label
/// (`nodejs:18:8090020230921:a75119d5` → `nodejs:18`).
fn installed_stream(package: &Package) -> Option<String> {
    let label = package.metadata.get("modularitylabel")?;
    let mut parts = label.split(':');
    let (name, stream) = (parts.next()?, parts.next()?);
    (!name.is_empty() && !stream.is_empty()).then(|| format!("{name}:{stream}"))
}

/// The module stream an rpm erratum is for, as AlmaLinux and Rocky Linux
/// title them (`Moderate: container-tools:4.0 security and bug fix update`);
/// `Some("")` for an erratum of modular builds whose stream is not named.
fn advisory_stream(advisory: &Advisory, entry: &AdvisoryMatch) -> Option<String> {
    let modular = entry
        .affected
        .fixed_versions()
        .iter()
        .any(|v| v.contains(".module_") || v.contains(".module+"));
    let summary = advisory.summary.as_deref().unwrap_or_default();
    let title = summary.split_once(": ").map_or(summary, |(_, t)| t);
    let first = title.split_whitespace().next().unwrap_or_default();
    let named = first.split_once(':').filter(|(n, s)| {
        !n.is_empty()
            && !s.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    });
    match named {
        Some((n, s)) => Some(format!("{n}:{s}")),
        None if modular => Some(String::new()),
        None => None,
    }
}

/// Whether an rpm erratum applies to the installed package's module stream:
/// a package from `nodejs:18` is not fixed (or affected) by `nodejs:20`'s
/// erratum, nor a modular package by a non-modular one and the reverse.
fn same_module_stream(package: &Package, advisory: &Advisory, entry: &AdvisoryMatch) -> bool {
    if package.ecosystem != portcullis_types::Ecosystem::Rpm {
        return true;
    }
    match (installed_stream(package), advisory_stream(advisory, entry)) {
        (None, None) => true,
        (Some(installed), Some(erratum)) => erratum.is_empty() || installed == erratum,
        _ => false,
    }
}

/// Who rates the packages of an ecosystem: the distro behind a distro
/// release (`Debian:12` → `debian`), as feeds name themselves in `Severity::source`.
fn rater(ecosystem: &str) -> String {
    match ecosystem.split(':').next().unwrap_or_default() {
        "Rocky Linux" => "rocky".to_owned(),
        base => base.to_ascii_lowercase().replace(' ', "-"),
    }
}

/// The CVSS rating to show: the newest CVSS version, NVD's before others,
/// then the highest score.
fn best_cvss(severities: &[Severity]) -> Option<Severity> {
    severities
        .iter()
        .filter(|s| s.kind != SeverityKind::Rating)
        .max_by(|a, b| {
            (a.kind, a.source == "nvd", a.score.unwrap_or(0.0))
                .partial_cmp(&(b.kind, b.source == "nvd", b.score.unwrap_or(0.0)))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use portcullis_types::{Affected, Ecosystem, OsvEvent, OsvRange, OsvRangeKind};

    use super::*;

    fn rpm(label: Option<&str>) -> Package {
        Package {
            ecosystem: Ecosystem::Rpm,
            name: "nodejs".into(),
            version: "1:18.0.0-1.module_el8.9.0+1+abc".into(),
            arch: None,
            source_name: None,
            source_version: None,
            licenses: Vec::new(),
            purl: String::new(),
            layer: None,
            found_in: Vec::new(),
            files: Vec::new(),
            metadata: label
                .map(|l| BTreeMap::from([("modularitylabel".to_owned(), l.to_owned())]))
                .unwrap_or_default(),
        }
    }

    fn erratum(summary: &str, fixed: &str) -> (Advisory, AdvisoryMatch) {
        let mut affected = Affected::new("AlmaLinux:8", "nodejs");
        affected.ranges.push(OsvRange {
            kind: OsvRangeKind::Ecosystem,
            events: vec![
                OsvEvent::Introduced("0".into()),
                OsvEvent::Fixed(fixed.into()),
            ],
        });
        let mut advisory = Advisory::new("ALSA-2024:1", "osv-almalinux");
        advisory.summary = Some(summary.into());
        let entry = AdvisoryMatch {
            advisory_id: advisory.id.clone(),
            source: advisory.source.clone(),
            affected,
        };
        (advisory, entry)
    }

    #[test]
    fn module_streams_must_agree() {
        let s18 = erratum(
            "Important: nodejs:18 security update",
            "1:18.19.0-1.module_el8.9.0+3775+d8460d29",
        );
        let s20 = erratum(
            "Important: nodejs:20 security update",
            "1:20.11.0-1.module_el8.9.0+3776+aaaa",
        );
        let plain = erratum("Moderate: nodejs security update", "1:10.24.0-1.el8");
        let from18 = rpm(Some("nodejs:18:8090020231019152822:a75119d5"));
        assert!(same_module_stream(&from18, &s18.0, &s18.1));
        assert!(!same_module_stream(&from18, &s20.0, &s20.1));
        assert!(!same_module_stream(&from18, &plain.0, &plain.1));
        let unlabelled = rpm(None);
        assert!(same_module_stream(&unlabelled, &plain.0, &plain.1));
        assert!(!same_module_stream(&unlabelled, &s18.0, &s18.1));
        // A modular erratum whose title names no stream matches any stream.
        let unnamed = erratum(
            "Important: security update",
            "1:18.19.0-1.module_el8.9.0+1+b",
        );
        assert!(same_module_stream(&from18, &unnamed.0, &unnamed.1));
    }

    #[derive(Debug)]
    struct Memory(Vec<Advisory>);

    impl AdvisorySource for Memory {
        type Error = std::convert::Infallible;
        fn affected(&self, _: &str, _: &str) -> Result<Vec<AdvisoryMatch>, Self::Error> {
            Ok(Vec::new())
        }
        fn advisory(&self, source: &str, id: &str) -> Result<Option<Advisory>, Self::Error> {
            Ok(self
                .0
                .iter()
                .find(|a| a.source == source && a.id == id)
                .cloned())
        }
        fn by_alias(&self, id: &str) -> Result<Vec<Advisory>, Self::Error> {
            Ok(self
                .0
                .iter()
                .filter(|a| a.all_ids().any(|i| i == id))
                .cloned()
                .collect())
        }
        fn cve_info(&self, _: &str) -> Result<Option<portcullis_types::CveInfo>, Self::Error> {
            Ok(None)
        }
    }

    #[test]
    fn a_rejected_duplicate_cve_is_not_a_second_finding() {
        let mut rustsec = Advisory::new("RUSTSEC-2023-0061", "rustsec");
        rustsec.aliases = vec!["CVE-2023-4863".into(), "CVE-2023-5129".into()];
        let mut rejected = Advisory::new("CVE-2023-5129", "nvd");
        rejected.withdrawn = Some("2023-09-27T00:00:00Z".into());
        let memory = Memory(vec![rustsec.clone(), rejected]);
        let mut package = rpm(None);
        package.ecosystem = Ecosystem::Cargo;
        let entry = AdvisoryMatch {
            advisory_id: rustsec.id.clone(),
            source: rustsec.source.clone(),
            affected: Affected::new("crates.io", "libwebp-sys"),
        };
        let detail = MatchDetail {
            advisory: rustsec.id.clone(),
            source: rustsec.source.clone(),
            ecosystem: "crates.io".into(),
            field: "name".into(),
            name: "libwebp-sys".into(),
            version: "0.9.2".into(),
            range: "unaffected >=0.9.3".into(),
            status: AffectedStatus::Affected,
        };
        let found = findings(&package, vec![(entry, detail)], &memory).unwrap();
        let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2023-4863"]);
        assert!(found[0].aliases.contains(&"RUSTSEC-2023-0061".to_owned()));
    }
}
