//! An image: layers, config and manifest, as JSON documents real tools write.

use serde_json::{Value, json};

use crate::layer::Layer;
use crate::sha256_digest;

/// A content descriptor, as it appears in manifests and indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// `os/architecture[/variant]`, for index entries.
    pub platform: Option<String>,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest: sha256_digest(bytes),
            size: bytes.len() as u64,
            platform: None,
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v =
            json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.size });
        if let Some(p) = &self.platform {
            let parts: Vec<&str> = p.split('/').collect();
            let mut platform = json!({ "os": parts.first(), "architecture": parts.get(1) });
            if let Some(variant) = parts.get(2) {
                platform["variant"] = json!(variant);
            }
            v["platform"] = platform;
        }
        v
    }

    /// The hex part of the digest.
    pub fn hex(&self) -> &str {
        self.digest.strip_prefix("sha256:").unwrap_or(&self.digest)
    }
}

/// Layers plus what their config and manifest say about them.
#[derive(Clone, Debug)]
pub struct ImageBuilder {
    pub layers: Vec<Layer>,
    pub created_by: Vec<Option<String>>,
    pub platform: String,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// Docker v2 schema 2 media types instead of OCI ones.
    pub docker_media_types: bool,
    /// Diff_ids written into the config; by default the layers' own.
    pub diff_ids: Option<Vec<String>>,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ImageBuilder {
    pub fn new() -> Self {
        Self {
            layers: Vec::new(),
            created_by: Vec::new(),
            platform: "linux/amd64".to_owned(),
            labels: Vec::new(),
            annotations: Vec::new(),
            docker_media_types: false,
            diff_ids: None,
        }
    }

    pub fn layer(mut self, layer: Layer) -> Self {
        self.layers.push(layer);
        self.created_by.push(None);
        self
    }

    pub fn layer_created_by(mut self, layer: Layer, created_by: &str) -> Self {
        self.layers.push(layer);
        self.created_by.push(Some(created_by.to_owned()));
        self
    }

    pub fn platform(mut self, platform: &str) -> Self {
        self.platform = platform.to_owned();
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn docker_media_types(mut self) -> Self {
        self.docker_media_types = true;
        self
    }

    /// Overrides the config's diff_ids (to test mismatches).
    pub fn diff_ids(mut self, diff_ids: Vec<String>) -> Self {
        self.diff_ids = Some(diff_ids);
        self
    }

    /// The image config JSON.
    pub fn config_json(&self) -> Vec<u8> {
        let parts: Vec<&str> = self.platform.split('/').collect();
        let diff_ids = self
            .diff_ids
            .clone()
            .unwrap_or_else(|| self.layers.iter().map(|l| l.diff_id.clone()).collect());
        let history: Vec<Value> = self
            .created_by
            .iter()
            .map(|c| match c {
                Some(c) => json!({ "created": "2023-11-14T22:13:20Z", "created_by": c }),
                None => json!({ "created": "2023-11-14T22:13:20Z" }),
            })
            .collect();
        let labels: serde_json::Map<String, Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut config = json!({
            "created": "2023-11-14T22:13:20Z",
            "architecture": parts.get(1),
            "os": parts.first(),
            "config": { "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Labels": labels },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
            "history": history,
        });
        if let Some(variant) = parts.get(2) {
            config["variant"] = json!(variant);
        }
        serde_json::to_vec(&config).expect("json")
    }

    pub fn config_descriptor(&self) -> Descriptor {
        let media_type = if self.docker_media_types {
            "application/vnd.docker.container.image.v1+json"
        } else {
            "application/vnd.oci.image.config.v1+json"
        };
        Descriptor::of(media_type, &self.config_json())
    }

    pub fn layer_descriptors(&self) -> Vec<Descriptor> {
        self.layers
            .iter()
            .map(|l| {
                let media_type = if self.docker_media_types {
                    match l.media_type.as_str() {
                        "application/vnd.oci.image.layer.v1.tar" => {
                            "application/vnd.docker.image.rootfs.diff.tar"
                        }
                        _ => "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    }
                } else {
                    l.media_type.as_str()
                };
                Descriptor::of(media_type, &l.bytes)
            })
            .collect()
    }

    /// The image manifest JSON.
    pub fn manifest_json(&self) -> Vec<u8> {
        let media_type = if self.docker_media_types {
            "application/vnd.docker.distribution.manifest.v2+json"
        } else {
            "application/vnd.oci.image.manifest.v1+json"
        };
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": self.config_descriptor().to_json(),
            "layers": self.layer_descriptors().iter().map(Descriptor::to_json).collect::<Vec<_>>(),
        });
        if !self.annotations.is_empty() {
            let a: serde_json::Map<String, Value> = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            manifest["annotations"] = Value::Object(a);
        }
        serde_json::to_vec(&manifest).expect("json")
    }

    /// The manifest's descriptor, with this image's platform.
    pub fn manifest_descriptor(&self) -> Descriptor {
        let media_type = if self.docker_media_types {
            "application/vnd.docker.distribution.manifest.v2+json"
        } else {
            "application/vnd.oci.image.manifest.v1+json"
        };
        Descriptor {
            platform: Some(self.platform.clone()),
            ..Descriptor::of(media_type, &self.manifest_json())
        }
    }
}
