//! One reading of a manifest, shared by the registry (at push) and the scanner (when it
//! reads an image), so that the two can never disagree on what a document is.
//!
//! [`parse_manifest`] takes the media type the document was declared with (a
//! `Content-Type` header or a descriptor's `mediaType`) and its bytes, and returns a
//! [`ManifestDocument`]: an image manifest (`config` + `layers`) or an index
//! (`manifests`). It refuses what another reader could take for something else:
//!
//! - a body whose shape does not match its media type (an image manifest that also has
//!   `manifests`, an index with `config` or `layers`: CVE-2021-41190), or whose `mediaType`
//!   conflicts with the declared one;
//! - duplicate object keys, and keys that differ from a field name only in case
//!   (`"Layers"`): Go's `encoding/json`, which container runtimes use, takes the last of
//!   duplicates and matches field names case-insensitively, so such a body would mean one
//!   thing here and another on the cluster.
//!
//! [`ManifestDocument::is_container_image`] tells an image a runtime can run from an
//! artifact (signatures, attestations, SBOMs, anything with a `subject`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_IMAGE_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// Layer media types a container runtime unpacks into a root filesystem.
const LAYER_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

/// Field names of manifests, indexes and descriptors: a key equal to one of these but for
/// case is refused (see the module documentation).
const FIELD_NAMES: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "artifactType",
    "config",
    "layers",
    "manifests",
    "subject",
    "annotations",
    "digest",
    "size",
    "urls",
    "platform",
    "architecture",
    "os",
    "os.version",
    "os.features",
    "variant",
    "features",
    "data",
];

/// A content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: Digest,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
    #[serde(default)]
    pub artifact_type: Option<String>,
}

/// The platform an index declares for a child.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DescriptorPlatform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl DescriptorPlatform {
    /// `os/architecture[/variant]`.
    pub fn display(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

impl Descriptor {
    /// Whether the descriptor declares an index (OCI index or Docker manifest list).
    pub fn is_index(&self) -> bool {
        matches!(self.media_type.as_deref(), Some(OCI_INDEX | DOCKER_LIST))
    }

    /// Docker buildx stores attestations as pseudo-images in the index.
    pub fn is_attestation(&self) -> bool {
        self.annotations
            .get("vnd.docker.reference.type")
            .map(String::as_str)
            == Some("attestation-manifest")
    }

    /// The declared platform as `os/architecture[/variant]`, if any.
    pub fn platform_name(&self) -> Option<String> {
        self.platform.as_ref().map(DescriptorPlatform::display)
    }
}

/// Whether a document is an image manifest or an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    /// `config` and `layers` (OCI image manifest, Docker v2 schema 2 manifest).
    Image,
    /// `manifests` (OCI image index, Docker manifest list).
    Index,
}

/// A manifest or index, read once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestDocument {
    /// The media type it was declared with, or its own `mediaType`.
    pub media_type: String,
    pub kind: ManifestKind,
    /// An image manifest's config (`None` for an index).
    pub config: Option<Descriptor>,
    /// An image manifest's layers (empty for an index).
    pub layers: Vec<Descriptor>,
    /// An index's children (empty for an image manifest).
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

impl ManifestDocument {
    /// An image manifest a container runtime would run: an image config, layers that are
    /// filesystem layers, no `subject` and no `artifactType`. Everything else reachable from
    /// an index (signatures, attestations, SBOMs, other artifacts) is not.
    pub fn is_container_image(&self) -> bool {
        self.kind == ManifestKind::Image
            && self.subject.is_none()
            && self.artifact_type.is_none()
            && self.config.as_ref().is_some_and(|c| {
                matches!(
                    c.media_type.as_deref(),
                    Some(OCI_IMAGE_CONFIG | DOCKER_IMAGE_CONFIG)
                )
            })
            && self.layers.iter().all(|l| {
                l.media_type
                    .as_deref()
                    .is_some_and(|m| LAYER_MEDIA_TYPES.contains(&m))
            })
    }

    /// The artifact type as the referrers API reports it: `artifactType`, or an OCI
    /// manifest's config media type.
    pub fn referrer_artifact_type(&self) -> Option<String> {
        self.artifact_type.clone().or_else(|| {
            self.config
                .as_ref()
                .and_then(|c| c.media_type.clone())
                .filter(|_| self.media_type == OCI_MANIFEST)
        })
    }
}

