//! Behaviour tests for reading SBOM files (`read_sbom_file`): our own three formats read
//! back from a real image, Syft's and Trivy's CycloneDX and SPDX generated at test time for
//! the same image and compared with what the image holds, small fixtures for apk and rpm,
//! and hostile input.

#[path = "sbom/fixture.rs"]
#[allow(
    dead_code,
    reason = "shared with the writer tests, which use all of it"
)]
mod fixture;
#[path = "read/image.rs"]
mod image;

#[path = "read/fixtures.rs"]
mod fixtures;
#[path = "read/hostile.rs"]
mod hostile;
#[path = "read/ours.rs"]
mod ours;
#[path = "read/peers.rs"]
mod peers;
