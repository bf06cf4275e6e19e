//! `db update`: fetch each source (conditional requests, retries, resume),
//! read and parse it, build a new index beside the current one and swap it in.
//!
//! When every source is remote and every file is unchanged (all `304 Not
//! Modified`, or the same SHA-256 as recorded in the current index), nothing
//! is rebuilt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::build::{SourceData, build_index, now_rfc3339};
use crate::db::{DbError, Home};
use crate::feed::Warning;
use crate::fetch::{FetchOptions, FetchOutcome, FetchProgress, Fetcher};
use crate::index::{Index, Manifest, SourceInfo};
use crate::source::{ReadLimits, read_source};

/// A named source: local paths or URLs whose files together form it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub name: String,
    #[serde(alias = "urls")]
    pub locations: Vec<String>,
}

impl SourceSpec {
    /// A source from one `--source PATH_OR_URL`: named after the file or
    /// directory (`pypa.tar.gz` → `pypa`).
    pub fn from_location(location: &str) -> SourceSpec {
        let trimmed = location.trim_end_matches('/');
        let last = trimmed
            .rsplit('/')
            .next()
            .unwrap_or(trimmed)
            .split(['?', '#'])
            .next()
            .unwrap_or_default();
        let mut name = last.to_owned();
        for suffix in [
            ".tar.gz", ".tgz", ".tar.zst", ".tar", ".zip", ".gz", ".json", ".csv", ".yaml", ".yml",
        ] {
            if let Some(stem) = name.strip_suffix(suffix) {
                name = stem.to_owned();
                break;
            }
        }
        // osv.dev's `PyPI/all.zip`, the tracker's `data/json`: the file name
        // says nothing, its directory does.
        if matches!(
            name.as_str(),
            "" | "all" | "index" | "data" | "json" | "main" | "feed"
        ) {
            let mut parts = trimmed.rsplit('/').skip(1);
            if let Some(parent) = parts.next().filter(|p| !p.is_empty() && !p.contains(':')) {
                name = format!("{}-{name}", parent.replace("%20", "-"));
            }
        }
        let mut name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        name = name.trim_start_matches(['.', '-']).to_owned();
        if name.is_empty() {
            name = "source".into();
        }
        SourceSpec {
            name,
            locations: vec![location.to_owned()],
        }
    }
}

/// The sources file (`$PORTCULLIS_HOME/sources.toml`): `[[source]]` tables
/// with `name` and `urls`, replacing the built-in list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    source: Vec<SourceSpec>,
}

/// Reads a sources file.
pub fn read_sources_file(path: &Path) -> Result<Vec<SourceSpec>, DbError> {
    let text = std::fs::read_to_string(path).map_err(crate::db::io_err(path))?;
    let file: SourcesFile =
        toml::from_str(&text).map_err(|e| DbError::Config(format!("{}: {e}", path.display())))?;
    check_names(&file.source)?;
    Ok(file.source)
}

/// Source names must be unique and usable as directory names.
pub fn check_names(specs: &[SourceSpec]) -> Result<(), DbError> {
    let mut seen = std::collections::BTreeSet::new();
    for spec in specs {
        let ok = !spec.name.is_empty()
            && spec
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !spec.name.starts_with('.');
        if !ok {
            return Err(DbError::Config(format!(
                "source name {:?} must be letters, digits, '-', '_' or '.'",
                spec.name
            )));
        }
        if !seen.insert(spec.name.as_str()) {
            return Err(DbError::Config(format!(
                "two sources are named {:?}; give each a distinct name",
                spec.name
            )));
        }
        if spec.locations.is_empty() {
            return Err(DbError::Config(format!(
                "source {:?} has no location",
                spec.name
            )));
        }
    }
    Ok(())
}

/// How an update runs.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    pub limits: ReadLimits,
    pub threads: usize,
    pub fetch: FetchOptions,
    /// Rebuild even when nothing changed.
    pub force: bool,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            limits: ReadLimits::default(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            fetch: FetchOptions::default(),
            force: false,
        }
    }
}

