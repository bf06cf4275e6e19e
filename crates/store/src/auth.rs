//! Teams, users, API tokens and server settings.
//!
//! The store keeps what the auth crate decides: team names, users with their argon2id
//! password hash, role and teams, and API tokens by the SHA-256 of their secret (the secret
//! itself is never stored). Names are validated by the auth crate; the store only keeps
//! them unique. Conflicts are values, not errors: creating a team or user that exists
//! answers `false`, creating a token whose name an unrevoked token holds answers `None`.
//!
//! Admin writes exist on [`StoreTransaction`] so that they commit together with their
//! audit entry; each [`Store`] write method is the same write in a transaction of its own.
//! Settings ([`Store::get_or_create_setting`]) hold values that several server processes
//! must share, such as the token-signing key: the first writer wins and everyone reads its
//! value.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_types::Role;

use crate::transaction::with_transaction;
use crate::{Store, StoreError, StoreTransaction, with_pool};

mod tokens;

pub use tokens::{NewToken, TokenInfo, ValidToken};

/// A user as listed: everything but the password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub teams: BTreeSet<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A user with the password hash, for verifying a login.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCredentials {
    pub user: UserInfo,
    /// The argon2id PHC string.
    pub password_hash: String,
}

impl std::fmt::Debug for UserCredentials {
    // The hash is not a secret in itself, but it is what offline guessing starts from.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// What identifies the current credentials of a user: it differs after the user is deleted
/// (and recreated), its password is set, or its role or teams change.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCredentialVersion {
    /// The argon2id PHC string (its salt is new with every password).
    pub password_hash: String,
    pub updated_at_ms: i64,
}

impl std::fmt::Debug for UserCredentialVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentialVersion")
            .field("updated_at_ms", &self.updated_at_ms)
            .finish_non_exhaustive()
    }
}

/// A user to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub teams: BTreeSet<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("teams", &self.teams)
            .finish_non_exhaustive()
    }
}

/// A team as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamInfo {
    pub name: String,
    pub created_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    name: String,
    password_hash: String,
    role: String,
    created_at: i64,
    updated_at: i64,
}

const USER_COLUMNS: &str = "SELECT name, password_hash, role, created_at, updated_at FROM users";

pub(crate) fn parse_role(column: &'static str, value: &str) -> Result<Role, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_owned(),
    })
}

impl UserRow {
    fn into_credentials(self, teams: BTreeSet<String>) -> Result<UserCredentials, StoreError> {
        Ok(UserCredentials {
            user: UserInfo {
                role: parse_role("users.role", &self.role)?,
                name: self.name,
                teams,
                created_at_ms: self.created_at,
                updated_at_ms: self.updated_at,
            },
            password_hash: self.password_hash,
        })
    }
}

/// Groups `(owner, team)` pairs by owner.
pub(crate) fn group<K: Ord>(pairs: Vec<(K, String)>) -> BTreeMap<K, BTreeSet<String>> {
    let mut grouped: BTreeMap<K, BTreeSet<String>> = BTreeMap::new();
    for (owner, team) in pairs {
        grouped.entry(owner).or_default().insert(team);
    }
    grouped
}

