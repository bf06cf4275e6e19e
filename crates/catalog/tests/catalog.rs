//! Behaviour tests of the catalogers on images built layer by layer, and on real rpm
//! databases checked against rpm itself.

#[path = "catalog/support.rs"]
mod support;

#[path = "catalog/apk.rs"]
mod apk;
#[path = "catalog/distro.rs"]
mod distro;
#[path = "catalog/dotnet.rs"]
mod dotnet;
#[path = "catalog/dpkg.rs"]
mod dpkg;
#[path = "catalog/golang.rs"]
mod golang;
#[path = "catalog/java.rs"]
mod java;
#[path = "catalog/npm.rs"]
mod npm;
#[path = "catalog/php.rs"]
mod php;
#[path = "catalog/python.rs"]
mod python;
#[path = "catalog/rpm.rs"]
mod rpm;
#[path = "catalog/ruby.rs"]
mod ruby;
#[path = "catalog/rust.rs"]
mod rust;
