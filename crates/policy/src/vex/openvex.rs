//! OpenVEX 0.2.0 JSON: a document with `@context`, `@id`, `author`, `timestamp`
//! and `statements[]`, each statement with a `vulnerability` (`name`, `aliases`),
//! `products[]` (`@id`, `identifiers`, `hashes`, `subcomponents[]`), a `status`
//! and, for `not_affected`, a `justification` or an `impact_statement`.
//!
//! A statement's timestamp is its `last_updated` or `timestamp`, whichever is
//! later, else the document's `timestamp` (the specification's inheritance).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;

use super::{VexDocument, VexError, VexFormat, VexProduct, VexStatement, VexStatus};

/// `@context` values read as OpenVEX 0.2.0; the unversioned one is what the
/// specification fixes before 1.0.
pub const SUPPORTED_CONTEXTS: &[&str] = &[
    "https://openvex.dev/ns/v0.2.0",
    "https://openvex.dev/ns/v0.2.0/",
    "https://openvex.dev/ns",
];

/// The five justification labels of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    ComponentNotPresent,
    VulnerableCodeNotPresent,
    VulnerableCodeNotInExecutePath,
    VulnerableCodeCannotBeControlledByAdversary,
    InlineMitigationsAlreadyExist,
}

impl Justification {
    pub fn as_str(self) -> &'static str {
        match self {
            Justification::ComponentNotPresent => "component_not_present",
            Justification::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            Justification::VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
            Justification::VulnerableCodeCannotBeControlledByAdversary => {
                "vulnerable_code_cannot_be_controlled_by_adversary"
            }
            Justification::InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl From<Status> for VexStatus {
    fn from(status: Status) -> VexStatus {
        match status {
            Status::NotAffected => VexStatus::NotAffected,
            Status::Affected => VexStatus::Affected,
            Status::Fixed => VexStatus::Fixed,
            Status::UnderInvestigation => VexStatus::UnderInvestigation,
        }
    }
}

#[derive(Deserialize)]
struct RawDocument {
    #[serde(rename = "@id", default)]
    id: Option<String>,
    #[serde(default, deserialize_with = "timestamp")]
    timestamp: Option<OffsetDateTime>,
    #[serde(default)]
    statements: Vec<RawStatement>,
}

#[derive(Deserialize)]
struct RawStatement {
    vulnerability: RawVulnerability,
    #[serde(default, deserialize_with = "timestamp")]
    timestamp: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "timestamp")]
    last_updated: Option<OffsetDateTime>,
    #[serde(default)]
    products: Vec<RawProduct>,
    status: Status,
    #[serde(default)]
    justification: Option<Justification>,
    #[serde(default)]
    impact_statement: Option<String>,
    #[serde(default)]
    action_statement: Option<String>,
    #[serde(default)]
    status_notes: Option<String>,
}

#[derive(Deserialize)]
struct RawVulnerability {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Deserialize)]
struct RawProduct {
    #[serde(rename = "@id", default)]
    id: Option<String>,
    #[serde(default)]
    identifiers: BTreeMap<String, String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default)]
    subcomponents: Vec<RawComponent>,
}

#[derive(Deserialize)]
struct RawComponent {
    #[serde(rename = "@id", default)]
    id: Option<String>,
    #[serde(default)]
    identifiers: BTreeMap<String, String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

impl RawComponent {
    fn identifiers(&self) -> Vec<String> {
        identifiers(self.id.as_ref(), &self.identifiers, &self.hashes)
    }
}

/// `@id`, then the `identifiers` values (purl, cpe22, cpe23), then `sha256:…`
/// digests from the hashes; order does not matter for matching.
fn identifiers(
    id: Option<&String>,
    identifiers: &BTreeMap<String, String>,
    hashes: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out: Vec<String> = id.cloned().into_iter().collect();
    out.extend(identifiers.values().cloned());
    out.extend(
        hashes
            .iter()
            .filter_map(|(algorithm, hex)| super::digest_identifier(algorithm, hex)),
    );
    out
}

fn timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<OffsetDateTime>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| super::parse_timestamp(&text).map_err(serde::de::Error::custom))
        .transpose()
}

pub(super) fn parse(bytes: &[u8], name: &str) -> Result<VexDocument, VexError> {
    let raw: RawDocument =
        serde_json::from_slice(bytes).map_err(|e| VexError::from_json(name, &e))?;
    let mut statements = Vec::with_capacity(raw.statements.len());
    for (index, statement) in raw.statements.into_iter().enumerate() {
        let location = format!("statements[{index}]");
        let incomplete = |message: &str| VexError::IncompleteStatement {
            document: name.to_owned(),
            statement: location.clone(),
            vulnerability: statement.vulnerability.name.clone(),
            message: message.to_owned(),
        };
        if statement.vulnerability.name.trim().is_empty() {
            return Err(incomplete("`vulnerability.name` is empty"));
        }
        if statement.products.is_empty() {
            return Err(incomplete(
                "no `products`: a statement must say which product it is about",
            ));
        }
        if statement.status == Status::NotAffected
            && statement.justification.is_none()
            && statement
                .impact_statement
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            return Err(incomplete(
                "`not_affected` without a `justification` or an `impact_statement`: the specification requires one",
            ));
        }
        let products = statement
            .products
            .iter()
            .map(|p| VexProduct {
                identifiers: identifiers(p.id.as_ref(), &p.identifiers, &p.hashes),
                subcomponents: p
                    .subcomponents
                    .iter()
                    .flat_map(RawComponent::identifiers)
                    .collect(),
                versions: None,
            })
            .collect();
        let detail: Vec<&str> = [
            &statement.impact_statement,
            &statement.action_statement,
            &statement.status_notes,
        ]
        .into_iter()
        .filter_map(|s| s.as_deref().map(str::trim).filter(|s| !s.is_empty()))
        .collect();
        let timestamp = statement
            .timestamp
            .max(statement.last_updated)
            .or(raw.timestamp);
        statements.push(VexStatement {
            vulnerability: statement.vulnerability.name.trim().to_owned(),
            aliases: statement.vulnerability.aliases,
            products,
            status: statement.status.into(),
            justification: statement.justification.map(|j| j.as_str().to_owned()),
            detail: (!detail.is_empty()).then(|| detail.join("; ")),
            responses: Vec::new(),
            timestamp,
            location,
        });
    }
    Ok(VexDocument {
        name: name.to_owned(),
        format: VexFormat::OpenVex,
        id: raw.id,
        statements,
    })
}
