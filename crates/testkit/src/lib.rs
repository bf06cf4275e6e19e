//! Builders for container images in tests, producing what real tools produce.
//!
//! - [`LayerBuilder`] → [`Layer`]: a tar layer in memory (files, directories, symlinks,
//!   hardlinks, whiteouts, opaque directories, raw hostile entries), plain, gzip or zstd.
//! - [`ImageBuilder`]: layers plus config (diff_ids, history, labels, platform) and the
//!   manifest that ties them, in OCI or Docker v2 schema 2 media types.
//! - [`OciLayoutBuilder`]: writes an OCI image layout directory (tags, nested and
//!   multi-platform indexes); checked against `skopeo inspect` and `umoci` in tests.
//! - [`DockerArchiveBuilder`]: writes a `docker save` archive, classic or OCI-in-tar
//!   (Docker ≥ 25), plain or gzip-compressed.
//!
//! Everything is deterministic (fixed mtimes, owners, sorted JSON keys), so digests are
//! stable across runs. Helpers panic on I/O errors: they only run in tests.

mod archive;
pub mod differential;
mod image;
mod layer;
mod oci;

pub use archive::{ArchiveForm, DockerArchiveBuilder};
pub use image::{Descriptor, ImageBuilder};
pub use layer::{Compression, Layer, LayerBuilder};
pub use oci::OciLayoutBuilder;

use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
