//! Installed distributions: where their metadata lives, the files they own, and `.egg`
//! archives summarised while layers stream.

use serde::{Deserialize, Serialize};

/// How a distribution was installed, as its metadata location shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `name-1.0.dist-info/METADATA` (wheels, PEP 376).
    DistInfo,
    /// `name-1.0.egg-info/PKG-INFO` (setuptools, Debian packages).
    EggInfoDir,
    /// A plain `name-1.0-py3.11.egg-info` file (distutils).
    EggInfoFile,
    /// An unzipped egg: `name-1.0.egg/EGG-INFO/PKG-INFO`.
    EggDir,
    /// A zipped `name-1.0.egg`.
    EggZip,
}

/// Classifies a path as a distribution's metadata file; returns the form and the path of
/// the distribution itself (the `.dist-info`, `.egg-info` or `.egg`). Cheap: called for
/// every file of every layer.
pub(crate) fn classify(path: &str) -> Option<(Form, &str)> {
    if let Some(dist) = path.strip_suffix("/METADATA") {
        return dist
            .ends_with(".dist-info")
            .then_some((Form::DistInfo, dist));
    }
    if let Some(dist) = path.strip_suffix("/PKG-INFO") {
        if dist.ends_with(".egg-info") {
            return Some((Form::EggInfoDir, dist));
        }
        return dist
            .strip_suffix("/EGG-INFO")
            .filter(|egg| egg.ends_with(".egg"))
            .map(|egg| (Form::EggDir, egg));
    }
    if path.ends_with(".egg-info") {
        return Some((Form::EggInfoFile, path));
    }
    if path.ends_with(".egg") {
        return Some((Form::EggZip, path));
    }
    None
}

/// True for the files that list what a distribution owns.
pub(crate) fn is_file_list(path: &str) -> bool {
    path.strip_suffix("/RECORD")
        .is_some_and(|d| d.ends_with(".dist-info"))
        || path
            .strip_suffix("/installed-files.txt")
            .is_some_and(|d| d.ends_with(".egg-info"))
}

/// The file listing what the distribution at `dist` owns, if its form has one.
pub(crate) fn file_list_of(form: Form, dist: &str) -> Option<String> {
    match form {
        Form::DistInfo => Some(format!("{dist}/RECORD")),
        Form::EggInfoDir => Some(format!("{dist}/installed-files.txt")),
        Form::EggInfoFile | Form::EggDir | Form::EggZip => None,
    }
}

/// The absolute paths listed in a `RECORD` (CSV, paths relative to the directory holding
/// the `.dist-info`) or an `installed-files.txt` (one path a line, relative to the
/// `.egg-info`). `base` is that directory. Sorted, deduplicated.
pub(crate) fn owned_files(list: &[u8], base: &str, csv: bool) -> Vec<String> {
    let text = String::from_utf8_lossy(list);
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let entry = if csv { csv_first(line) } else { line.trim() };
            (!entry.is_empty()).then(|| join(base, entry))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The first field of a CSV row (RFC 4180 quoting, as Python's `csv` module writes it).
fn csv_first(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix('"') {
        // A doubled quote inside stays doubled here: paths with quotes are vanishingly rare,
        // and keeping a borrowed slice keeps this allocation-free.
        let mut end = 0;
        let bytes = rest.as_bytes();
        while end < bytes.len() {
            if bytes.get(end) == Some(&b'"') {
                if bytes.get(end + 1) == Some(&b'"') {
                    end += 2;
                    continue;
                }
                break;
            }
            end += 1;
        }
        rest.get(..end).unwrap_or(rest)
    } else {
        line.split(',').next().unwrap_or("")
    }
}

/// Joins a relative path to `base` and removes `.` and `..` components (never above `/`).
pub(crate) fn join(base: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let start = if relative.starts_with('/') { "" } else { base };
    for part in start.split('/').chain(relative.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = String::with_capacity(base.len() + relative.len() + 1);
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The parent directory of an absolute path.
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => path.get(..i).unwrap_or("/"),
    }
}

/// What is kept of a zipped `.egg`: its `EGG-INFO/PKG-INFO`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct EggSummary {
    pub pkg_info: String,
}

/// Largest `PKG-INFO` read out of an egg; real ones are a few kilobytes.
const MAX_PKG_INFO: u64 = 1024 * 1024;

/// The [`Summarizer`](portcullis_image::Summarizer) for `.egg` files: keeps only the
/// `PKG-INFO` inside, as JSON. `None` for files that are not eggs.
pub(crate) fn summarize_egg(_path: &str, content: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(content)).ok()?;
    let entry = archive.by_name("EGG-INFO/PKG-INFO").ok()?;
    let mut text = String::new();
    entry.take(MAX_PKG_INFO).read_to_string(&mut text).ok()?;
    serde_json::to_vec(&EggSummary { pkg_info: text }).ok()
}

