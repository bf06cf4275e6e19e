//! Which layers of an image come from its base image, so that each finding
//! can say whether the base image or the application brought it in.
//!
//! Known two ways: `--base IMAGE`, whose layers (diff_ids) must be a prefix of
//! the scanned image's; or the OCI annotations `org.opencontainers.image.base.name`
//! and `…base.digest` that build tools record, resolved to the base's manifest
//! (no layer is downloaded). Without either, roles stay unknown.

use anyhow::{Context as _, bail};
use portcullis_image::{ReadOptions, Source};
use portcullis_types::{Finding, ImageInfo, LayerRole};

pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// The number of bottom layers that belong to the base image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub reference: String,
    pub layers: usize,
}

/// The base given by `--base`: an error if its layers are not a prefix of the image's.
pub fn explicit(image: &ImageInfo, base: &str, options: &ReadOptions) -> anyhow::Result<Base> {
    let source = Source::parse(base).with_context(|| format!("--base `{base}`"))?;
    let info = portcullis_image::inspect(&source, options)
        .with_context(|| format!("failed to read the base image `{base}`"))?;
    prefix(image, &info).with_context(|| format!("--base `{base}`"))
}

/// The base the image's annotations name, looked up by digest in its registry.
/// `Ok(None)` when the image names no base.
pub fn annotated(image: &ImageInfo, options: &ReadOptions) -> anyhow::Result<Option<Base>> {
    let (Some(name), Some(digest)) = (
        image.annotations.get(BASE_NAME),
        image.annotations.get(BASE_DIGEST),
    ) else {
        return Ok(None);
    };
    // A name may already carry a tag; the digest pins the exact base.
    let repository = name.split('@').next().unwrap_or(name);
    let reference = format!("docker://{repository}@{digest}");
    let source = Source::parse(&reference)
        .with_context(|| format!("the image's {BASE_NAME} annotation `{name}`"))?;
    let info = portcullis_image::inspect(&source, options)
        .with_context(|| format!("failed to look up the annotated base image `{reference}`"))?;
    prefix(image, &info).map(Some)
}

fn prefix(image: &ImageInfo, base: &ImageInfo) -> anyhow::Result<Base> {
    let ours: Vec<_> = image.layers.iter().map(|l| &l.diff_id).collect();
    let theirs: Vec<_> = base.layers.iter().map(|l| &l.diff_id).collect();
    if theirs.is_empty() {
        bail!("the base image has no layers");
    }
    if theirs.len() > ours.len() || ours[..theirs.len()] != theirs[..] {
        bail!(
            "`{}` is not the base of `{}`: its {} layers are not the bottom layers of the image (compare `skopeo inspect` of both)",
            base.reference,
            image.reference,
            theirs.len()
        );
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
