//! Rust crates: `Cargo.lock` files (formats 1 to 4) and binaries built with `cargo
//! auditable`, whose `.dep-v0` section lists the crates compiled in.
//!
//! Flow: [`Rust::select`] keeps lockfiles and summarizes executables with the summarizer
//! shared with the Go cataloger; [`Rust::catalog`] reads every binary's list
//! ([`auditable`]) and every lockfile ([`lockfile`]), then lets a binary supersede the
//! lockfile it was built from (same root crate and version): the lockfile also names
//! crates for other platforms (`winapi` on Linux) that the binary does not link, so only
//! the binary's crates are reported, once, found in the binary and then the lockfile.

mod auditable;
mod lockfile;

use std::collections::BTreeMap;

use packageurl::PackageUrl;
use portcullis_image::{EntryInfo, NodeKind, Selection};
use portcullis_types::{Ecosystem, Package};

use crate::golang::{executable, wants_executable};
use crate::{CatalogError, Cataloger, Context};

/// Lockfiles bigger than this are not real ones; skipped.
const MAX_LOCKFILE_BYTES: u64 = 16 << 20;

/// Finds Rust crates in `Cargo.lock` files and `cargo auditable` binaries.
#[derive(Debug, Default)]
pub struct Rust;

impl Cataloger for Rust {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn version(&self) -> u32 {
        2
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if is_lockfile(entry.path) {
            return if entry.size <= MAX_LOCKFILE_BYTES {
                Selection::Keep
            } else {
                Selection::Skip
            };
        }
        if wants_executable(entry) {
            return Selection::Summarize(executable::summarize);
        }
        Selection::Skip
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let mut binaries: Vec<(String, Vec<auditable::AuditedPackage>)> = Vec::new();
        let mut lockfiles: Vec<(String, lockfile::Lockfile)> = Vec::new();
        for (path, node) in cx.tree.iter() {
            if node.kind != NodeKind::File {
                continue;
            }
            let Some(bytes) = node.content() else {
                continue;
            };
            if is_lockfile(path) {
                match lockfile::parse(bytes) {
                    Ok(lock) => lockfiles.push((path.to_owned(), lock)),
                    Err(e) => cx.warn(format!("skipped `{path}`: {e}")),
                }
                continue;
            }
            let entry = EntryInfo {
                path,
                size: node.size,
                mode: node.mode,
            };
            if !wants_executable(&entry) {
                continue;
            }
            let Some(summary) = executable::read_stored(bytes) else {
                continue;
            };
            for problem in &summary.problems {
                if let Some(reason) = problem.strip_prefix("rust: ") {
                    cx.warn(format!("skipped `{path}`: {reason}"));
                }
            }
            let Some(json) = &summary.rust_deps else {
                continue;
            };
            match auditable::parse(json) {
                Ok(packages) => binaries.push((path.to_owned(), packages)),
                Err(e) => cx.warn(format!("skipped `{path}`: {e}")),
            }
        }
        Ok(merge(cx, &binaries, &lockfiles))
    }
}

/// `Cargo.lock` outside cargo's caches of dependency sources, whose own lockfiles are
/// not what was built.
fn is_lockfile(path: &str) -> bool {
    path.ends_with("/Cargo.lock")
        && !path.contains("/.cargo/registry/")
        && !path.contains("/.cargo/git/")
}

/// Reports every binary's linked crates and every lockfile's crates, a lockfile that a
/// binary was built from contributing only its path to that binary's crates.
fn merge(
    cx: &Context<'_>,
    binaries: &[(String, Vec<auditable::AuditedPackage>)],
    lockfiles: &[(String, lockfile::Lockfile)],
) -> Vec<Package> {
    let mut superseded = vec![false; lockfiles.len()];
    let mut packages = Vec::new();
    for (binary, audited) in binaries {
        let root = audited.iter().find(|p| p.root);
        // The lockfiles this binary was built from: they hold its root crate as a local
        // (source-less) package of the same version.
        let sources: Vec<usize> = lockfiles
            .iter()
            .enumerate()
            .filter(|(_, (_, lock))| {
                root.is_some_and(|root| {
                    lock.packages.iter().any(|p| {
                        p.source.is_none() && p.name == root.name && p.version == root.version
                    })
                })
            })
            .map(|(i, _)| i)
            .collect();
        for &i in &sources {
            superseded[i] = true;
        }
        let layer = cx.layer_of(binary);
        // Build-time crates (build scripts, proc macros) are not in the binary; Syft and
        // Trivy leave them out too.
        for crate_ in audited
            .iter()
            .filter(|p| p.kind == auditable::Kind::Runtime)
        {
            let mut found_in = vec![binary.clone()];
            let mut metadata = BTreeMap::new();
            metadata.insert("source".to_owned(), crate_.source.clone());
            if crate_.root {
                metadata.insert("root".to_owned(), "true".to_owned());
            }
            for &i in &sources {
                let (lock_path, lock) = &lockfiles[i];
                if let Some(locked) = lock
                    .packages
                    .iter()
                    .find(|p| p.name == crate_.name && p.version == crate_.version)
                {
                    found_in.push(lock_path.clone());
                    if let Some(checksum) = &locked.checksum {
                        metadata.insert("checksum".to_owned(), checksum.clone());
                    }
                    if let Some(source) = &locked.source {
                        metadata.insert("source".to_owned(), source.clone());
                    }
                }
            }
            let mut package = package(&crate_.name, &crate_.version, found_in, metadata);
            package.layer = layer.clone();
            packages.push(package);
        }
    }
    for ((path, lock), superseded) in lockfiles.iter().zip(superseded) {
        if superseded {
            continue;
        }
        let layer = cx.layer_of(path);
        for locked in &lock.packages {
            let mut metadata = BTreeMap::new();
            metadata.insert("lockfile_version".to_owned(), lock.version.to_string());
            // Source-less packages are the workspace's own crates and path dependencies:
            // reported, as Syft and Trivy do, since a published crate of that name and
            // version is what advisories would name.
            metadata.insert(
                "source".to_owned(),
                locked.source.clone().unwrap_or_else(|| "local".to_owned()),
            );
            if let Some(checksum) = &locked.checksum {
                metadata.insert("checksum".to_owned(), checksum.clone());
            }
            let mut package = package(&locked.name, &locked.version, vec![path.clone()], metadata);
            package.layer = layer.clone();
            packages.push(package);
        }
    }
    packages
}

