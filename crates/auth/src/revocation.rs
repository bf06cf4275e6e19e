//! Registry tokens end with what they were issued from.
//!
//! A registry token (JWT) records in its `src` claim the credential it was issued from
//! ([`IssuedFrom`]): an API token's id, or a user's credential stamp. Every request that
//! carries one checks that this credential still stands, with one primary-key lookup and
//! no cache, so revoking an API token, deleting a user, or changing a user's password, role
//! or teams ends the registry tokens issued from it on the next request, in every server
//! process sharing the database.
//!
//! A user's stamp is derived from what the store changes with every such change (the
//! argon2id hash, salted afresh for every password, and the row's `updated_at`), so it
//! needs no column of its own: a user deleted and created again gets a new one. The stamp
//! is a truncated SHA-256 of those values; it reveals nothing usable about the password
//! (the salt it would take to guess offline is inside what was hashed).

use portcullis_store::auth::UserCredentialVersion;
use portcullis_types::PrincipalKind;
use sha2::{Digest, Sha256};

use crate::jwt::{Claims, IssuedFrom};
use crate::secret::hashes_equal;
use crate::{Auth, AuthError};

/// The stamp of a user's current credentials (32 hex digits).
pub(crate) fn credential_stamp(version: &UserCredentialVersion) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"portcullis credential stamp\0");
    hasher.update(version.password_hash.as_bytes());
    hasher.update(b"\0");
    hasher.update(version.updated_at_ms.to_be_bytes());
    let digest = hex::encode(hasher.finalize());
    digest[..32].to_owned()
}

impl Auth {
    /// Whether the credential the token of `claims` was issued from still stands. Anonymous
    /// tokens stand while anonymous pulls are allowed; a token of a principal without a
    /// `src` claim (issued by an older version) does not.
    pub(crate) async fn issued_from_still_valid(&self, claims: &Claims) -> Result<bool, AuthError> {
        match (claims.kind, &claims.issued_from) {
            (None, None) => Ok(self.config().allow_anonymous_pull),
            (Some(PrincipalKind::Token), Some(IssuedFrom::Token(id))) => {
                Ok(self.store().token_is_valid(*id).await?)
            }
            (Some(PrincipalKind::User), Some(IssuedFrom::User(stamp))) => {
                let version = self.store().user_credential_version(&claims.sub).await?;
                Ok(version.is_some_and(|v| hashes_equal(&credential_stamp(&v), stamp)))
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(hash: &str, at: i64) -> UserCredentialVersion {
        UserCredentialVersion {
            password_hash: hash.to_owned(),
            updated_at_ms: at,
        }
    }

    #[test]
    fn stamps_change_with_the_hash_and_the_update_time() {
        let stamp = credential_stamp(&version("$argon2id$a", 1));
        assert_eq!(stamp.len(), 32);
        assert_eq!(stamp, credential_stamp(&version("$argon2id$a", 1)));
        assert_ne!(stamp, credential_stamp(&version("$argon2id$b", 1)));
        assert_ne!(stamp, credential_stamp(&version("$argon2id$a", 2)));
        assert!(!stamp.contains("argon2"));
    }
}
