//! SQLite: databases written by the real `rpm` (packages built by the real
//! `rpmbuild`), compared with `rpm -qa`, including a write-ahead log.

use std::path::{Path, PathBuf};
use std::process::Command;

use portcullis_rpmdb::{DbFormat, Limits, detect, read_packages, read_packages_with_wal};

use crate::support::{assert_same, require, rpm_query};

/// A spec for a package with `files` files and a description of
/// `description_bytes` bytes (to push the header over several SQLite
/// overflow pages).
fn spec(name: &str, tags: &str, files: usize, description_bytes: usize) -> String {
    let description = "portcullis test package. ".repeat(description_bytes / 25 + 1);
    format!(
        "Name: {name}\n{tags}\nRelease: 4.el9\nSummary: Test package {name}\n\
         %global debug_package %{{nil}}\n\
         %description\n{description}\n\
         %install\n\
         mkdir -p %{{buildroot}}/usr/share/{name}/sub %{{buildroot}}/etc\n\
         for i in $(seq 1 {files}); do echo $i > %{{buildroot}}/usr/share/{name}/sub/file-$i.txt; done\n\
         echo cfg > %{{buildroot}}/etc/{name}.conf\n\
         %files\n/usr/share/{name}\n%config /etc/{name}.conf\n"
    )
}

/// Builds the test packages with rpmbuild; returns their paths by name.
fn build_packages(top: &Path) -> Vec<(String, PathBuf)> {
    require("rpmbuild");
    std::fs::create_dir_all(top).unwrap();
    let packages = [
        (
            "hello-tiny",
            "Epoch: 3\nVersion: 1.2.3\nLicense: MIT and (GPLv2+ or BSD)\nVendor: Portcullis Test Vendor\nBuildArch: noarch",
            3,
            0,
        ),
        // Epoch 0 must print as "0:" in EVR; no Vendor tag; arch-specific;
        // 400 files make a header larger than one page.
        (
            "zero-epoch",
            "Epoch: 0\nVersion: 2.0\nLicense: ASL 2.0",
            400,
            0,
        ),
        // A 200 KB header spans dozens of overflow pages.
        (
            "big-header",
            "Version: 0.1~rc1\nLicense: BSD\nVendor: Big Vendor\nBuildArch: noarch",
            5,
            200_000,
        ),
        (
            "doomed",
            "Version: 1\nLicense: MIT\nBuildArch: noarch",
            1,
            0,
        ),
    ];
    let mut out = Vec::new();
    for (name, tags, files, description) in packages {
        let spec_path = top.join(format!("{name}.spec"));
        std::fs::write(&spec_path, spec(name, tags, files, description)).unwrap();
        let output = Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .args(["--define", "_build_id_links none", "-bb"])
            .arg(&spec_path)
            .output()
            .expect("run rpmbuild");
        assert!(
            output.status.success(),
            "rpmbuild {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let rpm = find_rpm(&top.join("RPMS"), name).expect("built rpm");
        out.push((name.to_string(), rpm));
    }
    out
}

fn find_rpm(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_rpm(&path, name) {
                return Some(found);
            }
        } else if path
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with(&format!("{name}-")))
        {
            return Some(path);
        }
    }
    None
}

