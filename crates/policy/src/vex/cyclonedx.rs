//! CycloneDX 1.4–1.6 VEX in JSON: `vulnerabilities[]`, each with an `id`,
//! `references[].id` (its aliases), an `analysis` (`state`, `justification`,
//! `response[]`, `detail`, `firstIssued`, `lastUpdated`) and `affects[]`, whose
//! `ref` is a bom-ref of a component of this BOM (`metadata.component` or
//! `components[]`, nested), a BOM-Link (`urn:cdx:…#bom-ref`) or directly a purl.
//!
//! A vulnerability without an `analysis.state` is a finding report, not a VEX
//! statement, and is skipped. A statement's timestamp is `analysis.lastUpdated`,
//! else `analysis.firstIssued`, else the vulnerability's `updated`, `published`
//! or `created`, else `metadata.timestamp`.
//!
//! `affects[].versions` is honoured for package refs: the package version must
//! equal one of the listed `version`s; `range` entries (vers) are not evaluated,
//! so a ref limited only by ranges covers no package (nothing is suppressed on a
//! guess).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;

use super::{VexDocument, VexError, VexFormat, VexProduct, VexStatement, VexStatus};
use crate::purl::decode;

/// `specVersion` values read.
pub const SUPPORTED_SPEC_VERSIONS: &[&str] = &["1.4", "1.5", "1.6"];

/// `analysis.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Resolved,
    ResolvedWithPedigree,
    Exploitable,
    InTriage,
    FalsePositive,
    NotAffected,
}

impl From<State> for VexStatus {
    fn from(state: State) -> VexStatus {
        match state {
            State::Resolved => VexStatus::Resolved,
            State::ResolvedWithPedigree => VexStatus::ResolvedWithPedigree,
            State::Exploitable => VexStatus::Exploitable,
            State::InTriage => VexStatus::InTriage,
            State::FalsePositive => VexStatus::FalsePositive,
            State::NotAffected => VexStatus::NotAffected,
        }
    }
}

/// `analysis.justification`: the nine labels of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    CodeNotPresent,
    CodeNotReachable,
    RequiresConfiguration,
    RequiresDependency,
    RequiresEnvironment,
    ProtectedByCompiler,
    ProtectedAtRuntime,
    ProtectedAtPerimeter,
    ProtectedByMitigatingControl,
}

impl Justification {
    pub fn as_str(self) -> &'static str {
        match self {
            Justification::CodeNotPresent => "code_not_present",
            Justification::CodeNotReachable => "code_not_reachable",
            Justification::RequiresConfiguration => "requires_configuration",
            Justification::RequiresDependency => "requires_dependency",
            Justification::RequiresEnvironment => "requires_environment",
            Justification::ProtectedByCompiler => "protected_by_compiler",
            Justification::ProtectedAtRuntime => "protected_at_runtime",
            Justification::ProtectedAtPerimeter => "protected_at_perimeter",
            Justification::ProtectedByMitigatingControl => "protected_by_mitigating_control",
        }
    }
}

/// `analysis.response[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Response {
    CanNotFix,
    WillNotFix,
    Update,
    Rollback,
    WorkaroundAvailable,
}

impl Response {
    fn as_str(self) -> &'static str {
        match self {
            Response::CanNotFix => "can_not_fix",
            Response::WillNotFix => "will_not_fix",
            Response::Update => "update",
            Response::Rollback => "rollback",
            Response::WorkaroundAvailable => "workaround_available",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBom {
    #[serde(default)]
    serial_number: Option<String>,
    #[serde(default)]
    metadata: Option<RawMetadata>,
    #[serde(default)]
    components: Vec<RawComponent>,
    #[serde(default)]
    vulnerabilities: Vec<RawVulnerability>,
}

#[derive(Deserialize)]
struct RawMetadata {
    #[serde(default, deserialize_with = "timestamp")]
    timestamp: Option<OffsetDateTime>,
    #[serde(default)]
    component: Option<RawComponent>,
}

#[derive(Deserialize)]
struct RawComponent {
    #[serde(rename = "bom-ref", default)]
    bom_ref: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    hashes: Vec<RawHash>,
    #[serde(default)]
    components: Vec<RawComponent>,
}

#[derive(Deserialize)]
struct RawHash {
    alg: String,
    content: String,
}

#[derive(Deserialize)]
struct RawVulnerability {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    analysis: Option<RawAnalysis>,
    #[serde(default)]
    affects: Vec<RawAffects>,
    #[serde(default, deserialize_with = "timestamp")]
    created: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "timestamp")]
    published: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "timestamp")]
    updated: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
