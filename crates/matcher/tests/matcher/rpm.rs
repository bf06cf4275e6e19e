//! rpm matching on real data: packages named and versioned like AlmaLinux 9
//! packages, built with the real `rpmbuild` and installed into an SQLite rpm
//! database by the real `rpm`, read back by the catalog's rpm cataloger, and
//! matched against the real AlmaLinux OSV snapshot. Which errata must match
//! is computed from the snapshot's JSON with rpm's own `rpm.vercmp` as the
//! version oracle.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use portcullis_image::{NoProgress, ReadOptions, Source};
use portcullis_matcher::find;
use portcullis_types::{AffectedStatus, Ecosystem, MatchDetail, Sbom, SeverityLevel, ToolInfo};
use serde_json::Value;

use crate::support::{RPM_INSTALL, build_index, require, vulndata};

/// One source rpm to build: its binary package is `name`, or `name-sub`.
struct Spec {
    source: &'static str,
    subpackage: Option<&'static str>,
    epoch: Option<u32>,
    version: &'static str,
    release: &'static str,
}

/// AlmaLinux 9 packages as they were shipped: each equal to the fixed EVR
/// of one real erratum and older than later ones; two with an epoch; one
/// binary built from a source of another name; one no erratum names.
const SPECS: [Spec; 5] = [
    Spec {
        source: "less",
        subpackage: None,
        epoch: None,
        version: "590",
        release: "2.el9_2",
    },
    Spec {
        source: "openssl",
        subpackage: Some("libs"),
        epoch: Some(1),
        version: "3.0.7",
        release: "27.el9",
    },
    Spec {
        source: "tar",
        subpackage: None,
        epoch: Some(2),
        version: "1.34",
        release: "6.el9_1",
    },
    Spec {
        source: "expat",
        subpackage: None,
        epoch: None,
        version: "2.5.0",
        release: "1.el9_3.1",
    },
    Spec {
        source: "filesystem",
        subpackage: None,
        epoch: None,
        version: "3.16",
        release: "2.el9",
    },
];

fn spec_text(spec: &Spec) -> String {
    let mut text = format!("Name: {}\n", spec.source);
    if let Some(epoch) = spec.epoch {
        text.push_str(&format!("Epoch: {epoch}\n"));
    }
    text.push_str(&format!(
        "Version: {}\nRelease: {}\nSummary: {} as AlmaLinux 9 ships it\nLicense: MIT\n\
         Vendor: AlmaLinux\n%global debug_package %{{nil}}\n%description\nTest package.\n",
        spec.version, spec.release, spec.source
    ));
    match spec.subpackage {
        Some(sub) => text.push_str(&format!(
            "%package {sub}\nSummary: {sub} of {}\n%description {sub}\nTest subpackage.\n\
             %files {sub}\n",
            spec.source
        )),
        None => text.push_str("%files\n"),
    }
    text
}

fn run(command: &mut Command) -> Result<String> {
    let output = command
        .env("LC_ALL", "C")
        .output()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn find_rpms(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_rpms(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rpm") {
            out.push(path);
        }
    }
    Ok(())
}

/// Builds the packages and installs them into `root/var/lib/rpm` (SQLite),
/// with an AlmaLinux 9.4 `/etc/os-release`.
fn make_root(work: &Path) -> Result<PathBuf> {
    require("rpmbuild", RPM_INSTALL)?;
    require("rpm", RPM_INSTALL)?;
    let top = work.join("rpmbuild");
    for spec in &SPECS {
        let path = work.join(format!("{}.spec", spec.source));
        std::fs::write(&path, spec_text(spec))?;
        run(Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .args(["--define", "_build_id_links none", "-bb"])
            .arg(&path))?;
    }
    let mut rpms = Vec::new();
    find_rpms(&top.join("RPMS"), &mut rpms)?;
    rpms.sort();
    ensure!(rpms.len() == SPECS.len(), "built {rpms:?}");

    let root = work.join("root");
    let db = root.join("var/lib/rpm");
    std::fs::create_dir_all(&db)?;
    let rpm = || {
        let mut c = Command::new("rpm");
        c.arg("--dbpath")
            .arg(&db)
            .args(["--define", "_db_backend sqlite"]);
        c
    };
    run(rpm().arg("--initdb"))?;
    run(rpm()
        .args(["-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch"])
        .args(&rpms))?;
    ensure!(
        db.join("rpmdb.sqlite").is_file(),
        "rpm wrote no rpmdb.sqlite"
    );
    std::fs::create_dir_all(root.join("etc"))?;
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"AlmaLinux\"\nVERSION=\"9.4 (Seafoam Ocelot)\"\nID=\"almalinux\"\n\
         ID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPLATFORM_ID=\"platform:el9\"\n\
         PRETTY_NAME=\"AlmaLinux 9.4 (Seafoam Ocelot)\"\n",
    )?;
    Ok(root)
}

