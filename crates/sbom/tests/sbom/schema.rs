//! Our CycloneDX and SPDX output validates against the published schemas, resolved offline
//! from `fixtures/schemas/`, with `format` assertions on; plus the referential rules the
//! schemas cannot express (unique ids, relationships and dependencies that point at
//! something, every `LicenseRef-` defined).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use jsonschema::{Registry, Validator};
use portcullis_sbom::{Format, WriteOptions, to_string};
use portcullis_types::Sbom;
use serde_json::Value;

use crate::fixture;

fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/schemas")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vendored schema {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn cyclonedx_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        // The bom schema refers to its siblings by relative URI against its `$id`.
        let registry = Registry::new()
            .add(
                "http://cyclonedx.org/schema/spdx.schema.json",
                schema("spdx.schema.json"),
            )
            .and_then(|r| {
                r.add(
                    "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                    schema("jsf-0.82.schema.json"),
                )
            })
            .and_then(|r| r.prepare())
            .expect("registry of vendored schemas");
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .with_registry(&registry)
            .build(&schema("bom-1.6.schema.json"))
            .expect("CycloneDX 1.6 schema compiles offline")
    })
}

fn spdx_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .build(&schema("spdx-schema.json"))
            .expect("SPDX 2.3 schema compiles offline")
    })
}

