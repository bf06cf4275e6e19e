//! PHP Composer packages: what Composer installed (`vendor/composer/installed.json`, in
//! Composer 1's bare-array form and Composer 2's `{"packages": […]}` form) and what a
//! project locked (`composer.lock`, `packages` and `packages-dev`).
//!
//! Flow: each file is parsed into [`Entry`]s; a locked package that the same project's
//! `vendor/` holds at the same version is one package, found in `installed.json` then in
//! `composer.lock`. Dev packages (`packages-dev`, `dev-package-names`) are reported, with
//! `metadata["dev"]`, when installed; from a lockfile alone they are left out, as
//! production images install with `--no-dev`. Versions are kept as written (`v5.4.0`); `metadata["version_normalized"]`
//! has Composer's normalised form.

use std::collections::BTreeMap;

use packageurl::PackageUrl;
use portcullis_image::{EntryInfo, NodeKind, Selection};
use portcullis_types::{Ecosystem, Package};
use serde_json::Value;

use crate::{CatalogError, Cataloger, Context};

const INSTALLED: &str = "/composer/installed.json";
const LOCK: &str = "/composer.lock";
/// Larger files are not Composer metadata; skipping them bounds memory.
const MAX_BYTES: u64 = 64 << 20;

/// Finds PHP Composer packages.
#[derive(Debug, Default)]
pub struct Php;

impl Cataloger for Php {
    fn name(&self) -> &'static str {
        "php"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if (entry.path.ends_with(INSTALLED) || entry.path.ends_with(LOCK))
            && entry.size <= MAX_BYTES
        {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let mut installed = Vec::new();
        let mut locked = Vec::new();
        for (path, node) in cx.tree.iter() {
            let is_installed = path.ends_with(INSTALLED);
            if !matches!(node.kind, NodeKind::File) || !(is_installed || path.ends_with(LOCK)) {
                continue;
            }
            let Some(content) = node.content() else {
                continue;
            };
            let parsed = if is_installed {
                parse_installed(content)
            } else {
                parse_lock(content)
            };
            match parsed {
                Ok(entries) if is_installed => installed.push((path, entries)),
                Ok(entries) => locked.push((path, entries)),
                Err(why) => cx.warn(format!("skipped `{path}`: {why}")),
            }
        }
        let mut packages = Vec::new();
        for (path, entries) in &installed {
            // `<project>/vendor/composer/installed.json`: paths in it are relative to its dir.
            let composer_dir = parent(path);
            for entry in entries {
                let mut package = to_package(cx, path, entry);
                if let Some(install) = &entry.install_path {
                    package
                        .metadata
                        .insert("path".to_owned(), join(composer_dir, install));
                }
                packages.push(package);
            }
        }
        for (path, entries) in &locked {
            let project = parent(path);
            let vendor_json = format!("{project}/vendor{INSTALLED}");
            for entry in entries {
                let same = packages.iter_mut().find(|p| {
                    p.found_in.first() == Some(&vendor_json)
                        && p.name == entry.name
                        && p.version == entry.version
                });
                match same {
                    Some(package) => package.found_in.push((*path).to_owned()),
                    // Production images install with `--no-dev`: a dev package only the
                    // lockfile names is not in the image (Syft and Trivy leave them out).
                    None if entry.dev => {}
                    None => packages.push(to_package(cx, path, entry)),
                }
            }
        }
        Ok(packages)
    }
}

/// One package as Composer's files describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    version: String,
    version_normalized: Option<String>,
    licenses: Vec<String>,
    kind: Option<String>,
    dev: bool,
    install_path: Option<String>,
    reference: Option<String>,
}

fn parse_installed(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON ({e})"))?;
    let (list, dev_names) = match &value {
        // Composer 1 wrote a bare array.
        Value::Array(list) => (list, Vec::new()),
        Value::Object(object) => {
            let Some(Value::Array(list)) = object.get("packages") else {
                return Err("no `packages` array (not a Composer installed.json)".to_owned());
            };
            let dev_names = strings(object.get("dev-package-names"));
            (list, dev_names)
        }
        _ => return Err("neither an array nor an object of packages".to_owned()),
    };
    Ok(list
        .iter()
        .filter_map(|p| entry(p, false))
        .map(|mut e| {
            e.dev = dev_names.contains(&e.name);
            e
        })
        .collect())
}

fn parse_lock(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON ({e})"))?;
    let Value::Object(object) = value else {
        return Err("not a JSON object (not a composer.lock)".to_owned());
    };
    if !object.contains_key("packages") && !object.contains_key("packages-dev") {
        return Err("no `packages` or `packages-dev` (not a composer.lock)".to_owned());
    }
    let mut out = Vec::new();
    for (key, dev) in [("packages", false), ("packages-dev", true)] {
        if let Some(Value::Array(list)) = object.get(key) {
            out.extend(list.iter().filter_map(|p| entry(p, dev)));
        }
    }
    Ok(out)
}

/// An entry with a name and a version; anything else in the list is skipped.
fn entry(value: &Value, dev: bool) -> Option<Entry> {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let name = text("name")?;
    let version = text("version")?;
    Some(Entry {
        version_normalized: text("version_normalized"),
        licenses: strings(value.get("license")),
        kind: text("type"),
        dev,
        install_path: text("install-path"),
        // The commit (or, for path repositories, a content hash) it was installed from.
        reference: ["source", "dist"]
            .iter()
            .find_map(|k| value.get(k)?.get("reference")?.as_str())
            .filter(|r| !r.is_empty())
            .map(str::to_owned),
        name,
        version,
    })
}

