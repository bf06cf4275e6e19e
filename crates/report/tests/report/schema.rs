//! SARIF, CycloneDX and GitLab output validate against the official schemas,
//! resolved offline, with `format` assertions on; the validators are shown
//! to reject what the schemas forbid, so that a pass means something.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jsonschema::{Registry, Validator};
use portcullis_report::{Format, ScanReport, write};
use serde_json::Value;

use crate::fixture;

fn schema_at(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vendored schema {}: {e}", path.display()));
    serde_json::from_str(&text).expect("schema is JSON")
}

fn own_schema(name: &str) -> Value {
    schema_at(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/schemas")
            .join(name),
    )
}

/// The CycloneDX schemas are vendored once, by portcullis-sbom.
fn cyclonedx_schema(name: &str) -> Value {
    schema_at(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../sbom/tests/fixtures/schemas")
            .join(name),
    )
}

fn sarif_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .build(&own_schema("sarif-schema-2.1.0.json"))
            .expect("SARIF 2.1.0 schema compiles offline")
    })
}

fn gitlab_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .build(&own_schema("container-scanning-report-format.json"))
            .expect("GitLab container-scanning schema compiles offline")
    })
}

fn cyclonedx_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let registry = Registry::new()
            .add(
                "http://cyclonedx.org/schema/spdx.schema.json",
                cyclonedx_schema("spdx.schema.json"),
            )
            .and_then(|r| {
                r.add(
                    "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                    cyclonedx_schema("jsf-0.82.schema.json"),
                )
            })
            .and_then(|r| r.prepare())
            .expect("registry of vendored schemas");
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .with_registry(&registry)
            .build(&cyclonedx_schema("bom-1.6.schema.json"))
            .expect("CycloneDX 1.6 schema compiles offline")
    })
}

fn errors(validator: &Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

pub fn render(report: &ScanReport, format: Format) -> Value {
    serde_json::from_slice(&write(report, format).expect("renders")).expect("JSON")
}

fn reports() -> [ScanReport; 2] {
    [fixture::report(), fixture::clean()]
}

#[test]
fn sarif_validates_against_the_official_2_1_0_schema() {
    for report in reports() {
        let problems = errors(sarif_validator(), &render(&report, Format::Sarif));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[test]
fn gitlab_validates_against_the_container_scanning_schema() {
    for report in reports() {
        let problems = errors(gitlab_validator(), &render(&report, Format::Gitlab));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

/// The schema, and the references it cannot express: unique bom-refs, and
/// every `affects` pointing at a component.
#[test]
fn cyclonedx_validates_against_the_published_1_6_schema() {
    for report in reports() {
        let document = render(&report, Format::Cyclonedx);
        let mut problems = errors(cyclonedx_validator(), &document);
        let mut refs = BTreeSet::new();
        let component_refs = document["components"].as_array().into_iter().flatten();
        let vulnerability_refs = document["vulnerabilities"].as_array().into_iter().flatten();
        for item in std::iter::once(&document["metadata"]["component"])
            .chain(component_refs)
            .chain(vulnerability_refs)
        {
            let r = item["bom-ref"].as_str().unwrap_or_default().to_owned();
            if !refs.insert(r.clone()) {
                problems.push(format!("duplicate bom-ref `{r}`"));
            }
        }
        for vulnerability in document["vulnerabilities"].as_array().into_iter().flatten() {
            for affected in vulnerability["affects"].as_array().into_iter().flatten() {
                let r = affected["ref"].as_str().unwrap_or_default();
                let known = document["components"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["bom-ref"] == r);
                if !known {
                    problems.push(format!("`affects` names no component: `{r}`"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

/// The validators are not vacuous: each rejects a document broken in a way
/// its schema forbids.
#[test]
fn the_validators_reject_what_the_schemas_forbid() {
    let report = fixture::report();

    let mut sarif = render(&report, Format::Sarif);
    sarif["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(
        !errors(sarif_validator(), &sarif).is_empty(),
        "SARIF level enum"
    );
    let mut sarif = render(&report, Format::Sarif);
    sarif["runs"][0]["invocations"][0]["endTimeUtc"] = "yesterday".into();
    assert!(
        !errors(sarif_validator(), &sarif).is_empty(),
        "SARIF date-time format"
    );
    let mut sarif = render(&report, Format::Sarif);
    sarif["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"] = "not a uri".into();
    assert!(
        !errors(sarif_validator(), &sarif).is_empty(),
        "SARIF uri format"
    );

    let mut gitlab = render(&report, Format::Gitlab);
    gitlab["vulnerabilities"][0]["severity"] = "Severe".into();
    assert!(
        !errors(gitlab_validator(), &gitlab).is_empty(),
        "GitLab severity enum"
    );
    let mut gitlab = render(&report, Format::Gitlab);
    gitlab["scan"]["start_time"] = "2025-01-02T03:04:05Z".into();
    assert!(
        !errors(gitlab_validator(), &gitlab).is_empty(),
        "GitLab time pattern"
    );
    let mut gitlab = render(&report, Format::Gitlab);
    gitlab["vulnerabilities"][0]["location"]
        .as_object_mut()
        .expect("location")
        .remove("image");
    assert!(
        !errors(gitlab_validator(), &gitlab).is_empty(),
        "GitLab required image"
    );

    let mut cdx = render(&report, Format::Cyclonedx);
    cdx["vulnerabilities"][0]["ratings"][0]["method"] = "CVSSv5".into();
    assert!(
        !errors(cyclonedx_validator(), &cdx).is_empty(),
        "CycloneDX method enum"
    );
    let mut cdx = render(&report, Format::Cyclonedx);
    cdx["vulnerabilities"][0]["published"] = "last tuesday".into();
    assert!(
        !errors(cyclonedx_validator(), &cdx).is_empty(),
        "CycloneDX date-time format"
    );
}
