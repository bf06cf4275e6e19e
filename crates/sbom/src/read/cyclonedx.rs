//! CycloneDX 1.4–1.6 JSON: `metadata.component` is the image, the `operating-system`
//! component the distro, and every component with a purl (nested ones included) a package
//! candidate. Where a package was found: `evidence.occurrences` (ours), Syft's
//! `syft:location:<n>:path`, Trivy's `aquasecurity:trivy:FilePath`, else the
//! `application` component that depends on it (Trivy groups a lockfile's or a binary's
//! packages under one named by the path).

use std::collections::BTreeMap;

use portcullis_types::{Distro, Sbom};
use serde::Deserialize;

use super::{Candidate, ReadSbom, Skipped, distro_from_purls, image_info, unknown_tool};
use crate::Format;

#[derive(Debug, Deserialize)]
pub(crate) struct Bom {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Option<Vec<Component>>,
    #[serde(default)]
    dependencies: Option<Vec<Dependency>>,
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    tools: Option<Tools>,
    #[serde(default)]
    component: Option<Component>,
    #[serde(default)]
    properties: Option<Vec<Property>>,
}

/// 1.4 lists tools as an array; 1.5 and 1.6 as `{components, services}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Tools {
    Legacy(Vec<Tool>),
    Current {
        #[serde(default)]
        components: Option<Vec<Tool>>,
    },
}

#[derive(Debug, Deserialize)]
struct Tool {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Component {
    #[serde(rename = "bom-ref", default)]
    bom_ref: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    licenses: Option<Vec<LicenseChoice>>,
    #[serde(default)]
    properties: Option<Vec<Property>>,
    #[serde(default)]
    evidence: Option<Evidence>,
    #[serde(default)]
    components: Option<Vec<Component>>,
}

#[derive(Debug, Deserialize)]
struct LicenseChoice {
    #[serde(default)]
    license: Option<LicenseObject>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LicenseObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Property {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Evidence {
    #[serde(default)]
    occurrences: Option<Vec<Occurrence>>,
}

#[derive(Debug, Deserialize)]
struct Occurrence {
    #[serde(default)]
    location: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(rename = "dependsOn", default)]
    depends_on: Option<Vec<String>>,
}

fn pairs(properties: Option<Vec<Property>>) -> Vec<(String, String)> {
    properties
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.name?, p.value.unwrap_or_default())))
        .collect()
}

