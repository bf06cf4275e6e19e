//! The registry's bearer tokens: JSON Web Tokens signed with HS256.
//!
//! The token endpoint and the registry are the same deployment, sharing one signing key
//! through the database, so a symmetric signature suffices (clients treat the token as
//! opaque). The claims follow the Docker token specification (`iss`, `sub`, `aud`, `exp`,
//! `nbf`, `iat`, `jti`, `access`) plus the principal's kind, role and teams, and `src`: what
//! the token was issued from ([`IssuedFrom`]), which is checked against the database on
//! every use so that revoking an API token, or deleting a user or changing its password,
//! role or teams, ends the registry tokens issued from it at once (see `revocation.rs`).
//! Only `{"alg":"HS256"}` is accepted: a token claiming `none` or another algorithm is
//! refused before anything else is read.

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use portcullis_types::{PrincipalKind, RegistryAction, Role};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// One `access` entry: actions granted on one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Always `repository` for what portcullis grants.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: BTreeSet<RegistryAction>,
}

/// The claim set of a registry token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    pub access: Vec<Access>,
    /// `None` for an anonymous token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PrincipalKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default)]
    pub teams: BTreeSet<String>,
    /// What the token was issued from; `None` for an anonymous token.
    #[serde(default, rename = "src", skip_serializing_if = "Option::is_none")]
    pub issued_from: Option<IssuedFrom>,
}

/// The credential a registry token was issued from, as recorded in its `src` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IssuedFrom {
    /// An API token, by its id: valid while that token is neither revoked nor expired.
    Token(i64),
    /// A user's password: the user's credential stamp at issue (see `revocation.rs`),
    /// valid while the user exists with the same password, role and teams.
    User(String),
}

impl Claims {
    /// Whether this token grants `action` on `repository`.
    pub fn grants(&self, repository: &str, action: RegistryAction) -> bool {
        self.access.iter().any(|access| {
            access.kind == "repository"
                && access.name == repository
                && access.actions.contains(&action)
        })
    }
}

/// Why a token was refused (never containing the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JwtError {
    Malformed,
    Signature,
    Expired,
    NotYetValid,
    Audience,
    /// What it was issued from was revoked, deleted or changed.
    Revoked,
}

impl JwtError {
    /// The RFC 6750 `error_description` of the challenge.
    pub fn description(self) -> &'static str {
        match self {
            JwtError::Malformed => "the token is not a portcullis registry token",
            JwtError::Signature => "the token's signature is not valid",
            JwtError::Expired => "the token has expired; fetch a new one",
            JwtError::NotYetValid => "the token is not valid yet; check the clocks",
            JwtError::Audience => "the token was issued for another service",
            JwtError::Revoked => {
                "the credential this token was issued from was revoked or changed; sign in again"
            }
        }
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs and verifies tokens with one key.
#[derive(Clone)]
pub(crate) struct Signer {
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer { key: <redacted> }")
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

impl Signer {
    /// A signer keyed with `key` (`None` only if HMAC refused the key, which it does not
    /// for any length).
    pub fn new(key: &[u8]) -> Option<Self> {
        Some(Self {
            keyed: <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?,
        })
    }

    fn mac(&self, signing_input: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(signing_input.as_bytes());
        mac
    }

    /// The compact serialisation of `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        // Serialising a struct of strings, numbers and sets cannot fail.
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self.mac(&input).finalize().into_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The claims of `token` if its signature, audience and validity period hold at `now`
    /// (Unix seconds), allowing clocks to differ by `leeway` seconds.
    pub fn verify(
        &self,
        token: &str,
        audience: &str,
        now: u64,
        leeway: u64,
    ) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(JwtError::Malformed)?;
        if header.alg != "HS256" {
            return Err(JwtError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| JwtError::Malformed)?;
        let signed_len = token.len() - signature_len(token);
        self.mac(&token[..signed_len])
            .verify_slice(&signature)
            .map_err(|_| JwtError::Signature)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(JwtError::Malformed)?;
        if claims.aud != audience {
            return Err(JwtError::Audience);
        }
        if now >= claims.exp.saturating_add(leeway) {
            return Err(JwtError::Expired);
        }
        if claims.nbf > now.saturating_add(leeway) {
            return Err(JwtError::NotYetValid);
        }
        Ok(claims)
    }
}

/// The length of `.signature` at the end of a three-part token.
fn signature_len(token: &str) -> usize {
    token.rfind('.').map_or(0, |dot| token.len() - dot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            iss: "realm".to_owned(),
            sub: "alice".to_owned(),
            aud: "portcullis".to_owned(),
            exp,
            nbf: 100,
            iat: 100,
            jti: "j".to_owned(),
            access: vec![Access {
                kind: "repository".to_owned(),
                name: "unscanned/a/app".to_owned(),
                actions: BTreeSet::from([RegistryAction::Pull]),
            }],
            kind: Some(PrincipalKind::User),
            role: Some(Role::Developer),
            teams: BTreeSet::from(["a".to_owned()]),
            issued_from: Some(IssuedFrom::Token(7)),
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let signer = Signer::new(&[7; 32]).expect("key");
        let token = signer.sign(&claims(1000));
        assert_eq!(
            signer.verify(&token, "portcullis", 500, 30),
            Ok(claims(1000))
        );
        assert_eq!(
            signer.verify(&token, "other", 500, 30),
            Err(JwtError::Audience)
        );
        assert_eq!(
            signer.verify(&token, "portcullis", 2000, 30),
            Err(JwtError::Expired)
        );
        let other = Signer::new(&[8; 32]).expect("key");
        assert_eq!(
            other.verify(&token, "portcullis", 500, 30),
            Err(JwtError::Signature)
        );
        assert_eq!(
            signer.verify("a.b", "portcullis", 500, 30),
            Err(JwtError::Malformed)
        );

        // What it was issued from travels as `src`, tagged by kind.
        let payload = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap_or_default())
            .unwrap_or_default();
        let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
        assert_eq!(payload["src"], serde_json::json!({ "token": 7 }));
        let mut user = claims(1000);
        user.issued_from = Some(IssuedFrom::User("ab".to_owned()));
        assert_eq!(
            serde_json::to_value(&user).unwrap_or_default()["src"],
            serde_json::json!({ "user": "ab" })
        );

        // A token re-signed with `alg: none` and no signature is refused.
        let payload = token.split('.').nth(1).unwrap_or_default();
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert_eq!(
            signer.verify(&none, "portcullis", 500, 30),
            Err(JwtError::Malformed)
        );
    }
}
