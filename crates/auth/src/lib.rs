//! Who is asking and what they may do: users, teams, roles and API tokens; the Docker
//! registry token flow; the [`Authorizer`](portcullis_types::Authorizer) the registry asks.
//!
//! # Principal types
//!
//! - [`Auth`]: the handle the server builds once ([`Auth::new`]) from a
//!   [`Store`](portcullis_store::Store) and an [`AuthConfig`]. It implements `Authorizer`
//!   for the registry, [`Auth::authenticate`] for the JSON API, the admin operations
//!   ([`Auth::create_user`], [`Auth::create_token`], … each inside a
//!   [`StoreTransaction`](portcullis_store::StoreTransaction) so that the caller commits it
//!   with its audit entry) and [`Auth::bootstrap`] for the first admin token.
//! - [`token_router`]: the token endpoint (`GET`/`POST /token`) as an axum `Router`.
//! - [`permissions`]: every rule of who may do what, as plain functions
//!   ([`allowed_actions`], [`can_approve`], …) over [`Zones`].
//! - [`secret`]: API-token secrets (`pct_…`, stored as SHA-256) and argon2id passwords.
//!
//! # Data flow
//!
//! ```text
//! client ─▶ registry ─▶ Authorizer::authorize(None, scopes) ─▶ 401 Bearer realm,service,scope
//! client ─▶ GET /token (Basic user:password or any:pct_…) ─▶ JWT granting scopes ∩ allowed_actions
//! client ─▶ registry (Bearer JWT) ─▶ authorize: signature, expiry, audience, access ⊇ scopes
//!                                     ├─ not covered but allowed ─▶ 401 error="insufficient_scope"
//!                                     └─ not allowed ─────────────▶ 403 Denied (who, what, why)
//! ```
//!
//! Registry tokens are HS256 JWTs signed with a key generated once and shared by every
//! server process through the `settings` table; each records what it was issued from, and
//! is refused as soon as that API token is revoked or that user deleted or changed
//! (`revocation.rs`, one indexed lookup per use). The JSON API never accepts them.
//!
//! Failed sign-ins are limited per user name and per source address on every path that
//! checks a password or API token; valid API tokens are accepted before the limits, so
//! that nobody can lock out a CI pipeline (see `authenticate.rs`). The server runs each
//! request inside [`with_source`] so that the registry's and the API's checks know the
//! client address. The counts are in memory, per process (`limiter.rs`).

mod admin;
mod authenticate;
mod error;
mod jwt;
mod limiter;
pub mod permissions;
mod revocation;
pub mod secret;
mod source;
mod token_endpoint;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use portcullis_store::Store;

pub use admin::{CreatedToken, NewTokenRequest, NewUserRequest};
pub use authenticate::{REGISTRY_TOKEN_REFUSED, is_registry_token};
pub use error::AuthError;
pub use jwt::Access;
pub use permissions::{
    Zones, allowed_actions, can_approve, can_manage_policies, can_manage_teams_and_tokens,
    can_read_audit, can_read_team,
};
pub use source::{
    retry_after_secs, source_of, too_many_sign_ins, too_many_sign_ins_message, with_source,
};
pub use token_endpoint::token_router;

/// The setting under which the token-signing key (hex) is shared.
const SIGNING_KEY_SETTING: &str = "auth.token_signing_key";

/// How authentication behaves; every limit has a safe default ([`AuthConfig::new`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// The token endpoint's absolute URL, sent in challenges, e.g.
    /// `http://127.0.0.1:5000/token`.
    pub realm: String,
    /// The service name, the audience of registry tokens, e.g. `portcullis`.
    pub service: String,
    /// How long a registry token is valid.
    pub token_lifetime: Duration,
    /// The unscanned and scanned prefixes.
    pub zones: Zones,
    /// Whether clients without credentials get tokens to pull from the scanned zone.
    pub allow_anonymous_pull: bool,
    /// Failed sign-ins allowed per user name and per source address per minute (0: no
    /// limit).
    pub login_attempts_per_minute: u32,
    /// The shortest password accepted for a user.
    pub min_password_length: usize,
    /// How far the clocks of several server processes may disagree when checking a
    /// registry token's validity period.
    pub clock_leeway: Duration,
}

impl AuthConfig {
    /// The defaults: 5-minute tokens, `unscanned/` and `scanned/`, no anonymous pulls, 10
    /// failed sign-ins per minute, passwords of at least 12 characters, 30 seconds of clock
    /// leeway.
    pub fn new(realm: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            realm: realm.into(),
            service: service.into(),
            token_lifetime: Duration::from_secs(300),
            zones: Zones::default(),
            allow_anonymous_pull: false,
            login_attempts_per_minute: 10,
            min_password_length: 12,
            clock_leeway: Duration::from_secs(30),
        }
    }
}

/// The authentication and authorization service; cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: AuthConfig,
    signer: jwt::Signer,
    limiter: limiter::LoginLimiter,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Loads the shared token-signing key (creating it on first use) and builds the service.
    pub async fn new(store: Store, config: AuthConfig) -> Result<Self, AuthError> {
        let fresh = hex::encode(secret::random_bytes::<32>()?);
        let key = store
            .get_or_create_setting(SIGNING_KEY_SETTING, &fresh)
            .await?;
        let key = hex::decode(key).map_err(|_| AuthError::SigningKey(SIGNING_KEY_SETTING))?;
        if key.len() < 32 {
            return Err(AuthError::SigningKey(SIGNING_KEY_SETTING));
        }
        let signer = jwt::Signer::new(&key).ok_or(AuthError::SigningKey(SIGNING_KEY_SETTING))?;
        let limiter = limiter::LoginLimiter::new(config.login_attempts_per_minute);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config,
                signer,
                limiter,
            }),
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The store it reads users and tokens from.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}
