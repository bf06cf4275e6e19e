//! VEX documents: statements by a supplier or the team that a vulnerability does
//! or does not affect a product, read from OpenVEX 0.2 ([`openvex`]) or CycloneDX
//! 1.4–1.6 VEX ([`cyclonedx`]) into one model, [`VexStatement`].
//!
//! A statement applies to a finding when its vulnerability (name or any alias)
//! equals the finding's ID or any alias, ignoring case, and one of its products
//! covers the finding's package:
//!
//! - the product is the scanned image, recognised through [`ImageScope`] (by
//!   digest, `pkg:oci/…@sha256:…`, `name@sha256:…`, a `sha-256` hash, or an exact
//!   reference), and it lists no subcomponents: it covers every package;
//! - the product is the image and a subcomponent's purl matches the package's purl;
//! - the product itself is the package's purl.
//!
//! Purls match on type, namespace and name, ignoring qualifiers and subpath; a
//! version, when the statement gives one, must be equal. When several statements
//! apply, the one with the latest timestamp wins (the OpenVEX rule), and among
//! equal timestamps the last in document order; a statement without any
//! timestamp is older than every dated one. [`evaluate_documents`] applies the
//! same rule across documents, later documents winning ties.

pub mod cyclonedx;
pub mod openvex;

use std::collections::BTreeSet;
use std::path::Path;

use portcullis_types::Finding;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::purl::PackageUrl;

/// The two VEX formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VexFormat {
    OpenVex,
    CycloneDx,
}

impl VexFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            VexFormat::OpenVex => "OpenVEX",
            VexFormat::CycloneDx => "CycloneDX",
        }
    }
}

/// A statement's status, with the label its format uses: the four OpenVEX
/// statuses and the six CycloneDX analysis states (`not_affected` is shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
    Resolved,
    ResolvedWithPedigree,
    Exploitable,
    InTriage,
    FalsePositive,
}

impl VexStatus {
    /// The label as the document wrote it.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
            VexStatus::Resolved => "resolved",
            VexStatus::ResolvedWithPedigree => "resolved_with_pedigree",
            VexStatus::Exploitable => "exploitable",
            VexStatus::InTriage => "in_triage",
            VexStatus::FalsePositive => "false_positive",
        }
    }

    /// True for the statuses that remove a finding (not affected, fixed, resolved,
    /// false positive); the others only annotate it.
    pub fn suppresses(self) -> bool {
        matches!(
            self,
            VexStatus::NotAffected
                | VexStatus::Fixed
                | VexStatus::Resolved
                | VexStatus::ResolvedWithPedigree
                | VexStatus::FalsePositive
        )
    }
}

/// One product a statement is about, with every identifier it was given
/// (`@id`, purl, `sha256:…` from hashes, bom-ref) and the purls of its subcomponents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexProduct {
    pub identifiers: Vec<String>,
    pub subcomponents: Vec<String>,
    /// CycloneDX `affects[].versions`: when set, a package product covers only these
    /// exact package versions (an empty list, from version ranges this crate does not
    /// evaluate, covers none). Not used when the product is the image.
    pub versions: Option<Vec<String>>,
}

/// One statement of a document, in the shape shared by both formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    pub vulnerability: String,
    pub aliases: Vec<String>,
    pub products: Vec<VexProduct>,
    pub status: VexStatus,
    /// The justification label, as written.
    pub justification: Option<String>,
    /// OpenVEX impact and action statements, or CycloneDX `analysis.detail`.
    pub detail: Option<String>,
    /// CycloneDX `analysis.response` labels.
    pub responses: Vec<String>,
    /// When the statement was made, own or inherited from its document.
    pub timestamp: Option<OffsetDateTime>,
    /// Where it is in the document: `statements[3]`, `vulnerabilities[0]`.
    pub location: String,
}

/// A parsed VEX document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexDocument {
    /// The name it was parsed under (its path), shown with every verdict.
    pub name: String,
    pub format: VexFormat,
    /// OpenVEX `@id` or CycloneDX `serialNumber`.
    pub id: Option<String>,
    pub statements: Vec<VexStatement>,
}

/// What a VEX document says about one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VexVerdict {
    pub status: VexStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<String>,
    /// The document's name and the statement's place in it.
    pub document: String,
    pub statement: String,
    /// The vulnerability as the statement names it.
    pub vulnerability: String,
    /// RFC 3339, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// True when the finding is removed; false when it is only annotated.
    pub suppresses: bool,
}

