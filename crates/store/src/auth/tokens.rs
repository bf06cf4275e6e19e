//! API tokens (stored by the SHA-256 of their secret) and server settings.

use std::collections::BTreeSet;

use portcullis_types::Role;

use crate::auth::{group, parse_role};
use crate::transaction::with_transaction;
use crate::{Store, StoreError, StoreTransaction, now_millis, with_pool};

/// An API token to create; `secret_hash` is the hex SHA-256 of the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub secret_hash: String,
    pub role: Role,
    pub teams: BTreeSet<String>,
    /// Unix milliseconds; `None` never expires.
    pub expires_at_ms: Option<i64>,
    pub created_by: String,
}

/// An API token as listed (never its secret or hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub teams: BTreeSet<String>,
    pub expires_at_ms: Option<i64>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// A usable token found by its hash, with the stored hash for a constant-time comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidToken {
    pub token: TokenInfo,
    pub secret_hash: String,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    secret_hash: String,
    role: String,
    expires_at: Option<i64>,
    created_by: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

const TOKEN_COLUMNS: &str = "SELECT id, name, secret_hash, role, expires_at, created_by, created_at, \
     last_used_at, revoked_at FROM api_tokens";

/// How often `last_used_at` is written for a token in steady use: once a minute is enough
/// to see which tokens are alive, and spares a write on every registry request.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

impl TokenRow {
    fn into_valid(self, teams: BTreeSet<String>) -> Result<ValidToken, StoreError> {
        Ok(ValidToken {
            token: TokenInfo {
                id: self.id,
                role: parse_role("api_tokens.role", &self.role)?,
                name: self.name,
                teams,
                expires_at_ms: self.expires_at,
                created_by: self.created_by,
                created_at_ms: self.created_at,
                last_used_at_ms: self.last_used_at,
                revoked_at_ms: self.revoked_at,
            },
            secret_hash: self.secret_hash,
        })
    }
}

impl StoreTransaction {
    /// Stores a new API token with its teams (which must exist); returns its id, or `None`
    /// if a token of that name is not revoked.
    pub async fn create_token(&mut self, token: &NewToken) -> Result<Option<i64>, StoreError> {
        let now = self.now;
        let id: Option<i64> = with_transaction!(self, conn => {
            sqlx::query_scalar(
                "INSERT INTO api_tokens (name, secret_hash, role, expires_at, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(&token.name)
            .bind(&token.secret_hash)
            .bind(token.role.as_str())
            .bind(token.expires_at_ms)
            .bind(&token.created_by)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
        })
        .map_err(StoreError::db("create an API token"))?;
        let Some(id) = id else { return Ok(None) };
        for team in &token.teams {
            with_transaction!(self, conn => {
                sqlx::query("INSERT INTO token_teams (token_id, team) VALUES ($1, $2)")
                    .bind(id)
                    .bind(team)
                    .execute(&mut *conn)
                    .await
                    .map(|r| r.rows_affected())
            })
            .map_err(StoreError::db("add an API token to a team"))?;
        }
        Ok(Some(id))
    }

    /// Revokes the unrevoked token named `name`; `false` if there is none.
    pub async fn revoke_token(&mut self, name: &str) -> Result<bool, StoreError> {
        let now = self.now;
        let done = with_transaction!(self, conn => {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
            )
            .bind(name)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("revoke an API token"))?;
        Ok(done >= 1)
    }
}

impl Store {
    /// Stores a new API token; its id, or `None` if an unrevoked token has that name.
    pub async fn create_token(&self, token: &NewToken) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin().await?;
        let id = tx.create_token(token).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revokes the unrevoked token named `name`; `false` if there is none.
    pub async fn revoke_token(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = tx.revoke_token(name).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// API tokens by name then id (revoked ones only if `include_revoked`).
    pub async fn list_tokens(&self, include_revoked: bool) -> Result<Vec<TokenInfo>, StoreError> {
        let filter = if include_revoked {
            ""
        } else {
            " WHERE revoked_at IS NULL"
        };
        let rows: Vec<TokenRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{TOKEN_COLUMNS}{filter} ORDER BY name, id")))
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list API tokens"))?;
        let pairs: Vec<(i64, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT token_id, team FROM token_teams")
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list API tokens' teams"))?;
        let mut teams = group(pairs);
        rows.into_iter()
            .map(|row| {
                let member_of = teams.remove(&row.id).unwrap_or_default();
                row.into_valid(member_of).map(|v| v.token)
            })
            .collect()
    }

    /// The token whose secret hashes to `secret_hash`, if it is neither revoked nor expired;
    /// records that it was used.
    pub async fn valid_token_by_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<ValidToken>, StoreError> {
        let now = now_millis();
        let row: Option<TokenRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{TOKEN_COLUMNS} WHERE secret_hash = $1 AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $2)"
            )))
            .bind(secret_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("look up an API token"))?;
        let Some(row) = row else { return Ok(None) };
        let teams: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT team FROM token_teams WHERE token_id = $1")
                .bind(row.id)
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("look up an API token's teams"))?;
        if row
            .last_used_at
            .is_none_or(|last| now.saturating_sub(last) >= LAST_USED_GRANULARITY_MS)
        {
            with_pool!(self, pool => {
                sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                    .bind(row.id)
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected())
            })
            .map_err(StoreError::db("record an API token's use"))?;
        }
        row.into_valid(teams.into_iter().collect()).map(Some)
    }

    /// Whether the token with id `id` is neither revoked nor expired: one primary-key lookup,
    /// made for every request that carries a registry token issued from an API token.
    pub async fn token_is_valid(&self, id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM api_tokens WHERE id = $1 AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(id)
            .bind(now_millis())
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("check an API token"))?;
        Ok(found.is_some())
    }

    /// Whether an admin can sign in: an admin user, or an admin token neither revoked nor
    /// expired.
    pub async fn admin_exists(&self) -> Result<bool, StoreError> {
        let now = now_millis();
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM users WHERE role = 'admin') + \
                 (SELECT COUNT(*) FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL \
                  AND (expires_at IS NULL OR expires_at > $1))",
            )
            .bind(now)
            .fetch_one(pool)
            .await
        })
        .map_err(StoreError::db("look for an admin"))?;
        Ok(count > 0)
    }

    /// The value of setting `key`, if set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::db("read a setting"))
    }

    /// The value of setting `key`, storing `value` first if it is unset. Under concurrency
    /// exactly one value is stored and every caller gets that one.
    pub async fn get_or_create_setting(
        &self,
        key: &str,
        value: &str,
    ) -> Result<String, StoreError> {
        let now = now_millis();
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO settings (key, value, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(value)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("store a setting"))?;
        with_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_one(pool)
                .await
        })
        .map_err(StoreError::db("read a setting"))
    }
}