/// What an update reports as it goes; every method does nothing by default.
pub trait UpdateProgress: FetchProgress {
    /// A URL of `source` was fetched (or found unchanged).
    fn fetched(&self, source: &str, url: &str, outcome: &FetchOutcome) {
        let _ = (source, url, outcome);
    }
    /// `source` is being read and parsed.
    fn reading(&self, source: &str) {
        let _ = source;
    }
    /// What `source` yielded, once the index is written.
    fn read(&self, info: &SourceInfo) {
        let _ = info;
    }
    /// The index is being written.
    fn building(&self) {}
}

/// Reports nothing.
impl UpdateProgress for crate::fetch::NoProgress {}

/// What an update did.
#[derive(Debug)]
pub struct UpdateReport {
    /// The manifest of the index now installed; for an update with no
    /// changes, the current one.
    pub manifest: Manifest,
    /// True when nothing changed and no index was built.
    pub up_to_date: bool,
    pub warnings: Vec<Warning>,
}

fn is_url(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

/// The cache file name of a URL: its path, with separators made safe.
fn cache_name(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = without_scheme.split_once('/').map_or("", |(_, p)| p);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let name: String = path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches(['.', '_']).to_owned();
    if name.is_empty() {
        "index".into()
    } else {
        name
    }
}

/// Runs an update of `specs` into `home`.
pub fn update(
    home: &Home,
    specs: &[SourceSpec],
    options: &UpdateOptions,
    progress: &dyn UpdateProgress,
) -> Result<UpdateReport, DbError> {
    check_names(specs)?;
    let lock = home.lock()?;
    let current = match home.open_index() {
        Ok(index) => Some(index.manifest().clone()),
        Err(_) => None,
    };
    let fetcher = if specs.iter().flat_map(|s| &s.locations).any(|l| is_url(l)) {
        Some(Fetcher::new(options.fetch.clone())?)
    } else {
        None
    };
    // Fetch everything first: a network failure then leaves the index untouched
    // before any work is spent.
    struct Fetched {
        spec: SourceSpec,
        paths: Vec<PathBuf>,
        files: BTreeMap<String, String>,
    }
    let mut fetched: Vec<Fetched> = Vec::new();
    let mut all_unchanged = true;
    for spec in specs {
        let mut paths = Vec::new();
        let mut files = BTreeMap::new();
        for location in &spec.locations {
            if let Some(fetcher) = fetcher.as_ref().filter(|_| is_url(location)) {
                let dir = home.feeds_dir().join(&spec.name);
                std::fs::create_dir_all(&dir).map_err(crate::db::io_err(&dir))?;
                let dest = dir.join(cache_name(location));
                let outcome = fetcher.fetch(location, &dest, progress)?;
                progress.fetched(&spec.name, location, &outcome);
                let sha = match &outcome {
                    FetchOutcome::NotModified { sha256, .. } => sha256.clone(),
                    FetchOutcome::Downloaded { sha256, .. } => sha256.clone(),
                };
                files.insert(redact(location), sha);
                paths.push(dest);
            } else {
                all_unchanged = false;
                paths.push(PathBuf::from(location));
            }
        }
        let previous = current
            .as_ref()
            .and_then(|m| m.sources.iter().find(|s| s.name == spec.name));
        if previous.is_none_or(|p| p.files != files) {
            all_unchanged = false;
        }
        fetched.push(Fetched {
            spec: spec.clone(),
            paths,
            files,
        });
    }
    if let Some(manifest) = &current
        && all_unchanged
        && !options.force
        && manifest.sources.len() == specs.len()
    {
        return Ok(UpdateReport {
            manifest: manifest.clone(),
            up_to_date: true,
            warnings: Vec::new(),
        });
    }

    let mut data = Vec::new();
    let mut warnings = Vec::new();
    for Fetched { spec, paths, files } in fetched {
        progress.reading(&spec.name);
        let mut info = SourceInfo {
            name: spec.name.clone(),
            locations: spec.locations.iter().map(|l| redact(l)).collect(),
            fetched_at: now_rfc3339(),
            files,
            ..SourceInfo::default()
        };
        let mut parsed = crate::feed::Parsed::default();
        for path in &paths {
            let read = read_source(&spec.name, path, &options.limits, options.threads)?;
            for (kind, n) in read.formats {
                *info.formats.entry(kind.name().to_owned()).or_default() += n;
            }
            parsed.absorb(read.parsed);
        }
        if info.formats.is_empty() {
            return Err(DbError::Config(format!(
                "source {:?} ({}): no advisory feed recognised in it; expected OSV, Debian tracker, Alpine secdb, RustSec, RubySec, Node.js, NVD, EPSS or KEV files",
                spec.name,
                info.locations.join(", ")
            )));
        }
        warnings.extend(parsed.warnings.iter().cloned());
        data.push(SourceData { info, parsed });
    }
    progress.building();
    let tmp = home.temp_index_path(&lock);
    let manifest = match build_index(&tmp, data) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    for info in &manifest.sources {
        progress.read(info);
    }
    // Check that the new file opens before it replaces a working one.
    Index::open(&tmp)?;
    warnings.sort();
    let lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    home.install(&lock, &tmp)?;
    home.write_warnings(&lock, &lines)?;
    Ok(UpdateReport {
        manifest,
        up_to_date: false,
        warnings,
    })
}

/// A URL without the credentials it may carry.
pub fn redact(location: &str) -> String {
    if let Some((scheme, rest)) = location.split_once("://") {
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if let Some((_, host)) = authority.rsplit_once('@') {
            return format!("{scheme}://***@{host}/{path}");
        }
    }
    location.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sources_file_replaces_the_defaults_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sources.toml");
        std::fs::write(
            &path,
            "[[source]]\nname = \"mirror-osv\"\nurls = [\"https://m.invalid/osv/PyPI/all.zip\", \"/srv/feeds/go\"]\n\n[[source]]\nname = \"kev\"\nlocations = [\"https://m.invalid/kev.json\"]\n",
        )
        .unwrap();
        let specs = read_sources_file(&path).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].name, "mirror-osv");
        assert_eq!(specs[0].locations.len(), 2);
        for (text, wanted) in [
            (
                "[[source]]\nname = \"a\"\nurls = [\"x\"]\n[[source]]\nname = \"a\"\nurls = [\"y\"]\n",
                "two sources are named",
            ),
            ("[[source]]\nname = \"a\"\nurl = [\"x\"]\n", "unknown field"),
            (
                "[[source]]\nname = \"../up\"\nurls = [\"x\"]\n",
                "must be letters",
            ),
            ("[[source]]\nname = \"a\"\nurls = []\n", "has no location"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = read_sources_file(&path).unwrap_err().to_string();
            assert!(err.contains(wanted), "{text}: {err}");
        }
    }

    #[test]
    fn source_names_come_from_the_location() {
        assert_eq!(SourceSpec::from_location("/data/pypa.tar.gz").name, "pypa");
        assert_eq!(
            SourceSpec::from_location("https://m.invalid/osv/PyPI/all.zip").name,
            "PyPI-all"
        );
        assert_eq!(
            SourceSpec::from_location("https://m.invalid/Rocky%20Linux/all.zip").name,
            "Rocky-Linux-all"
        );
        assert_eq!(SourceSpec::from_location("all.zip").name, "all");
        assert_eq!(
            SourceSpec::from_location("/data/go-vulndb/").name,
            "go-vulndb"
        );
        assert_eq!(
            cache_name("https://m.invalid/v3.20/main.json?x=1"),
            "v3.20_main.json"
        );
        assert_eq!(
            redact("https://user:secret@m.invalid/a/b"),
            "https://***@m.invalid/a/b"
        );
    }
}
