//! Behaviour tests of the matcher against indexes that `portcullis-vulndb`
//! builds from feed files: small fixtures in the published Debian tracker,
//! Alpine secdb and OSV formats, and the real AlmaLinux OSV snapshot matched
//! against an rpm database written by the real `rpm`, with rpm's own version
//! comparison as the oracle.

#[path = "matcher/support.rs"]
mod support;

#[path = "matcher/distro.rs"]
mod distro;
#[path = "matcher/lookups.rs"]
mod lookups;
#[path = "matcher/rpm.rs"]
mod rpm;
