//! SPDX 2.3 JSON.
//!
//! One SPDX package for the image (purpose `CONTAINER`, checksum = manifest digest), one
//! for the operating system (`OPERATING_SYSTEM`) and one per package (`LIBRARY`, as Trivy
//! writes OS packages). Relationships: the document `DESCRIBES` the image, the image
//! `CONTAINS` the OS and every package. What SPDX 2.3 has no field for (layer, arch, source
//! package, ecosystem metadata) goes into `OTHER` annotations by the tool, `name=value`,
//! as Trivy does; where a package was found is also in `sourceInfo`, as Syft writes it.
//! Files are never SPDX `files`: SPDX 2.3 requires a checksum for each file, which the
//! package databases do not give us.

use std::collections::BTreeMap;

use portcullis_types::{Distro, ImageInfo, Package, Sbom};
use serde::Serialize;

use crate::WriteOptions;
use crate::identity::Identity;
use crate::license::{self, License};
use crate::property::{self, Property};
use crate::reference;

const NOASSERTION: &str = "NOASSERTION";
const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
/// SPDX recommends a unique URI under a prefix the creator controls; the SPDX project's
/// own `spdxdocs` prefix is the conventional choice for tools without one, and the UUID
/// makes the URI unique.
const NAMESPACE_PREFIX: &str = "https://spdx.org/spdxdocs/portcullis";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
    relationships: Vec<Relationship>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    license_list_version: String,
    creators: Vec<String>,
    created: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    name: String,
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    supplier: &'static str,
    originator: &'static str,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation>,
}

