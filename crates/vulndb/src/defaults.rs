//! The upstream feeds `db update` downloads when no source is given: the
//! locations their projects publish them at. `$PORTCULLIS_HOME/sources.toml`
//! replaces this list (for a mirror, or to add or drop feeds).

use crate::update::SourceSpec;

/// osv.dev's per-ecosystem exports (`<ecosystem>/all.zip`).
const OSV_EXPORTS: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The OSV ecosystems fetched by default: the language ecosystems portcullis
/// catalogs, and the rpm distributions whose errata are published as OSV.
const OSV_ECOSYSTEMS: [&str; 11] = [
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "RubyGems",
    "Maven",
    "NuGet",
    "Packagist",
    "AlmaLinux",
    "Rocky Linux",
    "Ubuntu",
];

/// Alpine secdb branches fetched by default (the supported releases and edge).
const ALPINE_BRANCHES: [&str; 8] = [
    "v3.17", "v3.18", "v3.19", "v3.20", "v3.21", "v3.22", "v3.23", "edge",
];

/// NVD publishes one JSON 2.0 feed per year of CVE IDs, from 2002.
const NVD_FIRST_YEAR: i32 = 2002;

/// The built-in list of sources, as of `year` (for NVD's yearly feeds).
pub fn default_sources(year: i32) -> Vec<SourceSpec> {
    let mut out = Vec::new();
    for ecosystem in OSV_ECOSYSTEMS {
        let name = format!(
            "osv-{}",
            ecosystem.to_ascii_lowercase().replace([' ', '.'], "-")
        );
        out.push(SourceSpec {
            name,
            locations: vec![format!(
                "{OSV_EXPORTS}/{}/all.zip",
                ecosystem.replace(' ', "%20")
            )],
        });
    }
    out.push(SourceSpec {
        name: "debian-tracker".into(),
        locations: vec!["https://security-tracker.debian.org/tracker/data/json".into()],
    });
    out.push(SourceSpec {
        name: "alpine-secdb".into(),
        locations: ALPINE_BRANCHES
            .iter()
            .flat_map(|b| {
                ["main", "community"]
                    .map(|repo| format!("https://secdb.alpinelinux.org/{b}/{repo}.json"))
            })
            .collect(),
    });
    out.push(SourceSpec {
        name: "nvd".into(),
        locations: (NVD_FIRST_YEAR..=year)
            .map(|y| format!("https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-{y}.json.gz"))
            .collect(),
    });
    out.push(SourceSpec {
        name: "epss".into(),
        locations: vec!["https://epss.empiricalsecurity.com/epss_scores-current.csv.gz".into()],
    });
    out.push(SourceSpec {
        name: "kev".into(),
        locations: vec![
            "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
                .into(),
        ],
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_distinct() {
        let sources = default_sources(2026);
        crate::update::check_names(&sources).unwrap();
        let nvd = sources.iter().find(|s| s.name == "nvd").unwrap();
        assert_eq!(nvd.locations.len(), 25);
        assert!(
            sources.iter().any(|s| s.name == "osv-rocky-linux"
                && s.locations[0].ends_with("/Rocky%20Linux/all.zip"))
        );
    }
}