/// A string or an array of strings (Composer accepts both for `license`).
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn to_package(cx: &Context<'_>, path: &str, entry: &Entry) -> Package {
    let mut metadata = BTreeMap::new();
    let normalized = entry
        .version_normalized
        .clone()
        .unwrap_or_else(|| normalize(&entry.version));
    metadata.insert("version_normalized".to_owned(), normalized);
    if entry.dev {
        metadata.insert("dev".to_owned(), "true".to_owned());
    }
    if let Some(kind) = &entry.kind {
        metadata.insert("type".to_owned(), kind.clone());
    }
    if let Some(reference) = &entry.reference {
        metadata.insert("reference".to_owned(), reference.clone());
    }
    Package {
        ecosystem: Ecosystem::Composer,
        purl: purl(&entry.name, &entry.version),
        name: entry.name.clone(),
        version: entry.version.clone(),
        arch: None,
        source_name: None,
        source_version: None,
        licenses: entry.licenses.clone(),
        layer: cx.layer_of(path),
        found_in: vec![path.to_owned()],
        files: Vec::new(),
        metadata,
    }
}

/// Composer's normalised form of a plain release version, for files that do not carry
/// `version_normalized` (lockfiles): no `v` prefix, four numeric components
/// (`v5.4` → `5.4.0.0`), any suffix kept (`1.0.0-beta1` → `1.0.0.0-beta1`). Branch
/// names and other forms are returned as written.
fn normalize(version: &str) -> String {
    let bare = match version.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    };
    let numeric_end = bare
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(bare.len());
    let (numeric, suffix) = bare.split_at(numeric_end);
    let parts: Vec<&str> = numeric.split('.').collect();
    if numeric.is_empty() || parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
        return bare.to_owned();
    }
    let mut out = parts.join(".");
    for _ in parts.len()..4 {
        out.push_str(".0");
    }
    out.push_str(suffix);
    out
}

/// `pkg:composer/<vendor>/<name>@<version>`.
fn purl(name: &str, version: &str) -> String {
    let (namespace, short) = name.split_once('/').unwrap_or(("", name));
    let Ok(mut purl) = PackageUrl::new("composer", short) else {
        return format!("pkg:composer/{name}@{version}");
    };
    if !namespace.is_empty() {
        let _ = purl.with_namespace(namespace);
    }
    let _ = purl.with_version(version);
    purl.to_string()
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Joins a relative path (`../monolog/monolog`) to a directory, resolving `.` and `..`
/// without climbing above the root.
fn join(dir: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_installed_forms() {
        let v1 = br#"[{"name":"monolog/monolog","version":"1.25.1","version_normalized":"1.25.1.0","license":["MIT"],"type":"library"},{"name":"broken"}]"#;
        let v2 = br#"{"packages":[{"name":"symfony/console","version":"v5.4.0","version_normalized":"5.4.0.0","license":"MIT","install-path":"../symfony/console"},{"name":"phpunit/phpunit","version":"9.6.0"}],"dev":true,"dev-package-names":["phpunit/phpunit"]}"#;
        let one = parse_installed(v1).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].licenses, ["MIT"]);
        let two = parse_installed(v2).unwrap();
        assert_eq!(two[0].version, "v5.4.0");
        assert_eq!(two[0].licenses, ["MIT"]);
        assert_eq!(two[0].install_path.as_deref(), Some("../symfony/console"));
        assert!(!two[0].dev && two[1].dev);
        assert!(parse_installed(b"{}").is_err());
        assert!(parse_installed(b"\"x\"").is_err());
        assert!(
            parse_installed(b"{")
                .unwrap_err()
                .starts_with("invalid JSON")
        );
    }

    #[test]
    fn lock_sections() {
        let lock = br#"{"_readme":["x"],"content-hash":"abc","packages":[{"name":"guzzlehttp/guzzle","version":"7.8.0","source":{"type":"git","url":"u","reference":"1110f66a6530a40fe7aea0378fe608ee2b2248f9"}}],"packages-dev":[{"name":"phpunit/phpunit","version":"9.6.13"}]}"#;
        let entries = parse_lock(lock).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].reference.as_deref(),
            Some("1110f66a6530a40fe7aea0378fe608ee2b2248f9")
        );
        assert!(entries[1].dev);
        assert!(parse_lock(b"[]").is_err());
        assert!(parse_lock(br#"{"name":"x/y"}"#).is_err());
    }

    #[test]
    fn names_versions_paths() {
        assert_eq!(normalize("v5.4.0"), "5.4.0.0");
        assert_eq!(normalize("2.0.1"), "2.0.1.0");
        assert_eq!(normalize("5.4"), "5.4.0.0");
        assert_eq!(normalize("1.0.0-beta1"), "1.0.0.0-beta1");
        assert_eq!(normalize("1.2.3.4.5"), "1.2.3.4.5");
        assert_eq!(normalize("dev-main"), "dev-main");
        assert_eq!(normalize("vendor"), "vendor");
        assert_eq!(normalize("1..2"), "1..2");
        assert_eq!(normalize(""), "");
        assert_eq!(
            purl("symfony/console", "v5.4.0"),
            "pkg:composer/symfony/console@v5.4.0"
        );
        assert_eq!(purl("solo", "1.0"), "pkg:composer/solo@1.0");
        assert_eq!(
            join("/app/vendor/composer", "../symfony/console"),
            "/app/vendor/symfony/console"
        );
        assert_eq!(join("/a", "../../../x"), "/x");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse_installed(&bytes);
            let _ = parse_lock(&bytes);
        }
    }
}
