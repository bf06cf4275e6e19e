//! dpkg: `/var/lib/dpkg/status`, distroless `/var/lib/dpkg/status.d/*`, and the file lists
//! in `/var/lib/dpkg/info/*.list`.

use std::collections::BTreeMap;

use portcullis_types::{Distro, Ecosystem, Package};

use portcullis_image::{EntryInfo, Selection};

use crate::{CatalogError, Cataloger, Context, purl};

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d";
const INFO: &str = "/var/lib/dpkg/info";

/// Reads the dpkg database.
#[derive(Debug, Default)]
pub struct Dpkg;

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        let path = entry.path;
        let keep = path == STATUS
            || path
                .strip_prefix(STATUS_D)
                .is_some_and(|rest| rest.starts_with('/') && !rest.ends_with(".md5sums"))
            || path
                .strip_prefix(INFO)
                .is_some_and(|rest| rest.starts_with('/') && rest.ends_with(".list"));
        if keep {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let mut packages = Vec::new();
        if let Some(bytes) = cx.read(STATUS)? {
            let status_layer = cx.layer_of(STATUS);
            for stanza in stanzas(bytes) {
                let Some(mut package) = to_package(&stanza, STATUS, cx.distro) else {
                    continue;
                };
                let list = list_file(cx, &package);
                package.layer = list
                    .as_ref()
                    .and_then(|(path, _)| cx.layer_of(path))
                    .or_else(|| status_layer.clone());
                if let Some((_, files)) = list {
                    package.files = files;
                }
                packages.push(package);
            }
        }
        for name in cx.tree.read_dir(STATUS_D) {
            if name.ends_with(".md5sums") || name.starts_with('.') {
                continue;
            }
            let path = format!("{STATUS_D}/{name}");
            let Some(bytes) = cx.read(&path)? else {
                continue;
            };
            for stanza in stanzas(bytes) {
                if let Some(mut package) = to_package(&stanza, &path, cx.distro) {
                    package.layer = cx.layer_of(&path);
                    packages.push(package);
                }
            }
        }
        Ok(packages)
    }
}

/// The `info/<name>[:<arch>].list` of a package, with the regular paths it lists
/// (directories are left out: they are shared by many packages).
fn list_file(cx: &Context<'_>, package: &Package) -> Option<(String, Vec<String>)> {
    let arch = package.arch.as_deref().unwrap_or("");
    let candidates = [
        format!("{INFO}/{}:{arch}.list", package.name),
        format!("{INFO}/{}.list", package.name),
    ];
    candidates.into_iter().find_map(|path| {
        let bytes = cx.read(&path).ok().flatten()?;
        let files = String::from_utf8_lossy(bytes)
            .lines()
            .filter(|line| !line.is_empty() && line.starts_with('/') && line != &"/.")
            .filter(|line| {
                cx.tree
                    .get(line)
                    .is_none_or(|node| !matches!(node.kind, portcullis_image::NodeKind::Dir))
            })
            .map(str::to_owned)
            .collect();
        Some((path, files))
    })
}

/// One stanza of a deb822 control file: field name (case preserved) to value, with
/// continuation lines joined by `\n`.
pub(crate) type Stanza<'a> = BTreeMap<&'a str, String>;