/// Why bytes are not a manifest or index this reader accepts.
#[derive(Debug, thiserror::Error)]
pub enum ManifestShapeError {
    #[error("the manifest is not valid JSON: {0}")]
    Json(String),
    #[error(
        "the manifest is a Docker schema 1 manifest, which is deprecated and not supported; re-push the image with a current Docker or `skopeo copy --format v2s2`"
    )]
    SchemaOne,
    #[error(
        "the manifest's schemaVersion is {0}; only schemaVersion 2 (Docker v2 schema 2 or OCI) is accepted"
    )]
    SchemaVersion(String),
    #[error("the declared media type `{declared}` differs from the manifest's mediaType `{body}`")]
    MediaTypeConflict { declared: String, body: String },
    #[error(
        "manifest media type `{0}` is not supported; push an OCI or Docker v2 schema 2 manifest or index"
    )]
    Unsupported(String),
    #[error("the manifest has no media type: set `mediaType` in its body or send its Content-Type")]
    NoMediaType,
    #[error("a Docker manifest or list must carry its own `mediaType` `{0}` in its body")]
    DockerWithoutMediaType(String),
    #[error(
        "the body is declared `{media_type}` but has a `{field}` field, which only {other} has; a document must be one thing"
    )]
    WrongShape {
        media_type: String,
        field: &'static str,
        other: &'static str,
    },
    #[error("the image manifest has no `config`")]
    NoConfig,
    #[error("the index has no `manifests`")]
    NoManifests,
    #[error("the document is neither an image manifest nor an index")]
    Unknown,
    #[error("the manifest has a duplicate key `{0}`; each key may appear once")]
    DuplicateKey(String),
    #[error(
        "the manifest has a key `{found}`, which differs from the field `{field}` only in case"
    )]
    CaseVariantKey { found: String, field: &'static str },
    #[error("the manifest's `{field}` is not valid: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
}

/// Normalises a declared media type: parameters dropped; generic JSON types mean "not
/// declared".
pub fn declared_media_type(content_type: Option<&str>) -> Option<String> {
    content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .filter(|c| !c.is_empty() && c != "application/json" && c != "application/octet-stream")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// Reads `bytes` declared as `declared` (see [`declared_media_type`]). With nothing
/// declared and no `mediaType` in the body, the kind is inferred from the shape, which
/// must then be unambiguous; callers that must not infer (the registry) check
/// [`ManifestDocument::media_type`]'s origin with [`body_media_type`] first.
pub fn parse_manifest(
    declared: Option<&str>,
    bytes: &[u8],
) -> Result<ManifestDocument, ManifestShapeError> {
    // Structure first: duplicate and case-variant keys anywhere in the document.
    let mut check = serde_json::Deserializer::from_slice(bytes);
    StrictValue::deserialize(&mut check).map_err(|e| classify_strict(&e))?;
    check
        .end()
        .map_err(|e| ManifestShapeError::Json(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ManifestShapeError::Json(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(ManifestShapeError::Json(
            "the top level is not an object".to_owned(),
        ));
    };
    let body_type = match object.get("mediaType") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(ManifestShapeError::Field {
                field: "mediaType",
                message: "not a string".to_owned(),
            });
        }
    };
    let schema = object.get("schemaVersion");
    if schema.and_then(serde_json::Value::as_u64) == Some(1)
        || body_type
            .as_deref()
            .is_some_and(|m| m.starts_with("application/vnd.docker.distribution.manifest.v1"))
    {
        return Err(ManifestShapeError::SchemaOne);
    }
    if schema.and_then(serde_json::Value::as_u64) != Some(2) {
        return Err(ManifestShapeError::SchemaVersion(
            schema.map_or_else(|| "missing".to_owned(), ToString::to_string),
        ));
    }
    let has = |key: &str| object.contains_key(key);
    let media_type = match (declared, body_type.as_deref()) {
        (Some(declared), Some(body)) if declared != body => {
            return Err(ManifestShapeError::MediaTypeConflict {
                declared: declared.to_owned(),
                body: body.to_owned(),
            });
        }
        (Some(declared), _) => declared.to_owned(),
        (None, Some(body)) => body.to_owned(),
        (None, None) => match (has("manifests"), has("config") || has("layers")) {
            (true, false) => OCI_INDEX.to_owned(),
            (false, true) => OCI_MANIFEST.to_owned(),
            (true, true) => {
                return Err(ManifestShapeError::WrongShape {
                    media_type: "(none)".to_owned(),
                    field: "manifests",
                    other: "an index",
                });
            }
            (false, false) => return Err(ManifestShapeError::Unknown),
        },
    };
    let kind = match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => ManifestKind::Image,
        OCI_INDEX | DOCKER_LIST => ManifestKind::Index,
        other => return Err(ManifestShapeError::Unsupported(other.to_owned())),
    };
    if matches!(media_type.as_str(), DOCKER_MANIFEST | DOCKER_LIST) && body_type.is_none() {
        return Err(ManifestShapeError::DockerWithoutMediaType(media_type));
    }
    match kind {
        ManifestKind::Image if has("manifests") => {
            return Err(ManifestShapeError::WrongShape {
                media_type,
                field: "manifests",
                other: "an index",
            });
        }
        ManifestKind::Index => {
            for field in ["config", "layers"] {
                if has(field) {
                    return Err(ManifestShapeError::WrongShape {
                        media_type,
                        field: if field == "config" {
                            "config"
                        } else {
                            "layers"
                        },
                        other: "an image manifest",
                    });
                }
            }
        }
        ManifestKind::Image => {}
    }
    let raw: Raw = serde_json::from_value(value).map_err(|e| ManifestShapeError::Field {
        field: "descriptor",
        message: e.to_string(),
    })?;
    let (config, layers, manifests) = match kind {
        ManifestKind::Image => (
            Some(raw.config.ok_or(ManifestShapeError::NoConfig)?),
            raw.layers.unwrap_or_default(),
            Vec::new(),
        ),
        ManifestKind::Index => (
            None,
            Vec::new(),
            raw.manifests.ok_or(ManifestShapeError::NoManifests)?,
        ),
    };
    Ok(ManifestDocument {
        media_type,
        kind,
        config,
        layers,
        manifests,
        subject: raw.subject,
        artifact_type: raw.artifact_type,
        annotations: raw.annotations,
    })
}