/// `name → EVR` as rpm itself prints the installed packages (epoch 0 when
/// there is none, as rpm compares).
fn installed_by_rpm(root: &Path) -> Result<BTreeMap<String, String>> {
    let text = run(Command::new("rpm")
        .arg("--dbpath")
        .arg(root.join("var/lib/rpm"))
        .args(["--define", "_db_backend sqlite", "-qa", "--qf"])
        .arg("%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n"))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, evr)| (n.to_owned(), evr.to_owned()))
        .collect())
}

/// rpm's own comparison of each pair: -1, 0 or 1.
fn rpm_vercmp(pairs: &[(String, String)]) -> Result<Vec<i32>> {
    let mut command = Command::new("rpm");
    for (a, b) in pairs {
        ensure!(
            [a, b].iter().all(|v| v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._:~^+-".contains(c))),
            "unexpected characters in {a} or {b}"
        );
        command
            .arg("--eval")
            .arg(format!("%{{lua: print(rpm.vercmp(\"{a}\", \"{b}\"))}}"));
    }
    let text = run(&mut command)?;
    let out: Vec<i32> = text
        .lines()
        .map(|l| l.trim().parse::<i32>().map(i32::signum))
        .collect::<Result<_, _>>()
        .with_context(|| format!("rpm --eval printed {text:?}"))?;
    ensure!(out.len() == pairs.len(), "rpm --eval printed {text:?}");
    Ok(out)
}

/// One erratum's fixed EVR for one installed package.
#[derive(Debug, Clone)]
struct Fix {
    id: String,
    package: String,
    fixed: String,
    summary: String,
}

/// Every non-withdrawn AlmaLinux 9 erratum naming one of `names`, read from
/// the snapshot. Ranges are checked to be `introduced 0, fixed X`, the only
/// shape the oracle below evaluates.
fn errata_for(names: &BTreeSet<String>) -> Result<Vec<Fix>> {
    let path = vulndata("almalinux-osv.tar.gz");
    let file = std::fs::File::open(&path).with_context(|| path.display().to_string())?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut fixes = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if !name.contains("/almalinux9/") || !name.ends_with(".json") {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        let record: Value = serde_json::from_slice(&bytes).with_context(|| name.clone())?;
        let id = record["id"].as_str().context("id")?.to_owned();
        let mut mine = Vec::new();
        for affected in record["affected"].as_array().into_iter().flatten() {
            let package = affected["package"]["name"].as_str().unwrap_or_default();
            if affected["package"]["ecosystem"] != "AlmaLinux:9" || !names.contains(package) {
                continue;
            }
            for range in affected["ranges"].as_array().into_iter().flatten() {
                let events = range["events"].as_array().context("events")?;
                let fixed = match events.as_slice() {
                    [first, second]
                        if range["type"] == "ECOSYSTEM"
                            && first["introduced"] == "0"
                            && second["fixed"].is_string() =>
                    {
                        second["fixed"].as_str().unwrap_or_default()
                    }
                    _ => bail!("{id}: range shape this test cannot judge: {range}"),
                };
                mine.push(Fix {
                    id: id.clone(),
                    package: package.to_owned(),
                    fixed: fixed.to_owned(),
                    summary: record["summary"].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
        if mine.is_empty() {
            continue;
        }
        // A withdrawn erratum never matches.
        if record.get("withdrawn").is_some_and(|w| !w.is_null()) {
            continue;
        }
        // No CVE aliases: each erratum is its own finding.
        ensure!(
            record["aliases"].as_array().is_none_or(|a| a.is_empty()),
            "{id} has aliases; the expectation below assumes none"
        );
        fixes.extend(mine);
    }
    Ok(fixes)
}

/// The rating AlmaLinux gives as the summary's first word.
fn errata_severity(summary: &str) -> SeverityLevel {
    match summary.split(':').next() {
        Some("Critical") => SeverityLevel::Critical,
        Some("Important") => SeverityLevel::High,
        Some("Moderate") => SeverityLevel::Medium,
        Some("Low") => SeverityLevel::Low,
        _ => SeverityLevel::Unknown,
    }
}

#[test]
fn real_almalinux_errata_match_an_rpm_written_database_as_rpm_orders_versions() -> Result<()> {
    let work = tempfile::tempdir()?;
    let root = make_root(work.path())?;

    // The catalog reads the database and the distro as a scan would.
    let image = portcullis_image::read_image(
        &Source::Dir(root.clone()),
        &ReadOptions::default(),
        portcullis_catalog::selector(),
        &NoProgress,
    )?;
    let catalog = portcullis_catalog::catalog(&image)?;
    let distro = catalog.distro.clone().context("no distro detected")?;
    assert_eq!(distro.id, "almalinux");
    assert_eq!(distro.version_id.as_deref(), Some("9.4"));
    let versions: BTreeMap<&str, &str> = catalog
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        versions,
        BTreeMap::from([
            ("expat", "2.5.0-1.el9_3.1"),
            ("filesystem", "3.16-2.el9"),
            ("less", "590-2.el9_2"),
            ("openssl-libs", "1:3.0.7-27.el9"),
            ("tar", "2:1.34-6.el9_1"),
        ])
    );
    assert!(
        catalog
            .packages
            .iter()
            .all(|p| p.ecosystem == Ecosystem::Rpm)
    );
    let libs = catalog
        .packages
        .iter()
        .find(|p| p.name == "openssl-libs")
        .context("openssl-libs")?;
    assert_eq!(libs.source_name.as_deref(), Some("openssl"));

    // The expectation: every erratum whose fixed EVR is newer than the
    // installed one, as rpm compares them.
    let installed = installed_by_rpm(&root)?;
    let names: BTreeSet<String> = installed.keys().cloned().collect();
    let fixes = errata_for(&names)?;
    let pairs: Vec<(String, String)> = fixes
        .iter()
        .map(|f| (installed[&f.package].clone(), f.fixed.clone()))
        .collect();
    let order = rpm_vercmp(&pairs)?;
    let mut expected: BTreeMap<(String, String), &Fix> = BTreeMap::new();
    let mut equal = BTreeSet::new();
    for (fix, cmp) in fixes.iter().zip(&order) {
        match cmp {
            -1 => {
                expected.insert((fix.package.clone(), fix.id.clone()), fix);
            }
            0 => {
                equal.insert(fix.package.clone());
            }
            _ => {}
        }
    }
    // The data still exercises what the test is about: each package but
    // `filesystem` is exactly at one erratum's fix and behind later ones.
    for name in ["expat", "less", "openssl-libs", "tar"] {
        assert!(equal.contains(name), "{name} equals no fixed EVR");
        assert!(
            expected.keys().any(|(p, _)| p == name),
            "{name} is behind no erratum"
        );
    }
    assert!(!fixes.iter().any(|f| f.package == "filesystem"));
    // less 2, openssl-libs 8, tar 1, expat 6 in this snapshot: a guard
    // against an oracle that silently answers nothing.
    assert_eq!(expected.len(), 17, "{:?}", expected.keys());

    let built = build_index(&[("almalinux-osv", vulndata("almalinux-osv.tar.gz"))])?;
    let sbom = Sbom {
        tool: ToolInfo {
            name: "portcullis".to_owned(),
            version: "test".to_owned(),
        },
        image: image.info.clone(),
        distro: Some(distro),
        packages: catalog.packages.clone(),
    };
    let matches = find(&sbom, &built.index)?;
    assert!(matches.warnings.is_empty(), "{:?}", matches.warnings);
    let got: BTreeSet<(String, String)> = matches
        .findings
        .iter()
        .map(|f| (f.package.name.clone(), f.id.clone()))
        .collect();
    let want: BTreeSet<(String, String)> = expected.keys().cloned().collect();
    assert_eq!(
        got.difference(&want).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "reported but rpm says fixed"
    );
    assert_eq!(
        want.difference(&got).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "missed though rpm says vulnerable"
    );
    assert_eq!(
        matches.findings.len(),
        expected.len(),
        "one finding per erratum"
    );

    for f in &matches.findings {
        let fix = expected[&(f.package.name.clone(), f.id.clone())];
        assert!(f.aliases.is_empty(), "{}", f.id);
        assert_eq!(f.status, AffectedStatus::Affected, "{}", f.id);
        assert_eq!(
            f.fixed_versions,
            std::slice::from_ref(&fix.fixed),
            "{}",
            f.id
        );
        assert_eq!(f.severity, errata_severity(&fix.summary), "{}", f.id);
        let source = (f.severity != SeverityLevel::Unknown).then_some("almalinux");
        assert_eq!(f.severity_source.as_deref(), source, "{}", f.id);
        assert_eq!(f.summary.as_deref(), Some(fix.summary.as_str()));
        assert_eq!(
            f.matched,
            [MatchDetail {
                advisory: f.id.clone(),
                source: "almalinux-osv".to_owned(),
                ecosystem: "AlmaLinux:9".to_owned(),
                field: "name".to_owned(),
                name: f.package.name.clone(),
                version: f.package.version.clone(),
                range: format!("introduced 0, fixed {}", fix.fixed),
                status: AffectedStatus::Affected,
            }]
        );
    }
    Ok(())
}