fn package(
    name: &str,
    version: &str,
    found_in: Vec<String>,
    metadata: BTreeMap<String, String>,
) -> Package {
    let purl = purl(name, version, metadata.get("source").map(String::as_str));
    Package {
        ecosystem: Ecosystem::Cargo,
        name: name.to_owned(),
        version: version.to_owned(),
        arch: None,
        source_name: None,
        source_version: None,
        licenses: Vec::new(),
        purl,
        layer: None,
        found_in,
        files: Vec::new(),
        metadata,
    }
}

/// Whether a lockfile `source` is Cargo's default registry (its git or sparse index).
/// `cargo-lock` knows the spellings, so they are not repeated here.
fn is_default_registry(source: &str) -> bool {
    cargo_lock::package::SourceId::from_url(source).is_ok_and(|id| id.is_default_registry())
}

/// `pkg:cargo/<name>@<version>`; a crate from git carries `vcs_url`, one from another
/// registry `repository_url`, so that it is not mistaken for the crates.io crate.
fn purl(name: &str, version: &str, source: Option<&str>) -> String {
    let Ok(mut purl) = PackageUrl::new("cargo", name) else {
        return format!("pkg:cargo/{name}@{version}");
    };
    let _ = purl.with_version(version);
    match source {
        Some(git) if git.starts_with("git+") => {
            // `git+https://host/repo?branch=x#commit` → `git+https://host/repo@commit`.
            let (url, commit) = git.split_once('#').unwrap_or((git, ""));
            let url = url.split('?').next().unwrap_or(url);
            let vcs = if commit.is_empty() {
                url.to_owned()
            } else {
                format!("{url}@{commit}")
            };
            let _ = purl.add_qualifier("vcs_url", vcs);
        }
        Some(registry)
            if (registry.starts_with("registry+") || registry.starts_with("sparse+"))
                && !is_default_registry(registry) =>
        {
            let url = registry.split_once('+').map_or(registry, |(_, url)| url);
            let _ = purl.add_qualifier("repository_url", url);
        }
        _ => {}
    }
    purl.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_mark_crates_not_from_crates_io() {
        assert_eq!(
            purl(
                "serde",
                "1.0.0",
                Some(&cargo_lock::package::SourceId::default().to_string())
            ),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(purl("app", "0.1.0", Some("local")), "pkg:cargo/app@0.1.0");
        assert_eq!(
            purl(
                "x",
                "0.1.0",
                Some("git+https://github.com/o/x?branch=main#0123abc")
            ),
            "pkg:cargo/x@0.1.0?vcs_url=git%2Bhttps:%2F%2Fgithub.com%2Fo%2Fx%400123abc"
        );
        assert_eq!(
            purl("y", "1.0.0", Some("sparse+https://my.example/index/")),
            "pkg:cargo/y@1.0.0?repository_url=https:%2F%2Fmy.example%2Findex%2F"
        );
    }

    #[test]
    fn selects_lockfiles_and_executables() {
        let sel = |path, mode| {
            Rust.select(&EntryInfo {
                path,
                size: 10,
                mode,
            })
        };
        assert!(sel("/srv/app/Cargo.lock", 0o644).is_keep());
        assert!(sel("/root/.cargo/registry/src/x/y-1.0.0/Cargo.lock", 0o644).is_skip());
        assert!(matches!(
            sel("/usr/bin/app", 0o755),
            Selection::Summarize(_)
        ));
        assert!(sel("/srv/app/Cargo.toml", 0o644).is_skip());
    }
}
