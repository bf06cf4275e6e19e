//! `yarn.lock`: classic (v1, its own indented format) and berry (v2 and later, YAML with a
//! `__metadata` entry).
//!
//! Neither marks development dependencies, so they are worked out from the project's
//! `package.json` when it is in the image: a package reachable only from
//! `devDependencies` is `dev`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{Locked, Roots};

/// One entry of either format, before names are resolved.
#[derive(Debug, Default)]
struct Entry {
    /// The descriptors it satisfies (`lodash@^4.17.0`, `lodash@npm:^4.17.0`).
    specs: Vec<String>,
    version: Option<String>,
    /// The real package (berry's `resolution`; classic has only the descriptors).
    resolution: Option<String>,
    /// Dependencies as descriptors, for the dev-only walk.
    dependencies: Vec<String>,
    /// A workspace or a link to a directory: the project's own code.
    soft: bool,
}

/// Parses a `yarn.lock` of either format; the error is a reason for a warning.
pub(crate) fn parse(bytes: &[u8], roots: Option<&Roots>) -> Result<Vec<Locked>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 ({e})"))?;
    let berry = text.lines().any(|l| l.starts_with("__metadata:"));
    let entries = if berry {
        berry_entries(text)?
    } else {
        classic_entries(text)?
    };
    let dev = dev_only(&entries, roots, berry);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(version) = entry.version.clone().filter(|_| !entry.soft) else {
            continue;
        };
        let Some(first) = entry.specs.first() else {
            continue;
        };
        let (installed_as, range) = split_descriptor(first);
        let name = match &entry.resolution {
            Some(resolution) => split_descriptor(resolution).0.to_owned(),
            // Classic aliases: `old@npm:lodash@4.17.20`.
            None => range
                .strip_prefix("npm:")
                .filter(|r| r.get(1..).is_some_and(|r| r.contains('@')))
                .map_or(installed_as, |r| split_descriptor(r).0)
                .to_owned(),
        };
        if name.is_empty() || !seen.insert((name.clone(), version.clone())) {
            continue;
        }
        out.push(Locked {
            alias: (name != installed_as).then(|| installed_as.to_owned()),
            name,
            version,
            path: None,
            dev: dev.contains(&i),
        });
    }
    Ok(out)
}

/// Splits `name@range` at the `@` that ends the name (a scope's `@` starts it).
fn split_descriptor(descriptor: &str) -> (&str, &str) {
    match descriptor.get(1..).and_then(|rest| rest.find('@')) {
        Some(at) => (
            descriptor.get(..=at).unwrap_or(descriptor),
            descriptor.get(at + 2..).unwrap_or(""),
        ),
        None => (descriptor, ""),
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn classic_entries(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut in_dependencies = false;
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let content = line.trim();
        match indent {
            0 => {
                let header = content
                    .strip_suffix(':')
                    .ok_or_else(|| format!("line {}: expected `descriptor:`", number + 1))?;
                entries.push(Entry {
                    specs: header.split(", ").map(|s| unquote(s).to_owned()).collect(),
                    ..Entry::default()
                });
                in_dependencies = false;
            }
            2 => {
                let entry = entries
                    .last_mut()
                    .ok_or_else(|| format!("line {}: field outside an entry", number + 1))?;
                in_dependencies = matches!(content, "dependencies:" | "optionalDependencies:");
                if let Some(version) = content.strip_prefix("version ") {
                    entry.version = Some(unquote(version).to_owned());
                }
            }
            _ if in_dependencies => {
                if let (Some(entry), Some((name, range))) =
                    (entries.last_mut(), content.split_once(' '))
                {
                    entry
                        .dependencies
                        .push(format!("{}@{}", unquote(name), unquote(range)));
                }
            }
            _ => {}
        }
    }
    if entries.is_empty() && !text.contains("yarn lockfile") {
        return Err("no entries: not a yarn lockfile".to_owned());
    }
    Ok(entries)
}

#[derive(Deserialize)]
struct BerryEntry {
    version: Option<String>,
    resolution: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(rename = "linkType")]
    link_type: Option<String>,
}

