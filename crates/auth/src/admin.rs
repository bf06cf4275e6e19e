//! Admin operations: teams, users, API tokens, and the first admin token.
//!
//! Writes take a [`StoreTransaction`] so that the caller (the server's API) commits them
//! together with its audit entry; names are validated here, before anything is written.
//! Listings never include secrets or hashes.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use portcullis_store::StoreTransaction;
use portcullis_store::auth::{NewToken, NewUser, TeamInfo, TokenInfo, UserInfo};
use portcullis_types::Role;

use crate::secret::{TOKEN_PREFIX, generate_token_secret, hash_password, hash_token_secret};
use crate::{Auth, AuthError};

/// The name of the admin token [`Auth::bootstrap`] creates.
pub const BOOTSTRAP_TOKEN_NAME: &str = "bootstrap-admin";

const BOOTSTRAP_MIN_AFTER_PREFIX: usize = 24;
const BOOTSTRAP_MIN_PLAIN: usize = 32;

/// A user to create.
#[derive(Clone)]
pub struct NewUserRequest {
    pub name: String,
    pub password: String,
    pub role: Role,
    pub teams: BTreeSet<String>,
}

impl fmt::Debug for NewUserRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUserRequest")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("teams", &self.teams)
            .finish_non_exhaustive()
    }
}

/// An API token to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTokenRequest {
    pub name: String,
    pub role: Role,
    pub teams: BTreeSet<String>,
    /// `None`: never expires.
    pub expires_in: Option<Duration>,
}

/// A created token: its secret, shown once and never again, its name and id.
#[derive(Clone)]
pub struct CreatedToken {
    pub secret: String,
    pub name: String,
    pub id: i64,
}

impl fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedToken")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn check_name(
    kind: &'static str,
    name: &str,
    extra: &[u8],
    expected: &'static str,
) -> Result<(), AuthError> {
    let bytes = name.as_bytes();
    let valid = (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase() | bytes[0].is_ascii_digit()
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || extra.contains(b)
        });
    if valid {
        Ok(())
    } else {
        Err(AuthError::InvalidName {
            kind,
            name: name.to_owned(),
            expected,
        })
    }
}

/// Team names: `[a-z0-9][a-z0-9-]*`, at most 64 characters (they are path components).
pub fn check_team_name(name: &str) -> Result<(), AuthError> {
    check_name(
        "team",
        name,
        b"",
        "1 to 64 of [a-z0-9-], starting with a letter or digit",
    )
}

/// User names: `[a-z0-9][a-z0-9._-]*`, at most 64 characters (no `:`, which ends the user
/// name in HTTP Basic credentials).
pub fn check_user_name(name: &str) -> Result<(), AuthError> {
    check_name(
        "user",
        name,
        b"._",
        "1 to 64 of [a-z0-9._-], starting with a letter or digit",
    )
}

/// Token names: `[a-z0-9][a-z0-9._:-]*`, at most 64 characters (`robot:ci` style allowed).
pub fn check_token_name(name: &str) -> Result<(), AuthError> {
    check_name(
        "token",
        name,
        b"._:",
        "1 to 64 of [a-z0-9._:-], starting with a letter or digit",
    )
}

async fn check_teams(tx: &mut StoreTransaction, teams: &BTreeSet<String>) -> Result<(), AuthError> {
    let unknown = tx.unknown_teams(teams).await?;
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(AuthError::UnknownTeams(unknown))
    }
}

impl Auth {
    fn check_password(&self, password: &str) -> Result<(), AuthError> {
        let min = self.config().min_password_length;
        if password.chars().count() < min {
            return Err(AuthError::WeakPassword { min });
        }
        Ok(())
    }

    /// Creates team `name`.
    pub async fn create_team(
        &self,
        tx: &mut StoreTransaction,
        name: &str,
    ) -> Result<(), AuthError> {
        check_team_name(name)?;
        if !tx.create_team(name).await? {
            return Err(AuthError::NameTaken {
                kind: "team",
                name: name.to_owned(),
                hint: "",
            });
        }
        Ok(())
    }

