//! SPDX 2.2 and 2.3 JSON: the package the document describes (or the `CONTAINER`) is the
//! image, the `OPERATING_SYSTEM` package (Trivy spells it `OPERATING-SYSTEM`) the distro,
//! and every package with a `purl` external reference a package candidate. Annotations
//! carry properties: ours as `portcullis:…=value`, Trivy's as `Key: value`. Where a package
//! was found: our `portcullis:package:found-in` annotations, a `sourceInfo` that lists
//! files (Syft: `acquired package info from DPKG DB: /var/lib/dpkg/status, …`; Trivy:
//! `package found in: srv/rust/Cargo.lock`), else, for Trivy, the files it `CONTAINS`.

use std::collections::BTreeMap;

use portcullis_types::{Distro, Sbom, ToolInfo};
use serde::Deserialize;

use super::{
    Candidate, ReadSbom, Skipped, distro_from_purls, image_info, tool_from_creator, unknown_tool,
};
use crate::Format;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    creation_info: Option<CreationInfo>,
    #[serde(default)]
    packages: Option<Vec<Package>>,
    #[serde(default)]
    files: Option<Vec<File>>,
    #[serde(default)]
    has_extracted_licensing_infos: Option<Vec<ExtractedLicense>>,
    #[serde(default)]
    relationships: Option<Vec<Relationship>>,
    #[serde(default)]
    document_describes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct CreationInfo {
    #[serde(default)]
    creators: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID", default)]
    spdx_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version_info: Option<String>,
    #[serde(default)]
    source_info: Option<String>,
    #[serde(default)]
    license_declared: Option<String>,
    #[serde(default)]
    license_concluded: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    external_refs: Option<Vec<ExternalRef>>,
    #[serde(default)]
    primary_package_purpose: Option<String>,
    #[serde(default)]
    annotations: Option<Vec<Annotation>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    #[serde(default)]
    reference_type: Option<String>,
    #[serde(default)]
    reference_locator: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Annotation {
    #[serde(default)]
    annotator: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(rename = "SPDXID", default)]
    spdx_id: Option<String>,
    #[serde(rename = "fileName", default)]
    file_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    #[serde(default)]
    license_id: Option<String>,
    #[serde(default)]
    extracted_text: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    #[serde(default)]
    spdx_element_id: Option<String>,
    #[serde(default)]
    relationship_type: Option<String>,
    #[serde(default)]
    related_spdx_element: Option<String>,
}

/// Annotations as name–value pairs: ours `portcullis:…=value`, Trivy's `Key: value` under
/// Trivy's CycloneDX property names (`aquasecurity:trivy:Key`).
fn properties(annotations: Option<Vec<Annotation>>) -> Vec<(String, String)> {
    annotations
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| {
            let comment = a.comment?;
            if comment.starts_with("portcullis:") {
                let (name, value) = comment.split_once('=')?;
                return Some((name.to_owned(), value.to_owned()));
            }
            if a.annotator.as_deref()?.starts_with("Tool: trivy") {
                let (key, value) = comment.split_once(": ")?;
                return Some((format!("aquasecurity:trivy:{key}"), value.to_owned()));
            }
            None
        })
        .collect()
}

