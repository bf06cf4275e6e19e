//! One module per subcommand, and the screens they share.

pub mod admin;
mod api_client;
pub mod approve;
pub mod db;
pub mod decide;
pub mod gate;
pub mod image;
pub mod policy;
mod progress;
pub mod sbom;
pub mod scan;
pub mod server;
mod table;
pub mod version;
