//! docker-archives, as `docker save` writes them.

use std::path::Path;

use serde_json::json;

use crate::image::{Descriptor, ImageBuilder};
use crate::layer::gzip;
use crate::sha256_digest;

/// Which `docker save` layout to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveForm {
    /// Docker < 25: `manifest.json`, `<id>/layer.tar`, `<config hex>.json`, `repositories`.
    Classic,
    /// Docker ≥ 25: an OCI layout (`oci-layout`, `index.json`, `blobs/sha256/…`) plus a
    /// `manifest.json` whose paths point into `blobs/`.
    OciInTar,
}

/// Writes a docker-archive of one or more images.
#[derive(Debug)]
pub struct DockerArchiveBuilder {
    form: ArchiveForm,
    gzip: bool,
    images: Vec<(ImageBuilder, Vec<String>)>,
}

impl DockerArchiveBuilder {
    pub fn new(form: ArchiveForm) -> Self {
        Self {
            form,
            gzip: false,
            images: Vec::new(),
        }
    }

    /// Compress the whole archive with gzip (`docker save | gzip`).
    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    /// Adds an image with its repo tags (`org/app:1`).
    pub fn image(mut self, image: ImageBuilder, repo_tags: &[&str]) -> Self {
        self.images
            .push((image, repo_tags.iter().map(|t| (*t).to_owned()).collect()));
        self
    }

    /// The archive bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut h, name, data).expect("tar entry");
        };
        let mut manifest = Vec::new();
        let mut index = Vec::new();
        let mut written = std::collections::BTreeSet::new();
        for (image, tags) in &self.images {
            let config = image.config_json();
            let config_d = image.config_descriptor();
            let layers: Vec<String> = match self.form {
                ArchiveForm::Classic => {
                    let config_path = format!("{}.json", config_d.hex());
                    if written.insert(config_path.clone()) {
                        add(&config_path, &config);
                    }
                    image
                        .layers
                        .iter()
                        .enumerate()
                        .map(|(i, layer)| {
                            // Docker's layer ids are chain hashes; any stable id will do.
                            let id = sha256_digest(format!("{i}{}", layer.diff_id).as_bytes());
                            let path = format!("{}/layer.tar", id.trim_start_matches("sha256:"));
                            if written.insert(path.clone()) {
                                add(&path, &layer.bytes);
                            }
                            path
                        })
                        .collect()
                }
                ArchiveForm::OciInTar => {
                    let mut blob = |media_type: &str, bytes: &[u8]| {
                        let d = Descriptor::of(media_type, bytes);
                        let path = format!("blobs/sha256/{}", d.hex());
                        if written.insert(path.clone()) {
                            add(&path, bytes);
                        }
                        path
                    };
                    let paths: Vec<String> = image
                        .layers
                        .iter()
                        .map(|l| blob(&l.media_type, &l.bytes))
                        .collect();
                    blob("", &config);
                    let manifest_bytes = image.manifest_json();
                    blob("", &manifest_bytes);
                    let mut d = image.manifest_descriptor().to_json();
                    if let Some(tag) = tags.first() {
                        d["annotations"] = json!({
                            "io.containerd.image.name": format!("docker.io/{tag}"),
                            "org.opencontainers.image.ref.name": tag.rsplit_once(':').map_or("latest", |(_, t)| t),
                        });
                    }
                    index.push(d);
                    paths
                }
            };
            let config_path = match self.form {
                ArchiveForm::Classic => format!("{}.json", config_d.hex()),
                ArchiveForm::OciInTar => format!("blobs/sha256/{}", config_d.hex()),
            };
            manifest.push(json!({ "Config": config_path, "RepoTags": tags, "Layers": layers }));
        }
        if self.form == ArchiveForm::OciInTar {
            add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
            let index = json!({ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index });
            add("index.json", &serde_json::to_vec(&index).expect("json"));
        }
        add(
            "manifest.json",
            &serde_json::to_vec(&manifest).expect("json"),
        );
        let bytes = tar.into_inner().expect("tar in memory");
        if self.gzip { gzip(&bytes) } else { bytes }
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.bytes()).expect("write docker-archive");
    }
}
