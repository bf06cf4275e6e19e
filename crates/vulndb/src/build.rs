//! Merging what the sources yielded into one set of advisories, and writing
//! the index file.
//!
//! Records with the same source and ID are one advisory (an Alpine CVE fixed
//! in several branches, a Debian CVE in several packages); records of
//! different sources stay apart and are linked through their aliases.

use std::collections::BTreeMap;
use std::path::Path;

use portcullis_types::Advisory;

use crate::feed::Parsed;
use crate::index::{
    IndexError, IndexWriter, Manifest, SCHEMA_VERSION, SourceInfo, StoredCveInfo, StoredKev,
};

/// One source's parsed data with its description (counts are filled in here).
#[derive(Debug)]
pub struct SourceData {
    pub info: SourceInfo,
    pub parsed: Parsed,
}

/// The current time as RFC 3339, UTC, to the second.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.format(&format).unwrap_or_default()
}

/// Merges every source and writes the index to `path` (which must not exist).
/// Returns the manifest written.
pub fn build_index(path: &Path, sources: Vec<SourceData>) -> Result<Manifest, IndexError> {
    let mut merged: BTreeMap<(String, String), Advisory> = BTreeMap::new();
    let mut cves: BTreeMap<String, StoredCveInfo> = BTreeMap::new();
    let mut infos = Vec::new();
    for SourceData { mut info, parsed } in sources {
        let mut keys = std::collections::BTreeSet::new();
        for mut advisory in parsed.advisories {
            advisory.source.clone_from(&info.name);
            let key = (advisory.source.clone(), advisory.id.clone());
            keys.insert(key.clone());
            match merged.get_mut(&key) {
                Some(existing) => merge_into(existing, advisory),
                None => {
                    merged.insert(key, advisory);
                }
            }
        }
        let mut kev = std::collections::BTreeSet::new();
        let mut epss = std::collections::BTreeSet::new();
        for (cve, score) in parsed.epss {
            let cve = cve.to_ascii_uppercase();
            cves.entry(cve.clone()).or_default().epss = Some((score.score, score.percentile));
            epss.insert(cve);
        }
        for (cve, entry) in parsed.kev {
            let cve = cve.to_ascii_uppercase();
            cves.entry(cve.clone()).or_default().kev = Some(StoredKev {
                date_added: entry.date_added,
                due_date: entry.due_date,
                ransomware: entry.ransomware,
                name: entry.name,
            });
            kev.insert(cve);
        }
        info.advisories = keys.len() as u64;
        info.affected = keys
            .iter()
            .filter_map(|k| merged.get(k))
            .map(|a| a.affected.len() as u64)
            .sum();
        info.epss = epss.len() as u64;
        info.kev = kev.len() as u64;
        info.skipped = parsed.warnings.len() as u64;
        info.records = parsed.records;
        info.snapshot = parsed.snapshot;
        infos.push(info);
    }
    let mut advisories: Vec<Advisory> = merged.into_values().collect();
    advisories.iter_mut().for_each(normalise);
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        built_at: now_rfc3339(),
        built_by: format!("portcullis {}", env!("CARGO_PKG_VERSION")),
        sources: infos,
        advisories: advisories.len() as u64,
        affected: advisories.iter().map(|a| a.affected.len() as u64).sum(),
        package_keys: 0,
        cves_with_scores: cves.len() as u64,
    };
    IndexWriter::create(path)?.write(&manifest, &advisories, &cves)
}

/// Sorts and deduplicates the list fields, so that the index does not depend
/// on the order in which files were parsed.
fn normalise(advisory: &mut Advisory) {
    let id = advisory.id.clone();
    for list in [
        &mut advisory.aliases,
        &mut advisory.related,
        &mut advisory.cwes,
    ] {
        list.retain(|a| a != &id);
        list.sort();
        list.dedup();
    }
    let mut seen = std::collections::BTreeSet::new();
    advisory.references.retain(|r| seen.insert(r.clone()));
    let mut seen = std::collections::BTreeSet::new();
    advisory
        .affected
        .retain(|a| seen.insert(serde_json::to_string(a).unwrap_or_default()));
    let mut seen = Vec::new();
    advisory.severities.retain(|s| {
        let fresh = !seen.contains(s);
        if fresh {
            seen.push(s.clone());
        }
        fresh
    });
    advisory
        .affected
        .sort_by(|a, b| (&a.ecosystem, &a.package).cmp(&(&b.ecosystem, &b.package)));
}

fn merge_into(existing: &mut Advisory, other: Advisory) {
    existing.aliases.extend(other.aliases);
    existing.related.extend(other.related);
    existing.cwes.extend(other.cwes);
    existing.references.extend(other.references);
    existing.severities.extend(other.severities);
    existing.affected.extend(other.affected);
    if existing.summary.is_none() {
        existing.summary = other.summary;
    }
    if existing.details.is_none() {
        existing.details = other.details;
    }
    // The earliest publication and the latest change.
    if other.published.is_some()
        && (existing.published.is_none() || other.published < existing.published)
    {
        existing.published = other.published;
    }
    if other.modified > existing.modified {
        existing.modified = other.modified;
    }
    if existing.withdrawn.is_none() {
        existing.withdrawn = other.withdrawn;
    }
}