impl StoreTransaction {
    /// Creates team `name`; `false` if it exists.
    pub async fn create_team(&mut self, name: &str) -> Result<bool, StoreError> {
        let now = self.now;
        let done = with_transaction!(self, conn => {
            sqlx::query("INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(name)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("create a team"))?;
        Ok(done == 1)
    }

    /// Deletes team `name` and every membership in it; `false` if it did not exist.
    pub async fn delete_team(&mut self, name: &str) -> Result<bool, StoreError> {
        let done = with_transaction!(self, conn => {
            sqlx::query("DELETE FROM teams WHERE name = $1")
                .bind(name)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("delete a team"))?;
        Ok(done == 1)
    }

    /// Those of `teams` that do not exist, in order (check before granting membership).
    pub async fn unknown_teams(
        &mut self,
        teams: &BTreeSet<String>,
    ) -> Result<Vec<String>, StoreError> {
        let mut unknown = Vec::new();
        for team in teams {
            let found: Option<String> = with_transaction!(self, conn => {
                sqlx::query_scalar("SELECT name FROM teams WHERE name = $1")
                    .bind(team)
                    .fetch_optional(&mut *conn)
                    .await
            })
            .map_err(StoreError::db("look up a team"))?;
            if found.is_none() {
                unknown.push(team.clone());
            }
        }
        Ok(unknown)
    }

    /// Creates a user with its teams (which must exist); `false` if the name is taken.
    pub async fn create_user(&mut self, user: &NewUser) -> Result<bool, StoreError> {
        let now = self.now;
        let done = with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO users (name, password_hash, role, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
            )
            .bind(&user.name)
            .bind(&user.password_hash)
            .bind(user.role.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("create a user"))?;
        if done != 1 {
            return Ok(false);
        }
        self.insert_user_teams(&user.name, &user.teams).await?;
        Ok(true)
    }

    async fn insert_user_teams(
        &mut self,
        user: &str,
        teams: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        for team in teams {
            with_transaction!(self, conn => {
                sqlx::query("INSERT INTO user_teams (user_name, team) VALUES ($1, $2)")
                    .bind(user)
                    .bind(team)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected())
            })
            .map_err(StoreError::db("add a user to a team"))?;
        }
        Ok(())
    }

    /// Deletes user `name`; `false` if it did not exist.
    pub async fn delete_user(&mut self, name: &str) -> Result<bool, StoreError> {
        let done = with_transaction!(self, conn => {
            sqlx::query("DELETE FROM users WHERE name = $1")
                .bind(name)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("delete a user"))?;
        Ok(done == 1)
    }

    /// Replaces the password hash of user `name`; `false` if there is no such user.
    pub async fn set_password(
        &mut self,
        name: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now;
        let done = with_transaction!(self, conn => {
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE name = $1")
                .bind(name)
                .bind(password_hash)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("set a password"))?;
        Ok(done == 1)
    }

    /// Replaces the role and teams of user `name`; `false` if there is no such user.
    pub async fn set_user_role_and_teams(
        &mut self,
        name: &str,
        role: Role,
        teams: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let now = self.now;
        let done = with_transaction!(self, conn => {
            sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE name = $1")
                .bind(name)
                .bind(role.as_str())
                .bind(now)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("set a user's role"))?;
        if done != 1 {
            return Ok(false);
        }
        with_transaction!(self, conn => {
            sqlx::query("DELETE FROM user_teams WHERE user_name = $1")
                .bind(name)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("clear a user's teams"))?;
        self.insert_user_teams(name, teams).await?;
        Ok(true)
    }
}

impl Store {
    /// Creates team `name`; `false` if it exists.
    pub async fn create_team(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let created = tx.create_team(name).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Deletes team `name` and its memberships; `false` if it did not exist.
    pub async fn delete_team(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = tx.delete_team(name).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Every team, by name.
    pub async fn list_teams(&self) -> Result<Vec<TeamInfo>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT name, created_at FROM teams ORDER BY name")
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list teams"))?;
        Ok(rows
            .into_iter()
            .map(|(name, created_at_ms)| TeamInfo {
                name,
                created_at_ms,
            })
            .collect())
    }

    /// Creates a user; `false` if the name is taken.
    pub async fn create_user(&self, user: &NewUser) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let created = tx.create_user(user).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Deletes user `name`; `false` if it did not exist.
    pub async fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = tx.delete_user(name).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Replaces the password hash of user `name`; `false` if there is no such user.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = tx.set_password(name, password_hash).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Replaces the role and teams of user `name`; `false` if there is no such user.
    pub async fn set_user_role_and_teams(
        &self,
        name: &str,
        role: Role,
        teams: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = tx.set_user_role_and_teams(name, role, teams).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// User `name` with its password hash, if it exists.
    pub async fn user(&self, name: &str) -> Result<Option<UserCredentials>, StoreError> {
        let row: Option<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{USER_COLUMNS} WHERE name = $1")))
                .bind(name)
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::db("look up a user"))?;
        let Some(row) = row else { return Ok(None) };
        let teams: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT team FROM user_teams WHERE user_name = $1")
                .bind(name)
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("look up a user's teams"))?;
        row.into_credentials(teams.into_iter().collect()).map(Some)
    }

    /// What changes whenever user `name`'s credentials or rights change: its password hash
    /// (salted afresh on every change) and when it was last updated (password, role or
    /// teams). `None` if there is no such user. One primary-key lookup, made for every
    /// request that carries a registry token issued to a user.
    pub async fn user_credential_version(
        &self,
        name: &str,
    ) -> Result<Option<UserCredentialVersion>, StoreError> {
        let row: Option<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT password_hash, updated_at FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::db("look up a user's credential version"))?;
        Ok(
            row.map(|(password_hash, updated_at_ms)| UserCredentialVersion {
                password_hash,
                updated_at_ms,
            }),
        )
    }

    /// Every user, by name, without password hashes.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>, StoreError> {
        let rows: Vec<UserRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{USER_COLUMNS} ORDER BY name")))
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list users"))?;
        let pairs: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT user_name, team FROM user_teams")
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list users' teams"))?;
        let mut teams = group(pairs);
        rows.into_iter()
            .map(|row| {
                let member_of = teams.remove(&row.name).unwrap_or_default();
                row.into_credentials(member_of).map(|c| c.user)
            })
            .collect()
    }
}
