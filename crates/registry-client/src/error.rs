//! [`RegistryError`], and the distribution specification's error bodies it is made from.

use portcullis_types::Digest;
use serde::Deserialize;

use crate::credential_store::CredentialError;

/// Why a registry operation failed. Every variant names the registry (and the repository
/// and manifest or blob where there is one); none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid client option: {0}")]
    InvalidOption(String),
    #[error("`{0}` is neither a valid tag nor a valid digest")]
    InvalidTagOrDigest(String),
    #[error("failed to read saved credentials for registry `{registry}`")]
    Credentials {
        registry: String,
        #[source]
        source: CredentialError,
    },
    #[error("cannot reach registry `{registry}` at {url}")]
    Connect {
        registry: String,
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error(
        "TLS connection to registry `{registry}` at {url} failed; if it serves plain HTTP \
         (loopback or lab registries only), pass `--insecure`"
    )]
    Tls {
        registry: String,
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("request for {what} in {registry}/{repository} failed")]
    Transport {
        registry: String,
        repository: String,
        what: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("manifest `{reference}` not found in {registry}/{repository}")]
    ManifestNotFound {
        registry: String,
        repository: String,
        reference: String,
    },
    #[error("blob `{digest}` not found in {registry}/{repository}")]
    BlobNotFound {
        registry: String,
        repository: String,
        digest: Digest,
    },
    #[error("repository {registry}/{repository} not found")]
    RepositoryNotFound {
        registry: String,
        repository: String,
    },
    #[error(
        "not authorised to pull {registry}/{repository} ({detail}); log in with \
         `docker login {registry}` or `skopeo login {registry}`, or pass `--creds user:password`"
    )]
    Unauthorized {
        registry: String,
        repository: String,
        detail: String,
    },
    #[error(
        "access to {registry}/{repository} denied ({detail}); check that the repository exists \
         and that your account may pull it (`docker login {registry}`, `skopeo login \
         {registry}` or `--creds user:password`)"
    )]
    Denied {
        registry: String,
        repository: String,
        detail: String,
    },
    #[error(
        "registry `{registry}` is rate-limiting pulls ({detail}); wait, or log in to raise the limit"
    )]
    RateLimited { registry: String, detail: String },
    #[error("token server {realm} for registry `{registry}` answered {status} ({detail})")]
    TokenRequest {
        registry: String,
        realm: String,
        status: u16,
        detail: String,
    },
    #[error("token server {realm} for registry `{registry}` sent no usable token")]
    TokenResponse { registry: String, realm: String },
    #[error("{what} in {registry}/{repository}: unexpected HTTP status {status} ({detail})")]
    UnexpectedStatus {
        registry: String,
        repository: String,
        what: String,
        status: u16,
        detail: String,
    },
    #[error(
        "manifest `{reference}` in {registry}/{repository} is larger than {limit} bytes; \
         raise the manifest size limit if it is legitimate"
    )]
    ManifestTooLarge {
        registry: String,
        repository: String,
        reference: String,
        limit: usize,
    },
    #[error(
        "manifest `{reference}` from {name} has digest `{actual}`, not the `{expected}` \
         asked for; the registry or something between is altering content"
    )]
    DigestMismatch {
        /// `registry/repository`.
        name: String,
        reference: String,
        expected: Digest,
        actual: Digest,
    },
    #[error(
        "manifest `{reference}` from {name} has digest `{actual}`, but the registry's \
         Docker-Content-Digest header says `{header}`"
    )]
    HeaderDigestMismatch {
        /// `registry/repository`.
        name: String,
        reference: String,
        header: Digest,
        actual: Digest,
    },
}

/// `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}`
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorItem {
    #[serde(default)]
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
}

impl ErrorBody {
    /// Parses a response body; anything else becomes an empty list.
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    pub(crate) fn has_code(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code == code)
    }

    /// `CODE: message; …`, or the HTTP status when the body said nothing usable.
    pub(crate) fn describe(&self, status: u16) -> String {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                (true, _) => e.message.clone(),
            })
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            format!("HTTP {status}")
        } else {
            // Registries may echo request details; bound what reaches a terminal.
            let joined = parts.join("; ");
            joined.chars().take(500).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_distribution_errors() {
        let body = ErrorBody::parse(
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"y"}}]}"#,
        );
        assert!(body.has_code("MANIFEST_UNKNOWN"));
        assert_eq!(body.describe(404), "MANIFEST_UNKNOWN: manifest unknown");
        assert_eq!(ErrorBody::parse(b"<html>").describe(502), "HTTP 502");
    }
}
