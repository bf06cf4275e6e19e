//! `Cargo.lock`, every format cargo has written: v1 (checksums in a `[metadata]` table,
//! dependencies as `name version source`; the oldest files also have a `[root]` table),
//! v2 (checksums inline, no marker), v3 and v4 (`version = 3|4` at the top).

use std::collections::BTreeMap;

use serde::Deserialize;

/// One `[[package]]` of a lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct LockedPackage {
    pub(crate) name: String,
    pub(crate) version: String,
    /// `registry+<index url>`, `sparse+<url>`, `git+<url>?…#<commit>`; absent for the
    /// workspace's own packages and path dependencies.
    #[serde(default)]
    pub(crate) source: Option<String>,
    #[serde(default)]
    pub(crate) checksum: Option<String>,
}

/// What a lockfile locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lockfile {
    /// The format: 1 to 4 (1 and 2 carry no marker and are told apart by their layout).
    pub(crate) version: u32,
    pub(crate) packages: Vec<LockedPackage>,
}

#[derive(Debug, Deserialize)]
struct RawLockfile {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    package: Vec<RawPackage>,
    #[serde(default)]
    root: Option<RawPackage>,
    #[serde(default)]
    metadata: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// Why a lockfile could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockfileError {
    #[error("it is not UTF-8 text")]
    NotText,
    #[error("invalid TOML: {0}")]
    Toml(String),
    #[error("lockfile format version {0} is not one cargo has written (1 to 4)")]
    UnknownVersion(u32),
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| LockfileError::NotText)?;
    let raw: RawLockfile = toml::from_str(text).map_err(|e| {
        // toml's message spans several lines with a source excerpt; the first says it.
        LockfileError::Toml(e.message().lines().next().unwrap_or("").to_owned())
    })?;
    let version = match raw.version {
        Some(v @ 1..=4) => v,
        Some(v) => return Err(LockfileError::UnknownVersion(v)),
        None => {
            let v1_layout = raw.root.is_some()
                || raw.metadata.keys().any(|k| k.starts_with("checksum "))
                || raw
                    .package
                    .iter()
                    .flat_map(|p| &p.dependencies)
                    .any(|d| d.split(' ').count() == 3);
            if v1_layout { 1 } else { 2 }
        }
    };
    let mut packages: Vec<LockedPackage> = raw
        .root
        .into_iter()
        .chain(raw.package)
        .map(|p| LockedPackage {
            name: p.name,
            version: p.version,
            source: p.source,
            checksum: p.checksum,
        })
        .collect();
    // v1: `"checksum name version (source)" = "hash"`.
    for (key, value) in &raw.metadata {
        let (Some(rest), Some(hash)) = (key.strip_prefix("checksum "), value.as_str()) else {
            continue;
        };
        let mut words = rest.split(' ');
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        if let Some(p) = packages
            .iter_mut()
            .find(|p| p.name == name && p.version == version && p.checksum.is_none())
        {
            p.checksum = Some(hash.to_owned());
        }
    }
    Ok(Lockfile { version, packages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_checksums_come_from_the_metadata_table() {
        // Any registry source works the same; a made-up one keeps registry hosts out of code.
        let text = r#"[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "libc 0.2.40 (registry+https://registry.example/index)",
]

[[package]]
name = "libc"
version = "0.2.40"
source = "registry+https://registry.example/index"

[metadata]
"checksum libc 0.2.40 (registry+https://registry.example/index)" = "abcd"
"#;
        let lock = parse(text.as_bytes()).unwrap();
        assert_eq!(lock.version, 1);
        assert_eq!(lock.packages[1].checksum.as_deref(), Some("abcd"));
        assert_eq!(lock.packages[0].source, None);
    }

    #[test]
    fn oldest_root_table_is_a_package() {
        let text = "[root]\nname = \"old\"\nversion = \"0.0.1\"\n";
        let lock = parse(text.as_bytes()).unwrap();
        assert_eq!(lock.version, 1);
        assert_eq!(lock.packages[0].name, "old");
    }

    #[test]
    fn malformed_lockfiles_are_errors() {
        assert!(matches!(parse(b"\xff"), Err(LockfileError::NotText)));
        assert!(matches!(
            parse(b"[[package]\n"),
            Err(LockfileError::Toml(_))
        ));
        assert!(matches!(
            parse(b"[[package]]\nname = \"x\"\n"),
            Err(LockfileError::Toml(_))
        ));
        assert!(matches!(
            parse(b"version = 9\n"),
            Err(LockfileError::UnknownVersion(9))
        ));
        assert_eq!(parse(b"").unwrap().packages, vec![]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in "(\\[\\[package\\]\\]|\\[metadata\\]|\\[root\\]|name|version|source|checksum|dependencies| = |\"|\\[|\\]|\\n|1|4|x)*", bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse(text.as_bytes());
            let _ = parse(&bytes);
        }
    }
}
