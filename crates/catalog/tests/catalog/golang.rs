//! Go: binaries built here by the real Go toolchain (module mode with replacements,
//! `-trimpath`, Windows PE, macOS Mach-O), Go binaries Debian ships, hand-made binaries in
//! the pre-1.18 pointer format, and `go.mod` files; every binary is checked against
//! `go version -m`, the oracle.

#[path = "golang/pointer_format.rs"]
mod pointer_format;
#[path = "golang/toolchain.rs"]
mod toolchain;

use std::collections::BTreeSet;
use std::path::Path;

use portcullis_catalog::Catalog;
use portcullis_testkit::LayerBuilder;
use portcullis_types::{Ecosystem, Package};

use crate::support::catalog_layers;
use toolchain::{built, go_version_m};

/// What `go version -m` prints, reduced to the rows a cataloger should report: the main
/// module (its version replaced by `main_version` when given), each dependency with its
/// replacement applied (a directory replacement keeps the path, version `(devel)`), and
/// `stdlib` at the toolchain's version.
fn oracle_rows(binary: &Path, main_version: Option<&str>) -> BTreeSet<(String, String)> {
    let text = go_version_m(binary);
    let mut lines = text.lines();
    let go_version = lines
        .next()
        .and_then(|l| l.rsplit(": ").next())
        .expect("first line names the Go version")
        .to_owned();
    let mut rows = BTreeSet::new();
    rows.insert(("stdlib".to_owned(), go_version));
    let mut pending: Option<(String, String)> = None;
    for line in lines {
        let fields: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        match fields.as_slice() {
            ["mod", path, version, ..] => {
                let version = main_version.unwrap_or(version);
                rows.insert(((*path).to_owned(), version.to_owned()));
            }
            ["dep", path, version, ..] => {
                rows.extend(pending.take());
                pending = Some(((*path).to_owned(), (*version).to_owned()));
            }
            ["=>", path, version, ..] => {
                let (original, _) = pending.take().expect("=> follows a dep");
                // Go records a directory replacement with version `(devel)`.
                let directory = path.starts_with('.') || path.starts_with('/');
                rows.insert(if directory || version.is_empty() {
                    (original, "(devel)".to_owned())
                } else {
                    ((*path).to_owned(), (*version).to_owned())
                });
            }
            _ => rows.extend(pending.take()),
        }
    }
    rows.extend(pending);
    rows
}

fn go_packages<'a>(catalog: &'a Catalog, found_in: &str) -> Vec<&'a Package> {
    catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Go && p.found_in == [found_in])
        .collect()
}

fn rows(packages: &[&Package]) -> BTreeSet<(String, String)> {
    packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

fn find<'a>(packages: &[&'a Package], name: &str) -> &'a Package {
    packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no package `{name}`"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn module_build_with_replacements_matches_go_version_m() -> anyhow::Result<()> {
    let built = built();
    let base = LayerBuilder::new().file("etc/hostname", "x");
    let app = LayerBuilder::new().file_with_mode("usr/local/bin/app", read(&built.elf), 0o755);
    let (catalog, _) = catalog_layers(vec![base, app])?;
    let found = go_packages(&catalog, "/usr/local/bin/app");
    assert_eq!(rows(&found), oracle_rows(&built.elf, None));

    let main = find(&found, "example.com/app");
    assert_eq!(main.version, "(devel)");
    assert_eq!(main.metadata["main_module"], "true");
    assert_eq!(main.metadata["main_package"], "example.com/app/cmd/app");
    assert_eq!(main.purl, "pkg:golang/example.com/app@(devel)#cmd/app");
    let greet = find(&found, "example.com/greet");
    assert_eq!(greet.version, "v1.1.0");
    assert_eq!(greet.purl, "pkg:golang/example.com/greet@v1.1.0");
    assert!(greet.metadata["h1"].starts_with("h1:"));
    // Replaced by another module: the replacement is what was compiled.
    let fork = find(&found, "example.com/fork");
    assert_eq!(fork.version, "v0.2.0");
    assert_eq!(fork.metadata["replaced_path"], "example.com/upstream");
    assert_eq!(fork.metadata["replaced_version"], "v0.1.0");
    // Replaced by a directory: no published version was compiled.
    let lib = find(&found, "example.com/lib");
    assert_eq!(lib.version, "(devel)");
    assert_eq!(lib.metadata["replaced_by_dir"], "../lib");
    assert_eq!(lib.metadata["replaced_version"], "v1.2.0");
    let stdlib = find(&found, "stdlib");
    let go_version = &stdlib.version;
    assert!(go_version.starts_with("go1."), "{go_version}");
    assert_eq!(
        stdlib.purl,
        format!("pkg:golang/stdlib@{}", go_version.trim_start_matches("go"))
    );
    assert!(
        found
            .iter()
            .all(|p| p.layer.as_ref().map(|l| l.index) == Some(1))
    );
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    Ok(())
}

