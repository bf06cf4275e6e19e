//! Go modules: the build information of Go executables (ELF, PE, Mach-O; the inline
//! format of Go ≥ 1.18 and the older pointer format) and `go.mod` files in source trees.
//!
//! Flow: [`Golang::select`] summarizes executables with [`executable::summarize`] (shared
//! with the Rust cataloger) and keeps `go.mod` files; [`Golang::catalog`] turns each
//! summary's module information ([`modinfo`]) into the main module, every dependency
//! with its `replace` applied, and the toolchain as `stdlib`, and each `go.mod`
//! ([`gomod`]) into its requirements.

mod buildinfo;
pub(crate) mod executable;
mod gomod;
mod modinfo;

use std::collections::BTreeMap;

use packageurl::PackageUrl;
use portcullis_image::{EntryInfo, NodeKind, Selection};
use portcullis_types::{Ecosystem, Package};

use crate::{CatalogError, Cataloger, Context};

/// `go.mod` files bigger than this are not source manifests; skipped.
const MAX_GO_MOD_BYTES: u64 = 4 << 20;
/// The version Go records for a module built from a working tree.
const DEVEL: &str = "(devel)";

/// Finds Go modules in executables and `go.mod` files.
#[derive(Debug, Default)]
pub struct Golang;

impl Cataloger for Golang {
    fn name(&self) -> &'static str {
        "golang"
    }

    fn version(&self) -> u32 {
        2
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if is_go_mod(entry.path) {
            return if entry.size <= MAX_GO_MOD_BYTES {
                Selection::Keep
            } else {
                Selection::Skip
            };
        }
        if wants_executable(entry) {
            return Selection::Summarize(executable::summarize);
        }
        Selection::Skip
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let mut packages = Vec::new();
        for (path, node) in cx.tree.iter() {
            if node.kind != NodeKind::File {
                continue;
            }
            let Some(bytes) = node.content() else {
                continue;
            };
            if is_go_mod(path) {
                packages.extend(go_mod_packages(cx, path, bytes));
                continue;
            }
            let entry = EntryInfo {
                path,
                size: node.size,
                mode: node.mode,
            };
            if !wants_executable(&entry) {
                continue;
            }
            let Some(summary) = executable::read_stored(bytes) else {
                continue;
            };
            for problem in &summary.problems {
                if let Some(reason) = problem.strip_prefix("go: ") {
                    cx.warn(format!("skipped `{path}`: {reason}"));
                }
            }
            if let Some(go) = &summary.go {
                packages.extend(binary_packages(cx, path, go));
            }
        }
        Ok(packages)
    }
}

/// Executables (any execute bit, or `.exe`) that may carry build information. Archives
/// that the Java and Python catalogers summarize are left to them even when executable
/// (Spring Boot's launchable jars): the image reader runs one summarizer per file, and
/// the Rust cataloger, which shares this one, comes first.
pub(crate) fn wants_executable(entry: &EntryInfo<'_>) -> bool {
    const ARCHIVES: [&str; 8] = [
        ".jar", ".war", ".ear", ".par", ".jpi", ".hpi", ".zip", ".egg",
    ];
    let path = entry.path;
    let exe = path.len() > 4
        && path
            .get(path.len() - 4..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".exe"));
    (entry.is_executable() || exe)
        && !ARCHIVES.iter().any(|ext| {
            path.len() > ext.len()
                && path
                    .get(path.len() - ext.len()..)
                    .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        })
}

/// `go.mod` outside the module cache and vendored copies: those are dependencies' own
/// manifests, whose requirements the main module's `go.mod` already settles.
fn is_go_mod(path: &str) -> bool {
    path.ends_with("/go.mod")
        && !path.contains("/pkg/mod/")
        && !path.contains("/vendor/")
        && !path.contains("/testdata/")
}

