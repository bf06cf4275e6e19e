//! Ruby gems: installed specifications in any gem home (`<home>/specifications/*.gemspec`,
//! default gems in `<home>/specifications/default/`; homes such as `/usr/local/bundle`,
//! `/usr/lib/ruby/gems/3.1.0`, `/var/lib/gems/*`, `vendor/bundle/ruby/*`), and Bundler
//! lockfiles (`Gemfile.lock`, `gems.locked`).
//!
//! Flow: [`gemspec::parse`] each installed specification into a package found in that
//! file; [`lockfile::parse`] each lockfile; a locked gem that is also installed where
//! that project's Bundler would load it from (a gem home inside the project, or one
//! outside every project) is the same package: its lockfile is appended to `found_in`.
//! The others are reported from the lockfile alone.

mod gemspec;
mod lockfile;

use std::collections::BTreeMap;

use packageurl::PackageUrl;
use portcullis_image::{EntryInfo, NodeKind, Selection};
use portcullis_types::{Ecosystem, Package};

use crate::{CatalogError, Cataloger, Context};

/// Larger files are not gem metadata; skipping them bounds memory.
const MAX_GEMSPEC_BYTES: u64 = 4 << 20;
const MAX_LOCKFILE_BYTES: u64 = 64 << 20;
const SPECIFICATIONS: &str = "/specifications/";

/// Finds Ruby gems.
#[derive(Debug, Default)]
pub struct Ruby;

impl Cataloger for Ruby {
    fn name(&self) -> &'static str {
        "ruby"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        let keep = (is_gemspec(entry.path) && entry.size <= MAX_GEMSPEC_BYTES)
            || (is_lockfile(entry.path) && entry.size <= MAX_LOCKFILE_BYTES);
        if keep {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let mut installed = Vec::new();
        let mut lockfiles = Vec::new();
        for (path, node) in cx.tree.iter() {
            if !matches!(node.kind, NodeKind::File) {
                continue;
            }
            let Some(content) = node.content() else {
                continue;
            };
            if is_gemspec(path) {
                match gemspec::parse(content) {
                    Some(spec) => installed.push(installed_package(cx, path, spec)),
                    None => cx.warn(format!(
                        "skipped `{path}`: no literal gem name and version in it"
                    )),
                }
            } else if is_lockfile(path) {
                match lockfile::parse(content) {
                    Ok(locked) => lockfiles.push((path, locked)),
                    Err(why) => cx.warn(format!("skipped `{path}`: {why}")),
                }
            }
        }
        let project_dirs: Vec<&str> = lockfiles
            .iter()
            .map(|(path, _)| path.rsplit_once('/').map_or("", |(dir, _)| dir))
            .collect();
        let mut locked_only = Vec::new();
        for (path, locked) in &lockfiles {
            let project = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            for gem in locked {
                // Bundler loads from a gem home inside the project first, else from one
                // that belongs to no project (`/usr/local/bundle`, the system's).
                let same = |p: &Package, inside: bool| {
                    let home = gem_home(p.found_in.first().map_or("", String::as_str));
                    p.name == gem.name
                        && p.version == gem.version
                        && if inside {
                            within(home, project)
                        } else {
                            !project_dirs.iter().any(|dir| within(home, dir))
                        }
                };
                let index = installed
                    .iter()
                    .position(|p| same(p, true))
                    .or_else(|| installed.iter().position(|p| same(p, false)));
                match index.and_then(|i| installed.get_mut(i)) {
                    Some(package) => package.found_in.push((*path).to_owned()),
                    None => locked_only.push(locked_package(cx, path, gem)),
                }
            }
        }
        installed.extend(locked_only);
        Ok(installed)
    }
}

fn is_gemspec(path: &str) -> bool {
    path.ends_with(".gemspec") && path.contains(SPECIFICATIONS)
}

fn is_lockfile(path: &str) -> bool {
    path.ends_with("/Gemfile.lock") || path.ends_with("/gems.locked")
}

/// The gem home a specification belongs to: what precedes its last `/specifications/`.
fn gem_home(spec_path: &str) -> &str {
    spec_path
        .rfind(SPECIFICATIONS)
        .and_then(|at| spec_path.get(..at))
        .unwrap_or("")
}

