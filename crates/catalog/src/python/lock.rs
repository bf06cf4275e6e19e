//! Python lockfiles: `poetry.lock`, `Pipfile.lock` and `uv.lock`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// One pinned distribution of a lockfile or requirements file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Locked {
    pub name: String,
    pub version: String,
    /// Only needed for development (a dev group, `develop`, `category = "dev"`).
    pub dev: bool,
}

/// The lockfile kinds, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    Poetry,
    Pipenv,
    Uv,
}

impl LockKind {
    pub(crate) fn of(file_name: &str) -> Option<Self> {
        match file_name {
            "poetry.lock" => Some(Self::Poetry),
            "Pipfile.lock" => Some(Self::Pipenv),
            "uv.lock" => Some(Self::Uv),
            _ => None,
        }
    }
}

/// Parses a lockfile; the error is a reason for a warning.
pub(crate) fn parse(kind: LockKind, bytes: &[u8]) -> Result<Vec<Locked>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 ({e})"))?;
    match kind {
        LockKind::Poetry => poetry(text),
        LockKind::Pipenv => pipenv(text),
        LockKind::Uv => uv(text),
    }
}

fn toml_error(e: &toml::de::Error) -> String {
    // The first line names the position; the rest is a source excerpt.
    let message = e.to_string();
    format!(
        "invalid TOML: {}",
        message.lines().next().unwrap_or_default()
    )
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    /// Poetry before 1.5.
    category: Option<String>,
    /// Poetry 1.5 and later.
    groups: Option<Vec<String>>,
}

fn poetry(text: &str) -> Result<Vec<Locked>, String> {
    let lock: PoetryLock = toml::from_str(text).map_err(|e| toml_error(&e))?;
    Ok(lock
        .package
        .into_iter()
        .map(|p| {
            let dev = match (&p.category, &p.groups) {
                (_, Some(groups)) => !groups.is_empty() && !groups.iter().any(|g| g == "main"),
                (Some(category), None) => category == "dev",
                (None, None) => false,
            };
            Locked {
                name: p.name,
                version: p.version,
                dev,
            }
        })
        .collect())
}

#[derive(Deserialize)]
struct PipfileLock {
    #[serde(default)]
    default: BTreeMap<String, PipfileEntry>,
    #[serde(default)]
    develop: BTreeMap<String, PipfileEntry>,
}

#[derive(Deserialize)]
struct PipfileEntry {
    version: Option<String>,
}

fn pipenv(text: &str) -> Result<Vec<Locked>, String> {
    let lock: PipfileLock = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut out = Vec::new();
    for (section, dev) in [(lock.default, false), (lock.develop, true)] {
        for (name, entry) in section {
            // Git, path and editable entries carry no version: they are not from an index.
            let Some(version) = entry.version.as_deref().and_then(|v| v.strip_prefix("==")) else {
                continue;
            };
            out.push(Locked {
                name,
                version: version.trim_start_matches('=').to_owned(),
                dev,
            });
        }
    }
    // A package in both sections is needed at run time.
    let runtime: BTreeSet<(String, String)> = out
        .iter()
        .filter(|l| !l.dev)
        .map(|l| (l.name.clone(), l.version.clone()))
        .collect();
    out.retain(|l| !l.dev || !runtime.contains(&(l.name.clone(), l.version.clone())));
    Ok(out)
}

#[derive(Deserialize)]
struct UvLock {
    #[serde(default)]
    package: Vec<UvPackage>,
}

#[derive(Deserialize)]
struct UvPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<UvDependency>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<UvDependency>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<UvDependency>>,
}

#[derive(Deserialize)]
struct UvDependency {
    name: String,
    version: Option<String>,
}

impl UvPackage {
    /// The project itself and its workspace members: the application, not a dependency.
    fn is_project(&self) -> bool {
        self.source.contains_key("editable") || self.source.contains_key("virtual")
    }
}

