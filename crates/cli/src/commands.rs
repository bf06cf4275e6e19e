//! One module per subcommand, and the screens they share.

pub mod db;
mod progress;
pub mod sbom;
mod table;
pub mod version;