/// True when `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn installed_package(cx: &Context<'_>, path: &str, spec: gemspec::Gemspec) -> Package {
    let home = gem_home(path);
    let mut metadata = BTreeMap::new();
    let platform = spec.platform.filter(|p| p != "ruby");
    let dir_name = match &platform {
        Some(platform) => format!("{}-{}-{platform}", spec.name, spec.version),
        None => format!("{}-{}", spec.name, spec.version),
    };
    let install_dir = format!("{home}/gems/{dir_name}");
    if cx.tree.get(&install_dir).is_some_and(|n| n.is_dir()) {
        metadata.insert("path".to_owned(), install_dir);
    }
    if path
        .get(home.len()..)
        .is_some_and(|rest| rest.starts_with("/specifications/default/"))
    {
        metadata.insert("default_gem".to_owned(), "true".to_owned());
    }
    if let Some(homepage) = spec.homepage {
        metadata.insert("homepage".to_owned(), homepage);
    }
    if let Some(platform) = &platform {
        metadata.insert("platform".to_owned(), platform.clone());
    }
    Package {
        ecosystem: Ecosystem::Gem,
        purl: purl(&spec.name, &spec.version, platform.as_deref()),
        name: spec.name,
        version: spec.version,
        arch: None,
        source_name: None,
        source_version: None,
        licenses: spec.licenses,
        layer: cx.layer_of(path),
        found_in: vec![path.to_owned()],
        files: Vec::new(),
        metadata,
    }
}

fn locked_package(cx: &Context<'_>, path: &str, gem: &lockfile::Locked) -> Package {
    let mut metadata = BTreeMap::new();
    metadata.insert("source".to_owned(), gem.source.to_owned());
    for (key, value) in [
        ("platform", &gem.platform),
        ("remote", &gem.remote),
        ("revision", &gem.revision),
    ] {
        if let Some(value) = value {
            metadata.insert(key.to_owned(), value.clone());
        }
    }
    Package {
        ecosystem: Ecosystem::Gem,
        name: gem.name.clone(),
        version: gem.version.clone(),
        purl: purl(&gem.name, &gem.version, gem.platform.as_deref()),
        arch: None,
        source_name: None,
        source_version: None,
        licenses: Vec::new(),
        layer: cx.layer_of(path),
        found_in: vec![path.to_owned()],
        files: Vec::new(),
        metadata,
    }
}

/// `pkg:gem/<name>@<version>`, with the purl spec's `platform` qualifier for gems built
/// for one platform (`?platform=java`).
fn purl(name: &str, version: &str, platform: Option<&str>) -> String {
    let Ok(mut purl) = PackageUrl::new("gem", name) else {
        return format!("pkg:gem/{name}@{version}");
    };
    let _ = purl.with_version(version);
    if let Some(platform) = platform.filter(|p| *p != "ruby") {
        let _ = purl.add_qualifier("platform", platform);
    }
    purl.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(is_gemspec(
            "/usr/local/bundle/specifications/rack-2.2.8.gemspec"
        ));
        assert!(is_gemspec(
            "/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec"
        ));
        assert!(!is_gemspec("/app/myapp.gemspec"));
        assert!(is_lockfile("/app/Gemfile.lock"));
        assert!(is_lockfile("/srv/gems.locked"));
        assert!(!is_lockfile("/app/Gemfile"));
        assert_eq!(
            gem_home("/app/vendor/bundle/ruby/3.2.0/specifications/rack-2.2.8.gemspec"),
            "/app/vendor/bundle/ruby/3.2.0"
        );
        assert!(within("/app/vendor/bundle", "/app"));
        assert!(!within("/application/x", "/app"));
    }

    #[test]
    fn purls() {
        assert_eq!(purl("rack", "2.2.8", None), "pkg:gem/rack@2.2.8");
        assert_eq!(purl("rack", "2.2.8", Some("ruby")), "pkg:gem/rack@2.2.8");
        assert_eq!(
            purl("nokogiri", "1.15.4", Some("x86_64-linux")),
            "pkg:gem/nokogiri@1.15.4?platform=x86_64-linux"
        );
    }
}