fn uv(text: &str) -> Result<Vec<Locked>, String> {
    let lock: UvLock = toml::from_str(text).map_err(|e| toml_error(&e))?;
    let packages = &lock.package;
    // Which packages are needed at run time: reachable from a project's dependencies or
    // extras. The rest reachable from dev groups are development-only.
    let reach = |starts: Vec<&UvDependency>| -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = starts;
        while let Some(dep) = stack.pop() {
            for (i, p) in packages.iter().enumerate() {
                let matches = p.name == dep.name
                    && dep
                        .version
                        .as_ref()
                        .is_none_or(|v| p.version.as_ref() == Some(v));
                if matches && seen.insert(i) {
                    stack.extend(p.dependencies.iter());
                    stack.extend(p.optional_dependencies.values().flatten());
                }
            }
        }
        seen
    };
    let projects: Vec<&UvPackage> = packages.iter().filter(|p| p.is_project()).collect();
    let runtime = reach(
        projects
            .iter()
            .flat_map(|p| {
                p.dependencies
                    .iter()
                    .chain(p.optional_dependencies.values().flatten())
            })
            .collect(),
    );
    let dev = reach(
        projects
            .iter()
            .flat_map(|p| p.dev_dependencies.values().flatten())
            .collect(),
    );
    Ok(packages
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_project())
        .filter_map(|(i, p)| {
            Some(Locked {
                name: p.name.clone(),
                version: p.version.clone()?,
                dev: dev.contains(&i) && !runtime.contains(&i),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poetry_categories_and_groups() {
        let old = "[[package]]\nname = \"a\"\nversion = \"1.0\"\ncategory = \"main\"\n\n[[package]]\nname = \"b\"\nversion = \"2.0\"\ncategory = \"dev\"\n";
        let new = "[[package]]\nname = \"a\"\nversion = \"1.0\"\ngroups = [\"main\", \"dev\"]\n\n[[package]]\nname = \"b\"\nversion = \"2.0\"\ngroups = [\"dev\"]\n";
        for text in [old, new] {
            let locked = parse(LockKind::Poetry, text.as_bytes()).unwrap();
            assert_eq!(
                locked
                    .iter()
                    .map(|l| (l.name.as_str(), l.version.as_str(), l.dev))
                    .collect::<Vec<_>>(),
                vec![("a", "1.0", false), ("b", "2.0", true)]
            );
        }
        assert!(
            parse(LockKind::Poetry, b"[[package]\n")
                .unwrap_err()
                .starts_with("invalid TOML")
        );
    }

    #[test]
    fn pipfile_skips_unversioned_and_prefers_runtime() {
        let text = r#"{"default": {"a": {"version": "==1.0"}, "g": {"git": "x", "ref": "y"}},
                      "develop": {"a": {"version": "==1.0"}, "b": {"version": "==2.0"}}}"#;
        let locked = parse(LockKind::Pipenv, text.as_bytes()).unwrap();
        assert_eq!(
            locked,
            vec![
                Locked {
                    name: "a".into(),
                    version: "1.0".into(),
                    dev: false
                },
                Locked {
                    name: "b".into(),
                    version: "2.0".into(),
                    dev: true
                },
            ]
        );
        assert!(parse(LockKind::Pipenv, b"{").is_err());
    }

    #[test]
    fn uv_skips_the_project_and_flags_dev_only() {
        let text = r#"
version = 1
[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "a" }]
[package.dev-dependencies]
dev = [{ name = "b" }, { name = "a" }]

[[package]]
name = "a"
version = "1.0"
source = { registry = "https://index.invalid/simple" }
dependencies = [{ name = "c" }]

[[package]]
name = "b"
version = "2.0"
source = { registry = "https://index.invalid/simple" }

[[package]]
name = "c"
version = "3.0"
source = { registry = "https://index.invalid/simple" }
"#;
        let locked = parse(LockKind::Uv, text.as_bytes()).unwrap();
        assert_eq!(
            locked
                .iter()
                .map(|l| (l.name.as_str(), l.dev))
                .collect::<Vec<_>>(),
            vec![("a", false), ("b", true), ("c", false)]
        );
    }
}
