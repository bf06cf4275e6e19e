//! One snapshot per format of the fixed report, and of the clean report for
//! the formats whose empty case differs.

use portcullis_report::{Format, write};

use crate::fixture;

fn render(format: Format, clean: bool) -> String {
    let report = if clean {
        fixture::clean()
    } else {
        fixture::report()
    };
    String::from_utf8(write(&report, format).expect("renders")).expect("UTF-8")
}

#[test]
fn table() {
    insta::assert_snapshot!(render(Format::Table, false));
}

#[test]
fn json() {
    insta::assert_snapshot!(render(Format::Json, false));
}

#[test]
fn sarif() {
    insta::assert_snapshot!(render(Format::Sarif, false));
}

#[test]
fn junit() {
    insta::assert_snapshot!(render(Format::Junit, false));
}

#[test]
fn junit_clean() {
    insta::assert_snapshot!(render(Format::Junit, true));
}

#[test]
fn gitlab() {
    insta::assert_snapshot!(render(Format::Gitlab, false));
}

#[test]
fn cyclonedx() {
    insta::assert_snapshot!(render(Format::Cyclonedx, false));
}

#[test]
fn html() {
    insta::assert_snapshot!(render(Format::Html, false));
}

/// Rendering twice gives the same bytes, whatever the order findings came in.
#[test]
fn every_format_is_deterministic() {
    let formats = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Gitlab,
        Format::Cyclonedx,
        Format::Html,
    ];
    let mut shuffled = fixture::report();
    shuffled.findings.reverse();
    let reordered = portcullis_report::ScanReport::new(
        shuffled.tool.clone(),
        shuffled.image.clone(),
        shuffled.distro.clone(),
        shuffled.database.clone(),
        shuffled.scanned_at.clone(),
        shuffled.summary.packages,
        shuffled.findings.clone(),
        shuffled.warnings.clone(),
    );
    for format in formats {
        let a = write(&fixture::report(), format).expect("renders");
        let b = write(&reordered, format).expect("renders");
        assert!(a == b, "{format:?} depends on the input order");
    }
}