#[test]
fn trimpath_and_ldflags_builds() -> anyhow::Result<()> {
    let built = built();
    let layer = LayerBuilder::new()
        .file_with_mode("trimpath", read(&built.trimpath), 0o755)
        .file_with_mode("stamped", read(&built.stamped), 0o755);
    let (catalog, _) = catalog_layers(vec![layer])?;
    let found = go_packages(&catalog, "/trimpath");
    assert_eq!(rows(&found), oracle_rows(&built.trimpath, None));
    assert_eq!(
        find(&found, "example.com/app").metadata["-trimpath"],
        "true"
    );
    // `-X main.version=1.4.2` gives the main module a version, as Trivy and Syft read it.
    // (Go leaves `-ldflags` out of the build information of `-trimpath` builds.)
    let found = go_packages(&catalog, "/stamped");
    assert_eq!(rows(&found), oracle_rows(&built.stamped, Some("v1.4.2")));
    let main = find(&found, "example.com/app");
    assert_eq!(main.metadata["version_from"], "ldflags");
    assert_eq!(main.purl, "pkg:golang/example.com/app@v1.4.2#cmd/app");
    Ok(())
}

#[test]
fn windows_and_macos_cross_builds_are_read() -> anyhow::Result<()> {
    let built = built();
    // The Windows binary is not executable in the image: `.exe` is enough.
    let layer = LayerBuilder::new()
        .file_with_mode("opt/win/app.exe", read(&built.windows), 0o644)
        .file_with_mode("opt/mac/app", read(&built.darwin), 0o755);
    let (catalog, _) = catalog_layers(vec![layer])?;
    for (path, binary, goos) in [
        ("/opt/win/app.exe", &built.windows, "windows"),
        ("/opt/mac/app", &built.darwin, "darwin"),
    ] {
        let found = go_packages(&catalog, path);
        assert_eq!(rows(&found), oracle_rows(binary, None), "{path}");
        assert_eq!(find(&found, "example.com/app").metadata["goos"], goos);
    }
    Ok(())
}

#[test]
fn go_mod_requirements_with_replace_and_indirect() -> anyhow::Result<()> {
    let built = built();
    let layer = LayerBuilder::new()
        .file("src/app/go.mod", read(&built.go_mod))
        // The module cache holds dependencies' own manifests: not the project's.
        .file(
            "root/go/pkg/mod/example.com/greet@v1.1.0/go.mod",
            "module example.com/greet\n\nrequire example.com/words v0.1.0\n",
        )
        .file(
            "usr/lib/go/src/go.mod",
            "module std\n\nrequire golang.org/x/net v0.1.0\n",
        );
    let (catalog, _) = catalog_layers(vec![layer])?;
    let found: Vec<&Package> = catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Go)
        .collect();
    let got: Vec<(&str, &str, Option<&str>)> = found
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.version.as_str(),
                p.metadata.get("indirect").map(String::as_str),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("example.com/fork", "v0.2.0", None),
            ("example.com/greet", "v1.1.0", None),
            ("example.com/lib", "(devel)", None),
            ("example.com/words", "v0.1.0", Some("true")),
        ]
    );
    assert!(found.iter().all(|p| p.found_in == ["/src/app/go.mod"]));
    assert_eq!(found[0].metadata["replaced_path"], "example.com/upstream");
    assert_eq!(found[0].metadata["main_module_path"], "example.com/app");
    Ok(())
}

