//! Behaviour tests for portcullis-report: a snapshot of every format on a
//! fixed report, validation against the official SARIF 2.1.0, CycloneDX 1.6
//! and GitLab container-scanning schemas (vendored in `fixtures/schemas/`),
//! and what a reader of each format would notice, hostile text included.

#[path = "report/fixture.rs"]
mod fixture;

#[path = "report/formats.rs"]
mod formats;
#[path = "report/schema.rs"]
mod schema;
#[path = "report/snapshots.rs"]
mod snapshots;
