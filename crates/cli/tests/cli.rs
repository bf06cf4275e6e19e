//! Behaviour tests of the `portcullis` binary, run as users run it.

#[path = "cli/db.rs"]
mod db;
#[path = "cli/gate.rs"]
mod gate;
#[path = "cli/gate_examples.rs"]
mod gate_examples;
#[path = "cli/harness.rs"]
mod harness;
#[path = "cli/help.rs"]
mod help;
#[path = "cli/peers.rs"]
mod peers;
#[path = "cli/policy.rs"]
mod policy;
#[path = "cli/sbom_errors.rs"]
mod sbom_errors;
#[path = "cli/sbom_languages.rs"]
mod sbom_languages;
#[path = "cli/sbom_real_image.rs"]
mod sbom_real_image;
#[path = "cli/scan.rs"]
mod scan;
#[path = "cli/scan_oracle.rs"]
mod scan_oracle;
#[path = "cli/security_auth.rs"]
mod security_auth;
#[path = "cli/server.rs"]
mod server;
#[path = "cli/server_approval.rs"]
mod server_approval;
#[path = "cli/server_crash.rs"]
mod server_crash;
#[path = "cli/server_differential.rs"]
mod server_differential;
#[path = "cli/server_events.rs"]
mod server_events;
#[path = "cli/server_harness.rs"]
mod server_harness;
#[path = "cli/version.rs"]
mod version;