pub(crate) fn read(bom: Bom, file: &str) -> ReadSbom {
    let metadata = bom.metadata.unwrap_or_default();
    let tool = match metadata.tools {
        Some(Tools::Legacy(tools)) => tools,
        Some(Tools::Current { components }) => components.unwrap_or_default(),
        None => Vec::new(),
    }
    .into_iter()
    .find_map(|t| {
        Some(portcullis_types::ToolInfo {
            name: t.name.filter(|n| !n.is_empty())?,
            version: t.version.unwrap_or_default(),
        })
    })
    .unwrap_or_else(unknown_tool);

    let image = {
        let component = metadata.component.unwrap_or_default();
        let mut properties = pairs(component.properties);
        properties.extend(pairs(metadata.properties));
        image_info(
            component.name.unwrap_or_default(),
            component.version.as_deref(),
            &properties,
        )
    };

    // Flatten nested components without recursion.
    let mut pending: Vec<Component> = bom.components.unwrap_or_default();
    pending.reverse();
    let mut components = Vec::new();
    while let Some(mut component) = pending.pop() {
        if let Some(children) = component.components.take() {
            pending.extend(children.into_iter().rev());
        }
        components.push(component);
    }

    // Applications without a purl, by bom-ref: Trivy names them by the file the packages
    // under them were read from.
    let applications: BTreeMap<&str, &str> = components
        .iter()
        .filter(|c| c.kind.as_deref() == Some("application") && c.purl.is_none())
        .filter_map(|c| Some((c.bom_ref.as_deref()?, c.name.as_deref()?)))
        .collect();
    // Each application's packages are those it reaches through `dependsOn` (Trivy lists
    // only the root crate of a binary under it); the first application to reach a
    // package names it.
    let graph: BTreeMap<&str, &[String]> = bom
        .dependencies
        .iter()
        .flatten()
        .map(|d| {
            (
                d.reference.as_str(),
                d.depends_on.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    for (app_ref, app_name) in &applications {
        let mut seen = std::collections::BTreeSet::new();
        let mut queue: Vec<&str> = vec![app_ref];
        while let Some(node) = queue.pop() {
            for child in graph.get(node).copied().unwrap_or_default() {
                if seen.insert(child.as_str()) {
                    parent
                        .entry(child.clone())
                        .or_insert_with(|| (*app_name).to_owned());
                    queue.push(child);
                }
            }
        }
    }

    let mut distro: Option<Distro> = None;
    let mut packages = Vec::new();
    let mut skipped = Skipped::default();
    for component in components {
        let kind = component.kind.as_deref().unwrap_or("library");
        if kind == "operating-system" {
            if distro.is_none() {
                let properties = pairs(component.properties);
                distro = Some(super::distro(
                    component.name.as_deref().unwrap_or_default(),
                    component.version.as_deref(),
                    component.description.as_deref(),
                    &properties,
                    file,
                ));
            }
            continue;
        }
        if component.purl.is_none() && !matches!(kind, "library" | "framework") {
            continue;
        }
        let candidate = candidate(component, &parent);
        match candidate.into_package() {
            Ok(package) => packages.push(package),
            Err(skip) => skipped.add(skip),
        }
    }
    let distro = distro.or_else(|| distro_from_purls(&packages, file));
    ReadSbom {
        sbom: Sbom {
            tool,
            image,
            distro,
            packages,
        },
        format: Format::CycloneDx,
        warnings: skipped.warnings(file),
    }
}

fn candidate(component: Component, parent: &BTreeMap<String, String>) -> Candidate {
    let properties = pairs(component.properties);
    let mut locations: Vec<String> = component
        .evidence
        .and_then(|e| e.occurrences)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| o.location)
        .collect();
    locations.extend(properties.iter().filter_map(|(n, v)| {
        let is_location = n == "aquasecurity:trivy:FilePath"
            || n.strip_prefix("syft:location:")
                .is_some_and(|rest| rest.ends_with(":path"));
        is_location.then(|| v.clone())
    }));
    if locations.is_empty()
        && let Some(app) = component.bom_ref.as_ref().and_then(|r| parent.get(r))
    {
        locations.push(app.clone());
    }
    let licenses = component
        .licenses
        .unwrap_or_default()
        .into_iter()
        .filter_map(|choice| match (choice.license, choice.expression) {
            (Some(license), _) => license.id.or(license.name),
            (None, expression) => expression,
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    Candidate {
        name: component.name.unwrap_or_default(),
        version: component.version.unwrap_or_default(),
        purl: component.purl,
        licenses,
        properties,
        locations,
        source_info: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::read_sbom_file;

    #[test]
    fn legacy_tools_and_nested_components_are_read() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.4",
          "metadata":{"tools":[{"vendor":"x","name":"gen","version":"2.0"}],
                      "component":{"type":"container","name":"app:1"}},
          "components":[{"type":"library","name":"outer","version":"1","purl":"pkg:npm/outer@1",
             "components":[{"type":"library","name":"inner","version":"2","purl":"pkg:npm/inner@2"}]},
             {"type":"library","name":"bare","version":"1"},
             {"type":"library","name":"x","version":"1","purl":"pkg:generic/x@1"}]}"#;
        let read = read_sbom_file(doc, "t.json").unwrap();
        assert_eq!(read.sbom.tool.name, "gen");
        assert_eq!(read.sbom.image.reference, "app:1");
        let names: Vec<&str> = read.sbom.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["inner", "outer"]);
        assert_eq!(read.warnings.len(), 2, "{:?}", read.warnings);
        assert!(
            read.warnings[0].contains("pkg:generic (1)"),
            "{:?}",
            read.warnings
        );
        assert!(read.warnings[1].contains("`bare`"), "{:?}", read.warnings);
    }
}