fn berry_entries(text: &str) -> Result<Vec<Entry>, String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Any {
        Entry(BerryEntry),
        #[allow(dead_code, reason = "`__metadata` and anything unknown is skipped")]
        Other(serde::de::IgnoredAny),
    }
    let map: BTreeMap<String, Any> =
        serde_saphyr::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    Ok(map
        .into_iter()
        .filter(|(key, _)| key != "__metadata")
        .filter_map(|(key, value)| match value {
            Any::Entry(e) => Some(Entry {
                specs: key.split(", ").map(|s| s.trim().to_owned()).collect(),
                soft: e.link_type.as_deref() == Some("soft")
                    || e.resolution
                        .as_deref()
                        .is_some_and(|r| r.contains("@workspace:")),
                version: e.version,
                resolution: e.resolution,
                dependencies: e
                    .dependencies
                    .iter()
                    .chain(&e.optional_dependencies)
                    .map(|(n, r)| format!("{n}@{r}"))
                    .collect(),
            }),
            Any::Other(_) => None,
        })
        .collect())
}

/// Indices of entries reachable from the project's dev dependencies but not from its
/// other dependencies (nor, for berry, from any workspace member, whose entries mix both).
fn dev_only(entries: &[Entry], roots: Option<&Roots>, berry: bool) -> BTreeSet<usize> {
    // Classic lockfiles do not list workspace members, so their roots are unknown.
    let Some(roots) = roots.filter(|r| berry || !r.workspaces) else {
        return BTreeSet::new();
    };
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        for spec in &entry.specs {
            index.insert(spec.as_str(), i);
        }
    }
    let lookup = |name: &str, range: &str| -> Option<usize> {
        let plain = format!("{name}@{range}");
        index
            .get(plain.as_str())
            .or_else(|| index.get(format!("{name}@npm:{range}").as_str()))
            .copied()
    };
    let walk = |starts: Vec<usize>| -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = starts;
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            if let Some(entry) = entries.get(i) {
                stack.extend(entry.dependencies.iter().filter_map(|d| {
                    let (n, r) = split_descriptor(d);
                    lookup(n, r)
                }));
            }
        }
        seen
    };
    let mut prod: Vec<usize> = roots
        .prod
        .iter()
        .filter_map(|(n, r)| lookup(n, r))
        .collect();
    if berry {
        // Members other than the root: their entries list dev and prod dependencies alike.
        for entry in entries.iter().filter(|e| e.soft) {
            let is_root = entry.specs.iter().any(|s| s.ends_with("@workspace:."));
            if !is_root {
                prod.extend(entry.dependencies.iter().filter_map(|d| {
                    let (n, r) = split_descriptor(d);
                    lookup(n, r)
                }));
            }
        }
    }
    let prod = walk(prod);
    let dev = walk(roots.dev.iter().filter_map(|(n, r)| lookup(n, r)).collect());
    dev.difference(&prod).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_split_after_the_scope() {
        assert_eq!(split_descriptor("lodash@^4.0.0"), ("lodash", "^4.0.0"));
        assert_eq!(split_descriptor("@s/a@npm:1.0.0"), ("@s/a", "npm:1.0.0"));
        assert_eq!(
            split_descriptor("old@npm:lodash@4.17.20"),
            ("old", "npm:lodash@4.17.20")
        );
        assert_eq!(split_descriptor("@"), ("@", ""));
        assert_eq!(split_descriptor(""), ("", ""));
    }

    #[test]
    fn classic_with_shared_entries_and_dev_roots() {
        let text = "# yarn lockfile v1\n\n\"@s/a@^1.0.0\", \"@s/a@^1.1.0\":\n  version \"1.2.0\"\n  dependencies:\n    b \"~2.0.0\"\n\nb@~2.0.0:\n  version \"2.0.1\"\n\nc@3:\n  version \"3.0.0\"\n";
        let roots = Roots {
            prod: vec![("c".into(), "3".into())],
            dev: vec![("@s/a".into(), "^1.0.0".into())],
            workspaces: false,
        };
        let locked = parse(text.as_bytes(), Some(&roots)).unwrap();
        let rows: Vec<_> = locked
            .iter()
            .map(|l| (l.name.as_str(), l.version.as_str(), l.dev))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("@s/a", "1.2.0", true),
                ("b", "2.0.1", true),
                ("c", "3.0.0", false)
            ]
        );
        let no_roots = parse(text.as_bytes(), None).unwrap();
        assert!(no_roots.iter().all(|l| !l.dev));
    }

    #[test]
    fn malformed_classic_is_an_error() {
        assert!(parse(b"a@1\n  version 1\n", None).is_err());
        assert!(parse(b"  version \"1\"\n", None).is_err());
        assert!(parse(b"\xff", None).is_err());
    }
}