fn schema_errors(validator: &Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Every problem with a CycloneDX document, schema and references; empty when valid.
pub fn cyclonedx_problems(document: &Value) -> Vec<String> {
    let mut problems = schema_errors(cyclonedx_validator(), document);
    let mut refs = BTreeSet::new();
    let metadata_ref = document["metadata"]["component"]["bom-ref"].as_str();
    let component_refs = document["components"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["bom-ref"].as_str());
    for r in std::iter::once(metadata_ref).chain(component_refs) {
        match r {
            Some(r) if refs.insert(r.to_owned()) => {}
            Some(r) => problems.push(format!("duplicate bom-ref `{r}`")),
            None => problems.push("component without bom-ref".to_owned()),
        }
    }
    let mut listed = BTreeSet::new();
    for dependency in document["dependencies"].as_array().into_iter().flatten() {
        let r = dependency["ref"].as_str().unwrap_or_default();
        if !refs.contains(r) {
            problems.push(format!("dependency on unknown ref `{r}`"));
        }
        if !listed.insert(r.to_owned()) {
            problems.push(format!("ref `{r}` listed twice in dependencies"));
        }
        for target in dependency["dependsOn"].as_array().into_iter().flatten() {
            let target = target.as_str().unwrap_or_default();
            if !refs.contains(target) {
                problems.push(format!("`{r}` depends on unknown ref `{target}`"));
            }
        }
    }
    if listed != refs {
        problems.push(format!(
            "refs missing from dependencies: {:?}",
            refs.difference(&listed)
        ));
    }
    problems
}

/// Every problem with an SPDX document, schema and references; empty when valid.
pub fn spdx_problems(document: &Value) -> Vec<String> {
    let mut problems = schema_errors(spdx_validator(), document);
    let mut ids = BTreeSet::from(["SPDXRef-DOCUMENT".to_owned()]);
    let valid_id = |id: &str| {
        id.strip_prefix("SPDXRef-").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
    };
    for package in document["packages"].as_array().into_iter().flatten() {
        let id = package["SPDXID"].as_str().unwrap_or_default();
        if !valid_id(id) {
            problems.push(format!("invalid SPDXID `{id}`"));
        }
        if !ids.insert(id.to_owned()) {
            problems.push(format!("duplicate SPDXID `{id}`"));
        }
    }
    for relationship in document["relationships"].as_array().into_iter().flatten() {
        for end in ["spdxElementId", "relatedSpdxElement"] {
            let id = relationship[end].as_str().unwrap_or_default();
            if !ids.contains(id) {
                problems.push(format!("relationship to unknown element `{id}`"));
            }
        }
    }
    let defined: BTreeSet<&str> = document["hasExtractedLicensingInfos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["licenseId"].as_str())
        .collect();
    for package in document["packages"].as_array().into_iter().flatten() {
        let declared = package["licenseDeclared"].as_str().unwrap_or_default();
        for term in declared.split([' ', '(', ')']) {
            if term.starts_with("LicenseRef-") && !defined.contains(term) {
                problems.push(format!("undefined license reference `{term}`"));
            }
        }
    }
    problems
}

pub fn render(sbom: &Sbom, format: Format, options: &WriteOptions) -> Value {
    serde_json::from_str(&to_string(sbom, format, options).expect("renders")).expect("JSON")
}

fn all_options() -> [WriteOptions; 2] {
    [
        WriteOptions::default(),
        WriteOptions {
            include_files: true,
            ..fixture::timestamped()
        },
    ]
}

#[test]
fn cyclonedx_validates_against_the_published_1_6_schema() {
    for sbom in [fixture::mixed(), fixture::empty()] {
        for options in all_options() {
            let document = render(&sbom, Format::CycloneDx, &options);
            let problems = cyclonedx_problems(&document);
            assert!(problems.is_empty(), "{}", problems.join("\n"));
        }
    }
}

#[test]
fn spdx_validates_against_the_published_2_3_schema() {
    for sbom in [fixture::mixed(), fixture::empty()] {
        for options in all_options() {
            let document = render(&sbom, Format::Spdx, &options);
            let problems = spdx_problems(&document);
            assert!(problems.is_empty(), "{}", problems.join("\n"));
        }
    }
}

/// The validators are not vacuous: the license enumeration (an offline `$ref`) and the
/// SPDX required fields are enforced.
#[test]
fn the_validators_reject_what_the_schemas_forbid() {
    let mut cdx = render(
        &fixture::mixed(),
        Format::CycloneDx,
        &WriteOptions::default(),
    );
    let license = cdx["components"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find_map(|c| c.pointer_mut("/licenses/0/license"))
        .unwrap();
    license["id"] = "GPLv2+".into();
    license.as_object_mut().unwrap().remove("name");
    assert!(!schema_errors(cyclonedx_validator(), &cdx).is_empty());

    let mut cdx = render(
        &fixture::mixed(),
        Format::CycloneDx,
        &WriteOptions::default(),
    );
    cdx["metadata"]["timestamp"] = "yesterday".into();
    assert!(
        !schema_errors(cyclonedx_validator(), &cdx).is_empty(),
        "date-time format checked"
    );

    let mut spdx = render(&fixture::mixed(), Format::Spdx, &WriteOptions::default());
    spdx["packages"][1]
        .as_object_mut()
        .unwrap()
        .remove("downloadLocation");
    assert!(!schema_errors(spdx_validator(), &spdx).is_empty());
}

#[test]
fn licenses_follow_the_policy_in_both_formats() {
    let cdx = render(
        &fixture::mixed(),
        Format::CycloneDx,
        &WriteOptions::default(),
    );
    let licenses = |name: &str, arch: &str| {
        cdx["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["name"] == name
                    && c["properties"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|p| p["value"] == arch))
            })
            .map(|c| c["licenses"].clone())
            .unwrap()
    };
    assert_eq!(
        licenses("bash", "amd64"),
        serde_json::json!([{"license": {"id": "GPL-3.0-or-later", "acknowledgement": "declared"}}])
    );
    assert_eq!(
        licenses("libcrypto3", "x86_64"),
        serde_json::json!([{"expression": "Apache-2.0 AND MIT", "acknowledgement": "declared"}])
    );
    assert_eq!(
        licenses("openssl-libs", "x86_64"),
        serde_json::json!([{"license": {"name": "ASL 2.0", "acknowledgement": "declared"}}])
    );

    let spdx = render(&fixture::mixed(), Format::Spdx, &WriteOptions::default());
    let declared = |name: &str| {
        spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["licenseDeclared"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(declared("bash"), "GPL-3.0-or-later");
    assert_eq!(declared("libcrypto3"), "Apache-2.0 AND MIT");
    assert_eq!(declared("tzdata"), "NOASSERTION");
    let libc6 = declared("libc6");
    // Debian's `LGPL-2.1+` happens to be a (deprecated) SPDX id; its `GPL-2+` is not.
    assert!(
        libc6.starts_with("LGPL-2.1+ AND LicenseRef-GPL-2--"),
        "{libc6}"
    );
    let extracted: Vec<&str> = spdx["hasExtractedLicensingInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["extractedText"].as_str().unwrap())
        .collect();
    assert_eq!(
        extracted.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "ASL 2.0",
            "GPL-2+",
            "LGPLv2+ and LGPLv2+ with exceptions and GPLv2+"
        ])
    );
    assert_eq!(extracted.len(), 3, "each name defined once");
}
