//! Python: installed distributions and the lockfiles of applications.
//!
//! - Installed: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, plain `*.egg-info` files,
//!   `*.egg/EGG-INFO/PKG-INFO` and zipped `*.egg` files (summarised to their `PKG-INFO`
//!   while layers stream), wherever they are: `site-packages`, `dist-packages`, virtual
//!   environments, `pip install --target` directories. `RECORD`/`installed-files.txt` give
//!   the files each owns ([`installed`], [`metadata`]).
//! - Locked: `poetry.lock`, `Pipfile.lock`, `uv.lock` ([`lock`]) and exact pins of
//!   `requirements*.txt`, following `-r` includes ([`requirements`]), outside installed trees.
//!
//! A pin that matches an installed distribution (same normalised name and version) is
//! folded into it: one package, found in the `METADATA` first and the lockfiles after.

mod installed;
mod lock;
mod metadata;
mod requirements;

use std::collections::{BTreeMap, BTreeSet};

use packageurl::PackageUrl;
use portcullis_image::{EntryInfo, Selection};
use portcullis_types::{Ecosystem, Package};

use crate::{CatalogError, Cataloger, Context};
use installed::{Form, parent};
use lock::{LockKind, Locked};

/// Largest metadata, file list or lockfile kept (and largest `.egg` summarised); real ones
/// are far smaller, and a bigger file is not what its name says.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Finds Python packages.
#[derive(Debug, Default)]
pub struct Python;

impl Cataloger for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        let path = entry.path;
        if entry.size > MAX_FILE {
            return Selection::Skip;
        }
        match installed::classify(path) {
            Some((Form::EggZip, _)) => return Selection::Summarize(installed::summarize_egg),
            Some(_) => return Selection::Keep,
            None => {}
        }
        if installed::is_file_list(path) || is_project_lock(path) {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let mut packages = Vec::new();
        let mut locks: Vec<&str> = Vec::new();
        let mut requirement_files: Vec<&str> = Vec::new();
        for (path, node) in cx.tree.iter() {
            let Some(content) = node.content() else {
                continue;
            };
            if let Some((form, dist)) = installed::classify(path) {
                if let Some(package) = installed_package(cx, path, form, dist, content) {
                    packages.push(package);
                }
            } else if is_project_lock(path) {
                if requirements::is_requirements_file(path) {
                    requirement_files.push(path);
                } else {
                    locks.push(path);
                }
            }
        }
        let mut pins: Vec<(String, Locked)> = Vec::new();
        for path in locks {
            let kind = LockKind::of(file_name(path));
            let (Some(kind), Some(bytes)) = (kind, cx.read(path)?) else {
                continue;
            };
            match lock::parse(kind, bytes) {
                Ok(locked) => pins.extend(locked.into_iter().map(|l| (path.to_owned(), l))),
                Err(reason) => cx.warn(format!("skipped `{path}`: {reason}")),
            }
        }
        let mut visited = BTreeSet::new();
        for path in requirement_files {
            read_requirements(cx, path, &mut visited, &mut pins)?;
        }
        fold_pins(cx, &mut packages, pins);
        Ok(packages)
    }
}

