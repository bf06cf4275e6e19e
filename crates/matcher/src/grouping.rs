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
        if advisory.withdrawn.is_some() {
            continue;
        }
        hits.push(Hit {
            advisory,
            entry,
            detail,
        });
    }
    let mut groups = Groups::default();
    for hit in &hits {
        let ids: Vec<&str> = hit.advisory.all_ids().collect();
        let cves = ids.iter().filter(|i| is_cve(i)).count();
        let first = hit.advisory.id.as_str();
        for id in &ids {
            if cves > 1 && is_cve(id) {
                continue; // several CVEs: split, below
            }
            groups.union(first, id);
        }
    }
    // Group key → member hits.
    let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, hit) in hits.iter().enumerate() {
        let cves: Vec<&str> = hit.advisory.all_ids().filter(|i| is_cve(i)).collect();
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
