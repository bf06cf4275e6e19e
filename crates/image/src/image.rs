//! Reading an image: resolve the source to a manifest, decode its layers in parallel,
//! merge them in order into a [`FileTree`].

mod decode;

use std::collections::BTreeMap;
use std::io::Read;

use portcullis_types::{Digest, ImageInfo, LayerInfo, LayerRef};

use crate::blob::BlobError;
use crate::layer::{LayerError, LayerSpec};
use crate::manifest::{Config, ManifestError, Picked};
use crate::options::{Progress, ReadOptions};
use crate::select::Selector;
use crate::source::Source;
use crate::tree::{FileTree, TreeError};
use crate::{docker_archive, oci_layout, registry, rootfs};

/// An image read into memory: what it is and its merged file tree.
#[derive(Clone, Debug)]
pub struct Image {
    pub info: ImageInfo,
    pub tree: FileTree,
}

impl Image {
    /// The reference to layer `index` that packages record as their origin.
    pub fn layer_ref(&self, index: usize) -> Option<LayerRef> {
        self.info.layers.get(index).map(|layer| LayerRef {
            index,
            digest: layer.digest.clone(),
            diff_id: layer.diff_id.clone(),
        })
    }
}

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Layout(#[from] oci_layout::LayoutError),
    #[error(transparent)]
    Archive(#[from] docker_archive::ArchiveError),
    #[error(transparent)]
    Registry(#[from] registry::RegistrySourceError),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Tree(#[from] TreeError),
}

/// Opens the stored bytes of layer `index`; may be called again for a second pass.
pub(crate) trait LayerOpener: Sync {
    fn open(&self, index: usize) -> Result<Box<dyn Read + '_>, ImageError>;

    /// Layers that can only be read in one order, one at a time (a gzip-compressed
    /// archive is one stream); `None` lets them be read in parallel.
    fn sequential_order(&self) -> Option<Vec<usize>> {
        None
    }
}

/// A source resolved to its manifest, before any layer is read.
pub(crate) struct Resolved<'a> {
    pub info: ImageInfo,
    pub layers: Vec<LayerSpec>,
    pub opener: Box<dyn LayerOpener + 'a>,
}

/// Reads an image from `source` into a merged file tree, keeping of each regular file
/// what `selector` selects: its content, a summary of it, or nothing. A plain
/// `Fn(&str) -> bool` is a selector that keeps the files it accepts.
///
/// Every blob is verified against its digest and every layer against its diff_id.
pub fn read_image(
    source: &Source,
    options: &ReadOptions,
    selector: &dyn Selector,
    progress: &dyn Progress,
) -> Result<Image, ImageError> {
    let reference = source.to_string();
    let resolved = match source {
        Source::Dir(path) => {
            let tree = rootfs::read(path, &options.limits, selector)?;
            let info = ImageInfo {
                reference,
                source_kind: source.kind().to_owned(),
                ..ImageInfo::default()
            };
            return Ok(Image { info, tree });
        }
        Source::OciLayout { dir, tag } => oci_layout::resolve(dir, tag.as_deref(), options)?,
        Source::DockerArchive { path, tag } => {
            docker_archive::resolve(path, tag.as_deref(), options)?
        }
        Source::Registry(r) => registry::resolve(r, options)?,
        Source::Blobs {
            dir,
            digest,
            readable,
        } => oci_layout::resolve_blob(dir, digest, readable, options)?,
    };
    let Resolved {
        mut info,
        layers,
        opener,
    } = resolved;
    info.reference = reference;
    info.source_kind = source.kind().to_owned();
    let tree = decode::read_layers(&layers, opener.as_ref(), options, selector, progress)?;
    Ok(Image { info, tree })
}

/// What an image is — manifest, config, layers, annotations — without reading
/// any layer: for comparing layer lists (is one image the base of another?).
/// A `dir:` source has no layers.
pub fn inspect(source: &Source, options: &ReadOptions) -> Result<ImageInfo, ImageError> {
    let reference = source.to_string();
    let mut info = match source {
        Source::Dir(_) => ImageInfo::default(),
        Source::OciLayout { dir, tag } => oci_layout::resolve(dir, tag.as_deref(), options)?.info,
        Source::DockerArchive { path, tag } => {
            docker_archive::resolve(path, tag.as_deref(), options)?.info
        }
        Source::Registry(r) => registry::resolve(r, options)?.info,
        Source::Blobs {
            dir,
            digest,
            readable,
        } => oci_layout::resolve_blob(dir, digest, readable, options)?.info,
    };
    info.reference = reference;
    info.source_kind = source.kind().to_owned();
    Ok(info)
}

/// The image info and layer specs for a manifest and its config.
pub(crate) fn describe(
    picked: &Picked,
    config_digest: &Digest,
    config: &Config,
    tags: Vec<String>,
    blob_digests_known: bool,
) -> Result<(ImageInfo, Vec<LayerSpec>), ManifestError> {
    let manifest = &picked.manifest;
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != manifest.layers.len() {
        return Err(ManifestError::LayerCountMismatch {
            digest: config_digest.clone(),
            diff_ids: diff_ids.len(),
            layers: manifest.layers.len(),
        });
    }
    let created_by = config.created_by();
    let mut infos = Vec::new();
    let mut specs = Vec::new();
    for (i, (layer, diff_id)) in manifest.layers.iter().zip(diff_ids).enumerate() {
        infos.push(LayerInfo {
            digest: layer.digest.clone(),
            diff_id: diff_id.clone(),
            size: layer.size.unwrap_or(0),
            media_type: layer.media_type.clone(),
            created_by: created_by.get(i).cloned().flatten(),
        });
        specs.push(LayerSpec {
            stored_digest: blob_digests_known.then(|| layer.digest.clone()),
            stored_size: if blob_digests_known { layer.size } else { None },
            diff_id: diff_id.clone(),
        });
    }
    let mut annotations: BTreeMap<String, String> = config.labels();
    annotations.extend(manifest.annotations.clone());
    let info = ImageInfo {
        reference: String::new(),
        source_kind: String::new(),
        manifest_digest: Some(picked.digest.clone()),
        config_digest: Some(config_digest.clone()),
        index_digest: picked.index_digest.clone(),
        platform: Some(config.platform()),
        tags,
        layers: infos,
        annotations,
        user: Some(
            config
                .config
                .as_ref()
                .and_then(|c| c.user.clone())
                .unwrap_or_default(),
        ),
        created: config.created.clone(),
    };
    Ok((info, specs))
}
