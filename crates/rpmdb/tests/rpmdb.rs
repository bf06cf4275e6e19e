//! Behaviour tests for portcullis-rpmdb, against real rpm databases and the
//! real `rpm` as the oracle.

#[path = "rpmdb/support.rs"]
mod support;

#[path = "rpmdb/bdb.rs"]
mod bdb;
#[path = "rpmdb/hostile.rs"]
mod hostile;
#[path = "rpmdb/ndb.rs"]
mod ndb;
#[path = "rpmdb/properties.rs"]
mod properties;
#[path = "rpmdb/sqlite.rs"]
mod sqlite;