/// The packages of one Go executable: main module, dependencies, `stdlib`.
fn binary_packages(cx: &Context<'_>, path: &str, go: &executable::GoBuild) -> Vec<Package> {
    let info = modinfo::parse(&go.modinfo);
    let (toolchain, experiments) = match go.version.split_once(' ') {
        Some((v, rest)) => (v, rest.trim()),
        None => (go.version.as_str(), ""),
    };
    let layer = cx.layer_of(path);
    let mut common = BTreeMap::new();
    common.insert("go_version".to_owned(), toolchain.to_owned());
    for (setting, key) in [("GOOS", "goos"), ("GOARCH", "goarch")] {
        if let Some(value) = info.settings.get(setting) {
            common.insert(key.to_owned(), value.clone());
        }
    }
    let mut packages = Vec::new();
    let mut push =
        |name: &str, version: &str, subpath: Option<&str>, extra: BTreeMap<String, String>| {
            let mut metadata = common.clone();
            metadata.extend(extra);
            let mut package = package(name, version, subpath, path, metadata);
            package.layer = layer.clone();
            packages.push(package);
        };

    let main_path = match (&info.main, &info.path) {
        (Some(main), _) => Some(main.module.path.clone()),
        (None, Some(package)) => Some(module_root(package).to_owned()),
        (None, None) => None,
    };
    if let Some(main_path) = &main_path {
        let mut extra = BTreeMap::new();
        extra.insert("main_module".to_owned(), "true".to_owned());
        let mut version = info
            .main
            .as_ref()
            .map_or(DEVEL.to_owned(), |m| m.module.version.clone());
        if version.is_empty() {
            version = DEVEL.to_owned();
        }
        if (version == DEVEL || version.starts_with("v0.0.0-"))
            && let Some(stamped) = info
                .settings
                .get("-ldflags")
                .and_then(|flags| modinfo::ldflags_version(main_path, flags))
        {
            extra.insert("version_from".to_owned(), "ldflags".to_owned());
            version = stamped;
        }
        if info.main.is_none() {
            // Built outside module mode: no module was recorded, its path is inferred.
            extra.insert("module_inferred".to_owned(), "true".to_owned());
        }
        if let Some(main) = info.main.as_ref().filter(|m| !m.module.sum.is_empty()) {
            extra.insert("h1".to_owned(), main.module.sum.clone());
        }
        for key in [
            "vcs.revision",
            "vcs.time",
            "vcs.modified",
            "-trimpath",
            "CGO_ENABLED",
        ] {
            if let Some(value) = info.settings.get(key) {
                extra.insert(key.to_owned(), value.clone());
            }
        }
        let subpath = info.path.as_deref().and_then(|p| {
            p.strip_prefix(main_path.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
        });
        if let Some(package_path) = &info.path {
            extra.insert("main_package".to_owned(), package_path.clone());
        }
        push(main_path, &version, subpath, extra);
    }

    for dep in &info.deps {
        let mut extra = BTreeMap::new();
        if let Some(main_path) = &main_path {
            extra.insert("main_module_path".to_owned(), main_path.clone());
        }
        let (name, version, sum) = match &dep.replace {
            Some(replace) if is_directory_path(&replace.path) || replace.version.is_empty() => {
                // A directory replacement: the code is what was in that directory, not
                // the published version, so the original version would be a false match.
                extra.insert("replaced_by_dir".to_owned(), replace.path.clone());
                extra.insert("replaced_version".to_owned(), dep.module.version.clone());
                (&dep.module.path, DEVEL, "")
            }
            Some(replace) => {
                extra.insert("replaced_path".to_owned(), dep.module.path.clone());
                extra.insert("replaced_version".to_owned(), dep.module.version.clone());
                (
                    &replace.path,
                    replace.version.as_str(),
                    replace.sum.as_str(),
                )
            }
            None => (
                &dep.module.path,
                dep.module.version.as_str(),
                dep.module.sum.as_str(),
            ),
        };
        if !sum.is_empty() {
            extra.insert("h1".to_owned(), sum.to_owned());
        }
        push(
            name,
            if version.is_empty() { DEVEL } else { version },
            None,
            extra,
        );
    }

    // Development toolchains (`devel go1.23-abcdef`) have no release to match.
    if let Some(semver) = stdlib_semver(toolchain) {
        let mut extra = BTreeMap::new();
        if !experiments.is_empty() {
            extra.insert("go_experiments".to_owned(), experiments.to_owned());
        }
        let mut stdlib = package("stdlib", toolchain, None, path, {
            let mut m = common.clone();
            m.extend(extra);
            m
        });
        stdlib.purl = purl("stdlib", &semver, None);
        stdlib.licenses = vec!["BSD-3-Clause".to_owned()];
        stdlib.layer = layer;
        packages.push(stdlib);
    }
    packages
}

/// A replacement by a directory, as `golang.org/x/mod/modfile.IsDirectoryPath` tells:
/// Go records its version as `(devel)` (or nothing).
fn is_directory_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    path == "."
        || path == ".."
        || path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with('/')
        || path.starts_with(".\\")
        || path.starts_with("..\\")
        || path.starts_with('\\')
        || (bytes.len() >= 3
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && matches!(bytes[2], b'\\' | b'/'))
}

