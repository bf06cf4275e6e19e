//! Behaviour tests of the registry over real loopback HTTP: raw conformance requests,
//! real skopeo and buildah pushes and pulls of the real test image, a differential run
//! against the reference registry, and a SIGKILL crash test.

#[path = "registry/clients.rs"]
mod clients;
#[path = "registry/conformance.rs"]
mod conformance;
#[path = "registry/crash.rs"]
mod crash;
#[path = "registry/differential.rs"]
mod differential;
#[path = "registry/harness.rs"]
pub mod harness;
