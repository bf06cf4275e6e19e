//! Shared helpers: building an index from feed files with the public vulndb
//! API, hand-built packages and SBOMs, and reading findings back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};
use portcullis_matcher::Matches;
use portcullis_types::{Distro, Ecosystem, Finding, ImageInfo, Package, Sbom, ToolInfo};
use portcullis_vulndb::fetch::NoProgress;
use portcullis_vulndb::{Home, Index, SourceSpec, UpdateOptions};

/// The install line for the tools these tests run (scripts/test.sh runs it).
pub const RPM_INSTALL: &str = "apt-get install -y rpm";

/// `tests/fixtures/distro/<rest>`.
pub fn fixture(rest: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/distro")
        .join(rest)
}

/// `../shared/vulndata/<name>`, the real advisory snapshots.
pub fn vulndata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vulndata")
        .join(name)
}

/// Fails with the install command when a tool is missing.
pub fn require(tool: &str, install: &str) -> Result<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ensure!(
        found,
        "`{tool}` is not installed; run `{install}` (scripts/test.sh does)"
    );
    Ok(())
}

/// An index built in a temporary home, alive as long as this value.
pub struct Built {
    pub index: Index,
    /// Every record the update skipped, as `db update` reports them.
    pub warnings: Vec<String>,
    _home: tempfile::TempDir,
}

/// Runs `db update` over `(source name, path)` pairs and opens the index.
pub fn build_index(sources: &[(&str, PathBuf)]) -> Result<Built> {
    let home_dir = tempfile::tempdir()?;
    let home = Home::new(home_dir.path());
    let specs: Vec<SourceSpec> = sources
        .iter()
        .map(|(name, path)| SourceSpec {
            name: (*name).to_owned(),
            locations: vec![path.display().to_string()],
        })
        .collect();
    let report = portcullis_vulndb::update(&home, &specs, &UpdateOptions::default(), &NoProgress)
        .context("db update over the fixtures")?;
    let index = home.open_index()?;
    Ok(Built {
        index,
        warnings: report.warnings.iter().map(ToString::to_string).collect(),
        _home: home_dir,
    })
}

/// The index of every distro fixture, under the source names `db update`
/// uses by default (`debian-tracker`, `alpine-secdb`, `osv-…`).
pub fn distro_index() -> Result<Built> {
    let built = build_index(&[
        ("debian-tracker", fixture("debian-tracker/data.json")),
        ("alpine-secdb", fixture("alpine-secdb")),
        ("osv-debian", fixture("osv/debian")),
        ("osv-ubuntu", fixture("osv/ubuntu")),
        ("osv-almalinux", fixture("osv/almalinux")),
    ])?;
    ensure!(
        built.warnings.is_empty(),
        "the fixtures must parse cleanly: {:#?}",
        built.warnings
    );
    Ok(built)
}

pub fn distro(id: &str, version_id: Option<&str>, codename: Option<&str>) -> Distro {
    Distro {
        id: id.to_owned(),
        version_id: version_id.map(str::to_owned),
        codename: codename.map(str::to_owned),
        source_path: "/etc/os-release".to_owned(),
        ..Distro::default()
    }
}

/// An OS or language package as a cataloger would list it.
pub fn package(
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    source: Option<(&str, &str)>,
) -> Package {
    let found_in = match ecosystem {
        Ecosystem::Deb => "/var/lib/dpkg/status",
        Ecosystem::Apk => "/lib/apk/db/installed",
        Ecosystem::Rpm => "/var/lib/rpm/rpmdb.sqlite",
        _ => "/app/lockfile",
    };
    Package {
        ecosystem,
        name: name.to_owned(),
        version: version.to_owned(),
        arch: None,
        source_name: source.map(|(n, _)| n.to_owned()),
        source_version: source.map(|(_, v)| v.to_owned()),
        licenses: Vec::new(),
        purl: format!("pkg:{}/{name}@{version}", ecosystem.as_str()),
        layer: None,
        found_in: vec![found_in.to_owned()],
        files: Vec::new(),
        metadata: BTreeMap::new(),
    }
}

pub fn deb(name: &str, version: &str, source: &str, source_version: &str) -> Package {
    package(
        Ecosystem::Deb,
        name,
        version,
        Some((source, source_version)),
    )
}

pub fn apk(name: &str, version: &str, origin: &str) -> Package {
    package(Ecosystem::Apk, name, version, Some((origin, version)))
}

pub fn sbom(distro: Distro, packages: Vec<Package>) -> Sbom {
    Sbom {
        tool: ToolInfo {
            name: "portcullis".to_owned(),
            version: "test".to_owned(),
        },
        image: ImageInfo::default(),
        distro: Some(distro),
        packages,
    }
}

/// `(package, finding ID)` of every finding, sorted.
pub fn pairs(matches: &Matches) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = matches
        .findings
        .iter()
        .map(|f| (f.package.name.clone(), f.id.clone()))
        .collect();
    out.sort();
    out
}

/// The one finding of `id` for `package`.
pub fn finding<'a>(matches: &'a Matches, package: &str, id: &str) -> &'a Finding {
    let found: Vec<&Finding> = matches
        .findings
        .iter()
        .filter(|f| f.package.name == package && f.id == id)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one finding {id} for {package}, got {}; all: {:?}",
        found.len(),
        pairs(matches)
    );
    found[0]
}

/// `source/advisory` of every match behind a finding, in its order.
pub fn matched(finding: &Finding) -> Vec<String> {
    finding
        .matched
        .iter()
        .map(|m| format!("{}/{}", m.source, m.advisory))
        .collect()
}
