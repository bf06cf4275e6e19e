//! OCI image layout directories.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::image::{Descriptor, ImageBuilder};

/// Writes an OCI image layout: blobs, nested indexes, and `index.json` on
/// [`finish`](Self::finish).
#[derive(Debug)]
pub struct OciLayoutBuilder {
    dir: PathBuf,
    entries: Vec<Value>,
}

impl OciLayoutBuilder {
    /// Creates `dir` with `oci-layout` and an empty blob store.
    pub fn new(dir: &Path) -> Self {
        fs::create_dir_all(dir.join("blobs/sha256")).expect("create layout");
        fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("write oci-layout");
        Self {
            dir: dir.to_owned(),
            entries: Vec::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores a blob and returns its descriptor.
    pub fn blob(&mut self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let d = Descriptor::of(media_type, bytes);
        fs::write(self.dir.join("blobs/sha256").join(d.hex()), bytes).expect("write blob");
        d
    }

    /// Stores an image's layers, config and manifest; returns the manifest descriptor.
    pub fn image(&mut self, image: &ImageBuilder) -> Descriptor {
        for layer in &image.layers {
            self.blob(&layer.media_type, &layer.bytes);
        }
        let config = image.config_json();
        self.blob("application/vnd.oci.image.config.v1+json", &config);
        let manifest = image.manifest_json();
        self.blob("", &manifest);
        image.manifest_descriptor()
    }

    /// Stores an index (an OCI image index) of these manifests or indexes.
    pub fn index(&mut self, manifests: &[Descriptor]) -> Descriptor {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests.iter().map(Descriptor::to_json).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&index).expect("json");
        self.blob("application/vnd.oci.image.index.v1+json", &bytes)
    }

    /// Lists `descriptor` in `index.json`, tagged `tag` when given.
    pub fn tag(&mut self, descriptor: &Descriptor, tag: Option<&str>) -> &mut Self {
        let mut v = descriptor.to_json();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("platform");
        }
        if let Some(tag) = tag {
            v["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
        }
        self.entries.push(v);
        self
    }

    /// Writes `index.json`.
    pub fn finish(&self) {
        let index = json!({ "schemaVersion": 2, "manifests": self.entries });
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).expect("json"),
        )
        .expect("write index.json");
    }

    /// A one-image layout tagged `tag`, in one call.
    pub fn write_single(dir: &Path, image: &ImageBuilder, tag: &str) -> Descriptor {
        let mut layout = Self::new(dir);
        let d = layout.image(image);
        layout.tag(&d, Some(tag)).finish();
        d
    }
}