/// The `PKG-INFO` of an egg from what the tree holds for it: a summary, or (for readers
/// that kept the whole file) the archive itself.
pub(crate) fn egg_pkg_info(bytes: &[u8]) -> Option<String> {
    if let Ok(summary) = serde_json::from_slice::<EggSummary>(bytes) {
        return Some(summary.pkg_info);
    }
    let summary = summarize_egg("", bytes)?;
    serde_json::from_slice::<EggSummary>(&summary)
        .ok()
        .map(|s| s.pkg_info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_metadata_locations() {
        let sp = "/usr/local/lib/python3.11/site-packages";
        assert_eq!(
            classify(&format!("{sp}/Django-2.2.dist-info/METADATA")),
            Some((
                Form::DistInfo,
                "/usr/local/lib/python3.11/site-packages/Django-2.2.dist-info"
            ))
        );
        assert_eq!(
            classify("/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO").map(|c| c.0),
            Some(Form::EggInfoDir)
        );
        assert_eq!(
            classify("/x/site-packages/a-1.0-py3.9.egg/EGG-INFO/PKG-INFO"),
            Some((Form::EggDir, "/x/site-packages/a-1.0-py3.9.egg"))
        );
        assert_eq!(
            classify("/x/a-1.0-py3.11.egg-info").map(|c| c.0),
            Some(Form::EggInfoFile)
        );
        assert_eq!(classify("/x/a-1.0.egg").map(|c| c.0), Some(Form::EggZip));
        for path in [
            "/x/METADATA",
            "/x/site-packages/django/METADATA",
            "/x/PKG-INFO",
            "/x/a.egg-info/SOURCES.txt",
            "/x/EGG-INFO/PKG-INFO",
            "/x/a.dist-info/RECORD",
        ] {
            assert_eq!(classify(path), None, "{path}");
        }
        assert!(is_file_list("/x/a-1.dist-info/RECORD"));
        assert!(is_file_list("/x/a-1.egg-info/installed-files.txt"));
        assert!(!is_file_list("/x/RECORD"));
    }

    #[test]
    fn record_paths_become_absolute() {
        let record = b"../../../bin/django-admin,sha256=x,290\nDjango-2.2.dist-info/METADATA,,\ndjango/__init__.py,sha256=y,10\n\"odd,name.py\",sha256=z,1\n\n";
        assert_eq!(
            owned_files(record, "/usr/local/lib/python3.11/site-packages", true),
            vec![
                "/usr/local/bin/django-admin",
                "/usr/local/lib/python3.11/site-packages/Django-2.2.dist-info/METADATA",
                "/usr/local/lib/python3.11/site-packages/django/__init__.py",
                "/usr/local/lib/python3.11/site-packages/odd,name.py",
            ]
        );
        let list = b"../six.py\n../__pycache__/six.cpython-311.pyc\nPKG-INFO\n";
        assert_eq!(
            owned_files(
                list,
                "/usr/lib/python3/dist-packages/six-1.16.0.egg-info",
                false
            ),
            vec![
                "/usr/lib/python3/dist-packages/__pycache__/six.cpython-311.pyc",
                "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
                "/usr/lib/python3/dist-packages/six.py",
            ]
        );
    }

    #[test]
    fn join_never_climbs_above_root() {
        assert_eq!(join("/a", "../../../x"), "/x");
        assert_eq!(join("/a/b", "/abs/./c"), "/abs/c");
        assert_eq!(join("/", ".."), "/");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("a"), "/");
    }

    #[test]
    fn non_eggs_give_no_summary() {
        assert_eq!(summarize_egg("/x.egg", b"not a zip"), None);
        assert_eq!(summarize_egg("/x.egg", b""), None);
        assert_eq!(egg_pkg_info(b"PK\x03\x04garbage"), None);
        let summary = serde_json::to_vec(&EggSummary {
            pkg_info: "Name: a\n".into(),
        })
        .unwrap();
        assert_eq!(egg_pkg_info(&summary).as_deref(), Some("Name: a\n"));
    }
}