fn rpm(args: &[&str], dbpath: &Path) {
    let output = Command::new("rpm")
        .args(args)
        .arg("--dbpath")
        .arg(dbpath)
        .output()
        .expect("run rpm");
    assert!(
        output.status.success(),
        "rpm {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A database written by rpm: install all packages, then erase `doomed`.
fn make_database(dir: &Path) -> PathBuf {
    let top = dir.join("top");
    let packages = build_packages(&top);
    let db = dir.join("db");
    rpm(&["--initdb"], &db);
    let mut install = vec!["-i", "--justdb", "--nodeps", "--noscripts"];
    let paths: Vec<String> = packages
        .iter()
        .map(|(_, p)| p.display().to_string())
        .collect();
    install.extend(paths.iter().map(String::as_str));
    rpm(&install, &db);
    rpm(
        &["-e", "--justdb", "--nodeps", "--noscripts", "doomed"],
        &db,
    );
    db
}

#[test]
fn rpm_written_database_matches_rpm_field_for_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_database(dir.path());
    let bytes = std::fs::read(db.join("rpmdb.sqlite")).unwrap();
    assert_eq!(detect(&bytes), Some(DbFormat::Sqlite));
    // rpm leaves the file in WAL mode (format versions 2) after checkpointing.
    assert_eq!(&bytes[18..20], &[2, 2], "rpm left the database in WAL mode");

    let ours = read_packages(&bytes, &Limits::default()).unwrap();
    let mut names: Vec<&str> = ours.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["big-header", "hello-tiny", "zero-epoch"]);
    let rpm = rpm_query(&db, "sqlite");
    let files = assert_same("rpm-written sqlite", &ours, &rpm);
    // Each package owns /usr/share/NAME, its sub/ directory, N files and
    // /etc/NAME.conf.
    assert_eq!(files, (3 + 3) + (400 + 3) + (5 + 3));

    let by_name = |name: &str| ours.iter().find(|p| p.name == name).unwrap();
    let tiny = by_name("hello-tiny");
    assert_eq!(tiny.evr(), "3:1.2.3-4.el9");
    assert_eq!(tiny.vendor.as_deref(), Some("Portcullis Test Vendor"));
    assert_eq!(tiny.license.as_deref(), Some("MIT and (GPLv2+ or BSD)"));
    assert!(tiny.files.contains(&"/etc/hello-tiny.conf".to_string()));
    let zero = by_name("zero-epoch");
    assert_eq!(zero.evr(), "0:2.0-4.el9");
    assert_eq!(zero.vendor, None);
    assert_eq!(zero.files.len(), 403);
    assert_eq!(by_name("big-header").epoch, None);
    assert_eq!(by_name("big-header").evr(), "0.1~rc1-4.el9");
}

/// A WAL written by SQLite over an rpm database: the main file alone shows
/// the old state, main + WAL what rpm (whose SQLite recovers the WAL) shows.
#[test]
fn committed_wal_frames_are_applied() {
    require("python3");
    let dir = tempfile::tempdir().unwrap();
    let db = make_database(dir.path());
    let main = db.join("rpmdb.sqlite");
    let before = read_packages(&std::fs::read(&main).unwrap(), &Limits::default()).unwrap();

    // Remove one package and duplicate another as rpm -e / rpm -i would touch
    // the Packages table, then exit without closing so nothing is
    // checkpointed.
    let script = r#"
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA wal_autocheckpoint=0")
mode = c.execute("PRAGMA journal_mode").fetchone()[0]
assert mode == "wal", mode
c.execute("BEGIN")
c.execute("DELETE FROM Packages WHERE hnum = (SELECT min(hnum) FROM Packages)")
c.execute("INSERT INTO Packages(blob) SELECT blob FROM Packages WHERE hnum = (SELECT max(hnum) FROM Packages)")
c.execute("COMMIT")
sys.stdout.flush()
os._exit(0)
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(&main)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "python3 sqlite3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let main_bytes = std::fs::read(&main).unwrap();
    let wal_bytes = std::fs::read(db.join("rpmdb.sqlite-wal")).unwrap();
    assert!(
        !wal_bytes.is_empty(),
        "the WAL should hold the uncheckpointed commit"
    );

    let main_only = read_packages(&main_bytes, &Limits::default()).unwrap();
    assert_eq!(
        main_only, before,
        "the main file alone still shows the old state"
    );
    let with_wal =
        read_packages_with_wal(&main_bytes, Some(&wal_bytes), &Limits::default()).unwrap();
    // The lowest header number is gone; the highest one appears twice.
    assert_eq!(with_wal.len(), before.len());
    assert_eq!(with_wal[..with_wal.len() - 1], before[1..]);
    let (last, copy) = (&with_wal[with_wal.len() - 2], &with_wal[with_wal.len() - 1]);
    assert_eq!(
        (copy.name.as_str(), copy.header_number),
        (last.name.as_str(), last.header_number + 1)
    );

    // rpm opens the copy, recovers the WAL and lists the new state.
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::write(copy.join("rpmdb.sqlite"), &main_bytes).unwrap();
    std::fs::write(copy.join("rpmdb.sqlite-wal"), &wal_bytes).unwrap();
    let rpm = rpm_query(&copy, "sqlite");
    assert_same("sqlite with wal", &with_wal, &rpm);

    // A truncated WAL keeps only the commits that are whole.
    let cut = read_packages_with_wal(
        &main_bytes,
        Some(&wal_bytes[..wal_bytes.len() - 1]),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(cut, before, "a torn last frame drops the only commit");
}
