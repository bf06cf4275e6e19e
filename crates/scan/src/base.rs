//! Which layers of an image come from its base image, so that each finding
//! can say whether the base image or the application brought it in.
//!
//! Known two ways: `--base IMAGE`, whose layers (diff_ids) must be a prefix of
//! the scanned image's; or the OCI annotations `org.opencontainers.image.base.name`
//! and `…base.digest` that build tools record, resolved to the base's manifest
//! (no layer is downloaded). Without either, roles stay unknown.

use portcullis_image::{ImageError, ReadOptions, Source, SourceError};
use portcullis_types::{Finding, ImageInfo, LayerRole};

pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// Why the base image's layers are unknown.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error("base image `{reference}` is not an image reference")]
    Reference {
        reference: String,
        #[source]
        source: SourceError,
    },
    #[error("failed to read the base image `{reference}`")]
    Read {
        reference: String,
        #[source]
        source: Box<ImageError>,
    },
    #[error("the base image `{0}` has no layers")]
    NoLayers(String),
    #[error(
        "`{base}` is not the base of `{image}`: its {layers} layers are not the bottom layers of the image (compare `skopeo inspect` of both)"
    )]
    NotPrefix {
        base: String,
        image: String,
        layers: usize,
    },
}

/// The number of bottom layers that belong to the base image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub reference: String,
    pub layers: usize,
}

/// The base given by `--base`: an error if its layers are not a prefix of the image's.
pub fn explicit(image: &ImageInfo, base: &str, options: &ReadOptions) -> Result<Base, BaseError> {
    let source = Source::parse(base).map_err(|source| BaseError::Reference {
        reference: base.to_owned(),
        source,
    })?;
    let info = portcullis_image::inspect(&source, options).map_err(|source| BaseError::Read {
        reference: base.to_owned(),
        source: Box::new(source),
    })?;
    prefix(image, &info)
}

/// The base the image's annotations name, looked up by digest in its registry.
/// `Ok(None)` when the image names no base.
pub fn annotated(image: &ImageInfo, options: &ReadOptions) -> Result<Option<Base>, BaseError> {
    let (Some(name), Some(digest)) = (
        image.annotations.get(BASE_NAME),
        image.annotations.get(BASE_DIGEST),
    ) else {
        return Ok(None);
    };
    // A name may already carry a tag; the digest pins the exact base.
    let repository = name.split('@').next().unwrap_or(name);
    let reference = format!("docker://{repository}@{digest}");
    let source = Source::parse(&reference).map_err(|source| BaseError::Reference {
        reference: reference.clone(),
        source,
    })?;
    let info = portcullis_image::inspect(&source, options).map_err(|source| BaseError::Read {
        reference: reference.clone(),
        source: Box::new(source),
    })?;
    prefix(image, &info).map(Some)
}

fn prefix(image: &ImageInfo, base: &ImageInfo) -> Result<Base, BaseError> {
    let ours: Vec<_> = image.layers.iter().map(|l| &l.diff_id).collect();
    let theirs: Vec<_> = base.layers.iter().map(|l| &l.diff_id).collect();
    if theirs.is_empty() {
        return Err(BaseError::NoLayers(base.reference.clone()));
    }
    if theirs.len() > ours.len() || ours[..theirs.len()] != theirs[..] {
        return Err(BaseError::NotPrefix {
            base: base.reference.clone(),
            image: image.reference.clone(),
            layers: theirs.len(),
        });
    }
    Ok(Base {
        reference: base.reference.clone(),
        layers: theirs.len(),
    })
}

/// Marks each finding whose package's layer is known.
pub fn mark(findings: &mut [Finding], base: &Base) {
    for finding in findings {
        finding.layer_role = finding.package.layer.as_ref().map(|layer| {
            if layer.index < base.layers {
                LayerRole::Base
            } else {
                LayerRole::Application
            }
        });
    }
}
