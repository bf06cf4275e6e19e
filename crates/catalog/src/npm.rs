//! npm: packages installed in `node_modules` and the lockfiles of applications.
//!
//! - Installed: `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json`
//!   at any depth ([`manifest`]); a project's own `package.json` and files deeper inside a
//!   package (test fixtures) are not packages.
//! - Locked: `package-lock.json`/`npm-shrinkwrap.json` v1–v3 and the hidden
//!   `node_modules/.package-lock.json` ([`package_lock`]), `yarn.lock` classic and berry
//!   ([`yarn`]), `pnpm-lock.yaml` v5, v6 and v9 ([`pnpm`]).
//!
//! Each lockfile belongs to the project in its directory. A locked package that is installed
//! in that project's `node_modules` is folded into the installed one (found in its
//! `package.json` first, then the lockfiles). When the project has a `node_modules`
//! directory, what is installed is the truth: locked packages missing from it (pruned dev
//! dependencies, deleted packages, other platforms' optional ones) are not reported. A
//! lockfile without `node_modules` is reported whole, development dependencies flagged.

mod manifest;
mod package_lock;
mod pnpm;
mod yarn;

use std::collections::BTreeMap;

use packageurl::PackageUrl;
use portcullis_image::{EntryInfo, Selection};
use portcullis_types::{Ecosystem, Package};
use serde::Deserialize;

use crate::{CatalogError, Cataloger, Context};

/// Largest manifest or lockfile kept; real lockfiles of big monorepos stay under a few MiB.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// One package of a lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Locked {
    /// The real package name (what advisories name), also for aliases.
    pub name: String,
    pub version: String,
    /// The name it is installed under when that differs (`"old": "npm:lodash@4.17.20"`).
    pub alias: Option<String>,
    /// Where it is installed relative to the project (`node_modules/a/node_modules/b`), when
    /// the lockfile says.
    pub path: Option<String>,
    /// Only needed for development.
    pub dev: bool,
}