impl SpdxPackage {
    fn new(name: String, spdx_id: String, purpose: &'static str) -> Self {
        Self {
            name,
            spdx_id,
            version_info: None,
            supplier: NOASSERTION,
            originator: NOASSERTION,
            download_location: NOASSERTION,
            files_analyzed: false,
            checksums: Vec::new(),
            source_info: None,
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.to_owned(),
            copyright_text: NOASSERTION,
            description: None,
            external_refs: Vec::new(),
            primary_package_purpose: purpose,
            annotations: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Annotation {
    annotation_date: String,
    annotation_type: &'static str,
    annotator: String,
    comment: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
    comment: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

/// What every annotation shares: who made it and when.
struct Annotator {
    tool: String,
    date: String,
}

impl Annotator {
    fn annotate(&self, properties: Vec<Property>) -> Vec<Annotation> {
        properties
            .into_iter()
            .map(|p| Annotation {
                annotation_date: self.date.clone(),
                annotation_type: "OTHER",
                annotator: self.tool.clone(),
                comment: format!("{}={}", p.name, p.value),
            })
            .collect()
    }
}

pub(crate) fn document(sbom: &Sbom, identity: &Identity, options: &WriteOptions) -> Document {
    let tool = format!("Tool: {}-{}", sbom.tool.name, sbom.tool.version);
    let annotator = Annotator {
        tool: tool.clone(),
        date: identity.created().to_owned(),
    };
    let image = image_package(&sbom.image, identity, &annotator);
    let image_id = image.spdx_id.clone();
    let mut relationships = vec![Relationship {
        spdx_element_id: DOCUMENT_ID.to_owned(),
        relationship_type: "DESCRIBES",
        related_spdx_element: image_id.clone(),
    }];
    let mut contains = |id: &str| {
        relationships.push(Relationship {
            spdx_element_id: image_id.clone(),
            relationship_type: "CONTAINS",
            related_spdx_element: id.to_owned(),
        });
    };
    let mut packages = vec![image];
    if let Some(distro) = &sbom.distro {
        let os = os_package(distro, &annotator);
        contains(&os.spdx_id);
        packages.push(os);
    }
    let refs = reference::bom_refs(&sbom.packages, &[]);
    let ids = reference::spdx_ids(&sbom.packages, &refs);
    let mut extracted = BTreeMap::new();
    for (package, id) in sbom.packages.iter().zip(ids) {
        contains(&id);
        packages.push(package_entry(
            package,
            id,
            options,
            &annotator,
            &mut extracted,
        ));
    }
    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: DOCUMENT_ID,
        name: identity.image_name.clone(),
        document_namespace: format!(
            "{NAMESPACE_PREFIX}/{}-{}",
            reference::sanitise(&identity.image_name),
            identity.uuid.hyphenated()
        ),
        creation_info: CreationInfo {
            license_list_version: license_list_version(),
            creators: vec![tool],
            created: identity.created().to_owned(),
        },
        packages,
        has_extracted_licensing_infos: extracted
            .into_iter()
            .map(|(license_id, name): (String, String)| ExtractedLicense {
                license_id,
                extracted_text: name.clone(),
                name,
                comment: "license name as the package manager recorded it; not an SPDX identifier",
            })
            .collect(),
        relationships,
    }
}

/// `M.N` of the SPDX license list that license strings were checked against.
fn license_list_version() -> String {
    spdx::license_version()
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".")
}

fn image_package(image: &ImageInfo, identity: &Identity, annotator: &Annotator) -> SpdxPackage {
    let id = format!(
        "SPDXRef-Image-{}",
        reference::sanitise(&identity.image_name)
    );
    let mut package = SpdxPackage::new(identity.image_name.clone(), id, "CONTAINER");
    package.version_info = image
        .manifest_digest
        .as_ref()
        .or(image.config_digest.as_ref())
        .map(ToString::to_string);
    package.checksums = image
        .manifest_digest
        .iter()
        .map(|d| Checksum {
            algorithm: if d.is_sha256() { "SHA256" } else { "SHA512" },
            checksum_value: d.hex().to_owned(),
        })
        .collect();
    package.annotations = annotator.annotate(property::image(image));
    package
}

fn os_package(distro: &Distro, annotator: &Annotator) -> SpdxPackage {
    let id = format!(
        "SPDXRef-OperatingSystem-{}",
        reference::sanitise(&distro.purl_qualifier())
    );
    // The SPDX 2.3 text says `OPERATING-SYSTEM`, its JSON schema (authoritative for JSON,
    // per the SPDX maintainers) only `OPERATING_SYSTEM`; later schema revisions accept both.
    let mut package = SpdxPackage::new(distro.id.clone(), id, "OPERATING_SYSTEM");
    package.version_info = distro.version_id.clone();
    package.description = distro.pretty_name.clone();
    package.annotations = annotator.annotate(property::distro(distro));
    package
}

fn package_entry(
    package: &Package,
    id: String,
    options: &WriteOptions,
    annotator: &Annotator,
    extracted: &mut BTreeMap<String, String>,
) -> SpdxPackage {
    let mut entry = SpdxPackage::new(package.name.clone(), id, "LIBRARY");
    entry.version_info = Some(package.version.clone());
    entry.source_info = source_info(package);
    entry.license_declared = license_declared(&package.licenses, extracted);
    if !package.purl.trim().is_empty() {
        entry.external_refs.push(ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: package.purl.clone(),
        });
    }
    let mut properties = property::package(package, options.include_files);
    properties.extend(package.found_in.iter().map(|path| Property {
        name: "portcullis:package:found-in".to_owned(),
        value: path.clone(),
    }));
    entry.annotations = annotator.annotate(properties);
    entry
}

fn source_info(package: &Package) -> Option<String> {
    let mut parts = Vec::new();
    if !package.found_in.is_empty() {
        parts.push(format!(
            "acquired package info from {} database: {}",
            package.ecosystem,
            package.found_in.join(", ")
        ));
    }
    if let Some(source) = &package.source_name {
        let version = package
            .source_version
            .as_deref()
            .unwrap_or(&package.version);
        parts.push(format!("built from source package {source} {version}"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// SPDX ids and expressions as they are; other names as `LicenseRef-`s defined in
/// `hasExtractedLicensingInfos`; several licenses joined with `AND`, as Syft and Trivy do.
fn license_declared(raw: &[String], extracted: &mut BTreeMap<String, String>) -> String {
    let classified = license::classify_all(raw);
    let several = classified.len() > 1;
    let terms: Vec<String> = classified
        .into_iter()
        .map(|l| match l {
            License::Id(id) => id,
            License::Expression(e) if several => format!("({e})"),
            License::Expression(e) => e,
            License::Name(name) => {
                let id = license::license_ref(&name);
                extracted.insert(id.clone(), name);
                id
            }
        })
        .collect();
    if terms.is_empty() {
        NOASSERTION.to_owned()
    } else {
        terms.join(" AND ")
    }
}