/// The identities of the scanned image, against which VEX products are compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageScope {
    digests: BTreeSet<String>,
    references: BTreeSet<String>,
}

impl ImageScope {
    pub fn new() -> ImageScope {
        ImageScope::default()
    }

    /// Add a digest (`sha256:…`) of the image: manifest, index or config.
    pub fn with_digest(mut self, digest: impl AsRef<str>) -> ImageScope {
        self.digests
            .insert(digest.as_ref().trim().to_ascii_lowercase());
        self
    }

    /// Add a reference the image is known by (`registry.example/team/app:1.2`),
    /// compared exactly with product identifiers that carry no digest.
    pub fn with_reference(mut self, reference: impl AsRef<str>) -> ImageScope {
        self.references.insert(reference.as_ref().trim().to_owned());
        self
    }

    /// True when `identifier` names this image.
    pub fn identifies(&self, identifier: &str) -> bool {
        let identifier = identifier.trim();
        if let Some(purl) = PackageUrl::parse(identifier) {
            // An oci purl's version is the digest; its name is only the last path
            // segment of the repository, so the digest alone decides.
            return purl.kind == "oci"
                && purl
                    .version
                    .is_some_and(|v| self.digests.contains(&v.to_ascii_lowercase()));
        }
        let lower = identifier.to_ascii_lowercase();
        if self.digests.contains(&lower) {
            return true;
        }
        if let Some((_, digest)) = lower.rsplit_once('@') {
            return self.digests.contains(digest);
        }
        self.references.contains(identifier)
    }
}

/// Why a VEX document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VexError {
    #[error("failed to read VEX document `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Invalid JSON or a field of the wrong shape; `line` and `column` are 1-based, 0 when unknown.
    #[error("{}", if *line == 0 { format!("{document}: {message}") } else { format!("{document}:{line}:{column}: {message}") })]
    Invalid {
        document: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{document}: not a VEX document: expected OpenVEX (`\"@context\": \"https://openvex.dev/ns/v0.2.0\"`) or CycloneDX (`\"bomFormat\": \"CycloneDX\"`) JSON"
    )]
    UnknownFormat { document: String },
    #[error("{document}: unsupported {} version `{found}`: portcullis reads {supported}", format.as_str())]
    UnsupportedVersion {
        document: String,
        format: VexFormat,
        found: String,
        supported: &'static str,
    },
    #[error("{document}: {statement} (`{vulnerability}`): {message}")]
    IncompleteStatement {
        document: String,
        statement: String,
        vulnerability: String,
        message: String,
    },
}

impl VexError {
    pub(crate) fn from_json(document: &str, error: &serde_json::Error) -> VexError {
        let full = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        VexError::Invalid {
            document: document.to_owned(),
            line: error.line(),
            column: error.column(),
            message,
        }
    }
}

#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "@context", default)]
    context: Option<serde_json::Value>,
    #[serde(rename = "bomFormat", default)]
    bom_format: Option<serde_json::Value>,
    #[serde(rename = "specVersion", default)]
    spec_version: Option<serde_json::Value>,
}

impl VexDocument {
    /// Parse an OpenVEX 0.2 or CycloneDX 1.4–1.6 JSON document, recognised by its
    /// `@context` or `bomFormat`; `name` (usually its path) appears in verdicts and errors.
    pub fn parse(bytes: &[u8], name: &str) -> Result<VexDocument, VexError> {
        let probe: Probe =
            serde_json::from_slice(bytes).map_err(|e| VexError::from_json(name, &e))?;
        if let Some(context) = probe.context {
            let context = context.as_str().unwrap_or_default();
            if !context.starts_with("https://openvex.dev/ns") {
                return Err(VexError::UnknownFormat {
                    document: name.to_owned(),
                });
            }
            if !openvex::SUPPORTED_CONTEXTS.contains(&context) {
                return Err(VexError::UnsupportedVersion {
                    document: name.to_owned(),
                    format: VexFormat::OpenVex,
                    found: context.to_owned(),
                    supported: "OpenVEX 0.2.0 (`https://openvex.dev/ns/v0.2.0`)",
                });
            }
            return openvex::parse(bytes, name);
        }
        if probe.bom_format.as_ref().and_then(|v| v.as_str()) == Some("CycloneDX") {
            let version = probe
                .spec_version
                .as_ref()
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            if !cyclonedx::SUPPORTED_SPEC_VERSIONS.contains(&version) {
                return Err(VexError::UnsupportedVersion {
                    document: name.to_owned(),
                    format: VexFormat::CycloneDx,
                    found: version.to_owned(),
                    supported: "CycloneDX 1.4, 1.5 and 1.6",
                });
            }
            return cyclonedx::parse(bytes, name);
        }
        Err(VexError::UnknownFormat {
            document: name.to_owned(),
        })
    }

