//! Reading container images as streams into a merged file tree.
//!
//! - [`Source`]: where an image is (`oci:DIR[:TAG]`, `docker-archive:FILE[:REF]`,
//!   `docker://REF`, `dir:PATH`), parsed from skopeo's syntax.
//! - [`read_image`] with [`ReadOptions`] (the [`Platform`], safety [`Limits`], registry
//!   options, threads) and a [`Progress`] sink returns an [`Image`]: its
//!   [`ImageInfo`](portcullis_types::ImageInfo) and its [`FileTree`] of [`Node`]s.
//!
//! Data flow: the source is resolved to one image manifest (through nested indexes,
//! choosing the platform) and its config; the layers are then decoded several at once,
//! each as a stream (compression sniffed from magic bytes → tar entries), hashed against
//! their digest and diff_id, keeping the content (or a summary of it) only of the files
//! the caller's [`Selector`] selects; finally the layers are merged in order (whiteouts,
//! opaque directories, hardlinks, layer of origin). Nothing is ever written to disk.

mod blob;
mod cache;
mod docker_archive;
mod entry_path;
mod image;
mod layer;
mod manifest;
mod oci_layout;
mod options;
mod platform;
mod registry;
mod rootfs;
mod select;
mod source;
mod tree;

use portcullis_registry_client as registry_client;

pub use blob::BlobError;
pub use cache::{DirLayerCache, LayerCache};
pub use docker_archive::ArchiveError;
pub use image::{Image, ImageError, inspect, read_image};
pub use layer::LayerError;
pub use manifest::ManifestError;
pub use oci_layout::LayoutError;
pub use options::{Limits, NoProgress, Progress, ReadOptions};
pub use platform::{Platform, PlatformError};
pub use registry::RegistrySourceError;
pub use rootfs::RootfsError;
pub use select::{EntryInfo, Selection, Selector, Summarizer};
pub use source::{Source, SourceError};
pub use tree::{FileTree, Node, NodeKind, TreeError};