    /// Deletes team `name`; its members stay, without that team.
    pub async fn delete_team(
        &self,
        tx: &mut StoreTransaction,
        name: &str,
    ) -> Result<(), AuthError> {
        if !tx.delete_team(name).await? {
            return Err(AuthError::NotFound {
                kind: "team",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Creates a user with a password (hashed with argon2id), a role and existing teams.
    pub async fn create_user(
        &self,
        tx: &mut StoreTransaction,
        request: &NewUserRequest,
    ) -> Result<(), AuthError> {
        check_user_name(&request.name)?;
        self.check_password(&request.password)?;
        check_teams(tx, &request.teams).await?;
        let user = NewUser {
            name: request.name.clone(),
            password_hash: hash_password(&request.password).await?,
            role: request.role,
            teams: request.teams.clone(),
        };
        if !tx.create_user(&user).await? {
            return Err(AuthError::NameTaken {
                kind: "user",
                name: user.name,
                hint: "",
            });
        }
        Ok(())
    }

    /// Deletes user `name`.
    pub async fn delete_user(
        &self,
        tx: &mut StoreTransaction,
        name: &str,
    ) -> Result<(), AuthError> {
        if !tx.delete_user(name).await? {
            return Err(AuthError::NotFound {
                kind: "user",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Replaces the password of user `name`.
    pub async fn set_password(
        &self,
        tx: &mut StoreTransaction,
        name: &str,
        password: &str,
    ) -> Result<(), AuthError> {
        self.check_password(password)?;
        if !tx
            .set_password(name, &hash_password(password).await?)
            .await?
        {
            return Err(AuthError::NotFound {
                kind: "user",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Replaces the role and teams of user `name`.
    pub async fn set_user_role_and_teams(
        &self,
        tx: &mut StoreTransaction,
        name: &str,
        role: Role,
        teams: &BTreeSet<String>,
    ) -> Result<(), AuthError> {
        check_teams(tx, teams).await?;
        if !tx.set_user_role_and_teams(name, role, teams).await? {
            return Err(AuthError::NotFound {
                kind: "user",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Creates an API token; its secret is in the answer and nowhere else.
    pub async fn create_token(
        &self,
        tx: &mut StoreTransaction,
        request: &NewTokenRequest,
        created_by: &str,
    ) -> Result<CreatedToken, AuthError> {
        check_token_name(&request.name)?;
        check_teams(tx, &request.teams).await?;
        let secret = generate_token_secret()?;
        self.store_token(tx, request, created_by, secret).await
    }

    async fn store_token(
        &self,
        tx: &mut StoreTransaction,
        request: &NewTokenRequest,
        created_by: &str,
        secret: String,
    ) -> Result<CreatedToken, AuthError> {
        let expires_at_ms = request.expires_in.map(|after| {
            let after = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
            i64::try_from(crate::authenticate::now_secs())
                .unwrap_or(i64::MAX)
                .saturating_mul(1000)
                .saturating_add(after)
        });
        let token = NewToken {
            name: request.name.clone(),
            secret_hash: hash_token_secret(&secret),
            role: request.role,
            teams: request.teams.clone(),
            expires_at_ms,
            created_by: created_by.to_owned(),
        };
        let Some(id) = tx.create_token(&token).await? else {
            return Err(AuthError::NameTaken {
                kind: "token",
                name: token.name,
                hint: ", or revoke the existing token first",
            });
        };
        Ok(CreatedToken {
            secret,
            name: token.name,
            id,
        })
    }

    /// Revokes the unrevoked token named `name`.
    pub async fn revoke_token(
        &self,
        tx: &mut StoreTransaction,
        name: &str,
    ) -> Result<(), AuthError> {
        if !tx.revoke_token(name).await? {
            return Err(AuthError::NotFound {
                kind: "token",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Every team, by name.
    pub async fn list_teams(&self) -> Result<Vec<TeamInfo>, AuthError> {
        Ok(self.store().list_teams().await?)
    }

    /// Every user, by name (no password hashes).
    pub async fn list_users(&self) -> Result<Vec<UserInfo>, AuthError> {
        Ok(self.store().list_users().await?)
    }

    /// API tokens, by name (no secrets or hashes).
    pub async fn list_tokens(&self, include_revoked: bool) -> Result<Vec<TokenInfo>, AuthError> {
        Ok(self.store().list_tokens(include_revoked).await?)
    }

    /// Makes sure an admin can sign in.
    ///
    /// With `token_from_env` (the server reads `PORTCULLIS_BOOTSTRAP_TOKEN`), that secret
    /// becomes the admin token `bootstrap-admin` unless it is stored already; an older
    /// `bootstrap-admin` token is revoked, so that rotating the variable rotates the token.
    /// Answers `None`: the operator knows the secret. Without it, if no admin user or
    /// usable admin token exists, a random `bootstrap-admin` token is created and returned
    /// once, for the server to print; otherwise nothing happens.
    pub async fn bootstrap(
        &self,
        token_from_env: Option<&str>,
    ) -> Result<Option<String>, AuthError> {
        let request = NewTokenRequest {
            name: BOOTSTRAP_TOKEN_NAME.to_owned(),
            role: Role::Admin,
            teams: BTreeSet::new(),
            expires_in: None,
        };
        if let Some(secret) = token_from_env {
            check_bootstrap_token(secret)?;
            let hash = hash_token_secret(secret);
            if self.store().valid_token_by_hash(&hash).await?.is_some() {
                return Ok(None);
            }
            let mut tx = self.store().begin().await?;
            tx.revoke_token(BOOTSTRAP_TOKEN_NAME).await?;
            return match self
                .store_token(&mut tx, &request, "bootstrap", secret.to_owned())
                .await
            {
                Ok(_) => {
                    tx.commit().await?;
                    Ok(None)
                }
                // The secret is stored but no longer valid: never bring a revoked or
                // expired token back to life.
                Err(AuthError::NameTaken { .. }) => Err(AuthError::BootstrapTokenUnusable),
                Err(error) => Err(error),
            };
        }
        if self.store().admin_exists().await? {
            return Ok(None);
        }
        let mut tx = self.store().begin().await?;
        match self.create_token(&mut tx, &request, "bootstrap").await {
            Ok(created) => {
                tx.commit().await?;
                Ok(Some(created.secret))
            }
            // Another server process bootstrapped at the same moment; it prints the secret.
            Err(AuthError::NameTaken { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

fn check_bootstrap_token(secret: &str) -> Result<(), AuthError> {
    let printable = secret.bytes().all(|b| b.is_ascii_graphic());
    let long_enough = secret
        .strip_prefix(TOKEN_PREFIX)
        .is_some_and(|rest| rest.len() >= BOOTSTRAP_MIN_AFTER_PREFIX)
        || secret.len() >= BOOTSTRAP_MIN_PLAIN;
    if printable && long_enough {
        Ok(())
    } else {
        Err(AuthError::WeakBootstrapToken {
            min_after_prefix: BOOTSTRAP_MIN_AFTER_PREFIX,
            min_plain: BOOTSTRAP_MIN_PLAIN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_team_name("payments-2").is_ok());
        for bad in ["", "-a", "A", "a/b", "a_b", &"a".repeat(65)] {
            assert!(check_team_name(bad).is_err(), "{bad}");
        }
        assert!(check_user_name("alice.smith").is_ok());
        assert!(check_user_name("alice:x").is_err());
        assert!(check_token_name("robot:ci").is_ok());
    }

    #[test]
    fn bootstrap_tokens_need_length() {
        assert!(check_bootstrap_token("pct_short").is_err());
        assert!(check_bootstrap_token(&format!("pct_{}", "x".repeat(24))).is_ok());
        assert!(check_bootstrap_token(&"y".repeat(32)).is_ok());
        assert!(check_bootstrap_token(&format!("{} x", "y".repeat(32))).is_err());
        let message = check_bootstrap_token("pct_short")
            .err()
            .map(|e| e.to_string());
        assert!(message.is_some_and(|m| !m.contains("pct_short")));
    }
}