/// The packages a `go.mod` requires; a malformed one is a warning.
fn go_mod_packages(cx: &Context<'_>, path: &str, bytes: &[u8]) -> Vec<Package> {
    let go_mod = match gomod::parse(bytes) {
        Ok(m) => m,
        Err(e) => {
            cx.warn(format!("skipped `{path}`: {e}"));
            return Vec::new();
        }
    };
    // GOROOT's own `src/go.mod` (`module std`) and `src/cmd/go.mod` (`module cmd`) list
    // what the standard library vendors; binaries report that as `stdlib`.
    if matches!(go_mod.module.as_deref(), Some("std" | "cmd")) {
        return Vec::new();
    }
    let layer = cx.layer_of(path);
    go_mod
        .requirements
        .into_iter()
        .map(|r| {
            let mut metadata = BTreeMap::new();
            if let Some(module) = &go_mod.module {
                metadata.insert("main_module_path".to_owned(), module.clone());
            }
            if r.indirect {
                metadata.insert("indirect".to_owned(), "true".to_owned());
            }
            if let Some((old_path, old_version)) = r.replaced {
                if r.replaced_by_dir.is_none() {
                    metadata.insert("replaced_path".to_owned(), old_path);
                }
                metadata.insert("replaced_version".to_owned(), old_version);
            }
            if let Some(dir) = r.replaced_by_dir {
                metadata.insert("replaced_by_dir".to_owned(), dir);
            }
            let mut package = package(&r.path, &r.version, None, path, metadata);
            package.layer = layer.clone();
            package
        })
        .collect()
}

fn package(
    name: &str,
    version: &str,
    subpath: Option<&str>,
    found_in: &str,
    metadata: BTreeMap<String, String>,
) -> Package {
    Package {
        ecosystem: Ecosystem::Go,
        name: name.to_owned(),
        version: version.to_owned(),
        arch: None,
        source_name: None,
        source_version: None,
        licenses: Vec::new(),
        purl: purl(name, version, subpath),
        layer: None,
        found_in: vec![found_in.to_owned()],
        files: Vec::new(),
        metadata,
    }
}

/// `pkg:golang/<path up to the last slash>/<last element>@<version>#<subpath>`, lowercased
/// as the purl specification's `golang` type requires.
fn purl(module: &str, version: &str, subpath: Option<&str>) -> String {
    let module = module.to_lowercase();
    let (namespace, name) = match module.rsplit_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, module.as_str()),
    };
    let Ok(mut purl) = PackageUrl::new("golang", name) else {
        return format!("pkg:golang/{module}@{version}");
    };
    if let Some(ns) = namespace {
        let _ = purl.with_namespace(ns);
    }
    if !version.is_empty() {
        let _ = purl.with_version(version);
    }
    if let Some(subpath) = subpath.filter(|s| !s.is_empty()) {
        let _ = purl.with_subpath(subpath);
    }
    purl.to_string()
}

