use serde::{Deserialize, Serialize};

/// The operating system of an image, as `os-release(5)` describes it.
///
/// `id` is the lowercase machine name (`debian`, `alpine`, `rhel`, `almalinux`…);
/// `version_id` is the release (`12`, `3.20.1`, `9.4`); `codename` is `VERSION_CODENAME`
/// where the distro sets one (`bookworm`). Fallback files (`/etc/debian_version`,
/// `/etc/alpine-release`, `/etc/redhat-release`) fill the same fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// The file the information came from (`/etc/os-release`, `/etc/debian_version`…).
    pub source_path: String,
}

impl Distro {
    /// The value of the purl `distro` qualifier: `debian-12`, `alpine-3.20.1`, `rhel-9.4`.
    pub fn purl_qualifier(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{}-{}", self.id, v),
            None => self.id.clone(),
        }
    }
}