/// The direct dependencies a project's `package.json` declares, as `(name, range)`.
#[derive(Debug, Default)]
pub(crate) struct Roots {
    pub prod: Vec<(String, String)>,
    pub dev: Vec<(String, String)>,
    /// The project declares workspaces, whose members have roots of their own.
    pub workspaces: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LockKind {
    PackageLock,
    HiddenPackageLock,
    Yarn,
    Pnpm,
}

/// Finds npm packages.
#[derive(Debug, Default)]
pub struct Npm;

impl Cataloger for Npm {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        let path = entry.path;
        let wanted = entry.size <= MAX_FILE
            && (manifest::is_installed_manifest(path)
                || lock_kind(path).is_some()
                || is_project_manifest(path));
        if wanted {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let mut packages = Vec::new();
        let mut locks = Vec::new();
        for (path, node) in cx.tree.iter() {
            let Some(content) = node.content() else {
                continue;
            };
            if let Some((dir, installed_as)) = manifest::install_dir(path) {
                match manifest::parse(content) {
                    Ok(Some(m)) => packages.push(installed_package(cx, path, dir, installed_as, m)),
                    Ok(None) => {}
                    Err(reason) => cx.warn(format!("skipped `{path}`: {reason}")),
                }
            } else if let Some(kind) = lock_kind(path) {
                locks.push((path, kind, content));
            }
        }
        let mut folder = Folder::new(packages);
        for (path, kind, content) in locks {
            let project = project_dir(path, kind);
            let parsed = match kind {
                LockKind::PackageLock | LockKind::HiddenPackageLock => package_lock::parse(content),
                LockKind::Yarn => yarn::parse(content, roots(cx, project).as_ref()),
                LockKind::Pnpm => pnpm::parse(content),
            };
            match parsed {
                Ok(locked) => folder.fold(cx, path, project, locked),
                Err(reason) => cx.warn(format!("skipped `{path}`: {reason}")),
            }
        }
        Ok(folder.finish())
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn lock_kind(path: &str) -> Option<LockKind> {
    let kind = match file_name(path) {
        "package-lock.json" | "npm-shrinkwrap.json" => LockKind::PackageLock,
        "yarn.lock" => LockKind::Yarn,
        "pnpm-lock.yaml" => LockKind::Pnpm,
        ".package-lock.json" if path.ends_with("/node_modules/.package-lock.json") => {
            return Some(LockKind::HiddenPackageLock);
        }
        _ => return None,
    };
    // Lockfiles inside installed packages describe how those were developed.
    (!path.contains("/node_modules/")).then_some(kind)
}

/// A project's own `package.json` (read for the dependency roots of its lockfile).
fn is_project_manifest(path: &str) -> bool {
    file_name(path) == "package.json" && !path.contains("/node_modules/")
}

fn project_dir(path: &str, kind: LockKind) -> &str {
    let dir = match kind {
        LockKind::HiddenPackageLock => path.strip_suffix("/node_modules/.package-lock.json"),
        _ => path.rsplit_once('/').map(|(dir, _)| dir),
    };
    dir.unwrap_or("")
}

#[derive(Deserialize)]
struct ProjectManifest {
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "peerDependencies")]
    peer_dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: BTreeMap<String, String>,
    workspaces: Option<serde::de::IgnoredAny>,
}

/// The dependency roots of the project in `dir`, from its `package.json`; `None` when there
/// is none.
fn roots(cx: &Context<'_>, dir: &str) -> Option<Roots> {
    let bytes = cx.read(&format!("{dir}/package.json")).ok().flatten()?;
    let manifest: ProjectManifest = serde_json::from_slice(bytes).ok()?;
    Some(Roots {
        workspaces: manifest.workspaces.is_some(),
        prod: manifest
            .dependencies
            .into_iter()
            .chain(manifest.optional_dependencies)
            .chain(manifest.peer_dependencies)
            .collect(),
        dev: manifest.dev_dependencies.into_iter().collect(),
    })
}

fn installed_package(
    cx: &Context<'_>,
    path: &str,
    dir: &str,
    installed_as: &str,
    manifest: manifest::Manifest,
) -> Package {
    let mut package = new_package(manifest.name, manifest.version, path);
    package.licenses = manifest.licenses;
    package.layer = cx.layer_of(path);
    package.metadata.insert("path".into(), dir.to_owned());
    if installed_as != package.name {
        package
            .metadata
            .insert("alias".into(), installed_as.to_owned());
    }
    package
}

fn new_package(name: String, version: String, found_in: &str) -> Package {
    Package {
        ecosystem: Ecosystem::Npm,
        purl: purl(&name, &version),
        name,
        version,
        arch: None,
        source_name: None,
        source_version: None,
        licenses: Vec::new(),
        layer: None,
        found_in: vec![found_in.to_owned()],
        files: Vec::new(),
        metadata: BTreeMap::new(),
    }
}

/// `pkg:npm/%40scope/name@version`: the scope is the namespace.
fn purl(name: &str, version: &str) -> String {
    let (namespace, short) = match name.split_once('/') {
        Some((scope, short)) if scope.starts_with('@') => (Some(scope), short),
        _ => (None, name),
    };
    match PackageUrl::new("npm", short) {
        Ok(mut purl) => {
            if let Some(namespace) = namespace {
                let _ = purl.with_namespace(namespace);
            }
            let _ = purl.with_version(version);
            purl.to_string()
        }
        // Only an empty name fails; manifests and lockfiles without names are skipped.
        Err(_) => format!("pkg:npm/{name}@{version}"),
    }
}

/// Folds lockfile entries into the installed packages, or adds them on their own.
struct Folder {
    packages: Vec<Package>,
    /// Installed packages by install directory.
    by_dir: BTreeMap<String, usize>,
    /// Installed packages by (name, version), in path order.
    by_key: BTreeMap<(String, String), Vec<usize>>,
    /// Lock-only packages by (project, name, version, install path).
    locked_only: BTreeMap<(String, String, String, String), usize>,
    /// Per package: some lockfile says dev-only, some lockfile says needed at run time.
    dev_votes: BTreeMap<usize, (bool, bool)>,
}

impl Folder {
    fn new(packages: Vec<Package>) -> Self {
        let mut by_dir = BTreeMap::new();
        let mut by_key: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (i, p) in packages.iter().enumerate() {
            if let Some(dir) = p.metadata.get("path") {
                by_dir.insert(dir.clone(), i);
            }
            by_key
                .entry((p.name.clone(), p.version.clone()))
                .or_default()
                .push(i);
        }
        Self {
            packages,
            by_dir,
            by_key,
            locked_only: BTreeMap::new(),
            dev_votes: BTreeMap::new(),
        }
    }

