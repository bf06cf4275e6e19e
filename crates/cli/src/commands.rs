//! One module per subcommand, and the screens they share.

pub mod annotate;
pub mod base;
pub mod db;
pub mod decide;
pub mod image;
pub mod policy;
mod progress;
pub mod sbom;
pub mod scan;
mod table;
pub mod version;
