//! One module per subcommand, and the screens they share.

mod progress;
pub mod sbom;
mod table;
pub mod version;