    /// Read and parse the VEX document at `path`.
    pub fn from_path(path: &Path) -> Result<VexDocument, VexError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| VexError::Read {
            path: name.clone(),
            source,
        })?;
        VexDocument::parse(&bytes, &name)
    }

    /// What this document says about `finding` in the image `image`, if anything.
    pub fn evaluate(&self, finding: &Finding, image: &ImageScope) -> Option<VexVerdict> {
        self.best(finding, image).map(|s| self.verdict(s))
    }

    fn best(&self, finding: &Finding, image: &ImageScope) -> Option<&VexStatement> {
        let package = PackageUrl::parse(&finding.package.purl);
        // `max_by_key` returns the last of equal keys: document order breaks ties.
        self.statements
            .iter()
            .filter(|s| s.applies(finding, package.as_ref(), image))
            .max_by_key(|s| s.timestamp)
    }

    fn verdict(&self, statement: &VexStatement) -> VexVerdict {
        VexVerdict {
            status: statement.status,
            justification: statement.justification.clone(),
            detail: statement.detail.clone(),
            responses: statement.responses.clone(),
            document: self.name.clone(),
            statement: statement.location.clone(),
            vulnerability: statement.vulnerability.clone(),
            timestamp: statement.timestamp.and_then(|t| t.format(&Rfc3339).ok()),
            suppresses: statement.status.suppresses(),
        }
    }
}

/// What several documents say about `finding`: the latest applicable statement
/// across all of them, later documents winning ties.
pub fn evaluate_documents(
    documents: &[VexDocument],
    finding: &Finding,
    image: &ImageScope,
) -> Option<VexVerdict> {
    documents
        .iter()
        .filter_map(|d| d.best(finding, image).map(|s| (d, s)))
        .max_by_key(|(_, s)| s.timestamp)
        .map(|(d, s)| d.verdict(s))
}

impl VexStatement {
    /// True when the statement names the finding's vulnerability and one of its
    /// products covers the finding's package in `image`.
    pub fn applies_to(&self, finding: &Finding, image: &ImageScope) -> bool {
        self.applies(
            finding,
            PackageUrl::parse(&finding.package.purl).as_ref(),
            image,
        )
    }

    fn applies(&self, finding: &Finding, package: Option<&PackageUrl>, image: &ImageScope) -> bool {
        let ids: Vec<&str> = std::iter::once(&finding.id)
            .chain(&finding.aliases)
            .map(|s| s.trim())
            .collect();
        let names = std::iter::once(&self.vulnerability)
            .chain(&self.aliases)
            .any(|name| ids.iter().any(|id| id.eq_ignore_ascii_case(name.trim())));
        names
            && self
                .products
                .iter()
                .any(|p| p.covers(finding, package, image))
    }
}

impl VexProduct {
    /// True when this product is the image (with no subcomponents, or one matching
    /// the finding's package) or is the finding's package itself.
    fn covers(&self, finding: &Finding, package: Option<&PackageUrl>, image: &ImageScope) -> bool {
        let product = self;
        let purl_matches = |identifier: &str| {
            package.is_some_and(|have| {
                PackageUrl::parse(identifier)
                    .is_some_and(|want| want.kind != "oci" && want.covers(have))
            })
        };
        if product.identifiers.iter().any(|id| image.identifies(id)) {
            return product.subcomponents.is_empty()
                || product.subcomponents.iter().any(|s| purl_matches(s));
        }
        product.identifiers.iter().any(|id| purl_matches(id))
            && product
                .versions
                .as_ref()
                .is_none_or(|versions| versions.contains(&finding.package.version))
    }
}

/// Parse an RFC 3339 timestamp as documents write them.
pub(crate) fn parse_timestamp(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
        format!("invalid timestamp `{text}`: expected RFC 3339, e.g. `2024-05-01T12:00:00Z`")
    })
}

/// A `sha256:…`-style identifier from a hash algorithm name and hex value, when the
/// algorithm is one image digests use.
pub(crate) fn digest_identifier(algorithm: &str, hex: &str) -> Option<String> {
    let algorithm = algorithm.trim().to_ascii_lowercase().replace('-', "");
    matches!(algorithm.as_str(), "sha256" | "sha512")
        .then(|| format!("{algorithm}:{}", hex.trim().to_ascii_lowercase()))
}
