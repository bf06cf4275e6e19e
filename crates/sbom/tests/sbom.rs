//! Behaviour tests for portcullis-sbom: snapshots of every format, validation against the
//! published CycloneDX 1.6 and SPDX 2.3 schemas (vendored in `fixtures/schemas/`), and
//! Syft reading our documents back as the peer oracle.

#[path = "sbom/fixture.rs"]
mod fixture;

#[path = "sbom/determinism.rs"]
mod determinism;
#[path = "sbom/generated.rs"]
mod generated;
#[path = "sbom/native.rs"]
mod native;
#[path = "sbom/schema.rs"]
mod schema;
#[path = "sbom/snapshots.rs"]
mod snapshots;
#[path = "sbom/syft.rs"]
mod syft;