/// A lockfile or requirements file of an application: not one shipped inside an installed
/// distribution or an npm package, where it describes how that package was developed.
fn is_project_lock(path: &str) -> bool {
    let name = file_name(path);
    let wanted = LockKind::of(name).is_some() || requirements::is_requirements_file(path);
    wanted
        && !path.contains("/site-packages/")
        && !path.contains("/dist-packages/")
        && !path.contains("/node_modules/")
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn installed_package(
    cx: &Context<'_>,
    path: &str,
    form: Form,
    dist: &str,
    content: &[u8],
) -> Option<Package> {
    let pkg_info;
    let text = if form == Form::EggZip {
        let Some(info) = installed::egg_pkg_info(content) else {
            cx.warn(format!(
                "skipped `{path}`: not a zip archive with `EGG-INFO/PKG-INFO`"
            ));
            return None;
        };
        pkg_info = info;
        pkg_info.as_bytes()
    } else {
        content
    };
    let core = match metadata::parse(text) {
        Ok(core) => core,
        Err(reason) => {
            cx.warn(format!("skipped `{path}`: {reason}"));
            return None;
        }
    };
    let files = installed::file_list_of(form, dist)
        .and_then(|list| {
            let bytes = cx.read(&list).ok().flatten()?;
            let (base, csv) = match form {
                Form::DistInfo => (parent(dist), true),
                _ => (dist, false),
            };
            Some(installed::owned_files(bytes, base, csv))
        })
        .unwrap_or_default();
    let mut package = new_package(core.name, core.version, path);
    package.licenses = core.licenses;
    package.files = files;
    package.layer = cx.layer_of(path);
    package.metadata.insert("path".into(), dist.to_owned());
    package
        .metadata
        .insert("site_packages".into(), parent(dist).to_owned());
    Some(package)
}

fn new_package(name: String, version: String, found_in: &str) -> Package {
    let mut metadata = BTreeMap::new();
    metadata.insert("normalized_name".to_owned(), metadata::normalize(&name));
    Package {
        ecosystem: Ecosystem::Python,
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
        metadata,
    }
}

/// `pkg:pypi/name@version`, the name lowercased with `_` as `-` as the purl spec says.
fn purl(name: &str, version: &str) -> String {
    let name = name.to_lowercase().replace('_', "-");
    match PackageUrl::new("pypi", name.as_str()) {
        Ok(mut purl) => {
            let _ = purl.with_version(version);
            purl.to_string()
        }
        // Only an empty name fails, and metadata parsing rejects those.
        Err(_) => format!("pkg:pypi/{name}@{version}"),
    }
}

/// Reads a requirements file and, depth first, the files it includes with `-r`.
fn read_requirements(
    cx: &Context<'_>,
    path: &str,
    visited: &mut BTreeSet<String>,
    pins: &mut Vec<(String, Locked)>,
) -> Result<(), CatalogError> {
    if !visited.insert(path.to_owned()) {
        return Ok(());
    }
    let Some(bytes) = cx.read(path)? else {
        return Ok(());
    };
    let parsed = requirements::parse(&String::from_utf8_lossy(bytes));
    pins.extend(parsed.pins.into_iter().map(|l| (path.to_owned(), l)));
    for include in parsed.includes {
        let target = installed::join(parent(path), &include);
        if visited.contains(&target) {
            continue;
        }
        if cx.read(&target)?.is_some() {
            read_requirements(cx, &target, visited, pins)?;
        } else if cx.tree.resolve(&target).ok().flatten().is_some() {
            // The file is there but was not kept: its name is not one of a requirements file.
            cx.warn(format!(
                "skipped `{target}` (included by `{path}`): only files named `*requirements*.txt` or in a `requirements/` directory are read"
            ));
        } else {
            cx.warn(format!(
                "skipped `{target}` (included by `{path}`): not in the image"
            ));
        }
    }
    Ok(())
}

/// Folds each pin into the installed distribution of the same normalised name and version
/// (preferring one installed under the lockfile's directory, a virtual environment of that
/// project); pins of nothing installed become packages of their own, one per project
/// directory.
fn fold_pins(cx: &Context<'_>, packages: &mut Vec<Package>, pins: Vec<(String, Locked)>) {
    let mut by_key: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, p) in packages.iter().enumerate() {
        by_key
            .entry((metadata::normalize(&p.name), p.version.clone()))
            .or_default()
            .push(i);
    }
    // Lock-only packages, by (project directory, normalised name, version).
    let mut locked_only: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for (lockfile, pin) in pins {
        let key = (metadata::normalize(&pin.name), pin.version.clone());
        let project = parent(&lockfile).to_owned();
        let under_project = |i: &usize| {
            packages
                .get(*i)
                .and_then(|p| p.metadata.get("path"))
                .is_some_and(|path| path.starts_with(&format!("{project}/")))
        };
        let target = by_key.get(&key).and_then(|candidates| {
            candidates
                .iter()
                .find(|i| under_project(i))
                .or_else(|| candidates.first())
                .copied()
        });
        let target = target.or_else(|| {
            locked_only
                .get(&(project.clone(), key.0.clone(), key.1.clone()))
                .copied()
        });
        match target.and_then(|i| packages.get_mut(i)) {
            Some(package) => {
                if !package.found_in.contains(&lockfile) {
                    package.found_in.push(lockfile);
                    // The installed location (or the first lockfile) stays first.
                    if let Some(rest) = package.found_in.get_mut(1..) {
                        rest.sort();
                    }
                }
                if !pin.dev {
                    package.metadata.remove("dev");
                }
            }
            None => {
                let mut package = new_package(pin.name, pin.version, &lockfile);
                package.layer = cx.layer_of(&lockfile);
                package
                    .metadata
                    .insert("lockfile".to_owned(), lockfile.clone());
                if pin.dev {
                    package.metadata.insert("dev".to_owned(), "true".to_owned());
                }
                locked_only.insert((project, key.0, key.1), packages.len());
                packages.push(package);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(path: &str, size: u64) -> Selection {
        Python.select(&EntryInfo {
            path,
            size,
            mode: 0o644,
        })
    }

    #[test]
    fn selects_metadata_lists_and_application_lockfiles() {
        for path in [
            "/usr/local/lib/python3.11/site-packages/Django-2.2.dist-info/METADATA",
            "/usr/local/lib/python3.11/site-packages/Django-2.2.dist-info/RECORD",
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/installed-files.txt",
            "/usr/lib/python3/dist-packages/apt-1.0.egg-info",
            "/venv/lib/python3.9/site-packages/a-1.0-py3.9.egg/EGG-INFO/PKG-INFO",
            "/app/poetry.lock",
            "/app/Pipfile.lock",
            "/app/uv.lock",
            "/app/requirements.txt",
            "/app/requirements/prod.txt",
        ] {
            assert!(select(path, 10).is_keep(), "{path}");
        }
        assert!(matches!(
            select("/x/site-packages/a-1.0-py3.9.egg", 10),
            Selection::Summarize(_)
        ));
        for path in [
            "/usr/local/lib/python3.11/site-packages/django/__init__.py",
            "/usr/local/lib/python3.11/site-packages/django/requirements.txt",
            "/srv/app/node_modules/x/poetry.lock",
            "/app/README.txt",
            "/app/Pipfile",
        ] {
            assert!(select(path, 10).is_skip(), "{path}");
        }
        assert!(select("/app/requirements.txt", MAX_FILE + 1).is_skip());
    }

    #[test]
    fn purls_follow_the_pypi_rules() {
        assert_eq!(purl("Django", "2.2"), "pkg:pypi/django@2.2");
        assert_eq!(
            purl("typing_extensions", "4.12.2"),
            "pkg:pypi/typing-extensions@4.12.2"
        );
        assert_eq!(purl("zope.interface", "6.4"), "pkg:pypi/zope.interface@6.4");
        assert_eq!(purl("a", "1.0+local"), "pkg:pypi/a@1.0%2Blocal");
    }

    proptest::proptest! {
        /// No input makes a parser panic; malformed input is an error or nothing.
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
                               text in "[ -~\n\t\\#=\\[\\];@-]{0,256}") {
            let _ = metadata::parse(&bytes);
            let _ = metadata::parse(text.as_bytes());
            let _ = installed::owned_files(&bytes, "/x", true);
            let _ = installed::owned_files(text.as_bytes(), "/x", false);
            let _ = installed::egg_pkg_info(&bytes);
            let _ = installed::summarize_egg("/x.egg", &bytes);
            let _ = requirements::parse(&text);
            let _ = requirements::parse(&String::from_utf8_lossy(&bytes));
            for kind in [LockKind::Poetry, LockKind::Pipenv, LockKind::Uv] {
                let _ = lock::parse(kind, &bytes);
                let _ = lock::parse(kind, text.as_bytes());
            }
        }
    }
}
