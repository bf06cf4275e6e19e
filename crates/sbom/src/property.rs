//! The `portcullis:` name–value pairs that carry what CycloneDX and SPDX have no field
//! for: CycloneDX writes them as component `properties`, SPDX as `annotations` whose
//! comment is `name=value`. Names follow the CycloneDX property taxonomy convention
//! (`vendor:scope:field`, lowercase, kebab-case) and are listed in `FORMAT.md`.

use portcullis_types::{Distro, ImageInfo, Package};

/// One name–value pair; a name may repeat (tags, files), in a meaningful order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Property {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Default)]
struct Properties(Vec<Property>);

impl Properties {
    fn push(&mut self, name: impl Into<String>, value: impl ToString) {
        self.0.push(Property {
            name: name.into(),
            value: value.to_string(),
        });
    }

    fn push_opt(&mut self, name: &str, value: Option<impl ToString>) {
        if let Some(value) = value {
            self.push(name, value);
        }
    }
}

/// The image's names and digests, its layers bottom first, and its annotations.
///
/// Layer `created_by` history is left out: build commands can carry build arguments that
/// were never meant to leave the build.
pub(crate) fn image(image: &ImageInfo) -> Vec<Property> {
    let mut p = Properties::default();
    p.push("portcullis:image:reference", &image.reference);
    p.push("portcullis:image:source-kind", &image.source_kind);
    p.push_opt(
        "portcullis:image:manifest-digest",
        image.manifest_digest.as_ref(),
    );
    p.push_opt(
        "portcullis:image:config-digest",
        image.config_digest.as_ref(),
    );
    p.push_opt("portcullis:image:index-digest", image.index_digest.as_ref());
    p.push_opt("portcullis:image:platform", image.platform.as_ref());
    p.push_opt("portcullis:image:user", image.user.as_ref());
    p.push_opt("portcullis:image:created", image.created.as_ref());
    for tag in &image.tags {
        p.push("portcullis:image:tag", tag);
    }
    for (index, layer) in image.layers.iter().enumerate() {
        p.push(
            format!("portcullis:image:layer:{index}:digest"),
            &layer.digest,
        );
        p.push(
            format!("portcullis:image:layer:{index}:diff-id"),
            &layer.diff_id,
        );
        p.push(format!("portcullis:image:layer:{index}:size"), layer.size);
        p.push_opt(
            &format!("portcullis:image:layer:{index}:media-type"),
            layer.media_type.as_ref(),
        );
    }
    for (key, value) in &image.annotations {
        p.push(format!("portcullis:image:annotation:{key}"), value);
    }
    p.0
}

/// What `os-release` said beyond the id, version and pretty name.
pub(crate) fn distro(distro: &Distro) -> Vec<Property> {
    let mut p = Properties::default();
    p.push_opt("portcullis:distro:codename", distro.codename.as_ref());
    for like in &distro.id_like {
        p.push("portcullis:distro:id-like", like);
    }
    p.push("portcullis:distro:source-path", &distro.source_path);
    p.0
}

/// A package's ecosystem, arch, source package, layer, ecosystem metadata and, when asked,
/// files. Where it was found is not here: each format has a field of its own for that.
pub(crate) fn package(package: &Package, include_files: bool) -> Vec<Property> {
    let mut p = Properties::default();
    p.push("portcullis:package:ecosystem", package.ecosystem);
    p.push_opt("portcullis:package:arch", package.arch.as_ref());
    p.push_opt(
        "portcullis:package:source-name",
        package.source_name.as_ref(),
    );
    p.push_opt(
        "portcullis:package:source-version",
        package.source_version.as_ref(),
    );
    if let Some(layer) = &package.layer {
        p.push("portcullis:layer:index", layer.index);
        p.push("portcullis:layer:digest", &layer.digest);
        p.push("portcullis:layer:diff-id", &layer.diff_id);
    }
    for (key, value) in &package.metadata {
        p.push(format!("portcullis:package:metadata:{key}"), value);
    }
    if include_files {
        for file in &package.files {
            p.push("portcullis:package:file", file);
        }
    }
    p.0
}
