//! One module per subcommand, and the screens they share.

pub mod annotate;
pub mod base;
pub mod db;
pub mod image;
mod progress;
pub mod sbom;
pub mod scan;
mod table;
pub mod version;
