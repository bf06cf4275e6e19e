use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Digest, Distro, Package};

/// One layer of an image, bottom first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Digest of the stored blob (compressed). For a classic docker-archive, whose layers
    /// are stored uncompressed without a blob digest, equal to `diff_id`.
    pub digest: Digest,
    /// Digest of the uncompressed tar, from the image config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// Size of the stored blob in bytes.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The `created_by` of the matching non-empty history entry, when the config has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// What was read and how it was named.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The reference the user gave, as given (`oci:dir:tag`, `docker-archive:f.tar`…).
    pub reference: String,
    /// The source kind: `oci`, `docker-archive`, `docker`, `dir`.
    pub source_kind: String,
    /// Digest of the image manifest, when the image has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    /// Digest of the image config, the image ID as docker prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<Digest>,
    /// Digest of the index the manifest was picked from, for multi-platform images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_digest: Option<Digest>,
    /// `os/arch[/variant]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Tags the source names (`repo:tag` in a docker-archive, `ref.name` in an OCI layout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub layers: Vec<LayerInfo>,
    /// Manifest annotations and config labels, merged (annotations win).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The user the image runs as (the config's `User`); `""` when the config
    /// sets none, which means root; absent when unknown (a `dir:` source, another
    /// tool's SBOM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When the image was built, as its config states (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// The tool that produced an SBOM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// The inventory of one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sbom {
    pub tool: ToolInfo,
    pub image: ImageInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
}

impl Sbom {
    /// Sorts packages into their canonical order; call before writing.
    pub fn sort(&mut self) {
        self.packages
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }
}
