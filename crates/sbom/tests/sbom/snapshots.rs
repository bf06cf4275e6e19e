//! Every format, on the mixed SBOM (with a timestamp) and on the empty one (without).

use portcullis_sbom::{Format, WriteOptions, to_string};

use crate::fixture;

fn render(sbom: &portcullis_types::Sbom, format: Format, options: &WriteOptions) -> String {
    to_string(sbom, format, options).expect("the fixture renders")
}

#[test]
fn mixed_native_json() {
    insta::assert_snapshot!(render(
        &fixture::mixed(),
        Format::Json,
        &fixture::timestamped()
    ));
}

#[test]
fn mixed_cyclonedx() {
    insta::assert_snapshot!(render(
        &fixture::mixed(),
        Format::CycloneDx,
        &fixture::timestamped()
    ));
}

#[test]
fn mixed_spdx() {
    insta::assert_snapshot!(render(
        &fixture::mixed(),
        Format::Spdx,
        &fixture::timestamped()
    ));
}

#[test]
fn empty_native_json() {
    insta::assert_snapshot!(render(
        &fixture::empty(),
        Format::Json,
        &WriteOptions::default()
    ));
}

#[test]
fn empty_cyclonedx() {
    insta::assert_snapshot!(render(
        &fixture::empty(),
        Format::CycloneDx,
        &WriteOptions::default()
    ));
}

#[test]
fn empty_spdx() {
    insta::assert_snapshot!(render(
        &fixture::empty(),
        Format::Spdx,
        &WriteOptions::default()
    ));
}
