//! `pnpm-lock.yaml`: v5 keys (`/name/1.0.0_peer@2`), v6 keys (`/name@1.0.0(peer@2)`) and
//! v9 keys (`name@1.0.0(peer@2)`, with the graph in `snapshots`).
//!
//! v5 and v6 mark development-only packages with `dev: true`; v9 does not, so they are
//! found by walking `snapshots` from the importers' `devDependencies` and other
//! dependencies.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::Locked;

#[derive(Deserialize)]
struct PnpmLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    importers: BTreeMap<String, Importer>,
    #[serde(default)]
    packages: BTreeMap<String, PackageEntry>,
    #[serde(default)]
    snapshots: BTreeMap<String, Snapshot>,
}

#[derive(Deserialize, Default)]
struct Importer {
    #[serde(default)]
    dependencies: BTreeMap<String, Reference>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, Reference>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: BTreeMap<String, Reference>,
}

/// v5 writes `name: version`, v6 and v9 `name: {specifier, version}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Reference {
    Plain(String),
    Detailed { version: String },
}

impl Reference {
    fn version(&self) -> &str {
        match self {
            Reference::Plain(v) | Reference::Detailed { version: v } => v,
        }
    }
}

#[derive(Deserialize)]
struct PackageEntry {
    name: Option<String>,
    version: Option<String>,
    dev: Option<bool>,
}

#[derive(Deserialize, Default)]
struct Snapshot {
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, String>,
}

/// Parses a pnpm lockfile; the error is a reason for a warning.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Locked>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 ({e})"))?;
    let lock: PnpmLock = serde_saphyr::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    if lock.lockfile_version.is_none() {
        return Err("no `lockfileVersion`: not a pnpm lockfile".to_owned());
    }
    let dev_only = if lock.snapshots.is_empty() {
        BTreeSet::new()
    } else {
        v9_dev_only(&lock)
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (key, entry) in &lock.packages {
        let parsed = parse_key(key);
        let (Some(name), Some(version)) = (
            entry.name.as_deref().or(parsed.map(|p| p.0)),
            entry.version.as_deref().or(parsed.map(|p| p.1)),
        ) else {
            continue;
        };
        if !seen.insert((name.to_owned(), version.to_owned())) {
            continue;
        }
        let dev = entry.dev == Some(true) || dev_only.contains(&(name, version));
        out.push(Locked {
            name: name.to_owned(),
            version: version.to_owned(),
            alias: None,
            path: None,
            dev,
        });
    }
    Ok(out)
}

/// Name and version of a `packages` key of any lockfile version, without peer suffixes.
/// `None` for keys that are not registry packages (`file:`, `link:`, git hosts), whose
/// entries carry `name` and `version` fields instead.
fn parse_key(key: &str) -> Option<(&str, &str)> {
    if let Some(v5_or_v6) = key.strip_prefix('/') {
        let without_peers = v5_or_v6.split('(').next()?;
        // v6: `name@version`.
        if let Some(at) = without_peers.get(1..).and_then(|r| r.rfind('@')) {
            let (name, version) = (without_peers.get(..=at)?, without_peers.get(at + 2..)?);
            let slashes = name.matches('/').count();
            let valid_name = if name.starts_with('@') {
                slashes == 1
            } else {
                slashes == 0
            };
            if valid_name && !version.contains('/') {
                return Some((name, version));
            }
        }
        // v5: `name/version_peers`.
        let (name, version) = without_peers.rsplit_once('/')?;
        let version = version.split('_').next()?;
        return (!name.is_empty() && !version.is_empty()).then_some((name, version));
    }
    if key.contains(':') {
        return None;
    }
    let without_peers = key.split('(').next()?;
    let at = without_peers.get(1..)?.find('@')? + 1;
    let (name, version) = (without_peers.get(..at)?, without_peers.get(at + 1..)?);
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

/// The snapshot key an importer or snapshot reference points at: a version (`2.6.9`, with
/// peers `2.6.9(x@1)`) under the dependency's name, or an alias's `real@version`.
fn snapshot_key(name: &str, reference: &str) -> Option<String> {
    if reference.starts_with("link:") || reference.starts_with("file:") {
        return None;
    }
    let looks_aliased = reference
        .get(1..)
        .is_some_and(|r| r.split('(').next().is_some_and(|v| v.contains('@')));
    Some(if looks_aliased {
        reference.to_owned()
    } else {
        format!("{name}@{reference}")
    })
}

fn v9_dev_only(lock: &PnpmLock) -> BTreeSet<(&str, &str)> {
    let walk = |starts: Vec<String>| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = starts;
        while let Some(key) = stack.pop() {
            if !seen.insert(key.clone()) {
                continue;
            }
            if let Some(snapshot) = lock.snapshots.get(&key) {
                stack.extend(
                    snapshot
                        .dependencies
                        .iter()
                        .chain(&snapshot.optional_dependencies)
                        .filter_map(|(n, r)| snapshot_key(n, r)),
                );
            }
        }
        seen
    };
    let prod = walk(
        lock.importers
            .values()
            .flat_map(|i| i.dependencies.iter().chain(&i.optional_dependencies))
            .filter_map(|(n, r)| snapshot_key(n, r.version()))
            .collect(),
    );
    let dev = walk(
        lock.importers
            .values()
            .flat_map(|i| i.dev_dependencies.iter())
            .filter_map(|(n, r)| snapshot_key(n, r.version()))
            .collect(),
    );
    lock.snapshots
        .keys()
        .filter(|k| dev.contains(*k) && !prod.contains(*k))
        .filter_map(|k| parse_key(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_every_version() {
        for (key, expected) in [
            ("/lodash/4.17.4", Some(("lodash", "4.17.4"))),
            ("/@s/a/1.0.0", Some(("@s/a", "1.0.0"))),
            ("/a/1.0.0_react@18.0.0", Some(("a", "1.0.0"))),
            ("/@s/a/1.0.0_react@18.0.0", Some(("@s/a", "1.0.0"))),
            ("/lodash@4.17.4", Some(("lodash", "4.17.4"))),
            ("/@s/a@1.0.0(react@18.0.0)", Some(("@s/a", "1.0.0"))),
            ("lodash@4.17.4", Some(("lodash", "4.17.4"))),
            (
                "@s/a@1.0.0-rc.1(react@18.0.0)",
                Some(("@s/a", "1.0.0-rc.1")),
            ),
            ("file:packages/a", None),
            ("github.com/user/repo/abc", None),
        ] {
            assert_eq!(parse_key(key), expected, "{key}");
        }
    }

    #[test]
    fn snapshot_keys() {
        assert_eq!(snapshot_key("ms", "2.0.0").as_deref(), Some("ms@2.0.0"));
        assert_eq!(
            snapshot_key("old", "lodash@4.17.20").as_deref(),
            Some("lodash@4.17.20")
        );
        assert_eq!(
            snapshot_key("@s/a", "1.0.0(react@18.0.0)").as_deref(),
            Some("@s/a@1.0.0(react@18.0.0)")
        );
        assert_eq!(snapshot_key("ws", "link:../ws"), None);
    }

    #[test]
    fn not_pnpm_is_an_error() {
        assert!(parse(b"packages: {}\n").is_err());
        assert!(parse(b": : :\n  - [").is_err());
        assert_eq!(parse(b"lockfileVersion: '9.0'\n").unwrap(), Vec::new());
    }
}