pub(crate) fn read(document: Document, file: &str) -> ReadSbom {
    let tool: ToolInfo = document
        .creation_info
        .and_then(|c| c.creators)
        .unwrap_or_default()
        .iter()
        .find_map(|c| tool_from_creator(c))
        .unwrap_or_else(unknown_tool);
    let by_trivy = tool.name == "trivy";
    let relationships = document.relationships.unwrap_or_default();
    let mut described: Vec<String> = document.document_describes.unwrap_or_default();
    described.extend(relationships.iter().filter_map(|r| {
        (r.relationship_type.as_deref() == Some("DESCRIBES")
            && r.spdx_element_id.as_deref() == Some("SPDXRef-DOCUMENT"))
        .then(|| r.related_spdx_element.clone())
        .flatten()
    }));
    let file_names: BTreeMap<String, String> = document
        .files
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| Some((f.spdx_id?, f.file_name?)))
        .collect();
    let mut contained: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    if by_trivy {
        for r in &relationships {
            if r.relationship_type.as_deref() == Some("CONTAINS")
                && let (Some(from), Some(to)) = (&r.spdx_element_id, &r.related_spdx_element)
                && let Some(name) = file_names.get(to)
            {
                contained.entry(from).or_default().push(name);
            }
        }
    }
    let extracted: BTreeMap<String, String> = document
        .has_extracted_licensing_infos
        .unwrap_or_default()
        .into_iter()
        .filter_map(|l| {
            let text = l.name.filter(|n| !n.is_empty()).or(l.extracted_text)?;
            Some((l.license_id?, text))
        })
        .collect();

    let packages = document.packages.unwrap_or_default();
    let is_image = |p: &Package| {
        p.primary_package_purpose.as_deref() == Some("CONTAINER")
            || p.spdx_id.as_ref().is_some_and(|id| described.contains(id))
    };
    let mut image = None;
    let mut distro: Option<Distro> = None;
    let mut found = Vec::new();
    let mut skipped = Skipped::default();
    for package in packages {
        let purl = package
            .external_refs
            .iter()
            .flatten()
            .find(|r| r.reference_type.as_deref() == Some("purl"))
            .and_then(|r| r.reference_locator.clone());
        let purpose = package.primary_package_purpose.as_deref();
        if matches!(purpose, Some("OPERATING_SYSTEM" | "OPERATING-SYSTEM")) {
            if distro.is_none() {
                distro = Some(super::distro(
                    package.name.as_deref().unwrap_or_default(),
                    package.version_info.as_deref(),
                    package.description.as_deref(),
                    &properties(package.annotations),
                    file,
                ));
            }
            continue;
        }
        if image.is_none()
            && purl.as_deref().is_none_or(|p| p.starts_with("pkg:oci/"))
            && is_image(&package)
        {
            image = Some(image_info(
                package.name.clone().unwrap_or_default(),
                package.version_info.as_deref(),
                &properties(package.annotations),
            ));
            continue;
        }
        if purl.is_none() && !matches!(purpose, None | Some("LIBRARY" | "FRAMEWORK")) {
            continue;
        }
        let mut locations = locations(package.source_info.as_deref());
        if locations.is_empty()
            && let Some(files) = package.spdx_id.as_deref().and_then(|id| contained.get(id))
        {
            locations.extend(files.iter().map(|f| (*f).to_owned()));
        }
        let licenses = [package.license_declared, package.license_concluded]
            .into_iter()
            .flatten()
            .find(|l| !matches!(l.trim(), "" | "NOASSERTION" | "NONE"))
            .map(|l| resolve_refs(&l, &extracted))
            .into_iter()
            .collect();
        let candidate = Candidate {
            name: package.name.unwrap_or_default(),
            version: package.version_info.unwrap_or_default(),
            purl,
            licenses,
            properties: properties(package.annotations),
            locations,
            source_info: package.source_info,
        };
        match candidate.into_package() {
            Ok(package) => found.push(package),
            Err(skip) => skipped.add(skip),
        }
    }
    let distro = distro.or_else(|| distro_from_purls(&found, file));
    let image = image.unwrap_or_else(|| image_info(document.name.unwrap_or_default(), None, &[]));
    ReadSbom {
        sbom: Sbom {
            tool,
            image,
            distro,
            packages: found,
        },
        format: Format::Spdx,
        warnings: skipped.warnings(file),
    }
}

/// The files a `sourceInfo` names: Syft's `acquired package info from <what>: a, b` and
/// Trivy's `package found in: a`. Ours is not read here: our annotations are exact.
fn locations(source_info: Option<&str>) -> Vec<String> {
    let Some(info) = source_info else {
        return Vec::new();
    };
    if let Some(path) = info.strip_prefix("package found in: ") {
        return vec![path.trim().to_owned()];
    }
    if let Some(rest) = info.strip_prefix("acquired package info from ")
        && !info.contains("; built from source package")
        && let Some((_, list)) = rest.split_once(": ")
    {
        return list
            .split(", ")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
    }
    Vec::new()
}

/// `MIT AND LicenseRef-x` with `LicenseRef-x` replaced by the name it stands for.
fn resolve_refs(expression: &str, extracted: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(expression.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        match extracted.get(token.as_str()) {
            Some(name) => out.push_str(name),
            None => out.push_str(token),
        }
        token.clear();
    };
    for c in expression.chars() {
        if c.is_whitespace() || c == '(' || c == ')' {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_refs_are_resolved_token_by_token() {
        let extracted: BTreeMap<String, String> = [
            ("LicenseRef-GPLv2-".to_owned(), "GPLv2+".to_owned()),
            ("LicenseRef-x".to_owned(), "MIT and BSD".to_owned()),
        ]
        .into();
        assert_eq!(resolve_refs("LicenseRef-GPLv2-", &extracted), "GPLv2+");
        assert_eq!(
            resolve_refs("MIT AND (LicenseRef-x OR LicenseRef-unknown)", &extracted),
            "MIT AND (MIT and BSD OR LicenseRef-unknown)"
        );
    }

    #[test]
    fn source_info_locations() {
        assert_eq!(
            locations(Some("acquired package info from DPKG DB: /a, /b")),
            ["/a", "/b"]
        );
        assert_eq!(locations(Some("package found in: srv/x")), ["srv/x"]);
        assert!(locations(Some("built package from: bash 5.2.15-2")).is_empty());
        assert!(locations(None).is_empty());
    }
}
