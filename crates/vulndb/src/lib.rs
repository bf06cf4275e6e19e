//! The advisory database.
//!
//! Data flows one way: a [`SourceSpec`] names paths or URLs; [`fetch`]
//! downloads URLs into the feed cache with conditional requests; [`source`]
//! walks directories and archives and [`feed`] recognises each file's format
//! and parses it into the normalised model of `portcullis-types`; [`build`]
//! merges records and writes the [`Index`] (redb), which implements
//! `AdvisorySource`; [`db::Home`] swaps new indexes in atomically; [`bundle`]
//! carries an index into air-gapped sites.

pub mod build;
pub mod bundle;
pub mod db;
pub mod defaults;
pub mod feed;
pub mod fetch;
pub mod index;
pub mod source;
pub mod update;

pub use db::{DbError, Home};
pub use feed::{FeedKind, Parsed, Warning, detect, normalize_date, parse};
pub use index::{Index, IndexError, Manifest, SCHEMA_VERSION, SourceInfo};
pub use update::{SourceSpec, UpdateOptions, UpdateProgress, UpdateReport, update};