/// The `mediaType` a body declares itself, if it is an object with one.
pub fn body_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Only {
        media_type: Option<String>,
    }
    serde_json::from_slice::<Only>(bytes).ok()?.media_type
}

const DUPLICATE: &str = "portcullis-duplicate-key:";
const CASE_VARIANT: &str = "portcullis-case-variant-key:";

fn classify_strict(e: &serde_json::Error) -> ManifestShapeError {
    let text = e.to_string();
    if let Some(rest) = text.strip_prefix(DUPLICATE) {
        let key = rest.split(" at line").next().unwrap_or(rest);
        return ManifestShapeError::DuplicateKey(key.to_owned());
    }
    if let Some(rest) = text.strip_prefix(CASE_VARIANT) {
        let key = rest.split(" at line").next().unwrap_or(rest);
        let field = FIELD_NAMES
            .iter()
            .find(|f| f.eq_ignore_ascii_case(key))
            .copied()
            .unwrap_or("?");
        return ManifestShapeError::CaseVariantKey {
            found: key.to_owned(),
            field,
        };
    }
    ManifestShapeError::Json(text)
}

/// Any JSON value, refusing duplicate keys and case variants of field names in every
/// object, at any depth (nesting is bounded by serde_json's recursion limit).
struct StrictValue;

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<StrictValue, E> {
        Ok(StrictValue)
    }
    fn visit_i64<E>(self, _: i64) -> Result<StrictValue, E> {
        Ok(StrictValue)
    }
    fn visit_u64<E>(self, _: u64) -> Result<StrictValue, E> {
        Ok(StrictValue)
    }
    fn visit_f64<E>(self, _: f64) -> Result<StrictValue, E> {
        Ok(StrictValue)
    }
    fn visit_str<E>(self, _: &str) -> Result<StrictValue, E> {
        Ok(StrictValue)
    }
    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        while seq.next_element::<StrictValue>()?.is_some() {}
        Ok(StrictValue)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if FIELD_NAMES
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&key) && *f != key)
            {
                return Err(de::Error::custom(format!("{CASE_VARIANT}{key}")));
            }
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("{DUPLICATE}{key}")));
            }
            map.next_value_seed(StrictSeed)?;
        }
        Ok(StrictValue)
    }
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = StrictValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StrictValue, D::Error> {
        StrictValue::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_IMAGE_CONFIG}","digest":"{A}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{B}","size":3}}]{extra}}}"#
        )
    }

    #[test]
    fn an_image_is_read_and_is_a_container_image() {
        let doc = parse_manifest(Some(OCI_MANIFEST), image("").as_bytes()).unwrap();
        assert_eq!(doc.kind, ManifestKind::Image);
        assert_eq!(doc.layers.len(), 1);
        assert!(doc.is_container_image());
        let with_subject = image(&format!(
            r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{B}","size":1}}"#
        ));
        let doc = parse_manifest(Some(OCI_MANIFEST), with_subject.as_bytes()).unwrap();
        assert!(!doc.is_container_image(), "a referrer is not an image");
    }

    #[test]
    fn an_attestation_is_not_a_container_image() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_IMAGE_CONFIG}","digest":"{A}","size":2}},"layers":[{{"mediaType":"application/vnd.in-toto+json","digest":"{B}","size":3}}]}}"#
        );
        let doc = parse_manifest(None, body.as_bytes()).unwrap();
        assert!(!doc.is_container_image());
    }

    #[test]
    fn an_image_manifest_with_manifests_is_refused() {
        let body = image(&format!(
            r#","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{A}","size":1}}]"#
        ));
        let err = parse_manifest(Some(OCI_MANIFEST), body.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                ManifestShapeError::WrongShape {
                    field: "manifests",
                    ..
                }
            ),
            "{err}"
        );
        let err = parse_manifest(None, body.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ManifestShapeError::WrongShape { .. }),
            "{err}"
        );
    }

    #[test]
    fn an_index_with_layers_or_config_is_refused() {
        for extra in [
            r#","layers":[]"#.to_owned(),
            format!(r#","config":{{"mediaType":"{OCI_IMAGE_CONFIG}","digest":"{A}","size":2}}"#),
        ] {
            let body =
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]{extra}}}"#);
            let err = parse_manifest(Some(OCI_INDEX), body.as_bytes()).unwrap_err();
            assert!(
                matches!(err, ManifestShapeError::WrongShape { .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn conflicting_or_missing_media_types_are_refused() {
        let err = parse_manifest(Some(OCI_INDEX), image("").as_bytes()).unwrap_err();
        assert!(
            matches!(err, ManifestShapeError::MediaTypeConflict { .. }),
            "{err}"
        );
        let docker = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{DOCKER_IMAGE_CONFIG}","digest":"{A}","size":2}},"layers":[]}}"#
        );
        let err = parse_manifest(Some(DOCKER_MANIFEST), docker.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ManifestShapeError::DockerWithoutMediaType(_)),
            "{err}"
        );
        let err = parse_manifest(Some("text/plain"), image("").as_bytes()).unwrap_err();
        assert!(
            matches!(err, ManifestShapeError::MediaTypeConflict { .. }),
            "{err}"
        );
        let err = parse_manifest(None, br#"{"schemaVersion":2}"#).unwrap_err();
        assert!(matches!(err, ManifestShapeError::Unknown), "{err}");
    }

    #[test]
    fn duplicate_and_case_variant_keys_are_refused_at_any_depth() {
        let body = image(r#","layers":[]"#);
        let err = parse_manifest(None, body.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ManifestShapeError::DuplicateKey(ref k) if k == "layers"),
            "{err}"
        );
        let body = image(r#","Layers":[]"#);
        let err = parse_manifest(None, body.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                ManifestShapeError::CaseVariantKey {
                    field: "layers",
                    ..
                }
            ),
            "{err}"
        );
        let nested = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{A}","Digest":"{B}","size":1}}]}}"#
        );
        let err = parse_manifest(None, nested.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ManifestShapeError::CaseVariantKey { .. }),
            "{err}"
        );
        // Strict in annotations too: no honest tool writes such keys, and one rule is simpler.
        let annotated = image(r#","annotations":{"Layers":"x","layers":"y"}"#);
        assert!(parse_manifest(None, annotated.as_bytes()).is_err());
    }

    #[test]
    fn schema_one_and_other_versions_are_refused() {
        let err =
            parse_manifest(None, br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#).unwrap_err();
        assert!(matches!(err, ManifestShapeError::SchemaOne), "{err}");
        let err = parse_manifest(None, br#"{"schemaVersion":3,"manifests":[]}"#).unwrap_err();
        assert!(matches!(err, ManifestShapeError::SchemaVersion(_)), "{err}");
        assert!(parse_manifest(None, b"[]").is_err());
        assert!(parse_manifest(None, b"not json").is_err());
    }
}
