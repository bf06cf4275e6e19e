//! The advisory database: feeds parsed into one model ([`feed`]) and compiled
//! into a local index.

pub mod feed;

pub use feed::{FeedKind, Parsed, Warning, detect, normalize_date, parse};