/// Splits a control file into stanzas. Never fails: lines that are not `Field: value`
/// or a continuation are ignored, as dpkg's own parser would reject only that stanza.
pub(crate) fn stanzas(bytes: &[u8]) -> Vec<Stanza<'_>> {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| {
        // Control files are UTF-8 by policy; cut at the first bad byte rather than guess.
        std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("")
    });
    let mut out = Vec::new();
    let mut current: Stanza<'_> = BTreeMap::new();
    let mut last: Option<&str> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            last = None;
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(value) = last.and_then(|k| current.get_mut(k)) {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            current.insert(key, value.trim().to_owned());
            last = Some(key);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// States in which a package's files are on disk. `config-files` and `not-installed`
/// leave only configuration or nothing, so they are not installed software.
fn is_present(status: Option<&String>) -> bool {
    let Some(status) = status else {
        // distroless status.d stanzas carry no Status field: they describe installed packages.
        return true;
    };
    matches!(
        status.split_whitespace().nth(2),
        Some(
            "installed"
                | "unpacked"
                | "half-configured"
                | "half-installed"
                | "triggers-awaited"
                | "triggers-pending"
        )
    )
}

fn to_package(stanza: &Stanza<'_>, found_in: &str, distro: Option<&Distro>) -> Option<Package> {
    let name = stanza.get("Package")?.clone();
    let version = stanza.get("Version")?.clone();
    if name.is_empty() || version.is_empty() || !is_present(stanza.get("Status")) {
        return None;
    }
    let arch = stanza
        .get("Architecture")
        .filter(|a| !a.is_empty())
        .cloned();
    // `Source: name` or `Source: name (version)`; absent means the same as the binary.
    let (source_name, source_version) = match stanza.get("Source") {
        Some(source) => match source.split_once('(') {
            Some((n, v)) => (
                n.trim().to_owned(),
                v.trim_end_matches(')').trim().to_owned(),
            ),
            None => (source.trim().to_owned(), version.clone()),
        },
        None => (name.clone(), version.clone()),
    };
    let mut metadata = BTreeMap::new();
    for (field, key) in [
        ("Maintainer", "maintainer"),
        ("Multi-Arch", "multi_arch"),
        ("Installed-Size", "installed_size"),
    ] {
        if let Some(value) = stanza.get(field) {
            metadata.insert(key.to_owned(), value.clone());
        }
    }
    let purl = purl::deb(
        &name,
        &version,
        arch.as_deref(),
        &source_name,
        &source_version,
        distro,
    );
    Some(Package {
        ecosystem: Ecosystem::Deb,
        name,
        version,
        arch,
        source_name: Some(source_name),
        source_version: Some(source_version),
        licenses: Vec::new(),
        purl,
        layer: None,
        found_in: vec![found_in.to_owned()],
        files: Vec::new(),
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_TEXT: &str = "Package: bash\nEssential: yes\nStatus: install ok installed\nPriority: required\nSection: shells\nInstalled-Size: 7164\nMaintainer: Matthias Klose <doko@debian.org>\nArchitecture: amd64\nMulti-Arch: foreign\nSource: bash (5.2.15-2)\nVersion: 5.2.15-2+b13\nDescription: GNU Bourne Again SHell\n Bash is an sh-compatible command language interpreter.\n .\n More text.\n\nPackage: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n\nPackage: removed\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n\nPackage: adduser\nStatus: install ok installed\nArchitecture: all\nVersion: 3.134\n";

    #[test]
    fn reads_source_forms_and_skips_config_files() {
        let packages: Vec<_> = stanzas(STATUS_TEXT.as_bytes())
            .iter()
            .filter_map(|s| to_package(s, STATUS, None))
            .collect();
        let rows: Vec<_> = packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.arch.as_deref().unwrap(),
                    p.source_name.as_deref().unwrap(),
                    p.source_version.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("bash", "5.2.15-2+b13", "amd64", "bash", "5.2.15-2"),
                (
                    "libc6",
                    "2.36-9+deb12u4",
                    "amd64",
                    "glibc",
                    "2.36-9+deb12u4"
                ),
                ("adduser", "3.134", "all", "adduser", "3.134"),
            ]
        );
        assert_eq!(
            packages[0].metadata["maintainer"],
            "Matthias Klose <doko@debian.org>"
        );
    }

    #[test]
    fn continuation_lines_join_and_garbage_is_ignored() {
        let s = stanzas(b"Package: a\nDescription: x\n y\n\xff\xfe\n");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0]["Description"], "x\ny");
        assert!(stanzas(b"").is_empty());
        assert!(stanzas(b"\n\n   \n").is_empty());
        assert!(to_package(&stanzas(b"Package: a\n")[0], STATUS, None).is_none());
    }

    #[test]
    fn wants_the_database_only() {
        let wants = |path| {
            Dpkg.select(&EntryInfo {
                path,
                size: 1,
                mode: 0o644,
            })
            .is_keep()
        };
        assert!(wants("/var/lib/dpkg/status"));
        assert!(wants("/var/lib/dpkg/status.d/base-files"));
        assert!(!wants("/var/lib/dpkg/status.d/base-files.md5sums"));
        assert!(wants("/var/lib/dpkg/info/libc6:amd64.list"));
        assert!(!wants("/var/lib/dpkg/info/libc6:amd64.md5sums"));
        assert!(!wants("/var/lib/dpkg/status-old"));
    }
}
