//! Installed packages: `node_modules/<name>/package.json` and
//! `node_modules/@scope/<name>/package.json`, at any depth (nested dependencies, pnpm's
//! `.pnpm` store, workspaces' own `node_modules`).

use serde::Deserialize;
use serde_json::Value;

/// True when `path` is the manifest of a package installed in a `node_modules` directory.
/// Cheap and allocation-free: called for every file of every layer.
pub(crate) fn is_installed_manifest(path: &str) -> bool {
    install_dir(path).is_some()
}

/// The install directory of an installed manifest (`/srv/app/node_modules/@s/a`) and the
/// name it is installed under (`@s/a`).
pub(crate) fn install_dir(path: &str) -> Option<(&str, &str)> {
    let dir = path.strip_suffix("/package.json")?;
    let (parent, base) = dir.rsplit_once('/')?;
    if base.is_empty() || base.starts_with('.') || base.starts_with('@') {
        return None;
    }
    if parent.ends_with("/node_modules") {
        let name = dir.get(parent.len() + 1..)?;
        return Some((dir, name));
    }
    let (grand, scope) = parent.rsplit_once('/')?;
    if scope.len() > 1 && scope.starts_with('@') && grand.ends_with("/node_modules") {
        let name = dir.get(grand.len() + 1..)?;
        return Some((dir, name));
    }
    None
}

/// What portcullis reads of a `package.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub name: String,
    pub version: String,
    pub licenses: Vec<String>,
}

#[derive(Deserialize)]
struct RawManifest {
    name: Option<Value>,
    version: Option<Value>,
    license: Option<Value>,
    licenses: Option<Value>,
}

/// Parses a manifest: `Err` for invalid JSON, `Ok(None)` for one without a name or version
/// (a test fixture or a directory that is not a package).
pub(crate) fn parse(bytes: &[u8]) -> Result<Option<Manifest>, String> {
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let (Some(Value::String(name)), Some(Value::String(version))) = (raw.name, raw.version) else {
        return Ok(None);
    };
    if name.is_empty() || version.is_empty() {
        return Ok(None);
    }
    let mut licenses = Vec::new();
    for value in [raw.license, raw.licenses].into_iter().flatten() {
        collect_licenses(&value, &mut licenses);
    }
    Ok(Some(Manifest {
        name,
        version,
        licenses,
    }))
}

/// Licenses in every form npm has used: `"MIT"`, `{"type": "MIT"}`, and arrays of either.
fn collect_licenses(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_owned()),
        Value::Object(map) => {
            if let Some(Value::String(s)) = map.get("type") {
                out.push(s.trim().to_owned());
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_licenses(item, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_dirs() {
        assert_eq!(
            install_dir("/srv/app/node_modules/lodash/package.json"),
            Some(("/srv/app/node_modules/lodash", "lodash"))
        );
        assert_eq!(
            install_dir("/srv/app/node_modules/@babel/core/package.json"),
            Some(("/srv/app/node_modules/@babel/core", "@babel/core"))
        );
        assert_eq!(
            install_dir("/a/node_modules/debug/node_modules/ms/package.json"),
            Some(("/a/node_modules/debug/node_modules/ms", "ms"))
        );
        assert_eq!(
            install_dir("/a/node_modules/.pnpm/ms@2.0.0/node_modules/ms/package.json"),
            Some(("/a/node_modules/.pnpm/ms@2.0.0/node_modules/ms", "ms"))
        );
        for path in [
            "/srv/app/package.json",
            "/srv/app/node_modules/lodash/test/package.json",
            "/srv/app/node_modules/@babel/package.json",
            "/srv/app/node_modules/.bin/package.json",
            "/srv/app/node_modules/@/x/package.json",
            "/srv/app/node_modules/lodash/package.json.bak",
            "node_modules/x/package.json",
        ] {
            assert_eq!(install_dir(path), None, "{path}");
        }
    }

    #[test]
    fn manifests_and_license_forms() {
        let m = parse(br#"{"name":"a","version":"1.0.0","license":"MIT"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(m.licenses, vec!["MIT"]);
        let m = parse(br#"{"name":"a","version":"1.0.0","license":{"type":"ISC","url":"x"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(m.licenses, vec!["ISC"]);
        let m = parse(
            br#"{"name":"a","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.licenses, vec!["MIT", "Apache-2.0"]);
        assert_eq!(parse(br#"{"name":"fixture"}"#), Ok(None));
        assert_eq!(parse(br#"{"name":1,"version":"1"}"#), Ok(None));
        assert!(parse(b"{").is_err());
        assert!(parse(b"[]").is_err());
    }
}
