//! BerkeleyDB: the ten real CentOS databases, compared with `rpm -qa`.

use std::time::Instant;

use portcullis_rpmdb::{DbFormat, Limits, detect, read_packages};

use crate::support::{assert_same, centos_databases, rpm_query};

#[test]
#[allow(
    clippy::print_stderr,
    reason = "reports per-database read times, shown with --nocapture"
)]
fn centos_databases_match_rpm_field_for_field() {
    let mut packages = 0;
    let mut files = 0;
    let mut report = Vec::new();
    for (name, path) in centos_databases() {
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(detect(&bytes), Some(DbFormat::BerkeleyDb), "{name}");
        let started = Instant::now();
        let ours = read_packages(&bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}: {:?}", std::error::Error::source(&e)));
        let took = started.elapsed();

        // rpm wants a writable directory for its lock file.
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&path, dir.path().join("Packages")).unwrap();
        let rpm = rpm_query(dir.path(), "bdb_ro");
        files += assert_same(&name, &ours, &rpm);
        packages += ours.len();
        report.push(format!("{name}: {} packages in {took:?}", ours.len()));
    }
    eprintln!("{}", report.join("\n"));
    eprintln!("{packages} packages and {files} file paths identical to rpm -qa");
    // rpm -qa and go-rpmdb's own expected tables (rpmdb_testcase.go) agree on 2,719.
    assert_eq!(
        packages, 2719,
        "the ten CentOS databases hold 2,719 packages"
    );
}
