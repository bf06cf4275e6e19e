//! Behaviour tests of the catalogers on images built layer by layer, and on real rpm
//! databases checked against rpm itself.

#[path = "catalog/support.rs"]
mod support;

#[path = "catalog/apk.rs"]
mod apk;
#[path = "catalog/distro.rs"]
mod distro;
#[path = "catalog/dpkg.rs"]
mod dpkg;
#[path = "catalog/rpm.rs"]
mod rpm;