    fn fold(&mut self, cx: &Context<'_>, lockfile: &str, project: &str, locked: Vec<Locked>) {
        let node_modules = format!("{project}/node_modules/");
        let has_tree = cx
            .tree
            .resolve(node_modules.trim_end_matches('/'))
            .ok()
            .flatten()
            .is_some_and(|(_, node)| node.is_dir());
        for entry in locked {
            let full_path = entry.path.as_ref().map(|p| format!("{project}/{p}"));
            let same = |i: &usize| {
                self.packages
                    .get(*i)
                    .is_some_and(|p| p.name == entry.name && p.version == entry.version)
            };
            let at_path = full_path
                .as_ref()
                .and_then(|p| self.by_dir.get(p))
                .filter(|i| same(i))
                .copied();
            let installed = at_path.or_else(|| {
                self.by_key
                    .get(&(entry.name.clone(), entry.version.clone()))?
                    .iter()
                    .find(|i| {
                        self.packages
                            .get(**i)
                            .and_then(|p| p.metadata.get("path"))
                            .is_some_and(|dir| dir.starts_with(&node_modules))
                    })
                    .copied()
            });
            let key = (
                project.to_owned(),
                entry.name.clone(),
                entry.version.clone(),
                full_path.clone().unwrap_or_default(),
            );
            let target = match installed {
                Some(i) => Some(i),
                // What is installed is the truth for a project that has a `node_modules`.
                None if has_tree => continue,
                None => self.locked_only.get(&key).copied().or_else(|| {
                    // Another lockfile of this project may not say where it is installed.
                    self.locked_only
                        .range((key.0.clone(), key.1.clone(), key.2.clone(), String::new())..)
                        .next()
                        .filter(|((p, n, v, _), _)| (p, n, v) == (&key.0, &key.1, &key.2))
                        .filter(|_| full_path.is_none())
                        .map(|(_, i)| *i)
                }),
            };
            let index = match target {
                Some(i) => {
                    if let Some(package) = self.packages.get_mut(i)
                        && !package.found_in.iter().any(|f| f == lockfile)
                    {
                        package.found_in.push(lockfile.to_owned());
                        if let Some(rest) = package.found_in.get_mut(1..) {
                            rest.sort();
                        }
                    }
                    i
                }
                None => {
                    let mut package =
                        new_package(entry.name.clone(), entry.version.clone(), lockfile);
                    package.layer = cx.layer_of(lockfile);
                    package
                        .metadata
                        .insert("lockfile".into(), lockfile.to_owned());
                    if let Some(path) = &full_path {
                        package.metadata.insert("path".into(), path.clone());
                    }
                    if let Some(alias) = &entry.alias {
                        package.metadata.insert("alias".into(), alias.clone());
                    }
                    self.packages.push(package);
                    let i = self.packages.len() - 1;
                    self.locked_only.insert(key, i);
                    i
                }
            };
            let votes = self.dev_votes.entry(index).or_default();
            if entry.dev {
                votes.0 = true;
            } else {
                votes.1 = true;
            }
        }
    }

    fn finish(mut self) -> Vec<Package> {
        for (i, (dev, prod)) in self.dev_votes {
            if let (true, false, Some(package)) = (dev, prod, self.packages.get_mut(i)) {
                package.metadata.insert("dev".into(), "true".into());
            }
        }
        self.packages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(path: &str) -> bool {
        Npm.select(&EntryInfo {
            path,
            size: 100,
            mode: 0o644,
        })
        .is_keep()
    }

    #[test]
    fn selects_manifests_and_lockfiles() {
        for path in [
            "/srv/app/node_modules/lodash/package.json",
            "/srv/app/node_modules/@s/a/package.json",
            "/srv/app/node_modules/.package-lock.json",
            "/srv/app/package-lock.json",
            "/srv/app/npm-shrinkwrap.json",
            "/srv/app/yarn.lock",
            "/srv/app/pnpm-lock.yaml",
            "/srv/app/package.json",
        ] {
            assert!(select(path), "{path}");
        }
        for path in [
            "/srv/app/node_modules/lodash/index.js",
            "/srv/app/node_modules/lodash/yarn.lock",
            "/srv/app/node_modules/lodash/test/package.json",
            "/srv/app/.package-lock.json",
        ] {
            assert!(!select(path), "{path}");
        }
    }

    #[test]
    fn purls_put_the_scope_in_the_namespace() {
        assert_eq!(purl("lodash", "4.17.4"), "pkg:npm/lodash@4.17.4");
        assert_eq!(
            purl("@sindresorhus/is", "0.7.0"),
            "pkg:npm/%40sindresorhus/is@0.7.0"
        );
    }

    #[test]
    fn project_dirs() {
        assert_eq!(
            project_dir(
                "/srv/app/node_modules/.package-lock.json",
                LockKind::HiddenPackageLock
            ),
            "/srv/app"
        );
        assert_eq!(
            project_dir("/srv/app/yarn.lock", LockKind::Yarn),
            "/srv/app"
        );
    }

    proptest::proptest! {
        /// No input makes a parser panic; malformed input is an error or nothing.
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
                               text in "[ -~\n\t]{0,256}") {
            let roots = Roots::default();
            for input in [bytes.as_slice(), text.as_bytes()] {
                let _ = manifest::parse(input);
                let _ = package_lock::parse(input);
                let _ = yarn::parse(input, None);
                let _ = yarn::parse(input, Some(&roots));
                let _ = pnpm::parse(input);
            }
            let _ = manifest::install_dir(&text);
            let _ = lock_kind(&text);
        }
    }
}
