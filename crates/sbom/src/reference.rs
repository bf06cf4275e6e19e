//! Stable, unique references to packages: CycloneDX `bom-ref`s and SPDX `SPDXID`s.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_types::Package;
use sha2::{Digest as _, Sha256};

/// One reference per package, in the same order.
///
/// The purl, when it is unique in the SBOM. Packages that share a purl (the same package
/// recorded in two databases, or twice in one) get `purl#<where found>`, which is stable
/// across runs because it depends only on the package itself; a counter `#2`, `#3`… is the
/// last resort for true duplicates. `reserved` refs (the image's, the OS's) are never
/// handed out, whatever a purl says.
pub(crate) fn bom_refs(packages: &[Package], reserved: &[&str]) -> Vec<String> {
    let bases: Vec<String> = packages.iter().map(base).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &bases {
        *counts.entry(b.as_str()).or_default() += 1;
    }
    let mut used: BTreeSet<String> = reserved.iter().map(|r| (*r).to_owned()).collect();
    packages
        .iter()
        .zip(&bases)
        .map(|(package, base)| {
            let mut candidate = base.clone();
            if counts.get(base.as_str()).copied().unwrap_or(0) > 1 {
                let place = where_found(package);
                if !place.is_empty() {
                    candidate = format!("{base}#{place}");
                }
            }
            unique(candidate, &mut used)
        })
        .collect()
}

fn base(package: &Package) -> String {
    if package.purl.trim().is_empty() {
        format!("{}:{}@{}", package.ecosystem, package.name, package.version)
    } else {
        package.purl.clone()
    }
}

fn where_found(package: &Package) -> String {
    if package.found_in.is_empty() {
        package
            .layer
            .as_ref()
            .map(|l| l.digest.to_string())
            .unwrap_or_default()
    } else {
        package.found_in.join(",")
    }
}

fn unique(candidate: String, used: &mut BTreeSet<String>) -> String {
    if used.insert(candidate.clone()) {
        return candidate;
    }
    (2usize..)
        .map(|n| format!("{candidate}#{n}"))
        .find(|c| used.insert(c.clone()))
        .unwrap_or(candidate)
}

/// SPDX ids for packages, from their bom-refs: `SPDXRef-Package-<ecosystem>-<name>-<hash>`,
/// where the hash of the bom-ref keeps ids unique although sanitising the name loses
/// characters.
pub(crate) fn spdx_ids(packages: &[Package], bom_refs: &[String]) -> Vec<String> {
    let mut used = BTreeSet::new();
    packages
        .iter()
        .zip(bom_refs)
        .map(|(package, bom_ref)| {
            let hash = hex::encode(Sha256::digest(bom_ref.as_bytes()));
            let id = format!(
                "SPDXRef-Package-{}-{}-{}",
                package.ecosystem,
                sanitise(&package.name),
                hash.get(..16).unwrap_or_default()
            );
            unique_spdx(id, &mut used)
        })
        .collect()
}

fn unique_spdx(candidate: String, used: &mut BTreeSet<String>) -> String {
    if used.insert(candidate.clone()) {
        return candidate;
    }
    (2usize..)
        .map(|n| format!("{candidate}-{n}"))
        .find(|c| used.insert(c.clone()))
        .unwrap_or(candidate)
}

/// Letters, digits, `.` and `-`, the only characters an SPDX id may hold; the rest
/// become `-`. Never empty.
pub(crate) fn sanitise(text: &str) -> String {
    let out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() {
        "unnamed".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use portcullis_types::Ecosystem;

    use super::*;

    fn pkg(name: &str, purl: &str, found_in: &[&str]) -> Package {
        Package {
            ecosystem: Ecosystem::Rpm,
            name: name.into(),
            version: "1.0-1".into(),
            arch: None,
            source_name: None,
            source_version: None,
            licenses: vec![],
            purl: purl.into(),
            layer: None,
            found_in: found_in.iter().map(|s| (*s).to_owned()).collect(),
            files: vec![],
            metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn unique_purls_are_the_refs() {
        let packages = [
            pkg("a", "pkg:rpm/x/a@1", &["/db"]),
            pkg("b", "pkg:rpm/x/b@1", &["/db"]),
        ];
        assert_eq!(bom_refs(&packages, &[]), ["pkg:rpm/x/a@1", "pkg:rpm/x/b@1"]);
    }

    #[test]
    fn duplicates_are_told_apart_by_place_then_counter() {
        let packages = [
            pkg("a", "pkg:rpm/x/a@1", &["/one"]),
            pkg("a", "pkg:rpm/x/a@1", &["/two"]),
            pkg("a", "pkg:rpm/x/a@1", &["/two"]),
            pkg("a", "", &[]),
            pkg("a", "", &[]),
        ];
        let refs = bom_refs(&packages, &[]);
        assert_eq!(
            refs,
            [
                "pkg:rpm/x/a@1#/one",
                "pkg:rpm/x/a@1#/two",
                "pkg:rpm/x/a@1#/two#2",
                "rpm:a@1.0-1",
                "rpm:a@1.0-1#2",
            ]
        );
        let ids = spdx_ids(&packages, &refs);
        let distinct: BTreeSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }

    #[test]
    fn reserved_refs_are_never_handed_out() {
        let packages = [pkg("a", "image", &[]), pkg("b", "os:debian@12", &["/db"])];
        assert_eq!(
            bom_refs(&packages, &["image", "os:debian@12"]),
            ["image#2", "os:debian@12#2"]
        );
    }

    #[test]
    fn spdx_ids_hold_only_allowed_characters() {
        let packages = [
            pkg("lib++_x:ü", "pkg:rpm/x/lib%2B%2B@1", &["/db"]),
            pkg("", "", &[]),
        ];
        for id in spdx_ids(&packages, &bom_refs(&packages, &[])) {
            let rest = id.strip_prefix("SPDXRef-").unwrap();
            assert!(
                rest.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{id}"
            );
        }
    }
}