/// The toolchain version as OSV's Go ecosystem (and the Go vulnerability database) write
/// the `stdlib` module: `go1.21.3` → `1.21.3`, `go1.20` → `1.20.0`, `go1.21rc2` →
/// `1.21.0-rc.2`. `None` for anything else (development builds).
pub(crate) fn stdlib_semver(toolchain: &str) -> Option<String> {
    let rest = toolchain.strip_prefix("go")?;
    let core_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (core, pre) = rest.split_at(core_end);
    let mut parts: Vec<&str> = core.split('.').collect();
    if parts.iter().any(|p| p.is_empty() || p.len() > 9) || parts.len() > 3 {
        return None;
    }
    while parts.len() < 3 {
        parts.push("0");
    }
    let core = parts.join(".");
    if pre.is_empty() {
        return Some(core);
    }
    for tag in ["rc", "beta", "alpha"] {
        if let Some(n) = pre.strip_prefix(tag)
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            return Some(format!("{core}-{tag}.{n}"));
        }
    }
    None
}

/// The module a package path most likely belongs to when no module was recorded (GOPATH
/// builds): the repository root on hosts whose layout `go get` knows (`host/owner/repo`),
/// else the whole path.
fn module_root(package_path: &str) -> &str {
    let segments = match package_path.split('/').next() {
        Some("github.com" | "gitlab.com" | "bitbucket.org" | "golang.org") => 3,
        Some("gopkg.in") => {
            // gopkg.in/yaml.v2 or gopkg.in/user/pkg.v3
            match package_path.split('/').nth(1) {
                Some(second) if second.contains(".v") => 2,
                _ => 3,
            }
        }
        _ => return package_path,
    };
    match package_path.match_indices('/').nth(segments - 1) {
        Some((at, _)) => &package_path[..at],
        None => package_path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_versions_as_osv_writes_them() {
        assert_eq!(stdlib_semver("go1.21.3").as_deref(), Some("1.21.3"));
        assert_eq!(stdlib_semver("go1.20").as_deref(), Some("1.20.0"));
        assert_eq!(stdlib_semver("go1.21rc2").as_deref(), Some("1.21.0-rc.2"));
        assert_eq!(
            stdlib_semver("go1.18beta1").as_deref(),
            Some("1.18.0-beta.1")
        );
        assert_eq!(stdlib_semver("devel go1.23-abcdef"), None);
        assert_eq!(stdlib_semver("go1..2"), None);
        assert_eq!(stdlib_semver("go"), None);
    }

    #[test]
    fn golang_purls_split_the_module_path() {
        assert_eq!(
            purl(
                "github.com/docker/distribution",
                "(devel)",
                Some("cmd/registry")
            ),
            "pkg:golang/github.com/docker/distribution@(devel)#cmd/registry"
        );
        assert_eq!(
            purl("github.com/BurntSushi/toml", "v1.3.2", None),
            "pkg:golang/github.com/burntsushi/toml@v1.3.2"
        );
        assert_eq!(purl("stdlib", "1.21.3", None), "pkg:golang/stdlib@1.21.3");
    }

    #[test]
    fn module_roots_of_gopath_packages() {
        assert_eq!(
            module_root("github.com/docker/distribution/cmd/registry"),
            "github.com/docker/distribution"
        );
        assert_eq!(module_root("gopkg.in/yaml.v2"), "gopkg.in/yaml.v2");
        assert_eq!(
            module_root("golang.org/x/tools/cmd/stringer"),
            "golang.org/x/tools"
        );
        assert_eq!(module_root("example.com/a/b"), "example.com/a/b");
        assert_eq!(module_root("github.com/x"), "github.com/x");
    }

    #[test]
    fn selects_executables_and_go_mod_only() {
        let sel = |path, mode| {
            Golang.select(&EntryInfo {
                path,
                size: 10,
                mode,
            })
        };
        assert!(matches!(
            sel("/usr/bin/app", 0o755),
            Selection::Summarize(_)
        ));
        assert!(matches!(
            sel("/app/tool.EXE", 0o644),
            Selection::Summarize(_)
        ));
        assert!(sel("/src/app/go.mod", 0o644).is_keep());
        assert!(sel("/root/go/pkg/mod/x@v1/go.mod", 0o644).is_skip());
        assert!(sel("/src/app/vendor/x/go.mod", 0o644).is_skip());
        assert!(sel("/opt/app/app.jar", 0o755).is_skip());
        assert!(sel("/etc/passwd", 0o644).is_skip());
    }
}