#[test]
fn debian_go_binaries_match_go_version_m() -> anyhow::Result<()> {
    let binaries = [
        "/usr/bin/docker-registry",
        "/usr/bin/skopeo",
        "/usr/bin/umoci",
    ];
    let mut layer = LayerBuilder::new();
    for binary in binaries {
        assert!(
            Path::new(binary).exists(),
            "{binary} is needed: apt-get install -y docker-registry skopeo umoci"
        );
        layer = layer.file_with_mode(&binary[1..], read(Path::new(binary)), 0o755);
    }
    let (catalog, _) = catalog_layers(vec![layer])?;
    for binary in binaries {
        let oracle = go_version_m(Path::new(binary));
        let found = go_packages(&catalog, binary);
        let main = found
            .iter()
            .find(|p| p.metadata.contains_key("main_module"))
            .expect("a main module");
        let expected = oracle_rows(Path::new(binary), None);
        // Debian builds outside module mode: no `mod` line, only the main package path.
        if oracle.contains("\tmod\t") {
            assert_eq!(rows(&found), expected, "{binary}");
        } else {
            let package_path = oracle
                .lines()
                .find_map(|l| l.trim().strip_prefix("path\t"))
                .expect("a path line");
            assert_eq!(main.metadata["main_package"], package_path);
            assert!(package_path.starts_with(&main.name), "{binary}");
            assert_eq!(main.version, "(devel)");
            let mut rest = rows(&found);
            rest.remove(&(main.name.clone(), main.version.clone()));
            assert_eq!(rest, expected, "{binary}");
        }
    }
    Ok(())
}

#[test]
fn pointer_format_binaries_of_both_widths_and_byte_orders() -> anyhow::Result<()> {
    let modinfo = pointer_format::framed_modinfo(
        "path\texample.com/old/cmd/old\nmod\texample.com/old\tv0.9.0\th1:abc=\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\ndep\tgolang.org/x/text\tv0.3.0\th1:ghi=\n=>\tgithub.com/fork/text\tv0.3.8\th1:jkl=\n",
    );
    let dir = tempfile::tempdir()?;
    let mut layer = LayerBuilder::new();
    for (name, wide) in [("old-amd64", true), ("old-mips", false)] {
        let bytes = pointer_format::pointer_format_elf(wide, "go1.16.15", &modinfo);
        // Go's own reader is the oracle for the hand-made files too.
        let on_disk = dir.path().join(name);
        std::fs::write(&on_disk, &bytes)?;
        std::fs::set_permissions(
            &on_disk,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )?;
        assert!(go_version_m(&on_disk).contains("dep\tgithub.com/pkg/errors\tv0.9.1"));
        layer = layer.file_with_mode(&format!("bin/{name}"), bytes, 0o755);
    }
    let (catalog, _) = catalog_layers(vec![layer])?;
    for name in ["old-amd64", "old-mips"] {
        let found = go_packages(&catalog, &format!("/bin/{name}"));
        assert_eq!(
            rows(&found),
            oracle_rows(&dir.path().join(name), None),
            "{name}"
        );
        assert!(rows(&found).contains(&("stdlib".into(), "go1.16.15".into())));
        assert!(rows(&found).contains(&("github.com/fork/text".into(), "v0.3.8".into())));
    }
    Ok(())
}

#[test]
fn unreadable_build_information_is_a_warning() -> anyhow::Result<()> {
    let built = built();
    // A pointer-format header whose pointers lead outside the file.
    let mut broken = pointer_format::pointer_format_elf(true, "go1.16.15", b"");
    let header = broken
        .windows(14)
        .position(|w| w == b"\xff Go buildinf:")
        .expect("header");
    broken[header + 16..header + 32].fill(0xee);
    let layer = LayerBuilder::new()
        .file_with_mode("bin/broken", broken, 0o755)
        .file_with_mode("bin/fake", b"\x7fELF\x02\x01\x01 not really", 0o755)
        .file(
            "src/bad/go.mod",
            "module x\nrequire (\n\tgithub.com/a v1.0.0\n",
        )
        .file_with_mode("bin/app", read(&built.elf), 0o755);
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(
        catalog.warnings,
        vec![
            "skipped `/bin/broken`: the Go version string points outside the file",
            "skipped `/src/bad/go.mod`: line 3: a `(` block is never closed",
        ]
    );
    assert!(!go_packages(&catalog, "/bin/app").is_empty());
    Ok(())
}