struct RawReference {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAnalysis {
    #[serde(default)]
    state: Option<State>,
    #[serde(default)]
    justification: Option<Justification>,
    #[serde(default)]
    response: Vec<Response>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    first_issued: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "timestamp")]
    last_updated: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
struct RawAffects {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default)]
    versions: Vec<RawVersion>,
}

#[derive(Deserialize)]
struct RawVersion {
    #[serde(default)]
    version: Option<String>,
}

fn timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<OffsetDateTime>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| super::parse_timestamp(&text).map_err(serde::de::Error::custom))
        .transpose()
}

/// bom-ref → every identifier of that component (bom-ref, purl, `sha256:…`).
fn index_components(components: &[RawComponent], index: &mut BTreeMap<String, Vec<String>>) {
    for component in components {
        let mut identifiers: Vec<String> = component.bom_ref.iter().cloned().collect();
        identifiers.extend(component.purl.iter().cloned());
        identifiers.extend(
            component
                .hashes
                .iter()
                .filter_map(|h| super::digest_identifier(&h.alg, &h.content)),
        );
        if let Some(bom_ref) = &component.bom_ref {
            index.insert(bom_ref.clone(), identifiers);
        }
        index_components(&component.components, index);
    }
}

pub(super) fn parse(bytes: &[u8], name: &str) -> Result<VexDocument, VexError> {
    let raw: RawBom = serde_json::from_slice(bytes).map_err(|e| VexError::from_json(name, &e))?;
    let mut index = BTreeMap::new();
    let metadata_timestamp = raw.metadata.as_ref().and_then(|m| m.timestamp);
    if let Some(subject) = raw.metadata.as_ref().and_then(|m| m.component.as_ref()) {
        index_components(std::slice::from_ref(subject), &mut index);
    }
    index_components(&raw.components, &mut index);

    let mut statements = Vec::new();
    for (position, vulnerability) in raw.vulnerabilities.into_iter().enumerate() {
        let (Some(id), Some(analysis)) = (vulnerability.id, vulnerability.analysis) else {
            continue;
        };
        let Some(state) = analysis.state else {
            continue;
        };
        let products = vulnerability
            .affects
            .iter()
            .map(|affects| product(&affects.reference, &affects.versions, &index))
            .collect::<Vec<_>>();
        if products.is_empty() {
            continue;
        }
        let mut aliases: Vec<String> = vulnerability.references.into_iter().map(|r| r.id).collect();
        aliases.retain(|a| !a.eq_ignore_ascii_case(&id));
        let timestamp = analysis
            .last_updated
            .or(analysis.first_issued)
            .or(vulnerability.updated)
            .or(vulnerability.published)
            .or(vulnerability.created)
            .or(metadata_timestamp);
        statements.push(VexStatement {
            vulnerability: id.trim().to_owned(),
            aliases,
            products,
            status: state.into(),
            justification: analysis.justification.map(|j| j.as_str().to_owned()),
            detail: analysis
                .detail
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            responses: analysis
                .response
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            timestamp,
            location: format!("vulnerabilities[{position}]"),
        });
    }
    Ok(VexDocument {
        name: name.to_owned(),
        format: VexFormat::CycloneDx,
        id: raw.serial_number,
        statements,
    })
}

/// The product an `affects` entry names: the component it refers to when this
/// BOM lists it, else the ref itself (or a BOM-Link's fragment) as an identifier.
fn product(
    reference: &str,
    versions: &[RawVersion],
    index: &BTreeMap<String, Vec<String>>,
) -> VexProduct {
    let fragment = reference
        .strip_prefix("urn:cdx:")
        .and_then(|link| link.split_once('#'))
        .map(|(_, fragment)| decode(fragment));
    let key = fragment.as_deref().unwrap_or(reference);
    let identifiers = index
        .get(reference)
        .or_else(|| index.get(key))
        .cloned()
        .unwrap_or_else(|| {
            let mut ids = vec![reference.to_owned()];
            ids.extend(fragment.clone());
            ids
        });
    VexProduct {
        identifiers,
        subcomponents: Vec::new(),
        versions: (!versions.is_empty())
            .then(|| versions.iter().filter_map(|v| v.version.clone()).collect()),
    }
}
