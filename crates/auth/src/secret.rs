//! Secrets: API-token generation and hashing, argon2id passwords, random bytes.
//!
//! API tokens are `pct_` followed by 32 random bytes in unpadded base64url; only their
//! SHA-256 is stored, so a stolen database does not yield usable tokens, and a lookup by
//! hash is a single indexed query. Passwords are argon2id with the crate's defaults; their
//! verification is deliberately slow, so it runs on the blocking pool.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AuthError;

/// The prefix that marks a portcullis API token (and lets secret scanners find leaks).
pub const TOKEN_PREFIX: &str = "pct_";

/// `n` random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| AuthError::Random)?;
    Ok(bytes)
}

/// A fresh API-token secret.
pub fn generate_token_secret() -> Result<String, AuthError> {
    let bytes = random_bytes::<32>()?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The hex SHA-256 of a token secret, as stored.
pub fn hash_token_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether two stored hashes are equal, in time independent of where they differ.
pub(crate) fn hashes_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The argon2id PHC string of `password`, computed on the blocking pool.
pub async fn hash_password(password: &str) -> Result<String, AuthError> {
    let password = password.to_owned();
    let salt = random_bytes::<16>()?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|_| AuthError::PasswordHash)?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| AuthError::PasswordHash)
    })
    .await
    .map_err(|_| AuthError::PasswordHash)?
}

/// Whether `password` matches the PHC string `hash`, computed on the blocking pool. With
/// `hash` `None` (no such user) the same work is done against a dummy hash, so that the
/// answer's timing does not tell whether the user exists.
pub async fn verify_password(password: &str, hash: Option<&str>) -> Result<bool, AuthError> {
    let password = password.to_owned();
    let known = hash.is_some();
    let hash = match hash {
        Some(hash) => hash.to_owned(),
        None => dummy_hash().await?.to_owned(),
    };
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        matches && known
    })
    .await
    .map_err(|_| AuthError::PasswordHash)
}

async fn dummy_hash() -> Result<&'static str, AuthError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_password("portcullis dummy password for unknown users").await?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_secrets_are_prefixed_random_and_hashed_stably() -> Result<(), AuthError> {
        let a = generate_token_secret()?;
        let b = generate_token_secret()?;
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(hash_token_secret(&a), hash_token_secret(&a));
        assert_eq!(hash_token_secret(&a).len(), 64);
        assert!(hashes_equal(&hash_token_secret(&a), &hash_token_secret(&a)));
        assert!(!hashes_equal(
            &hash_token_secret(&a),
            &hash_token_secret(&b)
        ));
        Ok(())
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() -> Result<(), AuthError> {
        let hash = hash_password("correct horse battery").await?;
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&hash)).await?);
        assert!(!verify_password("wrong", Some(&hash)).await?);
        assert!(!verify_password("correct horse battery", None).await?);
        assert!(!verify_password("x", Some("not a phc string")).await?);
        Ok(())
    }
}
