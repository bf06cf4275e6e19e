//! `portcullis db` on the real advisory snapshots in `../shared/vulndata`:
//! every feed ingests with the counts its README states, searches find real
//! records, a killed update leaves the previous index working, and bundles
//! carry the index to another data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};

use crate::harness::{portcullis, run_ok};

const SNAPSHOTS: [&str; 9] = [
    "almalinux-osv",
    "alpine-secdb",
    "cisa-kev",
    "debian-dsa-dla",
    "go-vulndb",
    "nodejs-wg",
    "pypa",
    "rubysec",
    "rustsec",
];

fn vulndata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vulndata")
        .join(format!("{name}.tar.gz"))
}

fn db(home: &Path) -> Command {
    let mut cmd = portcullis();
    cmd.env("PORTCULLIS_HOME", home).arg("db");
    cmd
}

fn update_all(home: &Path) -> Command {
    let mut cmd = db(home);
    cmd.arg("update");
    for name in SNAPSHOTS {
        cmd.arg("--source").arg(vulndata(name));
    }
    cmd
}

fn status_json(home: &Path) -> anyhow::Result<serde_json::Value> {
    let out = run_ok(db(home).args(["status", "--format", "json"]))?;
    Ok(serde_json::from_slice(&out)?)
}

fn temp_files(home: &Path) -> Vec<String> {
    std::fs::read_dir(home.join("db"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn all_nine_snapshots_ingest_with_the_readme_counts_and_survive_a_kill() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    let out = update_all(&home).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "db update failed:\n{stderr}");

    // The counts of ../shared/vulndata/README.md, as `db update` prints them.
    for line in [
        "pypa: 7,080 OSV records → 7,080 advisories",
        "go-vulndb: 4,291 OSV records → 4,291 advisories",
        // 43 AlmaLinux errata are published for two releases under one ID; they merge.
        "almalinux-osv: 5,680 OSV records → 5,637 advisories",
        "rustsec: 1,205 RustSec advisories, 20 RustSec toolchain advisories → 1,205 advisories",
        // 1,381 advisories; 60 file names recur across gems and merge into one ID each.
        "rubysec: 1,234 RubySec gem advisories, 147 RubySec ruby advisories → 1,306 advisories, 1,381 affected packages",
        "alpine-secdb: 12,009 secfixes lines →",
        "debian-dsa-dla: 3,534 DLA, 5,406 DSA → 8,940 advisories",
        // The README's 468 + 172 count the files; each directory's index.json repeats the others.
        "nodejs-wg: 171 core advisories, 467 npm advisories → 638 advisories",
        "cisa-kev: 1,404 KEV entries, 1,404 KEV entries (CSV copy) → 0 advisories, 0 affected packages, 1,404 KEV entries",
    ] {
        ensure!(stderr.contains(line), "missing `{line}` in:\n{stderr}");
    }
    // Malformed Alpine versions are reported with source, file and reason, and skipped.
    ensure!(
        stderr.contains("alpine-secdb: 12,009 secfixes lines → 2,467 advisories, 11,951 affected packages; 31 skipped"),
        "{stderr}"
    );
    let warnings = std::fs::read_to_string(home.join("db/warnings.txt"))?;
    ensure!(
        warnings.lines().any(|l| l.starts_with("alpine-secdb: alpine-secdb/v3.7/community.yaml: quassel 0.12.5.-r0: invalid apk version `0.12.5.-r0`")),
        "{warnings}"
    );
    ensure!(warnings.lines().count() == 64, "{warnings}");

    let status = status_json(&home)?;
    let sources = status["manifest"]["sources"]
        .as_array()
        .context("sources")?;
    ensure!(sources.len() == 9, "{status}");
    let pypa = sources
        .iter()
        .find(|s| s["name"] == "pypa")
        .context("pypa")?;
    ensure!(pypa["records"]["OSV records"] == 7080, "{pypa}");
    ensure!(pypa["snapshot"] == "2026-07-23T14:34:38Z", "{pypa}");
    ensure!(pypa["formats"]["osv-yaml"] == 7080, "{pypa}");

    // Searches by alias and by package find the real records.
    let log4shell = String::from_utf8(run_ok(db(&home).args(["search", "CVE-2021-44228"]))?)?;
    ensure!(
        log4shell.contains("DSA-5020-1 (debian-dsa-dla)"),
        "{log4shell}"
    );
    ensure!(
        log4shell.contains("Debian:11 apache-log4j2 [affected] fixed in 2.15.0-1~deb11u1"),
        "{log4shell}"
    );
    ensure!(
        log4shell.contains("CVE-2021-44228: in CISA KEV since 2021-12-10"),
        "{log4shell}"
    );
    let stdlib = String::from_utf8(run_ok(db(&home).args([
        "search",
        "--package",
        "stdlib",
        "--ecosystem",
        "Go",
        "--format",
        "json",
    ]))?)?;
    let stdlib: Vec<serde_json::Value> = serde_json::from_str(&stdlib)?;
    let mut ids: Vec<&str> = stdlib
        .iter()
        .filter_map(|m| m["advisory"].as_str())
        .collect();
    ids.dedup();
    ensure!(
        ids.len() == 167,
        "the README's 167 Go entries for stdlib, got {}",
        ids.len()
    );
    let django = String::from_utf8(run_ok(db(&home).args(["search", "--package", "Django"]))?)?;
    ensure!(
        django.contains("PYSEC-2019-10 (pypa) PyPI django"),
        "{django}"
    );
    let missing = db(&home).args(["search", "CVE-1999-99999"]).output()?;
    ensure!(missing.status.code() == Some(1), "{missing:?}");

    // Kill a forced rebuild while it parses, then while it writes the new
    // index: the previous index stays in place and answers.
    let built_at = status["manifest"]["built_at"].clone();
    for phase in ["parsing", "writing"] {
        let mut child = update_all(&home)
            .arg("--force")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let started = Instant::now();
        if phase == "parsing" {
            std::thread::sleep(Duration::from_millis(300));
        } else {
            while temp_files(&home).is_empty() {
                ensure!(
                    started.elapsed() < Duration::from_secs(120),
                    "no temporary index appeared"
                );
                ensure!(
                    child.try_wait()?.is_none(),
                    "the update finished before it could be killed"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        child.kill()?;
        let exit = child.wait()?;
        // Finished on its own between the last check and the kill: the kill
        // proved nothing, and the index legitimately changed.
        ensure!(
            !exit.success(),
            "{phase}: the update completed before the kill; rerun"
        );
        let after = status_json(&home)?;
        ensure!(
            after["manifest"]["built_at"] == built_at,
            "{phase}: the index changed"
        );
        let again = String::from_utf8(run_ok(db(&home).args(["search", "CVE-2021-44228"]))?)?;
        ensure!(again == log4shell, "{phase}: search differs after the kill");
    }
    // The next update clears what the killed one left behind.
    run_ok(
        db(&home)
            .args(["update", "-q", "--source"])
            .arg(vulndata("cisa-kev")),
    )?;
    ensure!(temp_files(&home).is_empty(), "{:?}", temp_files(&home));
    Ok(())
}

#[test]
fn export_import_carries_the_index_to_an_air_gapped_home() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let online = dir.path().join("online");
    let offline = dir.path().join("offline");
    run_ok(
        db(&online)
            .args(["update", "-q"])
            .arg("--source")
            .arg(vulndata("go-vulndb"))
            .arg("--source")
            .arg(vulndata("cisa-kev")),
    )?;
    let bundle = dir.path().join("advisories.tar.zst");
    let out = db(&online).arg("export").arg(&bundle).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "{stderr}");
    ensure!(
        stderr.contains("4,291 advisories from 2 sources"),
        "{stderr}"
    );

    let out = db(&offline).arg("import").arg(&bundle).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "{stderr}");
    ensure!(stderr.contains("index SHA-256 verified"), "{stderr}");
    let search =
        |home: &Path| run_ok(db(home).args(["search", "GO-2022-0166", "--format", "json"]));
    ensure!(search(&online)? == search(&offline)?);

    // A corrupted copy is refused and changes nothing.
    let mut bytes = std::fs::read(&bundle)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let bad = dir.path().join("corrupt.tar.zst");
    std::fs::write(&bad, &bytes)?;
    let before = std::fs::read(offline.join("db/index.redb"))?;
    let out = db(&offline).arg("import").arg(&bad).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "a corrupt bundle was accepted");
    ensure!(
        stderr.contains("corrupt.tar.zst") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    ensure!(std::fs::read(offline.join("db/index.redb"))? == before);

    // Without an index, commands say how to get one.
    let empty = dir.path().join("empty");
    let out = db(&empty).arg("status").output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains("run `portcullis db update`"),
        "{stderr}"
    );
    // A source that does not exist is named.
    let out = db(&empty)
        .args(["update", "--source", "/nonexistent/feed.zip"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains("/nonexistent/feed.zip"),
        "{stderr}"
    );
    Ok(())
}
