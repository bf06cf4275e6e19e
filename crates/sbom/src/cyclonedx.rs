//! CycloneDX 1.6 JSON.
//!
//! Layout, close to what Syft and Trivy emit for images: `metadata.component` is the image
//! (type `container`, version = manifest digest, the digest as a hash, names and layers as
//! properties); `components` holds the operating system (type `operating-system`) and one
//! `library` per package (both peers use `library` for OS packages too), with where it was
//! found as `evidence.occurrences`; `dependencies` says the image depends on the OS and on
//! every package, and lists every other bom-ref without `dependsOn`, since package-to-package
//! dependencies are not known (an empty `dependsOn` would claim there are none).

use portcullis_types::{Digest, Distro, ImageInfo, Package, Sbom};
use serde::Serialize;

use crate::WriteOptions;
use crate::identity::Identity;
use crate::license::{self, License};
use crate::property::{self, Property};
use crate::reference;

const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Debug, Serialize)]
struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    tools: Tools,
    component: Component,
}

#[derive(Debug, Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Debug, Default, Serialize)]
struct Component {
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<NameValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence>,
}

#[derive(Debug, Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

/// CycloneDX allows either license objects or exactly one expression per component.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License {
        license: LicenseObject,
    },
    Expression {
        expression: String,
        acknowledgement: &'static str,
    },
}

#[derive(Debug, Serialize)]
struct LicenseObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    acknowledgement: &'static str,
}

#[derive(Debug, Serialize)]
struct NameValue {
    name: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct Evidence {
    occurrences: Vec<Occurrence>,
}

#[derive(Debug, Serialize)]
struct Occurrence {
    location: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<String>,
}

/// The bom-ref of the image, reserved so that no package ref can meet it.
const IMAGE_REF: &str = "image";

pub(crate) fn document(sbom: &Sbom, identity: &Identity, options: &WriteOptions) -> Bom {
    let mut components = Vec::with_capacity(sbom.packages.len() + 1);
    let mut image_deps = Vec::with_capacity(sbom.packages.len() + 1);
    let mut leaves = Vec::with_capacity(sbom.packages.len() + 1);
    let mut reserved = vec![IMAGE_REF.to_owned()];
    if let Some(distro) = &sbom.distro {
        let os = os_component(distro);
        let os_ref = os.bom_ref.clone().unwrap_or_default();
        reserved.push(os_ref.clone());
        image_deps.push(os_ref.clone());
        leaves.push(os_ref);
        components.push(os);
    }
    let reserved: Vec<&str> = reserved.iter().map(String::as_str).collect();
    let refs = reference::bom_refs(&sbom.packages, &reserved);
    for (package, bom_ref) in sbom.packages.iter().zip(&refs) {
        components.push(package_component(package, bom_ref, options.include_files));
        image_deps.push(bom_ref.clone());
        leaves.push(bom_ref.clone());
    }
    let mut dependencies = vec![Dependency {
        reference: IMAGE_REF.to_owned(),
        depends_on: image_deps,
    }];
    dependencies.extend(leaves.into_iter().map(|reference| Dependency {
        reference,
        depends_on: Vec::new(),
    }));
    Bom {
        schema: SCHEMA,
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: identity.uuid.urn().to_string(),
        version: 1,
        metadata: Metadata {
            timestamp: identity.timestamp.clone(),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: sbom.tool.name.clone(),
                    version: Some(sbom.tool.version.clone()),
                    ..Component::default()
                }],
            },
            component: image_component(&sbom.image, identity),
        },
        components,
        dependencies,
    }
}

fn image_component(image: &ImageInfo, identity: &Identity) -> Component {
    let digest = image
        .manifest_digest
        .as_ref()
        .or(image.config_digest.as_ref());
    Component {
        bom_ref: Some(IMAGE_REF.to_owned()),
        kind: "container",
        name: identity.image_name.clone(),
        version: digest.map(ToString::to_string),
        hashes: image.manifest_digest.iter().map(hash).collect(),
        properties: name_values(property::image(image)),
        ..Component::default()
    }
}

fn hash(digest: &Digest) -> Hash {
    Hash {
        alg: if digest.is_sha256() {
            "SHA-256"
        } else {
            "SHA-512"
        },
        content: digest.hex().to_owned(),
    }
}

fn os_component(distro: &Distro) -> Component {
    let bom_ref = match &distro.version_id {
        Some(v) => format!("os:{}@{v}", distro.id),
        None => format!("os:{}", distro.id),
    };
    Component {
        bom_ref: Some(bom_ref),
        kind: "operating-system",
        name: distro.id.clone(),
        version: distro.version_id.clone(),
        description: distro.pretty_name.clone(),
        properties: name_values(property::distro(distro)),
        ..Component::default()
    }
}

fn package_component(package: &Package, bom_ref: &str, include_files: bool) -> Component {
    let occurrences: Vec<Occurrence> = package
        .found_in
        .iter()
        .map(|path| Occurrence {
            location: path.clone(),
        })
        .collect();
    Component {
        bom_ref: Some(bom_ref.to_owned()),
        kind: "library",
        name: package.name.clone(),
        version: Some(package.version.clone()),
        licenses: licenses(&package.licenses),
        purl: Some(package.purl.clone()).filter(|p| !p.trim().is_empty()),
        properties: name_values(property::package(package, include_files)),
        evidence: (!occurrences.is_empty()).then_some(Evidence { occurrences }),
        ..Component::default()
    }
}

/// One SPDX expression when every license is SPDX and one of them is compound (CycloneDX
/// cannot mix an expression with license objects); otherwise one object per license, with
/// `id` for listed ids and `name` for the rest (compound expressions included).
fn licenses(raw: &[String]) -> Vec<LicenseChoice> {
    let classified = license::classify_all(raw);
    let all_spdx = classified.iter().all(License::is_spdx);
    let any_compound = classified
        .iter()
        .any(|l| matches!(l, License::Expression(_)));
    if all_spdx && any_compound {
        let expression = match classified.as_slice() {
            [License::Expression(only)] => only.clone(),
            many => many
                .iter()
                .map(|l| match l {
                    License::Expression(e) => format!("({e})"),
                    License::Id(id) | License::Name(id) => id.clone(),
                })
                .collect::<Vec<_>>()
                .join(" AND "),
        };
        return vec![LicenseChoice::Expression {
            expression,
            acknowledgement: "declared",
        }];
    }
    classified
        .into_iter()
        .map(|l| {
            let (id, name) = match l {
                License::Id(id) => (Some(id), None),
                License::Expression(text) | License::Name(text) => (None, Some(text)),
            };
            LicenseChoice::License {
                license: LicenseObject {
                    id,
                    name,
                    acknowledgement: "declared",
                },
            }
        })
        .collect()
}

fn name_values(properties: Vec<Property>) -> Vec<NameValue> {
    properties
        .into_iter()
        .map(|p| NameValue {
            name: p.name,
            value: p.value,
        })
        .collect()
}
