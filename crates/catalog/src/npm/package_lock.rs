//! `package-lock.json` (v1, v2, v3), `npm-shrinkwrap.json` and the hidden
//! `node_modules/.package-lock.json`.
//!
//! v2 and v3 list every install location in `packages` (`node_modules/a/node_modules/b`);
//! v1 nests `dependencies` objects instead. v2 has both: `packages` is read.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Locked;

#[derive(Deserialize)]
struct PackageLock {
    packages: Option<BTreeMap<String, Entry>>,
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dev: bool,
}

#[derive(Deserialize)]
struct V1Entry {
    version: Option<String>,
    #[serde(default)]
    dev: bool,
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

/// Parses a package lock; the error is a reason for a warning.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Locked>, String> {
    let lock: PackageLock =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut out = Vec::new();
    if let Some(packages) = lock.packages {
        for (key, entry) in packages {
            // `""` is the project itself, keys without `node_modules/` are workspace members
            // (the project's own code), and links point at those.
            let Some((_, installed_as)) = key.rsplit_once("node_modules/") else {
                continue;
            };
            if entry.link || installed_as.is_empty() {
                continue;
            }
            let Some(version) = entry.version.filter(|v| !v.is_empty()) else {
                continue;
            };
            let name = entry.name.unwrap_or_else(|| installed_as.to_owned());
            let alias = (name != installed_as).then(|| installed_as.to_owned());
            out.push(Locked {
                name,
                version,
                alias,
                path: Some(key.clone()),
                dev: entry.dev,
            });
        }
    } else if let Some(dependencies) = lock.dependencies {
        v1(&dependencies, "", &mut out, 0);
    }
    Ok(out)
}

/// Deepest nesting followed in a v1 lock; real trees are a few dozen levels deep at most.
const MAX_DEPTH: usize = 256;

fn v1(dependencies: &BTreeMap<String, V1Entry>, prefix: &str, out: &mut Vec<Locked>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for (installed_as, entry) in dependencies {
        let path = format!("{prefix}node_modules/{installed_as}");
        if let Some(version) = entry.version.as_deref()
            && let Some((name, version)) = v1_version(installed_as, version)
        {
            out.push(Locked {
                alias: (name != installed_as).then(|| installed_as.clone()),
                name: name.to_owned(),
                version: version.to_owned(),
                path: Some(path.clone()),
                dev: entry.dev,
            });
        }
        if let Some(nested) = &entry.dependencies {
            v1(nested, &format!("{path}/"), out, depth + 1);
        }
    }
}

/// The real name and version of a v1 entry: `npm:lodash@4.17.20` for aliases; local
/// (`file:`), git and tarball dependencies have no registry version and are left out.
fn v1_version<'a>(installed_as: &'a str, version: &'a str) -> Option<(&'a str, &'a str)> {
    if let Some(aliased) = version.strip_prefix("npm:") {
        let at = aliased.get(1..)?.find('@')? + 1;
        return Some((aliased.get(..at)?, aliased.get(at + 1..)?));
    }
    if version.contains(':') || version.contains('/') {
        return None;
    }
    Some((installed_as, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(locked: &[Locked]) -> Vec<(&str, &str, Option<&str>, &str, bool)> {
        locked
            .iter()
            .map(|l| {
                (
                    l.name.as_str(),
                    l.version.as_str(),
                    l.alias.as_deref(),
                    l.path.as_deref().unwrap_or(""),
                    l.dev,
                )
            })
            .collect()
    }

    #[test]
    fn v1_nesting_aliases_and_local_dependencies() {
        let text = br#"{"lockfileVersion": 1, "dependencies": {
            "debug": {"version": "2.6.9", "dependencies": {"ms": {"version": "2.0.0"}}},
            "old": {"version": "npm:@scope/lodash@4.17.20"},
            "ms": {"version": "2.1.3", "dev": true},
            "ws": {"version": "file:packages/a"},
            "gh": {"version": "github:user/repo#abc"}
        }}"#;
        assert_eq!(
            rows(&parse(text).unwrap()),
            vec![
                ("debug", "2.6.9", None, "node_modules/debug", false),
                (
                    "ms",
                    "2.0.0",
                    None,
                    "node_modules/debug/node_modules/ms",
                    false
                ),
                ("ms", "2.1.3", None, "node_modules/ms", true),
                (
                    "@scope/lodash",
                    "4.17.20",
                    Some("old"),
                    "node_modules/old",
                    false
                ),
            ]
        );
    }

    #[test]
    fn packages_map_skips_project_workspaces_and_links() {
        let text = br#"{"lockfileVersion": 3, "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/@s/a": {"version": "1.0.0", "dev": true},
            "node_modules/old": {"name": "lodash", "version": "4.17.20"},
            "node_modules/ws-a": {"resolved": "packages/a", "link": true},
            "packages/a": {"name": "ws-a", "version": "0.1.0"},
            "packages/a/node_modules/x": {"version": "2.0.0"},
            "node_modules/broken": {}
        }}"#;
        assert_eq!(
            rows(&parse(text).unwrap()),
            vec![
                ("@s/a", "1.0.0", None, "node_modules/@s/a", true),
                ("lodash", "4.17.20", Some("old"), "node_modules/old", false),
                ("x", "2.0.0", None, "packages/a/node_modules/x", false),
            ]
        );
        assert!(parse(b"not json").is_err());
        assert_eq!(parse(b"{}").unwrap(), Vec::new());
    }
}
